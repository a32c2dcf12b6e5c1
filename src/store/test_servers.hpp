// Test support: the real S3 server (moto) and the fault-injecting proxy, each a child process
// that the tests start on 127.0.0.1 and stop after them, even on failure (the destructor closes
// the child's stdin, which makes it exit, and kills it if it lingers).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/scoped_env.hpp"

extern char** environ;

namespace mbcc::store::testing {

using mbcc::ScopedEnv;

// A child process spoken to in JSON lines over its stdin and stdout.
class Child {
 public:
  Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  bool running() const { return pid_ > 0; }

  // One line of output, or nullopt past the deadline or at end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (std::size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(from_child_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  nlohmann::json command(const nlohmann::json& request) {
    std::string line = request.dump() + "\n";
    if (::write(to_child_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return {};
    auto reply = read_line();
    return reply ? nlohmann::json::parse(*reply, nullptr, false) : nlohmann::json();
  }

  void stop() {
    if (to_child_ >= 0) ::close(to_child_);
    to_child_ = -1;
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (i == 99) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
        }
      }
      pid_ = -1;
    }
    if (from_child_ >= 0) ::close(from_child_);
    from_child_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
};

// The tools venv's python (./dev exports it, ctest passes it on), or why there is none.
inline std::string tools_python(std::string& why_not) {
  const char* python = std::getenv("MBCC_TOOLS_PYTHON");
  if (python == nullptr || *python == '\0') {
    why_not = "MBCC_TOOLS_PYTHON is not set (./dev setup creates the tools environment with moto)";
    return {};
  }
  return python;
}

inline std::string testdata(const char* name) { return std::string(MBCC_SOURCE_DIR) + "/src/store/testdata/" + name; }

// moto's S3 server with signatures enforced, and the keys it accepts.
struct MotoServer {
  std::unique_ptr<Child> child;
  nlohmann::json info;  // port, bucket, access_key, secret_key, session_*
  std::string skip_reason;

  MotoServer() {
    std::string python = tools_python(skip_reason);
    if (python.empty()) return;
    child = std::make_unique<Child>(std::vector<std::string>{python, testdata("s3_server.py")});
    auto line = child->read_line(std::chrono::seconds(60));
    if (!line) {
      skip_reason = "the moto server did not start (see its stderr above)";
      return;
    }
    info = nlohmann::json::parse(*line, nullptr, false);
    if (info.contains("skip")) skip_reason = info["skip"].get<std::string>();
  }
  int port() const { return info["port"].get<int>(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
};

struct FaultProxy {
  std::unique_ptr<Child> child;
  int port = 0;

  FaultProxy(const std::string& python, int upstream_port, double stall_seconds) {
    child = std::make_unique<Child>(std::vector<std::string>{python, testdata("fault_proxy.py"),
                                                             std::to_string(upstream_port), "--stall",
                                                             std::to_string(stall_seconds)});
    auto line = child->read_line(std::chrono::seconds(30));
    if (line) port = nlohmann::json::parse(*line, nullptr, false).value("port", 0);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }
  // fault: see fault_proxy.py.
  void schedule(const nlohmann::json& faults) { child->command({{"cmd", "faults"}, {"faults", faults}}); }
  nlohmann::json stats() { return child->command({{"cmd", "stats"}}); }
};

}  // namespace mbcc::store::testing
