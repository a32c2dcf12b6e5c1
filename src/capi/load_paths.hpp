// The C API load paths of the worker, each from the request's files to host tensors:
//   c-predict   MXPredCreate (params from the file's bytes) → MXPredSetInput → MXPredForward →
//               MXPredGetOutput; float32 inputs only.
//   c-executor  MXSymbolInferShape from the input shapes (each param's shape checked against
//               it) → input arrays → MXExecutorBind with the params as loaded →
//               MXExecutorForward(is_train=0) → MXExecutorOutputs.
//   c-cachedop  every graph input in NNSymbolListInputNames order → MXCreateCachedOp →
//               MXInvokeCachedOp.
// The graph loads with MXSymbolCreateFromFile, the params with MXNDArrayLoad under the
// numpy-shape policy of abi.hpp; `arg:`/`aux:` keys are split, unprefixed keys match argument
// and auxiliary names directly. Internals (executor and CachedOp) are every non-variable output
// of get_internals(), run with subgraph fusion off.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capi/library.hpp"
#include "capi/protocol.hpp"

namespace mbcc::capi {

struct NamedTensor {
  std::string name;
  Tensor tensor;
  int index = -1;  // position in get_internals() (internals only)
};

// What one load path produced; `failure` set means it stopped there.
struct PathRun {
  std::optional<std::pair<AnswerStatus, Failure>> failure;
  std::vector<NamedTensor> outputs;
  std::vector<NamedTensor> internals;
  std::size_t internals_count = 0;  // outputs of get_internals(), variables included
  std::optional<Failure> internals_error;
  std::vector<std::string> warnings;
  double load_ms = 0;
  double run_ms = 0;
};

// Runs `request.load_api` on `inputs`. The library must export the path's functions.
PathRun run_load_api(const Library& library, const Request& request,
                     const std::vector<NamedTensor>& inputs);

// An Error as the answer reports it: MXNet's call and message as is, else mbcc's message.
Failure to_failure(std::string kind, const Error& error);

}  // namespace mbcc::capi
