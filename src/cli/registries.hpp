// What `mbcc ops` and `mbcc scan` share: where the shipped registry dumps are, and a release's
// registry read from its dump or, for a release not dumped, dumped live from its environment.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "registry/schema.hpp"

namespace mbcc::cli {

// `option` when given, else the registry/ folder beside the probe (the source tree's).
Result<std::filesystem::path> registry_dir(const std::string& option);

// The canonical release name ("2.0.0.beta1" -> "2.0.0b1"); unknown names are kept.
std::string release_name(std::string_view release);

// Installs the release when missing and dumps its registry through the C API worker.
Result<registry::Registry> dump_live(const std::string& release);

// The dump in `dir`; a release the dumps do not list is installed and dumped live.
Result<registry::Registry> load_registry(const std::filesystem::path& dir,
                                         const std::string& release);

}  // namespace mbcc::cli
