#include "base/cache_dir.hpp"

#include <cstdlib>
#include <string>

namespace mbcc {

namespace {
std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}
}  // namespace

Result<std::filesystem::path> cache_dir() {
  for (const char* name : {"MBCC_CACHE_DIR", "XDG_CACHE_HOME"}) {
    std::string v = env_value(name);
    if (!v.empty()) return std::filesystem::path(v);
  }
  std::string home = env_value("HOME");
  if (home.empty()) {
    return Error::plain("cache folder", "none of MBCC_CACHE_DIR, XDG_CACHE_HOME and HOME is set");
  }
  return std::filesystem::path(home) / ".cache";
}

}  // namespace mbcc
