// What the C API worker does with one request: check that the library has the load path, read
// the inputs, run the path (load_paths.hpp), and write every output (and optionally every
// internal output) as .npy with mbcc's own writer, never with MXNet's save.
#pragma once

#include <optional>
#include <string_view>

#include "capi/library.hpp"
#include "capi/protocol.hpp"

namespace mbcc::capi {

// The first line the worker prints: the library, its version, and which load paths it can run
// (with the reason when it cannot).
Json hello(const Library& library);

Answer serve(const Library& library, const Request& request);

// Registry requests (the registry part's dump), or nullopt when `line` is not one:
//   {"id", "registry": "ops"} -> {"id", "status": "ok", "version", "ops": [{"name",
//     "real_name", "key_var_num_args", "args": [[name, type string], …]}, …]} for every name
//     MXListAllOpNames lists, aliases included, in its order;
//   {"id", "registry": "probe", "op", "key", "value"} -> {"id", "status": "ok", "accepted",
//     "message"}: op created with that one attribute (see Library::probe_parser).
// A failed MXNet call answers {"id", "status": "error", "error": {"call", "message"}}.
std::optional<Json> serve_registry(const Library& library, std::string_view line);

}  // namespace mbcc::capi
