// What `mbcc check` takes and does, for the commands that run a check too (`mbcc nightly`).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "check/check_result.hpp"
#include "cli/stores.hpp"

namespace mbcc::cli {

struct CheckArgs {
  std::string store;                // empty: the corpus shipped beside mbcc_probe
  std::string store_layout = "v1";  // or "original": the MXNet nightly bucket, read-only
  std::vector<std::string> versions;
  std::vector<std::string> pythons;
  std::vector<std::string> libraries;
  std::string forward = "report";  // report, fail or skip (check/check_result.hpp)
  std::string report_dir = "mbcc-report";
  std::string expectations;  // empty: STORE/expectations.toml when there is one
  int jobs = 2;
  double timeout_seconds = 300;
  int repeat = 1;
  std::optional<double> rtol;
  std::optional<double> atol;
  std::vector<std::string> tolerances;
  BundleGlobs bundles;
  std::vector<std::string> load_apis;
  bool keep_outputs = false;
  bool no_reuse = false;  // every check runs its own candidate run
  bool no_cache = false;  // no run is served from, or kept in, the run cache
  std::string shard;      // "I/N"; empty: the whole store
  StoreArgs store_args;
};

void add_check_options(CLI::App& command, CheckArgs& args);

// Runs the check, writes the reports, prints the summary; returns the exit code.
int run_check(const CheckArgs& args);

// The check alone, for commands that run several (`mbcc bisect`): no reports, nothing printed
// but progress. Its work folder and store view are gone when it returns, unless --keep-outputs.
struct CheckOutcome {
  RunResult result;
  std::string kept_outputs;  // the folder kept with --keep-outputs, else empty
};
CheckOutcome check_only(const CheckArgs& args);

}  // namespace mbcc::cli
