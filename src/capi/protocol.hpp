// The C API worker's protocol: JSON lines over stdin and stdout. After start the worker prints
// one hello line; then each request line gets exactly one answer line, in order.
//
// request: {"id": any, "bundle_dir": "…", "symbol_file": "…", "params_file": "…",
//           "inputs": [{"name": "data", "file": "…/input_0.npy"}], "load_api": "c-predict" |
//           "c-executor" | "c-cachedop", "out_dir": "…", "internals": false}
//   Relative symbol, params and input paths are taken from bundle_dir (which may be omitted
//   when they are absolute). Every graph input that is not a parameter must be among the inputs
//   (labels too).
// answer:  {"id": same, "status": "ok" | "unsupported" | "load_fail" | "run_fail" | "error",
//           "outputs": [{"name", "file", "shape", "dtype"}],
//           "internals": [{"index", "name", "file", "shape", "dtype"}],
//           "internals_error": {…}, "error": {"kind", "call", "message"}, "warnings": […],
//           "timings": {"load_ms", "run_ms"}}
//   "error" is present unless the status is ok: `call` names the MXNet function that failed
//   (empty when mbcc found the problem itself) and `message` is MXGetLastError's text as is.
//   A line with a "registry" member is a registry request instead (worker.hpp, serve_registry).
//   Status "error" means the request itself could not be served (bad JSON, unreadable input
//   file, output not writable): it is the caller's problem, not a verdict on the candidate.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "capi/abi.hpp"
#include "tensor/tensor.hpp"

namespace mbcc::capi {

// Key order kept as written, so that lines read well ("id" and "status" first).
using Json = nlohmann::ordered_json;

struct InputFile {
  std::string name;
  std::filesystem::path file;
};

struct Request {  // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept members
  Json id;        // echoed as given
  std::filesystem::path symbol_file;
  std::filesystem::path params_file;
  std::vector<InputFile> inputs;
  LoadApi load_api = LoadApi::kCachedOp;
  std::filesystem::path out_dir;
  bool internals = false;
};

// Parses one request line. On error the id is still recovered when the line is a JSON object
// that has one, so the answer can carry it.
Result<Request> parse_request(std::string_view line, Json* id);

enum class AnswerStatus { kOk, kUnsupported, kLoadFail, kRunFail, kError };
std::string_view status_name(AnswerStatus status);

struct Failure {
  std::string kind;     // the step that failed: "symbol", "params", "bind", "forward", …
  std::string call;     // the MXNet function, or "" when mbcc found the problem
  std::string message;  // MXGetLastError's text, or mbcc's
};

struct WrittenTensor {
  std::string name;
  std::filesystem::path file;
  Shape shape;
  DType dtype = DType::kFloat32;
  int index = -1;  // position in get_internals() (internals only)
};

struct Answer {  // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept members
  Json id;
  AnswerStatus status = AnswerStatus::kOk;
  std::vector<WrittenTensor> outputs;
  std::vector<WrittenTensor> internals;
  std::optional<Failure> error;
  std::optional<Failure> internals_error;
  std::vector<std::string> warnings;
  double load_ms = 0;
  double run_ms = 0;
};

// One line of compact JSON, without the newline.
std::string answer_line(const Answer& answer);

}  // namespace mbcc::capi
