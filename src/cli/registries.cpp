#include "cli/registries.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "corpus/generate.hpp"
#include "envs/envs.hpp"
#include "registry/dump.hpp"

namespace mbcc::cli {

namespace fs = std::filesystem;

Result<fs::path> registry_dir(const std::string& option) {
  if (!option.empty()) return fs::path(option);
  Result<fs::path> probe_dir = corpus::find_probe_dir();
  if (!probe_dir) return probe_dir.error();
  return probe_dir->parent_path() / "registry";
}

std::string release_name(std::string_view release) {
  const envs::ReleaseQuirks* row = envs::find_release(release);
  return row == nullptr ? std::string(release) : std::string(row->release);
}

Result<registry::Registry> dump_live(const std::string& release) {
  std::error_code ec;
  const fs::path worker = fs::read_symlink("/proc/self/exe", ec).parent_path() / "mbcc-capi-worker";
  if (ec || ::access(worker.c_str(), X_OK) != 0) {
    return Error::plain(worker.string(), "mbcc's C API worker is not beside mbcc");
  }
  envs::Options options;
  options.progress = [](std::string_view line) { fmt::print(stderr, "  {}\n", line); };
  auto env = envs::install(release, options);
  if (!env) return env.error();
  if (env->libmxnet.empty()) {
    return Error::plain(env->dir.string(), "the environment does not record its libmxnet.so");
  }
  registry::DumpSource source{release_name(release), worker, env->libmxnet, env->library_path,
                              [](std::string_view line) { fmt::print(stderr, "  {}\n", line); }};
  return registry::dump_registry(source);
}

Result<registry::Registry> load_registry(const fs::path& dir, const std::string& release) {
  const std::string name = release_name(release);
  auto dumped = registry::dumped_releases(dir);
  if (!dumped) return dumped.error();
  if (std::find(dumped->begin(), dumped->end(), name) != dumped->end()) {
    return registry::read_dump(dir, name);
  }
  fmt::print(stderr, "mbcc: {} has no registry dump in {}; dumping it from its environment\n", name,
             dir.string());
  return dump_live(name);
}

}  // namespace mbcc::cli
