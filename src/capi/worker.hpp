// What the C API worker does with one request: check that the library has the load path, read
// the inputs, run the path (load_paths.hpp), and write every output (and optionally every
// internal output) as .npy with mbcc's own writer, never with MXNet's save.
#pragma once

#include "capi/library.hpp"
#include "capi/protocol.hpp"

namespace mbcc::capi {

// The first line the worker prints: the library, its version, and which load paths it can run
// (with the reason when it cannot).
Json hello(const Library& library);

Answer serve(const Library& library, const Request& request);

}  // namespace mbcc::capi
