#include "corpus/probe_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ranges>

#include "base/file.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace mbcc::corpus::detail {
namespace {

// Variables that would make the venv's interpreter look elsewhere for its library or packages.
constexpr std::array<std::string_view, 6> kDroppedEnv = {"PYTHONPATH",    "PYTHONHOME",
                                                         "PYTHONSTARTUP", "PYTHONUSERBASE",
                                                         "VIRTUAL_ENV",   "__PYVENV_LAUNCHER__"};

std::vector<std::string> probe_environment(const std::filesystem::path& python_dir) {
  std::vector<std::string> env;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    std::string_view entry(*p);
    std::string_view name = entry.substr(0, entry.find('='));
    bool dropped = false;
    for (std::string_view d : kDroppedEnv) dropped = dropped || name == d;
    if (!dropped) env.emplace_back(entry);
  }
  env.push_back("PYTHONPATH=" + python_dir.string());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Error os_error(const ProbeCommand& command, const char* step) {
  return Error::plain(command.python.string(), std::string(step) + ": " + std::strerror(errno));
}

// The child's side of fork: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const ProbeCommand& command, int stdout_fd, int stderr_fd,
                             pid_t parent, char** argv, char** envp) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(stderr_fd, STDERR_FILENO) < 0 || ::chdir(command.cwd.c_str()) != 0) {
    ::_exit(127);
  }
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

}  // namespace

std::string ProbeExit::describe() const {
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

Result<ProbeExit> run_probe(const ProbeCommand& command,
                            const std::function<void(std::string_view line)>& on_line) {
  std::vector<std::string> argv_strings{command.python.string()};
  argv_strings.insert(argv_strings.end(), command.args.begin(), command.args.end());
  std::vector<std::string> env_strings = probe_environment(command.python_dir);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  int stderr_fd =
      ::open(command.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (stderr_fd < 0) return os_error(command, "cannot create the stderr log");
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    ::close(stderr_fd);
    return os_error(command, "cannot make a pipe");
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) exec_child(command, pipe_fds[1], stderr_fd, parent, argv.data(), envp.data());
  ::close(pipe_fds[1]);
  ::close(stderr_fd);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return os_error(command, "cannot fork");
  }

  ProbeExit exit;
  auto deadline = std::chrono::steady_clock::now() + command.timeout;
  std::string pending;
  std::array<char, 65536> buffer{};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      exit.timed_out = true;
      break;
    }
    pollfd poll_fd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&poll_fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of stream: the probe closed stdout or exited
    pending.append(buffer.data(), static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      on_line(std::string_view(pending).substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  ::close(pipe_fds[0]);
  if (exit.timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return os_error(command, "waitpid");
  }
  if (WIFEXITED(status)) exit.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  if (exit.timed_out) exit.signal = SIGKILL;
  return exit;
}

std::string tail_lines(const std::filesystem::path& file, std::size_t max_lines) {
  Result<FileBytes> bytes = read_file(file);
  if (!bytes.ok() || bytes->size == 0) return "";
  std::string_view text(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size);
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < max_lines) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::size_t nl = text.rfind('\n');
    std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    if (!text.substr(start).empty()) lines.push_back(text.substr(start));
    text = text.substr(0, nl == std::string_view::npos ? 0 : nl);
  }
  std::string out;
  for (std::string_view line : std::views::reverse(lines)) {
    if (!out.empty()) out += " | ";
    out += line;
  }
  return out;
}

}  // namespace mbcc::corpus::detail
