#include "runners/pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mbcc::runners {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const fs::path kFakeWorker = fs::path(MBCC_SOURCE_DIR) / "src/runners/testdata/fake_worker.py";

// A fresh folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("mbcc-runners-test-" + std::to_string(::getpid()) + "-" + std::to_string(count_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int count_ = 0;
  fs::path path_;
};

fs::path python3() {
  std::istringstream dirs(std::getenv("PATH") != nullptr ? std::getenv("PATH") : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (::access((fs::path(dir) / "python3").c_str(), X_OK) == 0) return fs::path(dir) / "python3";
  }
  return "/usr/bin/python3";
}

WorkerCommand fake(const std::string& startup, const fs::path& starts) {
  return {
      "fake",
      {python3().string(), kFakeWorker.string(), "--startup", startup, "--starts", starts.string()},
      {"PATH=/usr/bin:/bin"}};
}

// The same fake worker, forked by the real fork server (python/mbcc_probe/fork_server.py),
// which itself starts as `server_startup` says.
WorkerCommand forked(const std::string& startup, const fs::path& starts,
                     const std::string& server_startup = "ok") {
  WorkerCommand command = fake(startup, starts);
  command.fork_server_argv = command.argv;
  for (const char* arg : {"--fork-server", "--server-startup"}) {
    command.fork_server_argv.emplace_back(arg);
  }
  command.fork_server_argv.push_back(server_startup);
  return command;
}

// A request whose load API tells the fake worker what to do.
Request ask(const std::string& action, const fs::path& out_dir) {
  Request request;
  request.bundle_dir = "/bundles/" + action;
  request.load_api = action;
  request.inputs = {{"data", "data/input_0.npy"}};
  request.out_dir = out_dir;
  return request;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Whether `pid` is gone (or a zombie waiting for whoever adopted it), waiting up to 2 s.
bool process_gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;
    const std::size_t paren = text.rfind(')');
    if (paren != std::string::npos && text.substr(paren + 2, 1) == "Z") return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

std::size_t count_of(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), line));
}

// Run with plain workers (false) and with forked ones (true): containment is the same.
class PoolStarts : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(PlainAndForked, PoolStarts, ::testing::Bool());

TEST_P(PoolStarts, GivesEveryCheckOfAMixedRunItsOutcome) {
  TempDir dir;
  const std::vector<std::string> actions = {
      "ok",      "ok", "segv", "ok",       "hang", "ok",    "load-fail", "ok", "exit-mid",  "ok",
      "garbage", "ok", "ok",   "wrong-id", "ok",   "flood", "segv",      "ok", "load-fail", "ok"};
  std::vector<Request> requests;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const fs::path out = dir.path() / ("check-" + std::to_string(i));
    fs::create_directories(out);
    requests.push_back(ask(actions[i], out));
  }
  PoolOptions options;
  options.workers = 2;
  options.check_timeout = milliseconds(1000);
  const fs::path starts = dir.path() / "starts";
  Pool pool(GetParam() ? forked("ok", starts) : fake("ok", starts), options);
  const std::vector<CheckRun> runs = pool.run(requests);

  ASSERT_EQ(runs.size(), actions.size());
  for (std::size_t i = 0; i < actions.size(); ++i) {
    SCOPED_TRACE("check " + std::to_string(i) + ": " + actions[i]);
    const Outcome& outcome = runs[i].outcome;
    const std::string& action = actions[i];
    if (action == "ok" || action == "flood") {
      ASSERT_TRUE(std::holds_alternative<Answer>(outcome)) << outcome.index();
      const auto& answer = std::get<Answer>(outcome);
      EXPECT_EQ(answer.status, AnswerStatus::kOk);
      ASSERT_EQ(answer.outputs.size(), 1u);
      EXPECT_EQ(answer.outputs[0].file, requests[i].out_dir / "output_0.npy");
      EXPECT_DOUBLE_EQ(answer.timings.load_ms, 1.5);
    } else if (action == "load-fail") {
      ASSERT_TRUE(std::holds_alternative<Answer>(outcome)) << outcome.index();
      const auto& answer = std::get<Answer>(outcome);
      EXPECT_EQ(answer.status, AnswerStatus::kLoadFail);
      ASSERT_TRUE(answer.error);
      EXPECT_EQ(answer.error->message, "fake load_fail for /bundles/load-fail");
    } else if (action == "segv") {
      ASSERT_TRUE(std::holds_alternative<Crash>(outcome)) << outcome.index();
      const auto& crash = std::get<Crash>(outcome);
      EXPECT_EQ(crash.signal, SIGSEGV);
      EXPECT_EQ(crash.describe(), "killed by SIGSEGV");
      EXPECT_NE(crash.stderr_tail.find("about to crash on request"), std::string::npos)
          << crash.stderr_tail;
    } else if (action == "hang") {
      ASSERT_TRUE(std::holds_alternative<Timeout>(outcome)) << outcome.index();
      EXPECT_EQ(std::get<Timeout>(outcome).limit, milliseconds(1000));
      // The worker's own child went with it: the whole process group is killed.
      const std::vector<std::string> child = lines_of(requests[i].out_dir / "child.pid");
      ASSERT_EQ(child.size(), 1u);
      EXPECT_TRUE(process_gone(std::stoi(child[0])));
    } else if (action == "exit-mid") {
      ASSERT_TRUE(std::holds_alternative<Crash>(outcome)) << outcome.index();
      const auto& crash = std::get<Crash>(outcome);
      EXPECT_EQ(crash.signal, 0);
      EXPECT_EQ(crash.exit_code, 3);
      EXPECT_EQ(crash.describe(), "exited with status 3");
      EXPECT_NE(crash.detail.find("in the middle of an answer line"), std::string::npos);
    } else if (action == "garbage") {
      ASSERT_TRUE(std::holds_alternative<ProtocolError>(outcome)) << outcome.index();
      EXPECT_EQ(std::get<ProtocolError>(outcome).text,
                "worker printed garbage: Loading symbol saved by previous version v1.9.1");
    } else if (action == "wrong-id") {
      ASSERT_TRUE(std::holds_alternative<ProtocolError>(outcome)) << outcome.index();
      EXPECT_NE(std::get<ProtocolError>(outcome).reason.find("$.id"), std::string::npos);
    }
  }
  // Two workers at first, then a fresh one for each of the six lost while checks were left;
  // forked ones all come from one server.
  const std::vector<std::string> started = lines_of(starts);
  EXPECT_EQ(count_of(started, "server"), GetParam() ? 1u : 0u);
  const std::size_t workers = started.size() - count_of(started, "server");
  EXPECT_GE(workers, 3u);
  EXPECT_LE(workers, 8u);
}

// A server that dies or refuses at its start is given up: workers start from the command.
TEST(PoolForkServer, FallsBackToPlainStartsWhenTheServerCannotServe) {
  for (const std::string server_startup : {"die", "refuse"}) {
    SCOPED_TRACE(server_startup);
    TempDir dir;
    PoolOptions options;
    options.workers = 2;
    {
      Pool pool(forked("ok", dir.path() / "starts", server_startup), options);
      const std::vector<Request> requests(4, ask("ok", dir.path()));
      for (const CheckRun& run : pool.run(requests)) {
        ASSERT_TRUE(std::holds_alternative<Answer>(run.outcome)) << run.outcome.index();
      }
    }
    // the server, then plain workers (the second may have been killed before it said so)
    const std::vector<std::string> started = lines_of(dir.path() / "starts");
    EXPECT_EQ(count_of(started, "server"), 1u);
    EXPECT_GE(started.size(), 2u);
    EXPECT_LE(started.size(), 3u);
  }
}

// A forked worker that cannot start ends the server; the plain starts after it fail alike and
// the checks get the start failure, after max_start_failures tries in all.
TEST(PoolForkServer, AForkedWorkerThatCannotStartEndsTheServer) {
  TempDir dir;
  PoolOptions options;
  options.workers = 1;
  Pool pool(forked("die", dir.path() / "starts"), options);
  const std::vector<CheckRun> runs = pool.run(std::vector<Request>(2, ask("ok", dir.path())));
  for (const CheckRun& run : runs) {
    ASSERT_TRUE(std::holds_alternative<StartupFailure>(run.outcome)) << run.outcome.index();
    EXPECT_NE(std::get<StartupFailure>(run.outcome).message.find("exited with status 1"),
              std::string::npos);
  }
  const std::vector<std::string> started = lines_of(dir.path() / "starts");
  EXPECT_EQ(count_of(started, "server"), 1u);
  EXPECT_EQ(started.size(), 1u + static_cast<std::size_t>(options.max_start_failures));
}

TEST(Pool, KeepsABoundedStderrTail) {
  TempDir dir;
  PoolOptions options;
  options.stderr_tail_bytes = 1000;
  Pool pool(fake("ok", dir.path() / "starts"), options);
  const std::vector<Request> requests = {ask("flood", dir.path()), ask("segv", dir.path())};
  const std::vector<CheckRun> runs = pool.run(requests);
  ASSERT_TRUE(std::holds_alternative<Crash>(runs[1].outcome));
  const std::string& tail = std::get<Crash>(runs[1].outcome).stderr_tail;
  EXPECT_LE(tail.size(), 1000u);
  EXPECT_EQ(tail.rfind("xxxxx", 0), 0u) << "starts at a line: " << tail.substr(0, 120);
  EXPECT_NE(tail.find("fake worker: about to crash on request 2\n"), std::string::npos);
}

TEST(Pool, ReusesWorkersAcrossRuns) {
  TempDir dir;
  PoolOptions options;
  options.workers = 2;
  {
    Pool pool(fake("ok", dir.path() / "starts"), options);
    EXPECT_FALSE(pool.hello());
    const std::vector<Request> requests(5, ask("ok", dir.path()));
    for (int round = 0; round < 3; ++round) {
      for (const CheckRun& run : pool.run(requests)) {
        ASSERT_TRUE(std::holds_alternative<Answer>(run.outcome));
      }
    }
    ASSERT_TRUE(pool.hello());
    EXPECT_EQ((*pool.hello())["hello"], "fake");
    EXPECT_TRUE(pool.run({}).empty());
  }
  // Two at most, however many rounds: the pool kills its workers when it goes, so a second
  // worker still starting then may not have said so.
  const std::size_t starts = lines_of(dir.path() / "starts").size();
  EXPECT_GE(starts, 1u);
  EXPECT_LE(starts, 2u);
}

// Workers started ahead of the first run say hello while the caller works; a hello read only
// after its time limit still counts, since it came in time.
TEST(Pool, StartsWorkersAheadOfTheFirstRun) {
  TempDir dir;
  PoolOptions options;
  options.workers = 2;
  options.hello_timeout = milliseconds(1500);
  {
    Pool pool(fake("ok", dir.path() / "starts"), options);
    pool.start();
    for (int i = 0; i < 200 && lines_of(dir.path() / "starts").size() < 2; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_EQ(lines_of(dir.path() / "starts").size(), 2u);
    std::this_thread::sleep_for(options.hello_timeout + milliseconds(200));
    const std::vector<Request> requests(4, ask("ok", dir.path()));
    for (const CheckRun& run : pool.run(requests)) {
      ASSERT_TRUE(std::holds_alternative<Answer>(run.outcome)) << run.outcome.index();
    }
  }
  EXPECT_EQ(lines_of(dir.path() / "starts").size(), 2u);  // no worker was started again
}

// Every check gets a StartupFailure, after at most max_start_failures tries.
void expect_startup_failures(const std::vector<CheckRun>& runs, std::size_t count,
                             const std::string& in_message) {
  ASSERT_EQ(runs.size(), count);
  for (const CheckRun& run : runs) {
    ASSERT_TRUE(std::holds_alternative<StartupFailure>(run.outcome)) << run.outcome.index();
    EXPECT_NE(std::get<StartupFailure>(run.outcome).message.find(in_message), std::string::npos)
        << std::get<StartupFailure>(run.outcome).message;
  }
}

TEST(Pool, GivesUpOnAWorkerThatDiesAtStartup) {
  TempDir dir;
  PoolOptions options;
  options.workers = 2;
  options.max_start_failures = 3;
  Pool pool(fake("die", dir.path() / "starts"), options);
  const std::vector<CheckRun> runs = pool.run(std::vector<Request>(6, ask("ok", dir.path())));
  expect_startup_failures(runs, 6, "ended before its hello: exited with status 1");
  EXPECT_NE(std::get<StartupFailure>(runs[0].outcome).stderr_tail.find("cannot import mxnet"),
            std::string::npos);
  EXPECT_EQ(lines_of(dir.path() / "starts").size(), 3u);
  // Later runs do not try again.
  expect_startup_failures(pool.run(std::vector<Request>(2, ask("ok", dir.path()))), 2,
                          "exited with status 1");
  EXPECT_EQ(lines_of(dir.path() / "starts").size(), 3u);
}

TEST(Pool, PassesOnAWorkersRefusal) {
  TempDir dir;
  PoolOptions options;
  options.max_start_failures = 2;
  Pool pool(fake("refuse", dir.path() / "starts"), options);
  expect_startup_failures(pool.run(std::vector<Request>(3, ask("ok", dir.path()))), 3,
                          "fake worker: cannot serve: import: No module named mxnet");
  EXPECT_EQ(lines_of(dir.path() / "starts").size(), 2u);
}

TEST(Pool, GivesUpOnASilentWorker) {
  TempDir dir;
  PoolOptions options;
  options.max_start_failures = 1;
  options.hello_timeout = milliseconds(500);
  Pool pool(fake("silent", dir.path() / "starts"), options);
  expect_startup_failures(pool.run(std::vector<Request>(2, ask("ok", dir.path()))), 2,
                          "no hello within 500 ms");
}

TEST(Pool, CountsAWorkerThatTalksUnaskedAsAFailedStart) {
  TempDir dir;
  PoolOptions options;
  options.max_start_failures = 2;
  Pool pool(fake("chatty", dir.path() / "starts"), options);
  expect_startup_failures(pool.run(std::vector<Request>(2, ask("ok", dir.path()))), 2,
                          "a line before any request");
}

TEST(Pool, ReportsAWorkerThatCannotBeExecuted) {
  PoolOptions options;
  options.max_start_failures = 2;
  Pool pool(WorkerCommand{"capi", {"/nonexistent/mbcc-capi-worker", "libmxnet.so"}, {}}, options);
  expect_startup_failures(pool.run(std::vector<Request>(2, ask("ok", "/tmp"))), 2,
                          "cannot start /nonexistent/mbcc-capi-worker");
}

TEST(Pool, KillsAWorkerThatClosesItsStdoutButLives) {
  TempDir dir;
  Pool pool(fake("ok", dir.path() / "starts"), PoolOptions{});
  const std::vector<Request> requests = {ask("close-stdout", dir.path()), ask("ok", dir.path())};
  const std::vector<CheckRun> runs = pool.run(requests);
  ASSERT_TRUE(std::holds_alternative<Crash>(runs[0].outcome)) << runs[0].outcome.index();
  const auto& crash = std::get<Crash>(runs[0].outcome);
  EXPECT_EQ(crash.signal, SIGKILL);
  EXPECT_NE(crash.detail.find("closed its stdout"), std::string::npos) << crash.detail;
  EXPECT_TRUE(std::holds_alternative<Answer>(runs[1].outcome));
}

}  // namespace
}  // namespace mbcc::runners
