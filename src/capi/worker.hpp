// What the C API worker does with one request: load the bundle's graph and params through one
// C API load path of the library, run a forward pass in inference mode on the request's
// inputs, and write every output (and optionally every internal output) as .npy with mbcc's
// own writer. The three paths:
//   c-predict   MXPredCreate (params from the file's bytes) → MXPredSetInput → MXPredForward →
//               MXPredGetOutput; float32 inputs only.
//   c-executor  MXSymbolInferShape from the input shapes → input arrays → MXExecutorBind with the
//               params as loaded → MXExecutorForward(is_train=0) → MXExecutorOutputs.
//   c-cachedop  every graph input in NNSymbolListInputNames order → MXCreateCachedOp →
//               MXInvokeCachedOp.
// Params are loaded with MXNDArrayLoad under the numpy-shape policy of abi.hpp; `arg:`/`aux:`
// keys are split, unprefixed keys match argument and auxiliary names directly.
#pragma once

#include "capi/library.hpp"
#include "capi/protocol.hpp"

namespace mbcc::capi {

// The first line the worker prints: the library, its version, and which load paths it can run
// (with the reason when it cannot).
Json hello(const Library& library);

Answer serve(const Library& library, const Request& request);

}  // namespace mbcc::capi
