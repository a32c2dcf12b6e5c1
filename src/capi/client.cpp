#include "capi/client.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace mbcc::capi {
namespace {

Error client_error(std::string detail) {
  return Error::plain("mbcc-capi-worker", std::move(detail));
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// This process's environment with `library_path` in front of LD_LIBRARY_PATH.
std::vector<std::string> worker_environment(const std::filesystem::path& library_path) {
  constexpr std::string_view kName = "LD_LIBRARY_PATH=";
  std::vector<std::string> env;
  std::string old;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (text.starts_with(kName)) {
      old = text.substr(kName.size());
    } else {
      env.emplace_back(text);
    }
  }
  std::string value = library_path.string();
  if (!old.empty()) value += (value.empty() ? "" : ":") + old;
  if (!value.empty()) env.push_back(std::string(kName) + value);
  return env;
}

// write(2) to a pipe whose reader died, without dying of SIGPIPE: the signal is blocked for
// this thread during the call and a pending one is consumed, so the caller's handling of
// SIGPIPE stays as it was.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  const ssize_t n = ::write(fd, data, size);
  const int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE) {
    const timespec no_wait{0, 0};
    sigtimedwait(&pipe_only, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved_errno;
  return n;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string WorkerExit::describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

Result<WorkerClient> WorkerClient::start(const WorkerOptions& options) {
  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  if (::pipe2(in.data(), O_CLOEXEC) != 0) return client_error(errno_text("pipe"));
  if (::pipe2(out.data(), O_CLOEXEC) != 0) {
    close_fd(in[0]);
    close_fd(in[1]);
    return client_error(errno_text("pipe"));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  if (!options.stderr_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  const std::string worker = options.worker.string();
  const std::string libmxnet = options.libmxnet.string();
  std::vector<char*> argv = {const_cast<char*>(worker.c_str()),    // NOLINT
                             const_cast<char*>(libmxnet.c_str()),  // NOLINT
                             nullptr};
  std::vector<std::string> env = worker_environment(options.library_path);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  WorkerClient client;
  const int rc =
      ::posix_spawn(&client.pid_, worker.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close_fd(in[0]);
  close_fd(out[1]);
  client.to_worker_ = in[1];
  client.from_worker_ = out[0];
  if (rc != 0) {
    client.pid_ = -1;
    return client_error("cannot start " + worker + ": " + std::strerror(rc));
  }
  auto line = client.read_line();
  if (!line) return line.error();
  client.hello_ = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (client.hello_.is_discarded() || !client.hello_.contains("hello")) {
    return client_error("the first line is not a hello: " + *line);
  }
  return client;
}

WorkerClient::WorkerClient(WorkerClient&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      to_worker_(std::exchange(other.to_worker_, -1)),
      from_worker_(std::exchange(other.from_worker_, -1)),
      buffer_(std::move(other.buffer_)),
      hello_(std::move(other.hello_)) {}

WorkerClient::~WorkerClient() { (void)finish(); }

Result<std::string> WorkerClient::read_line() {
  for (;;) {
    if (auto end = buffer_.find('\n'); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return line;
    }
    std::array<char, 4096> chunk{};
    const ssize_t n = from_worker_ < 0 ? 0 : ::read(from_worker_, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return died("reading an answer");
    buffer_.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

Error WorkerClient::died(const std::string& doing) {
  auto exit = finish();
  return client_error("the worker ended while " + doing + ": " +
                      (exit ? exit->describe() : exit.error().message()));
}

Result<Json> WorkerClient::call(const Json& request) {
  const std::string line = request.dump() + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n =
        to_worker_ < 0 ? -1
                       : write_no_sigpipe(to_worker_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return died("sending a request");
    written += static_cast<std::size_t>(n);
  }
  auto answer = read_line();
  if (!answer) return answer.error();
  Json parsed = Json::parse(*answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return client_error("an answer is not JSON: " + *answer);
  return parsed;
}

Result<WorkerExit> WorkerClient::finish() {
  close_fd(to_worker_);
  close_fd(from_worker_);
  if (pid_ < 0) return client_error("the worker has already ended");
  int status = 0;
  pid_t done = -1;
  do {
    done = ::waitpid(pid_, &status, 0);
  } while (done < 0 && errno == EINTR);
  pid_ = -1;
  if (done < 0) return client_error(errno_text("waitpid"));
  WorkerExit exit;
  if (WIFEXITED(status)) exit.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  return exit;
}

}  // namespace mbcc::capi
