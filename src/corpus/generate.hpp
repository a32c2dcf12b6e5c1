// mbcc generate: bundles written by real MXNet releases. For each release: install its
// environment, run python/mbcc_probe inside it into a work folder under the store, turn every
// case the probe saved into a bundle (sha256 of every file, manifest written last, then the
// same validate_bundle that `mbcc check` runs) and move it into STORE/v1/<release>/<model>/
// <save-api>/ with one rename. A bundle that is there already is kept when it has the same
// files and is replaced only with `force`. Work folders are locked while their run lives, so a
// killed run leaves no partial bundle, only a hidden folder that the next run deletes.
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "envs/envs.hpp"

namespace mbcc::corpus {

enum class CaseOutcome {
  kWritten,    // a new bundle is in place
  kUnchanged,  // a bundle with the same files was there already and is kept
  kReplaced,   // a different bundle was there and `force` replaced it
  kRefused,    // a different or corrupt bundle is there, and `force` was not given
  kSkipped,    // the case does not exist on this release (API absent, model not expressible)
  kFailed,     // the release raised, crashed or could not read back what it saved
  kRejected,   // the release saved it, but mbcc's own checks refused the files
};

struct CaseOutcomeInfo {
  CaseOutcome outcome;
  std::string_view name;
  bool is_problem;  // makes `mbcc generate` exit 1: the store did not get what it should
};

inline constexpr std::array<CaseOutcomeInfo, 7> kCaseOutcomes = {{
    {CaseOutcome::kWritten, "written", false},
    {CaseOutcome::kUnchanged, "unchanged", false},
    {CaseOutcome::kReplaced, "replaced", false},
    {CaseOutcome::kRefused, "refused", true},
    {CaseOutcome::kSkipped, "skipped", false},
    {CaseOutcome::kFailed, "failed", false},
    {CaseOutcome::kRejected, "rejected", true},
}};

constexpr bool case_outcomes_in_order() {
  for (std::size_t i = 0; i < kCaseOutcomes.size(); ++i) {
    if (static_cast<std::size_t>(kCaseOutcomes[i].outcome) != i) return false;
  }
  return kCaseOutcomes.size() == static_cast<std::size_t>(CaseOutcome::kRejected) + 1;
}
static_assert(case_outcomes_in_order(), "kCaseOutcomes must list every outcome, in enum order");

constexpr const CaseOutcomeInfo& case_outcome_info(CaseOutcome outcome) {
  return kCaseOutcomes[static_cast<std::size_t>(outcome)];
}

struct CaseReport {
  std::string model;
  std::string save_api;
  CaseOutcome outcome = CaseOutcome::kFailed;
  std::string reason;  // why skipped, failed, rejected or refused
};

struct ReleaseReport {
  std::string release;         // as asked for
  std::optional<Error> error;  // the release as a whole failed: install, import, probe crash
  std::vector<CaseReport> cases;
  // The probe's run, less the time mbcc spent publishing what it reported meanwhile.
  std::chrono::duration<double> probe_time{};
  bool ok() const;  // no error and no case that is a problem
};

struct GenerateOptions {
  std::filesystem::path store;
  std::vector<std::string> models;  // empty: every model of the zoo
  bool force = false;
  int jobs = 1;                                  // cases the probe runs at once
  std::filesystem::path python_dir;              // the folder holding mbcc_probe
  std::chrono::seconds probe_timeout{4 * 3600};  // one release; the corpus takes minutes each
  envs::Options env_options;
  // One line per event (install steps, each case as it is published); may be empty.
  std::function<void(std::string_view)> progress;
};

// Generates every case of one release into the store. Never throws for a release's failure:
// it is in the report.
ReleaseReport generate_release(std::string_view version, const GenerateOptions& options);

// One run of the probe in a locked work folder of the store, each case it reports published
// as generate publishes (manifest last, validated, moved in one rename). `prepare` gets the
// work folder and the folder the probe must write its cases into (PROBE/<model>/<save-api>/),
// may fill them first, and returns the probe's arguments after `-m mbcc_probe`.
struct ProbeJob {
  std::function<Result<std::vector<std::string>>(const std::filesystem::path& work,
                                                 const std::filesystem::path& probe_dir)>
      prepare;
  bool write_generation_log = false;  // generate's v1/<release>/generation-log.json
};
ReleaseReport probe_into_store(const envs::Env& env, const GenerateOptions& options,
                               const ProbeJob& job);

// Generates the bundles of `env`, an environment that is installed already (the step after
// envs::install in generate_release; tests pass a fake one).
ReleaseReport generate_in_env(const envs::Env& env, const GenerateOptions& options);

}  // namespace mbcc::corpus
