// Where a case broke: for each case (producer, model, save API) and load API, its verdicts on
// the run's candidates in release order, and each place where a passing case stops passing or
// a failing one starts passing. Forward checks (files newer than the candidate) are left out:
// failing there is no break; so are ARTIFACT_CORRUPT and SKIPPED, which say nothing of a
// candidate.
#pragma once

#include <string>
#include <vector>

#include "check/check_result.hpp"

namespace mbcc {

struct Transition {
  std::string producer;
  std::string model;
  std::string save_api;
  std::string load_api;
  std::string from_candidate;             // the last candidate before the change, in release order
  std::string to_candidate;               // the first candidate after it
  Verdict from_verdict = Verdict::kPass;  // raw verdicts: what the candidates did, before
  Verdict to_verdict = Verdict::kPass;    // expectations
  bool broke() const { return from_verdict == Verdict::kPass; }  // else: passes from here
  bool operator==(const Transition&) const = default;
};

// The candidates of a run in release order (by run.candidate_releases, a candidate of unknown
// release last, the run's order among equals).
std::vector<std::string> candidates_in_release_order(const RunInfo& run);

// In case order (producer in release order, model, save API, load API), then candidate order.
std::vector<Transition> find_transitions(const RunResult& result);

}  // namespace mbcc
