#include "base/install_dirs.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string>
#include <system_error>

// Compiled in by CMakeLists.txt: the folders of the build tree and of the checkout, and the
// install layout relative to the folder of the installed executable.
#if !defined(MBCC_BUILD_TREE) || !defined(MBCC_SOURCE_TREE) || !defined(MBCC_BIN_TO_LIBEXEC) || \
    !defined(MBCC_BIN_TO_DATA) || !defined(MBCC_BIN_TO_DOC)
#error "install_dirs.cpp needs the definitions CMakeLists.txt gives it"
#endif

namespace mbcc {

namespace fs = std::filesystem;

namespace {

constexpr std::array<InstalledPartInfo, 5> kParts = {{
    {InstalledPart::kCapiWorker, "C API worker", "MBCC_CAPI_WORKER"},
    {InstalledPart::kProbe, "probe", "MBCC_PYTHON_DIR"},
    {InstalledPart::kCorpus, "corpus", "MBCC_CORPUS_DIR"},
    {InstalledPart::kRegistry, "registries", "MBCC_REGISTRY_DIR"},
    {InstalledPart::kDocs, "docs", "MBCC_DOC_DIR"},
}};

// Each part's place, in the order of kParts: relative to the installed executable's folder, and
// in the build tree.
constexpr std::array<const char*, 5> kInstalled = {
    MBCC_BIN_TO_LIBEXEC "/mbcc-capi-worker", MBCC_BIN_TO_DATA "/python", MBCC_BIN_TO_DATA "/corpus",
    MBCC_BIN_TO_DATA "/registry", MBCC_BIN_TO_DOC};
constexpr std::array<const char*, 5> kInBuildTree = {
    MBCC_BUILD_TREE "/mbcc-capi-worker", MBCC_SOURCE_TREE "/python", MBCC_SOURCE_TREE "/corpus",
    MBCC_SOURCE_TREE "/registry", MBCC_SOURCE_TREE "/docs"};

const InstalledPartInfo& info(InstalledPart part) { return kParts[static_cast<std::size_t>(part)]; }

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool in_build_tree(const fs::path& exe_dir) {
  std::error_code ec;
  return !exe_dir.empty() && fs::equivalent(exe_dir, MBCC_BUILD_TREE, ec);
}

}  // namespace

std::span<const InstalledPartInfo> installed_parts() { return kParts; }

PartLocation locate(InstalledPart part) {
  const InstalledPartInfo& part_info = info(part);
  if (const char* value = std::getenv(part_info.variable.data()); value && *value) {
    return {value, part_info.variable};
  }
  const auto index = static_cast<std::size_t>(part);
  const fs::path exe_dir = executable_dir();
  if (in_build_tree(exe_dir)) return {kInBuildTree[index], "build tree"};
  return {(exe_dir / kInstalled[index]).lexically_normal(), "installed"};
}

Result<fs::path> find_installed(InstalledPart part) {
  const PartLocation where = locate(part);
  std::error_code ec;
  std::string missing;
  switch (part) {
    case InstalledPart::kCapiWorker:
      if (!fs::is_regular_file(where.path, ec) || ::access(where.path.c_str(), X_OK) != 0) {
        missing = "is not an executable file";
      }
      break;
    case InstalledPart::kProbe:
      if (!fs::is_regular_file(where.path / "mbcc_probe" / "__main__.py", ec)) {
        missing = "has no mbcc_probe/__main__.py";
      }
      break;
    case InstalledPart::kCorpus:
      if (!fs::is_directory(where.path / "v1", ec)) missing = "has no v1/ folder of bundles";
      break;
    case InstalledPart::kRegistry:
      if (!fs::is_regular_file(where.path / "SHA256SUMS", ec)) missing = "has no SHA256SUMS";
      break;
    case InstalledPart::kDocs:
      if (!fs::is_regular_file(where.path / "releases.md", ec)) missing = "has no releases.md";
      break;
  }
  if (missing.empty()) return where.path;
  const InstalledPartInfo& part_info = info(part);
  std::string fix = where.found_by == part_info.variable
                        ? "fix or unset " + std::string(part_info.variable)
                        : "reinstall mbcc, or set " + std::string(part_info.variable);
  return Error::plain(where.path.string(), "mbcc's " + std::string(part_info.name) + " (" +
                                               std::string(where.found_by) + ") " + missing + "; " +
                                               fix);
}

}  // namespace mbcc
