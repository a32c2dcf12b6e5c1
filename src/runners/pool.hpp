// Pool: N worker processes of one kind for one candidate, reused for many checks, started from
// the command or forked by its fork server. Each worker runs in a process group of its own with
// its stdin and stdout on pipes (runners/protocol.hpp) and the last 64 KiB of its stderr kept,
// and is this process's child (forked ones are adopted: this process becomes a child subreaper
// when it starts a fork server). The pool hands each check to an idle worker, kills a
// worker's whole group when its check passes the time limit, turns a worker that dies or
// answers with garbage into that check's outcome, starts a fresh worker and goes on: every check
// of a run gets an outcome. It knows nothing about comparing outputs or verdicts.
//
// Single-threaded: run() drives every worker from one poll loop. Not safe to share between
// threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "runners/protocol.hpp"

namespace mbcc::runners {

// How to start one worker process.
struct WorkerCommand {
  std::string kind;               // names the worker in messages: "python", "capi"
  std::vector<std::string> argv;  // argv[0] is a path; PATH is not searched
  std::vector<std::string> env;   // the worker's whole environment, "NAME=value"
  // When not empty, the argv of a fork server (python/mbcc_probe/fork_server.py has its
  // protocol): one process, started once per pool, that forks each worker from itself, so that
  // an MXNet import is paid once. A server that fails is given up for plain starts.
  std::vector<std::string> fork_server_argv = {};
};

struct PoolOptions {
  int workers = 1;
  std::chrono::milliseconds check_timeout = std::chrono::minutes(5);
  // Importing an MXNet release takes seconds, more with two starting on two cores.
  std::chrono::milliseconds hello_timeout = std::chrono::minutes(2);
  // Workers that fail to start (no hello, an error hello, death before their first check) over
  // the pool's life; past this, checks still queued get a StartupFailure instead of a worker.
  int max_start_failures = 3;
  // How much of a worker's stderr an outcome carries (the pool keeps the last 64 KiB).
  std::size_t stderr_tail_bytes = std::size_t{8} * 1024;
};

// The worker died with the check in flight: a signal, an exit, or it closed its stdout.
struct Crash {
  int signal = 0;      // the signal that killed it, or 0
  int exit_code = -1;  // its exit status when it exited, else -1
  std::string detail;  // what else was seen: a half-written answer, a closed stdout
  std::string stderr_tail;
  std::string describe() const;  // "killed by SIGSEGV", "exited with status 3"
};

// The check ran past the time limit; the worker's process group was killed.
struct Timeout {
  std::chrono::milliseconds limit{0};
  std::string stderr_tail;
};

// The worker answered with a line that is not an answer to this check.
struct ProtocolError {
  std::string text;    // "worker printed garbage: <first 200 bytes>"
  std::string reason;  // what does not match ("$.status: found …, allowed …")
  std::string stderr_tail;
};

// No worker could be started for this check.
struct StartupFailure {
  std::string message;  // the last worker's reason: cannot exec, no hello, its error hello
  std::string stderr_tail;
};

using Outcome = std::variant<Answer, Crash, Timeout, ProtocolError, StartupFailure>;

struct CheckRun {
  Outcome outcome;
  std::chrono::milliseconds wall{0};  // from handing the check to a worker to its outcome
};

class Pool {
 public:
  Pool(WorkerCommand command, PoolOptions options);
  Pool(Pool&&) noexcept;
  Pool& operator=(Pool&&) noexcept;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();  // kills every worker and its fork server, and waits for them

  // Starts the workers now without waiting for their hellos, so that their start-up (importing
  // MXNet takes a second) overlaps with the caller's own work. run() starts them otherwise.
  void start();

  // Called with a request's index and outcome as soon as it has one.
  using OutcomeCallback = std::function<void(std::size_t request, const CheckRun& run)>;

  // Runs every request and returns their outcomes in the same order; `on_outcome` (may be empty)
  // sees each as it comes. Workers start on the first run (or start()) and stay for the next.
  std::vector<CheckRun> run(std::span<const Request> requests,
                            const OutcomeCallback& on_outcome = {});

  // The hello line of the first worker that started: what it can run. Empty before that.
  const std::optional<Json>& hello() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mbcc::runners
