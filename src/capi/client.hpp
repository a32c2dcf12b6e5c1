// WorkerClient: starts mbcc-capi-worker on one libmxnet.so and speaks its protocol, one request
// at a time, with no time limit. For tests and tools that drive a single worker; the runners'
// pool adds timeouts, crash verdicts and reuse on top of the same protocol.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "capi/protocol.hpp"

namespace mbcc::capi {

struct WorkerOptions {
  std::filesystem::path worker;        // the mbcc-capi-worker executable
  std::filesystem::path libmxnet;      // the candidate library
  std::filesystem::path library_path;  // prepended to LD_LIBRARY_PATH (0.12.x); may be empty
  std::filesystem::path stderr_file;   // where the worker's stderr goes; empty: inherited
};

// How the worker ended.
struct WorkerExit {
  int code = -1;                 // exit status when it exited
  int signal = 0;                // the signal that killed it, or 0
  std::string describe() const;  // "exit status 0", "killed by signal 6"
};

class WorkerClient {
 public:
  // Starts the worker and reads its hello line. A worker that cannot load the library still
  // says hello, with an "error" member: that is returned as the hello, not as an error.
  static Result<WorkerClient> start(const WorkerOptions& options);
  WorkerClient(WorkerClient&& other) noexcept;
  WorkerClient& operator=(WorkerClient&&) = delete;
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;
  ~WorkerClient();  // closes stdin and waits

  const Json& hello() const { return hello_; }
  // Writes `request` as one line and reads one answer line. When the worker dies instead, the
  // error says how (exit status or signal), and the client is finished.
  Result<Json> call(const Json& request);
  // Closes the worker's stdin and waits for it to end.
  Result<WorkerExit> finish();

 private:
  WorkerClient() = default;  // NOLINT(bugprone-exception-escape): nlohmann::json's members
  Result<std::string> read_line();
  Error died(const std::string& doing);

  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
  std::string buffer_;  // bytes read past the last line
  Json hello_;
};

}  // namespace mbcc::capi
