// mbcc --version [--verbose] and mbcc doctor: the version, and where mbcc found each of its
// parts, so that a broken install is named before a check trips over it.
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "base/cache_dir.hpp"
#include "base/install_dirs.hpp"
#include "cli/commands.hpp"
#include "envs/envs.hpp"
#include "store/cache.hpp"

// MBCC_VERSION is the project's version; MBCC_GIT_DESCRIBE is `git describe` of the checkout
// at configure time, empty when not built from one (CMakeLists.txt).
#if !defined(MBCC_VERSION) || !defined(MBCC_GIT_DESCRIBE)
#error "doctor.cpp needs the definitions CMakeLists.txt gives it"
#endif

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

std::string version_line() {
  const std::string describe = MBCC_GIT_DESCRIBE;
  return "mbcc " MBCC_VERSION + (describe.empty() ? "" : " (git " + describe + ")");
}

void add_row(std::string& out, std::string_view what, std::string_view text) {
  out += fmt::format("{:<15} {}\n", what, text);
}

// The version line, then one line per part; `missing` counts the parts that are not there.
std::string doctor_text(int& missing) {
  std::string out = version_line() + "\n";
  std::error_code ec;
  add_row(out, "executable", fs::read_symlink("/proc/self/exe", ec).string());
  for (const InstalledPartInfo& part : installed_parts()) {
    const PartLocation where = locate(part.part);
    Result<fs::path> found = find_installed(part.part);
    if (found.ok()) {
      add_row(out, part.name, fmt::format("{} ({})", found->string(), where.found_by));
    } else {
      ++missing;
      add_row(out, part.name, "MISSING: " + found.error().message());
    }
  }
  auto path_row = [&](std::string_view what, const Result<fs::path>& path, std::string_view note) {
    if (path.ok()) {
      add_row(out, what, path->string() + std::string(note));
    } else {
      ++missing;
      add_row(out, what, "MISSING: " + path.error().message());
    }
  };
  const Result<fs::path> cache = cache_dir();
  path_row("cache", cache.ok() ? Result<fs::path>(*cache / "mbcc") : cache,
           " (from MBCC_CACHE_DIR, XDG_CACHE_HOME or HOME)");
  path_row("store cache", store::Cache::default_dir(), "");
  path_row("environments", envs::envs_dir(), "");
  Result<std::vector<envs::Env>> installed = envs::list();
  if (!installed.ok()) {
    ++missing;
    add_row(out, "MXNet releases", "MISSING: " + installed.error().message());
  } else if (installed->empty()) {
    add_row(out, "MXNet releases",
            "none installed yet (mbcc check installs its candidate; or `mbcc env install 1.9.1`)");
  } else {
    std::string releases;
    for (const envs::Env& env : *installed)
      releases += (releases.empty() ? "" : ", ") + env.release;
    add_row(out, "MXNet releases", releases);
  }
  return out;
}

}  // namespace

void add_version_and_doctor(CLI::App& app, int& exit_code) {
  app.add_flag("--verbose")
      ->description("with --version: also where mbcc found its parts (as mbcc doctor)");
  // The version flag's text is made when the flag is seen, after the whole line is parsed;
  // CLI11 prints it with a newline of its own.
  app.set_version_flag("--version", [&app] {
    if (app.count("--verbose") == 0) return version_line();
    int missing = 0;
    std::string text = doctor_text(missing);
    text.pop_back();
    return text;
  });
  auto* doctor = app.add_subcommand(
      "doctor",
      "Print the version and where mbcc found its worker, probe, corpus, cache and "
      "environments; exit 1 when a part is missing");
  doctor->callback([&exit_code] {
    int missing = 0;
    fmt::print("{}", doctor_text(missing));
    exit_code = missing == 0 ? 0 : 1;
  });
}

}  // namespace mbcc::cli
