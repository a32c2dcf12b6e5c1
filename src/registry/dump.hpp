// A release's registry: dumped through the C API worker (one worker process per release, as
// one libmxnet.so per process demands), and kept as files: <dir>/<release>.json.gz, each
// listed with its sha256 in <dir>/SHA256SUMS. Reading is strict: a dump missing from the list,
// failing its sha256, truncated, or not of this schema is an error naming the file.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "registry/schema.hpp"

namespace mbcc::registry {

inline constexpr std::string_view kDumpFormat = "mbcc-registry/1";
inline constexpr std::string_view kChecksumFile = "SHA256SUMS";
// The key no op knows, given to every op once: a parser refuses it, listing its fields.
inline constexpr std::string_view kProbeKey = "zz_probe_key";

struct DumpSource {
  std::string release;                 // "1.9.1"
  std::filesystem::path worker;        // mbcc-capi-worker
  std::filesystem::path libmxnet;      // the release's libmxnet.so
  std::filesystem::path library_path;  // prepended to LD_LIBRARY_PATH (0.12.x); may be empty
  std::function<void(std::string_view)> progress;  // may be empty
};

// Lists every op and alias, then probes each op's parser; a probe that kills the worker marks
// that op kUnknown ("the probe crashed the worker") and a new worker goes on with the next.
Result<Registry> dump_registry(const DumpSource& source);

nlohmann::ordered_json registry_to_json(const Registry& registry);
// `source` names the file in errors, with the JSON path of the first field that is wrong.
Result<Registry> registry_from_json(const nlohmann::json& json, const std::string& source);

std::filesystem::path dump_path(const std::filesystem::path& dir, std::string_view release);
// Writes the dump, then its line in SHA256SUMS (other lines kept), each file atomically.
Status write_dump(const std::filesystem::path& dir, const Registry& registry);
Result<Registry> read_dump(const std::filesystem::path& dir, std::string_view release);
// The releases SHA256SUMS lists (empty when the file does not exist).
Result<std::vector<std::string>> dumped_releases(const std::filesystem::path& dir);

}  // namespace mbcc::registry
