// mbcc generate: bundles written by real MXNet releases into a local store (part corpus).
#include <fmt/format.h>

#include <map>

#include "base/install_dirs.hpp"
#include "cli/commands.hpp"
#include "corpus/generate.hpp"
#include "corpus/layout.hpp"
#include "envs/envs.hpp"

namespace mbcc::cli {
namespace {

struct GenerateArgs {
  std::vector<std::string> versions;
  bool all_releases = false;
  std::vector<std::string> models;
  std::string store = "mbcc-store";
  bool force = false;
  bool share_files = false;
  int jobs = 1;
};

std::string summarize(const corpus::ReleaseReport& report) {
  std::map<corpus::CaseOutcome, int> counts;
  for (const corpus::CaseReport& c : report.cases) ++counts[c.outcome];
  std::string text;
  for (const corpus::CaseOutcomeInfo& info : corpus::kCaseOutcomes) {
    if (counts[info.outcome] == 0) continue;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", counts[info.outcome], info.name);
  }
  return text.empty() ? "no cases" : text;
}

int run_generate(const GenerateArgs& args) {
  std::vector<std::string> versions = args.versions;
  if (args.all_releases) {
    for (const envs::ReleaseQuirks& row : envs::release_table()) {
      if (row.support == envs::Support::kWorks) versions.emplace_back(row.release);
    }
  }
  if (versions.empty()) {
    fmt::print(stderr, "mbcc generate: give --mxnet VERSION (repeatable) or --all-releases\n");
    return 2;
  }
  Result<std::filesystem::path> python_dir = find_installed(InstalledPart::kProbe);
  if (!python_dir.ok()) {
    fmt::print(stderr, "mbcc generate: {}\n", python_dir.error().message());
    return 2;
  }

  if (args.share_files) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(args.store) / corpus::kSharedDir, ec);
    if (ec) {
      fmt::print(stderr, "mbcc generate: cannot create {}/{}: {}\n", args.store, corpus::kSharedDir,
                 ec.message());
      return 2;
    }
  }
  corpus::GenerateOptions options;
  options.store = args.store;
  options.models = args.models;
  options.force = args.force;
  options.jobs = args.jobs;
  options.python_dir = *python_dir;
  options.progress = [](std::string_view line) { fmt::print("{}\n", line); };
  std::vector<corpus::ReleaseReport> reports;
  for (const std::string& version : versions) {
    fmt::print("== MXNet {} -> {}\n", version, args.store);
    std::fflush(stdout);
    options.env_options.progress = [&](std::string_view line) {
      fmt::print(stderr, "  {} install: {}\n", version, line);
    };
    reports.push_back(corpus::generate_release(version, options));
    if (reports.back().error) {
      fmt::print("{}: could not be generated: {}\n", version, reports.back().error->message());
    }
    std::fflush(stdout);
  }

  fmt::print("\nsummary ({})\n", args.store);
  bool all_ok = true;
  for (const corpus::ReleaseReport& report : reports) {
    all_ok = all_ok && report.ok();
    fmt::print("  {:<10} {}{}\n", report.release, summarize(report),
               report.error ? "; FAILED: " + report.error->message() : "");
    for (const corpus::CaseReport& c : report.cases) {
      if (!corpus::case_outcome_info(c.outcome).is_problem) continue;
      fmt::print("    {}/{} {}: {}\n", c.model, c.save_api,
                 corpus::case_outcome_info(c.outcome).name, c.reason);
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace

void add_generate(CLI::App& app, int& exit_code) {
  auto* generate =
      app.add_subcommand("generate", "Write bundles with real MXNet releases into a local store");
  auto args = std::make_shared<GenerateArgs>();
  auto* mxnet = generate->add_option("--mxnet", args->versions,
                                     "a release to generate with (repeatable), e.g. 1.9.1");
  auto* all = generate->add_flag("--all-releases", args->all_releases,
                                 "every release that works on this machine (mbcc env releases)");
  mxnet->excludes(all);
  generate->add_option("--model", args->models, "only this model (repeatable; default: the zoo)");
  generate->add_option("--store", args->store, "the local store")->capture_default_str();
  generate->add_flag("--force", args->force, "replace bundles that are there with other files");
  generate->add_flag("--share-files", args->share_files,
                     "keep each tensor file once for the whole store, in STORE/objects (a store "
                     "that has that folder always does)");
  generate->add_option("--jobs", args->jobs, "cases the probe runs at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  generate->callback([args, &exit_code] { exit_code = run_generate(*args); });
}

}  // namespace mbcc::cli
