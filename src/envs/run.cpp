// Child processes for the install steps: posix_spawn with redirected output and a timeout.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include "envs/internal.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace mbcc::envs::detail {
namespace {

// Variables that make a venv's python look elsewhere for its library or packages.
constexpr std::array<std::string_view, 6> kDropped = {"PYTHONPATH",    "PYTHONHOME",
                                                      "PYTHONSTARTUP", "PYTHONUSERBASE",
                                                      "VIRTUAL_ENV",   "__PYVENV_LAUNCHER__"};

std::string var_name(std::string_view entry) {
  return std::string(entry.substr(0, entry.find('=')));
}

std::vector<std::string> child_environment(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    std::string_view entry(*p);
    std::string name = var_name(entry);
    bool drop = false;
    for (std::string_view d : kDropped) drop = drop || name == d;
    for (const std::string& e : extra_env) drop = drop || name == var_name(e);
    if (!drop) env.emplace_back(entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return env;
}

Error spawn_error(const std::vector<std::string>& argv, std::string detail) {
  return Error::plain(argv.empty() ? std::string("(no command)") : argv.front(), std::move(detail));
}

}  // namespace

std::string Exit::describe() const {
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

Result<Exit> run(const std::vector<std::string>& argv, const std::filesystem::path& out,
                 const std::filesystem::path& err, const std::vector<std::string>& extra_env,
                 std::chrono::seconds timeout) {
  if (argv.empty()) return spawn_error(argv, "nothing to run");
  std::vector<std::string> env = child_environment(extra_env);
  std::vector<char*> cargv;
  std::vector<char*> cenv;
  cargv.reserve(argv.size() + 1);
  cenv.reserve(env.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // A process group of its own, so a timeout kills pip and whatever it started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return spawn_error(argv, std::string("cannot start: ") + std::strerror(rc));

  Exit exit;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) exit.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
      break;
    }
    if (done < 0 && errno != EINTR)
      return spawn_error(argv, std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exit.timed_out = true;
      exit.signal = SIGKILL;
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
  return exit;
}

std::string file_tail(const std::filesystem::path& file, std::size_t max_lines,
                      std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  auto size = static_cast<std::size_t>(in.tellg());
  std::size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // Walk back over `max_lines` line breaks; what follows the last one crossed is the tail.
  std::size_t begin = text.size();
  for (std::size_t lines = 0; lines < max_lines; ++lines) {
    std::size_t nl = begin == 0 ? std::string::npos : text.rfind('\n', begin - 1);
    if (nl == std::string::npos) {
      begin = 0;
      break;
    }
    begin = nl;
  }
  if (begin < text.size() && text[begin] == '\n') ++begin;
  return text.substr(begin);
}

}  // namespace mbcc::envs::detail
