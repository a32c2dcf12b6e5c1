// Where mbcc keeps what it can make again (environments, downloaded store objects).
#pragma once

#include <filesystem>

#include "base/result.hpp"

namespace mbcc {

// $MBCC_CACHE_DIR, else $XDG_CACHE_HOME, else $HOME/.cache (empty values are ignored).
Result<std::filesystem::path> cache_dir();

}  // namespace mbcc
