// The worker protocol, as the pool speaks it: JSON lines over a worker's stdin and stdout. One
// protocol for both workers, the Python worker (python/mbcc_probe/worker.py) and the C API worker
// (src/capi/protocol.hpp, which documents the worker side of the same lines).
//
// hello, the worker's first line:
//   {"hello": "<worker kind>", "mxnet_version": …, …}. Whatever else it holds (supported load
//   APIs, library, np mode) is kept for the caller. A worker that cannot serve says so with an
//   "error": {"kind", "message"} member, then exits.
// request, one line per check:
//   {"id": <integer>, "bundle_dir": "…", "load_api": "…", "inputs": [{"name", "file"}],
//    "out_dir": "…", "internals": bool, "symbol_file": "…", "params_file": "…"}
//   The last two are for workers that take the graph and params by name (the C API worker);
//   they are written only when set. Relative files are taken from bundle_dir.
// answer, exactly one line per request, in order:
//   {"id": same, "status": "ok" | "unsupported" | "load_fail" | "run_fail" | "error",
//    "outputs": [{"name", "file", "shape", "dtype"}],
//    "internals": [{"index", "name", "file", "shape", "dtype"}],
//    "internals_error": {"kind", "call", "message"}, "error": {"kind", "call", "message"},
//    "warnings": ["…"], "timings": {"load_ms", "run_ms"}}
//   "error" is there exactly when the status is not ok ("call" may be left out). Status "error"
//   means the worker could not serve the request (unreadable input, output not writable): the
//   caller's fault, not the candidate's. Parsing is strict: an unknown member, a wrong type, an
//   unknown dtype or another id makes the line garbage.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/result.hpp"
#include "tensor/dtype.hpp"
#include "tensor/tensor.hpp"

namespace mbcc::runners {

using Json = nlohmann::ordered_json;

struct InputFile {
  std::string name;
  std::filesystem::path file;
};

// One check, as a worker is asked to run it.
struct Request {
  std::filesystem::path bundle_dir;
  std::string load_api;
  std::vector<InputFile> inputs;
  std::filesystem::path out_dir;
  bool internals = false;
  std::filesystem::path symbol_file;  // C API worker; empty: not sent
  std::filesystem::path params_file;  // C API worker; empty: not sent
};

// The request as one line of JSON, without the newline.
std::string request_line(const Request& request, uint64_t id);

enum class AnswerStatus { kOk, kUnsupported, kLoadFail, kRunFail, kError };
std::string_view answer_status_name(AnswerStatus status);

struct Failure {
  std::string kind;     // the step that failed ("load", "forward", "symbol", …)
  std::string call;     // the MXNet function or Python API that raised; may be empty
  std::string message;  // the candidate's own text
};

struct WrittenTensor {
  std::string name;
  std::filesystem::path file;
  Shape shape;
  DType dtype = DType::kFloat32;
  std::optional<int64_t> index;  // position in get_internals() (internals only)
  // The file's bytes when they are held in memory instead of written (an answer served from the
  // run cache): `file` then names where the worker wrote them.
  std::optional<FileBytes> held;
};

struct Timings {
  double load_ms = 0;
  double run_ms = 0;
};

struct Answer {
  AnswerStatus status = AnswerStatus::kOk;
  std::vector<WrittenTensor> outputs;
  std::vector<WrittenTensor> internals;
  std::optional<Failure> error;
  std::optional<Failure> internals_error;
  std::vector<std::string> warnings;
  Timings timings;
};

// The answer as the line a worker would send for `id`, which parse_answer reads back as it was:
// for keeping an answer (check/run_cache.hpp).
std::string answer_line(const Answer& answer, uint64_t id);

// Parses one answer line for the request sent with `id`. The error says what does not match,
// with the JSON path ("$.outputs[0].dtype").
Result<Answer> parse_answer(std::string_view line, uint64_t id);

// A worker's first line: what it is and what it can run, or why it cannot serve.
struct Hello {    // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept members
  Json document;  // the whole line, for the caller (supported load APIs, …)
  std::optional<Failure> refusal;  // its "error" member: it cannot serve, and exits
};

// Parses a worker's first line; an error when the line is not a hello.
Result<Hello> parse_hello(std::string_view line);

}  // namespace mbcc::runners
