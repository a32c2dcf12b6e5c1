#include "runners/pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <utility>

namespace mbcc::runners {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kStderrKept = std::size_t{64} * 1024;
// Answers are a few KiB at most; a longer line is garbage, however it ends.
constexpr std::size_t kMaxLineBytes = std::size_t{1024} * 1024;
constexpr std::size_t kGarbageShown = 200;
// A worker whose stdout closed gets this long to exit on its own before its group is killed.
constexpr milliseconds kExitGrace{2000};
// Once a worker's group is dead, how long its stderr may take to reach end of file (a process
// that left the group could hold it open forever).
constexpr milliseconds kStderrDrain{500};
// How long workers get to exit after their stdin is closed when the pool goes away.
constexpr milliseconds kShutdownGrace{3000};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The last `capacity` bytes appended to it.
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity) : data_(capacity) {}

  void append(const char* bytes, std::size_t n) {
    if (n >= data_.size()) {
      bytes += n - data_.size();
      n = data_.size();
    }
    const std::size_t first = std::min(n, data_.size() - head_);
    std::memcpy(data_.data() + head_, bytes, first);
    std::memcpy(data_.data(), bytes + first, n - first);
    head_ = (head_ + n) % data_.size();
    size_ = std::min(data_.size(), size_ + n);
  }

  // The last `max` bytes, starting at a line when one starts within them.
  std::string tail(std::size_t max) const {
    const std::size_t n = std::min(max, size_);
    const std::size_t start = (head_ + data_.size() - n) % data_.size();
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = data_[(start + i) % data_.size()];
    if (n < size_) {
      const std::size_t newline = out.find('\n');
      if (newline != std::string::npos && newline + 1 < out.size()) out.erase(0, newline + 1);
    }
    return out;
  }

 private:
  std::vector<char> data_;
  std::size_t head_ = 0;  // where the next byte goes
  std::size_t size_ = 0;
};

struct Process {
  pid_t pid = -1;
  Fd pidfd;  // readable once the process has exited
  Fd in;
  Fd out;
  Fd err;
};

// Starts `command` in a process group of its own (so one kill takes whatever it started too),
// with pipes for stdin, stdout and stderr, no other descriptor of ours, and default signal
// handling whatever this process ignores or blocks.
Result<Process> spawn(const WorkerCommand& command) {
  const std::string who = command.kind + " worker";
  if (command.argv.empty()) return Error::plain(who, "no command to start");
  std::array<std::array<int, 2>, 3> pipes{{{-1, -1}, {-1, -1}, {-1, -1}}};
  auto close_pipes = [&pipes] {
    for (auto& pipe : pipes) {
      for (int& fd : pipe) {
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
    }
  };
  for (auto& pipe : pipes) {
    if (::pipe2(pipe.data(), O_CLOEXEC) != 0) {
      const Error error = Error::plain(who, errno_text("pipe"));
      close_pipes();
      return error;
    }
  }
  auto& [stdin_pipe, stdout_pipe, stderr_pipe] = pipes;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdout_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> argv;
  for (const std::string& arg : command.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : command.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  Process process;
  const int rc = ::posix_spawn(&process.pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  process.in = Fd(std::exchange(stdin_pipe[1], -1));
  process.out = Fd(std::exchange(stdout_pipe[0], -1));
  process.err = Fd(std::exchange(stderr_pipe[0], -1));
  close_pipes();  // the child's ends
  if (rc != 0)
    return Error::plain(who, "cannot start " + command.argv[0] + ": " + std::strerror(rc));

  // The syscall itself: glibc 2.36's <sys/pidfd.h> declares pidfd_open without extern "C".
  process.pidfd = Fd(static_cast<int>(::syscall(SYS_pidfd_open, process.pid, 0)));
  if (!process.pidfd.open()) {
    const Error error = Error::plain(who, errno_text("pidfd_open"));
    ::kill(-process.pid, SIGKILL);
    ::waitpid(process.pid, nullptr, 0);
    return error;
  }
  ::fcntl(process.out.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(process.err.get(), F_SETFL, O_NONBLOCK);
  return process;
}

// Writes all of `text`; false when the reader is gone. SIGPIPE is blocked for the call, and
// the one a dead reader raises is taken back, so a dead worker cannot kill this process.
bool write_all(int fd, std::string_view text) {
  sigset_t pipe_only;
  sigset_t old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  bool written = true;
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      written = false;
      if (errno == EPIPE) {
        const timespec no_wait{0, 0};
        sigtimedwait(&pipe_only, nullptr, &no_wait);
      }
      break;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return written;
}

std::string garbage_text(std::string_view line) {
  return "worker printed garbage: " + std::string(line.substr(0, kGarbageShown));
}

milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

enum class Phase { kDown, kStarting, kReady };

struct Worker {
  Phase phase = Phase::kDown;
  Process process;
  std::string pending;  // stdout bytes after the last complete line
  ByteRing stderr_ring{kStderrKept};
  std::size_t served = 0;  // answers given

  std::optional<std::size_t> check;  // index of the request in flight
  uint64_t id = 0;                   // the id it was sent with
  Clock::time_point dispatched;
  Clock::time_point deadline;  // of the hello (starting) or of the check in flight
  // The pool's decision on the check in flight, given when the process is gone (with all of
  // its stderr). None means the worker died on its own: a Crash.
  std::optional<Outcome> decided;

  // The process is on its way out: killed, or its stdout closed and it has until exit_deadline.
  bool ending = false;
  bool killed = false;
  Clock::time_point exit_deadline;
  bool start_failure_counted = false;
  std::string crash_detail;
};

}  // namespace

std::string Crash::describe() const {
  if (signal != 0) {
    const char* abbrev = sigabbrev_np(signal);
    return abbrev != nullptr ? std::string("killed by SIG") + abbrev
                             : "killed by signal " + std::to_string(signal);
  }
  return "exited with status " + std::to_string(exit_code);
}

class Pool::Impl {
 public:
  Impl(WorkerCommand command, PoolOptions options)
      : command_(std::move(command)),
        options_(options),
        workers_(static_cast<std::size_t>(std::max(1, options.workers))) {}

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Allocates only (the poll set): std::bad_alloc here ends the program either way.
  ~Impl() {  // NOLINT(bugprone-exception-escape)
    const auto deadline = Clock::now() + kShutdownGrace;
    for (Worker& worker : workers_) {
      if (worker.phase == Phase::kDown) continue;
      worker.process.in.reset();  // end of input: a worker's cue to exit
      if (!worker.ending) {
        worker.ending = true;
        worker.exit_deadline = deadline;
      }
    }
    while (any_alive()) {
      wait_for_events(next_wakeup());
      enforce_deadlines();
    }
  }

  std::vector<CheckRun> run(std::span<const Request> requests,
                            const std::function<void()>& on_outcome) {
    requests_ = requests;
    on_outcome_ = &on_outcome;
    results_.assign(requests.size(), std::nullopt);
    assigned_ = 0;
    queue_.clear();
    for (std::size_t i = 0; i < requests.size(); ++i) queue_.push_back(i);
    // Whatever happened since the last run (a worker that died idle) is seen before dispatch.
    if (any_alive()) wait_for_events(Clock::now());

    while (assigned_ < requests.size() || any_ending()) {
      start_workers();
      if (!queue_.empty() && !any_alive() && !can_start()) {
        give_up_on_queue();
        continue;
      }
      dispatch();
      if (any_alive()) wait_for_events(next_wakeup());
      enforce_deadlines();
    }
    std::vector<CheckRun> out;
    out.reserve(results_.size());
    for (auto& result : results_) out.push_back(std::move(*result));
    results_.clear();
    requests_ = {};
    on_outcome_ = nullptr;
    return out;
  }

  const std::optional<Json>& hello() const { return hello_; }

  void start() {
    for (Worker& worker : workers_) {
      if (worker.phase == Phase::kDown && can_start()) start_worker(worker);
    }
  }

 private:
  // A worker starts only while the failures so far, plus those of the workers still starting,
  // stay under the cap: a worker that cannot start is tried max_start_failures times in all.
  bool can_start() const {
    const auto starting = std::count_if(workers_.begin(), workers_.end(), [](const Worker& w) {
      return w.phase == Phase::kStarting;
    });
    return start_failures_ + starting < options_.max_start_failures;
  }

  bool any_alive() const {
    return std::any_of(workers_.begin(), workers_.end(),
                       [](const Worker& w) { return w.phase != Phase::kDown; });
  }

  bool any_ending() const {
    return std::any_of(workers_.begin(), workers_.end(),
                       [](const Worker& w) { return w.phase != Phase::kDown && w.ending; });
  }

  std::string tail(const Worker& worker) const {
    return worker.stderr_ring.tail(options_.stderr_tail_bytes);
  }

  void record(std::size_t check, Outcome outcome, milliseconds wall) {
    results_[check] = CheckRun{std::move(outcome), wall};
    ++assigned_;
    if (on_outcome_ != nullptr && *on_outcome_) (*on_outcome_)();
  }

  void start_failed(Worker& worker, const std::string& why) {
    ++start_failures_;
    worker.start_failure_counted = true;
    last_start_error_ = command_.kind + " worker: " + why;
  }

  void start_workers() {
    for (Worker& worker : workers_) {
      if (worker.phase == Phase::kDown && !queue_.empty() && can_start()) start_worker(worker);
    }
  }

  void start_worker(Worker& worker) {
    auto process = spawn(command_);
    if (!process) {
      start_failed(worker, process.error().message());
      last_start_tail_.clear();
      return;
    }
    worker = Worker{};
    worker.process = std::move(process).value();
    worker.phase = Phase::kStarting;
    worker.deadline = Clock::now() + options_.hello_timeout;
  }

  void give_up_on_queue() {
    for (std::size_t check : queue_) {
      record(check, StartupFailure{last_start_error_, last_start_tail_}, milliseconds(0));
    }
    queue_.clear();
  }

  void dispatch() {
    for (Worker& worker : workers_) {
      if (worker.phase != Phase::kReady || worker.ending || worker.check || queue_.empty()) {
        continue;
      }
      const std::size_t check = queue_.front();
      queue_.pop_front();
      worker.id = next_id_++;
      const std::string line = request_line(requests_[check], worker.id) + "\n";
      if (!write_all(worker.process.in.get(), line)) {
        // Gone before it got the check: the check waits for another worker, and the end of
        // this one is seen by the poll loop.
        queue_.push_front(check);
        begin_ending(worker);
        continue;
      }
      worker.check = check;
      worker.dispatched = Clock::now();
      worker.deadline = worker.dispatched + options_.check_timeout;
    }
  }

  // The worker will not be talked to again; it has kExitGrace to exit by itself.
  void begin_ending(Worker& worker) {
    if (worker.ending) return;
    worker.ending = true;
    worker.exit_deadline = Clock::now() + kExitGrace;
  }

  void kill_group(Worker& worker) {
    if (!worker.killed) ::kill(-worker.process.pid, SIGKILL);
    worker.killed = true;
    worker.ending = true;
    worker.process.in.reset();
    worker.process.out.reset();
  }

  // Kills the worker; the check in flight gets `outcome` once the process is gone.
  void decide(Worker& worker, Outcome outcome) {
    worker.decided = std::move(outcome);
    kill_group(worker);
  }

  std::optional<Clock::time_point> next_wakeup() const {
    std::optional<Clock::time_point> next;
    auto consider = [&next](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (const Worker& worker : workers_) {
      if (worker.phase == Phase::kDown) continue;
      if (worker.ending) {
        if (!worker.killed) consider(worker.exit_deadline);
      } else if (worker.phase == Phase::kStarting || worker.check) {
        consider(worker.deadline);
      }
    }
    return next;
  }

  void enforce_deadlines() {
    const auto now = Clock::now();
    for (Worker& worker : workers_) {
      if (worker.phase == Phase::kDown) continue;
      if (worker.ending) {
        if (!worker.killed && now >= worker.exit_deadline) {
          if (!worker.process.out.open()) {
            worker.crash_detail += worker.crash_detail.empty() ? "" : "; ";
            worker.crash_detail += "it closed its stdout and did not exit, so it was killed";
          }
          kill_group(worker);
        }
      } else if (worker.phase == Phase::kStarting && now >= worker.deadline) {
        start_failed(worker,
                     "no hello within " + std::to_string(options_.hello_timeout.count()) + " ms");
        kill_group(worker);
      } else if (worker.check && now >= worker.deadline) {
        decide(worker, Timeout{options_.check_timeout, ""});
      }
    }
  }

  // Waits until a worker has something to say or `until` (forever when empty), and handles it.
  void wait_for_events(std::optional<Clock::time_point> until) {
    enum class Stream { kOut, kErr, kExit };
    std::vector<pollfd> fds;
    std::vector<std::pair<Worker*, Stream>> owners;
    for (Worker& worker : workers_) {
      if (worker.phase == Phase::kDown) continue;
      const std::array<std::pair<const Fd*, Stream>, 3> streams{{
          {&worker.process.out, Stream::kOut},
          {&worker.process.err, Stream::kErr},
          {&worker.process.pidfd, Stream::kExit},
      }};
      for (const auto& [fd, stream] : streams) {
        if (!fd->open()) continue;
        fds.push_back({fd->get(), POLLIN, 0});
        owners.emplace_back(&worker, stream);
      }
    }
    int timeout_ms = -1;
    if (until) {
      const auto left = std::chrono::ceil<milliseconds>(*until - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;  // timeout, or EINTR
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [worker, stream] = owners[i];
      if (worker->phase == Phase::kDown) continue;  // reaped by an earlier entry
      switch (stream) {
        case Stream::kOut:
          if (worker->process.out.open()) read_stdout(*worker);
          break;
        case Stream::kErr:
          read_stderr(*worker);
          break;
        case Stream::kExit:
          reap(*worker);
          break;
      }
    }
  }

  // Reads what stderr holds now; false once it reached end of file.
  bool read_stderr(Worker& worker) {
    std::array<char, 16384> buffer;
    while (worker.process.err.open()) {
      const ssize_t n = ::read(worker.process.err.get(), buffer.data(), buffer.size());
      if (n > 0) {
        worker.stderr_ring.append(buffer.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      worker.process.err.reset();
    }
    return false;
  }

  void read_stdout(Worker& worker) {
    std::array<char, 16384> buffer;
    for (;;) {
      const ssize_t n = ::read(worker.process.out.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        stdout_closed(worker);
        return;
      }
      worker.pending.append(buffer.data(), static_cast<std::size_t>(n));
      std::size_t newline;
      while ((newline = worker.pending.find('\n')) != std::string::npos) {
        const std::string line = worker.pending.substr(0, newline);
        worker.pending.erase(0, newline + 1);
        on_line(worker, line);
        if (worker.ending) return;
      }
      if (worker.pending.size() > kMaxLineBytes) {
        on_line(worker, std::exchange(worker.pending, {}));
        return;
      }
    }
  }

  void stdout_closed(Worker& worker) {
    worker.process.out.reset();
    if (!worker.pending.empty()) {
      worker.crash_detail =
          "it ended in the middle of an answer line: " + worker.pending.substr(0, kGarbageShown);
      worker.pending.clear();
    }
    begin_ending(worker);
  }

  void on_line(Worker& worker, const std::string& line) {
    if (worker.phase == Phase::kStarting) {
      auto hello = parse_hello(line);
      if (!hello) {
        start_failed(worker, hello.error().message() + " (" + garbage_text(line) + ")");
        kill_group(worker);
      } else if (hello->refusal) {
        start_failed(worker,
                     "cannot serve: " + hello->refusal->kind + ": " + hello->refusal->message);
        kill_group(worker);
      } else {
        if (!hello_) hello_ = std::move(hello->document);
        worker.phase = Phase::kReady;
      }
      return;
    }
    if (!worker.check) {
      // Nobody asked: the stream can no longer be trusted to pair answers with requests.
      if (worker.served == 0)
        start_failed(worker, "a line before any request: " + garbage_text(line));
      kill_group(worker);
      return;
    }
    auto answer = parse_answer(line, worker.id);
    if (!answer) {
      decide(worker, ProtocolError{garbage_text(line), answer.error().message(), ""});
      return;
    }
    record(*worker.check, std::move(answer).value(), since(worker.dispatched));
    worker.check.reset();
    ++worker.served;
  }

  // The process has exited. Its group goes too (the leader is a zombie until waited for, so
  // its id cannot have been reused), then its status and the rest of its stderr are collected.
  void reap(Worker& worker) {
    const pid_t pid = worker.process.pid;
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    drain_stderr(worker);

    Crash crash;
    if (WIFSIGNALED(status)) crash.signal = WTERMSIG(status);
    if (WIFEXITED(status)) crash.exit_code = WEXITSTATUS(status);
    crash.detail = worker.crash_detail;
    if (worker.check) {
      Outcome outcome = worker.decided ? std::move(*worker.decided) : Outcome(std::move(crash));
      std::visit(
          [&](auto& o) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(o)>, Answer>) {
              o.stderr_tail = tail(worker);
            }
          },
          outcome);
      record(*worker.check, std::move(outcome), since(worker.dispatched));
    } else if (worker.served == 0 && !worker.start_failure_counted) {
      start_failed(
          worker,
          std::string(worker.phase == Phase::kStarting ? "ended before its hello: "
                                                       : "ended before its first request: ") +
              crash.describe() + (crash.detail.empty() ? "" : " (" + crash.detail + ")"));
    }
    if (worker.start_failure_counted) last_start_tail_ = tail(worker);
    worker = Worker{};
  }

  void drain_stderr(Worker& worker) {
    const auto deadline = Clock::now() + kStderrDrain;
    while (read_stderr(worker)) {
      const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return;
      pollfd fd{worker.process.err.get(), POLLIN, 0};
      ::poll(&fd, 1, static_cast<int>(left));
    }
  }

  WorkerCommand command_;
  PoolOptions options_;
  std::vector<Worker> workers_;  // never resized: the poll loop keeps pointers into it
  std::optional<Json> hello_;
  uint64_t next_id_ = 1;
  int start_failures_ = 0;
  std::string last_start_error_;
  std::string last_start_tail_;

  // The run in progress.
  std::span<const Request> requests_;
  const std::function<void()>* on_outcome_ = nullptr;
  std::vector<std::optional<CheckRun>> results_;
  std::deque<std::size_t> queue_;
  std::size_t assigned_ = 0;
};

Pool::Pool(WorkerCommand command, PoolOptions options)
    : impl_(std::make_unique<Impl>(std::move(command), options)) {}
Pool::Pool(Pool&&) noexcept = default;
Pool& Pool::operator=(Pool&&) noexcept = default;
Pool::~Pool() = default;

void Pool::start() { impl_->start(); }

std::vector<CheckRun> Pool::run(std::span<const Request> requests,
                                const std::function<void()>& on_outcome) {
  return impl_->run(requests, on_outcome);
}

const std::optional<Json>& Pool::hello() const { return impl_->hello(); }

}  // namespace mbcc::runners
