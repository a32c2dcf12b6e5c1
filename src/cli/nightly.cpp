// mbcc nightly: the whole nightly job as one command. Bundles are generated for every release
// the store lacks (in a local staging folder, then published, manifest last), then the
// candidates are checked against the whole store and the reports written, as `mbcc check` does.
// CI that splits the checks over workers runs the generation once (--generate-only) and then
// one `--shard I/N --no-generate` per worker, and joins the reports with `mbcc report merge`.
#include <fmt/format.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "base/locked_dir.hpp"
#include "base/install_dirs.hpp"
#include "check/check_result.hpp"
#include "cli/check.hpp"
#include "cli/commands.hpp"
#include "cli/publish.hpp"
#include "corpus/generate.hpp"
#include "corpus/pull.hpp"
#include "envs/envs.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

struct NightlyArgs {
  CheckArgs check;
  std::vector<std::string> releases;  // empty: every release that works here
  std::vector<std::string> generate_models;
  bool no_generate = false;
  bool generate_only = false;
};

// The releases of `wanted` of which the store holds no bundle.
Result<std::vector<std::string>> missing_releases(const NightlyArgs& args,
                                                  std::vector<std::string> wanted) {
  ProgressLine progress;
  auto store = open_store(args.check.store, args.check.store_args, progress);
  if (!store) return store.error();
  auto bundles = corpus::list_store_bundles(**store);
  if (!bundles) return bundles.error();
  std::set<std::string> present;
  for (const corpus::StoreBundle& bundle : *bundles) present.insert(bundle.key.producer);
  std::erase_if(wanted, [&](const std::string& release) { return present.contains(release); });
  return wanted;
}

// Generates each release into a staging folder and publishes it; false when one failed.
bool generate_and_publish(const NightlyArgs& args, const std::vector<std::string>& releases) {
  Result<fs::path> python_dir = find_installed(InstalledPart::kProbe);
  if (!python_dir) {
    fmt::print(stderr, "mbcc nightly: {}\n", python_dir.error().message());
    return false;
  }
  // the staging folders of nightlies that were killed go first
  remove_abandoned_dirs(fs::temp_directory_path(), "mbcc-nightly");
  auto made = LockedDir::create(fs::temp_directory_path(), "mbcc-nightly");
  if (!made) {
    fmt::print(stderr, "mbcc nightly: {}\n", made.error().message());
    return false;
  }
  const fs::path staging = made->path();
  bool ok = true;
  for (const std::string& release : releases) {
    corpus::GenerateOptions options;
    options.store = staging / release;
    options.models = args.generate_models;
    options.python_dir = *python_dir;
    options.progress = [](std::string_view line) { fmt::print("  {}\n", line); };
    fmt::print("== generating MXNet {} for {}\n", release, args.check.store);
    std::fflush(stdout);
    corpus::ReleaseReport report = corpus::generate_release(release, options);
    if (report.error) {
      fmt::print(stderr, "mbcc nightly: {} could not be generated: {}\n", release,
                 report.error->message());
      ok = false;
      continue;
    }
    PublishArgs publish;
    publish.source = options.store.string();
    publish.destination = args.check.store;
    publish.store_args = args.check.store_args;
    ok = run_publish(publish) == kExitClean && ok;
  }
  return ok;  // the staging folder goes with `made`
}

int run_nightly(const NightlyArgs& args) {
  if (!args.no_generate && args.check.store_layout != "v1") {
    fmt::print(stderr, "mbcc nightly: a store in the {} layout is read-only; give --no-generate "
                       "to check it, or generate into a store of mbcc's own layout\n",
               args.check.store_layout);
    return kExitRunFailed;
  }
  if (!args.no_generate) {
    std::vector<std::string> wanted = args.releases;
    if (wanted.empty()) {
      for (const envs::ReleaseQuirks& row : envs::release_table()) {
        if (row.support == envs::Support::kWorks) wanted.emplace_back(row.release);
      }
    }
    auto missing = missing_releases(args, wanted);
    if (!missing) {
      fmt::print(stderr, "mbcc nightly: {}\n", missing.error().message());
      return kExitRunFailed;
    }
    fmt::print("{}: {} of {} releases to generate{}{}\n", args.check.store, missing->size(),
               wanted.size(), missing->empty() ? "" : ": ", fmt::join(*missing, ", "));
    if (!generate_and_publish(args, *missing)) return kExitRunFailed;
  }
  if (args.generate_only) return kExitClean;
  return run_check(args.check);
}

}  // namespace

void add_nightly(CLI::App& app, int& exit_code) {
  auto* nightly = app.add_subcommand(
      "nightly",
      "Generate bundles for every release the store lacks, publish them, then check the "
      "candidates against the whole store");
  auto args = std::make_shared<NightlyArgs>();
  add_check_options(*nightly, args->check);
  nightly->get_option("--store")->required();
  nightly->add_option("--release", args->releases,
                      "a release the store should hold (repeatable; default: every release "
                      "that works here, as `mbcc env releases` lists)");
  nightly->add_option("--generate-model", args->generate_models,
                      "generate only this model (repeatable; default: the zoo)");
  auto* no_generate = nightly->add_flag("--no-generate", args->no_generate,
                                        "check what the store holds, generate nothing");
  nightly->add_flag("--generate-only", args->generate_only,
                    "generate and publish what the store lacks, check nothing")
      ->excludes(no_generate);
  nightly->callback([args, &exit_code] { exit_code = run_nightly(*args); });
}

}  // namespace mbcc::cli
