#include "runners/pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
// How long a fork server may take to fork a worker and say its process id.
constexpr milliseconds kForkReply{10000};

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

// posix_spawn of `argv` with `actions`, in a process group of its own (so one kill takes
// whatever it started too), with default signal handling whatever this process ignores or
// blocks. Returns the errno of a failed start.
int spawn_in_own_group(const std::vector<std::string>& argv_text,
                       const std::vector<std::string>& env_text,
                       const posix_spawn_file_actions_t& actions, pid_t& pid) {
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
  for (const std::string& arg : argv_text) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : env_text) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  return rc;
}

// Three pipes, every end close-on-exec: the worker's stdin, stdout and stderr.
struct StdPipes {
  std::array<std::array<int, 2>, 3> fds{{{-1, -1}, {-1, -1}, {-1, -1}}};
  StdPipes() = default;
  StdPipes(const StdPipes&) = delete;
  StdPipes& operator=(const StdPipes&) = delete;
  ~StdPipes() { close_all(); }

  bool make() {
    for (auto& pipe : fds) {
      if (::pipe2(pipe.data(), O_CLOEXEC) != 0) return false;
    }
    return true;
  }
  // The worker's ends: stdin's read end, stdout's and stderr's write ends.
  std::array<int, 3> worker_ends() const { return {fds[0][0], fds[1][1], fds[2][1]}; }
  void close_worker_ends() {
    for (int* fd : {&fds[0][0], &fds[1][1], &fds[2][1]}) close_one(*fd);
  }
  // Takes this process's ends into `process`.
  void give_ours(Process& process) {
    process.in = Fd(std::exchange(fds[0][1], -1));
    process.out = Fd(std::exchange(fds[1][0], -1));
    process.err = Fd(std::exchange(fds[2][0], -1));
  }

 private:
  static void close_one(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  void close_all() {
    for (auto& pipe : fds) {
      for (int& fd : pipe) close_one(fd);
    }
  }
};

// The pidfd of a started worker and non-blocking reads from it; on failure the worker's group
// is killed and reaped.
Status finish_start(Process& process, const std::string& who) {
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
  return Ok{};
}

// Starts `command` with pipes for stdin, stdout and stderr and no other descriptor of ours.
Result<Process> spawn(const WorkerCommand& command) {
  const std::string who = command.kind + " worker";
  if (command.argv.empty()) return Error::plain(who, "no command to start");
  StdPipes pipes;
  if (!pipes.make()) return Error::plain(who, errno_text("pipe"));
  const auto [in, out, err] = pipes.worker_ends();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  Process process;
  const int rc = spawn_in_own_group(command.argv, command.env, actions, process.pid);
  posix_spawn_file_actions_destroy(&actions);
  pipes.give_ours(process);
  if (rc != 0)
    return Error::plain(who, "cannot start " + command.argv[0] + ": " + std::strerror(rc));
  if (Status started = finish_start(process, who); !started.ok()) return started.error();
  return process;
}

// A fork server: its control socket is its stdin; its stdout and stderr go nowhere (what it
// would print before forking is the import's noise; each worker gets its own stderr).
struct ForkServerProcess {
  pid_t pid = -1;
  Fd control;
};

Result<ForkServerProcess> spawn_fork_server(const WorkerCommand& command) {
  const std::string who = command.kind + " fork server";
  // Forked workers are orphaned on purpose (fork_server.py); this process adopts them.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return Error::plain(who, errno_text("prctl"));
  std::array<int, 2> sockets{-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets.data()) != 0) {
    return Error::plain(who, errno_text("socketpair"));
  }
  ForkServerProcess server;
  server.control = Fd(sockets[0]);
  const Fd theirs(sockets[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  const int rc = spawn_in_own_group(command.fork_server_argv, command.env, actions, server.pid);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error::plain(who, std::string("cannot start: ") + std::strerror(rc));
  return server;
}

// Hands the server a new worker's three pipe ends and reads back the worker's process id.
Result<Process> fork_from_server(const ForkServerProcess& server, const WorkerCommand& command) {
  const std::string who = command.kind + " fork server";
  StdPipes pipes;
  if (!pipes.make()) return Error::plain(who, errno_text("pipe"));
  const std::array<int, 3> ends = pipes.worker_ends();
  char byte = 'F';
  iovec data{&byte, 1};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof ends)> space{};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = space.data();
  message.msg_controllen = space.size();
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof ends);
  std::memcpy(CMSG_DATA(header), ends.data(), sizeof ends);
  if (::sendmsg(server.control.get(), &message, MSG_NOSIGNAL) != 1) {
    return Error::plain(who, errno_text("cannot hand over a worker's pipes"));
  }
  pipes.close_worker_ends();

  std::string reply;
  const auto deadline = Clock::now() + kForkReply;
  while (reply.find('\n') == std::string::npos) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    pollfd fd{server.control.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&fd, 1, static_cast<int>(left)) == 0) {
      return Error::plain(who,
                          "no process id within " + std::to_string(kForkReply.count()) + " ms");
    }
    std::array<char, 32> buffer;
    const ssize_t n = ::read(server.control.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::plain(who, "it closed its socket");
    reply.append(buffer.data(), static_cast<std::size_t>(n));
  }
  reply.pop_back();
  Process process;
  if (reply.empty() || reply.size() > 9 ||
      !std::all_of(reply.begin(), reply.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::plain(who, "not a process id: " + reply.substr(0, kGarbageShown));
  }
  process.pid = static_cast<pid_t>(std::stoi(reply));
  pipes.give_ours(process);
  if (Status started = finish_start(process, command.kind + " worker"); !started.ok()) {
    return started.error();
  }
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
  bool forked = false;  // by the fork server
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
        workers_(static_cast<std::size_t>(std::max(1, options.workers))),
        server_state_(command_.fork_server_argv.empty() ? ServerState::kGivenUp
                                                        : ServerState::kNone) {}

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Workers are killed rather than asked to exit: between runs they hold nothing worth
  // keeping, and an MXNet interpreter's own teardown takes a tenth of a second.
  // Allocates only (the poll set): std::bad_alloc here ends the program either way.
  ~Impl() {  // NOLINT(bugprone-exception-escape)
    for (Worker& worker : workers_) {
      if (worker.phase != Phase::kDown) kill_group(worker);
    }
    while (any_alive()) {
      wait_for_events(next_wakeup());
      enforce_deadlines();
    }
    stop_server();
  }

  std::vector<CheckRun> run(std::span<const Request> requests, const OutcomeCallback& on_outcome) {
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
      if (any_alive() || server_state_ == ServerState::kStarting) wait_for_events(next_wakeup());
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
    if (on_outcome_ != nullptr && *on_outcome_) (*on_outcome_)(check, *results_[check]);
  }

  void start_failed(Worker& worker, const std::string& why) {
    if (worker.forked) stop_server();  // forked workers that cannot start: plain starts from now
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
    if (server_state_ == ServerState::kNone) start_server();
    if (server_state_ == ServerState::kStarting) return;  // forked once it said hello
    Result<Process> process = Error::plain(command_.kind + " worker", "not started");
    const bool forked = server_state_ == ServerState::kReady;
    if (forked) {
      process = fork_from_server(server_, command_);
      if (!process) stop_server();
    }
    if (!process) process = spawn(command_);
    if (!process) {
      start_failed(worker, process.error().message());
      last_start_tail_.clear();
      return;
    }
    worker = Worker{};
    worker.process = std::move(process).value();
    worker.forked = forked && server_state_ == ServerState::kReady;
    worker.phase = Phase::kStarting;
    worker.deadline = Clock::now() + options_.hello_timeout;
  }

  void start_server() {
    auto server = spawn_fork_server(command_);
    if (!server) {
      server_state_ = ServerState::kGivenUp;
      return;
    }
    server_ = std::move(server).value();
    ::fcntl(server_.control.get(), F_SETFL, O_NONBLOCK);
    server_state_ = ServerState::kStarting;
    server_deadline_ = Clock::now() + options_.hello_timeout;
  }

  // Kills the fork server, if any; workers start from the command from now on.
  void stop_server() {
    if (server_.pid > 0) {
      ::kill(-server_.pid, SIGKILL);
      while (::waitpid(server_.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    server_ = ForkServerProcess{};
    server_pending_.clear();
    server_state_ = ServerState::kGivenUp;
  }

  // The server's hello: ready when it is one, else given up (plain workers then say why).
  void read_server() {
    std::array<char, 4096> buffer;
    for (;;) {
      const ssize_t n = ::read(server_.control.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0 || server_pending_.size() > kMaxLineBytes) {
        stop_server();
        return;
      }
      server_pending_.append(buffer.data(), static_cast<std::size_t>(n));
      const std::size_t newline = server_pending_.find('\n');
      if (newline == std::string::npos) continue;
      auto hello = parse_hello(server_pending_.substr(0, newline));
      if (!hello || hello->refusal || newline + 1 != server_pending_.size()) {
        stop_server();
        return;
      }
      server_pending_.clear();
      server_state_ = ServerState::kReady;
      // replies are read blocking, one per fork
      ::fcntl(server_.control.get(), F_SETFL, 0);
      return;
    }
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
    if (server_state_ == ServerState::kStarting) consider(server_deadline_);
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
    if (server_state_ == ServerState::kStarting && now >= server_deadline_) stop_server();
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
    enum class Stream { kOut, kErr, kExit, kServer };
    std::vector<pollfd> fds;
    std::vector<std::pair<Worker*, Stream>> owners;
    if (server_state_ == ServerState::kStarting) {
      fds.push_back({server_.control.get(), POLLIN, 0});
      owners.emplace_back(nullptr, Stream::kServer);
    }
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
      if (stream == Stream::kServer) {
        if (server_state_ == ServerState::kStarting) read_server();
        continue;
      }
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
        case Stream::kServer:
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
  enum class ServerState { kNone, kStarting, kReady, kGivenUp };
  ServerState server_state_;
  ForkServerProcess server_;
  std::string server_pending_;  // the hello line so far
  Clock::time_point server_deadline_;
  std::optional<Json> hello_;
  uint64_t next_id_ = 1;
  int start_failures_ = 0;
  std::string last_start_error_;
  std::string last_start_tail_;

  // The run in progress.
  std::span<const Request> requests_;
  const OutcomeCallback* on_outcome_ = nullptr;
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
                                const OutcomeCallback& on_outcome) {
  return impl_->run(requests, on_outcome);
}

const std::optional<Json>& Pool::hello() const { return impl_->hello(); }

}  // namespace mbcc::runners
