#include "cli/registries.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/install_dirs.hpp"
#include "envs/envs.hpp"
#include "registry/dump.hpp"

namespace mbcc::cli {

namespace fs = std::filesystem;

Result<fs::path> registry_dir(const std::string& option) {
  if (!option.empty()) return fs::path(option);
  return find_installed(InstalledPart::kRegistry);
}

std::string release_name(std::string_view release) {
  const envs::ReleaseQuirks* row = envs::find_release(release);
  return row == nullptr ? std::string(release) : std::string(row->release);
}

Result<registry::Registry> dump_live(const std::string& release) {
  Result<fs::path> worker = find_installed(InstalledPart::kCapiWorker);
  if (!worker) return worker.error();
  envs::Options options;
  options.progress = [](std::string_view line) { fmt::print(stderr, "  {}\n", line); };
  auto env = envs::install(release, options);
  if (!env) return env.error();
  if (env->libmxnet.empty()) {
    return Error::plain(env->dir.string(), "the environment does not record its libmxnet.so");
  }
  registry::DumpSource source{release_name(release), *worker, env->libmxnet, env->library_path,
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
