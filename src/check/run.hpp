// Running a check plan: every check that needs a candidate goes to a pool of worker processes
// (one pool per candidate and worker kind), and each outcome becomes a verdict here, in C++:
//
//   worker answer ok        → each output compared with its golden (tensor/compare.hpp):
//                             DTYPE_MISMATCH, SHAPE_MISMATCH (also a different number of
//                             outputs), NAN_INTRODUCED, NUMERIC_DRIFT or PASS
//   answer unsupported      → UNSUPPORTED, with the worker's reason
//   answer load_fail        → LOAD_FAIL  } the candidate's message kept and classified
//   answer run_fail         → RUN_FAIL   }
//   answer error            → RUN_FAIL, and a run error: the worker could not serve the request
//                             (unreadable input, output folder not writable), which is mbcc's
//                             fault, so the run exits 2 rather than blame the candidate
//   Crash                   → CRASH: signal or exit status, and the tail of stderr
//   Timeout                 → TIMEOUT
//   ProtocolError           → RUN_FAIL: the worker printed garbage where its answer belongs
//   StartupFailure          → CRASH: the candidate's worker did not come up; when no worker of
//                             a pool ever said hello, that candidate is also a run error (a
//                             Python without a working mxnet is no candidate)
//
// With --repeat N each check is sent N times (spread over the pool's workers) and attempts that
// disagree make FLAKY. A check whose outputs drift (NUMERIC_DRIFT or NAN_INTRODUCED) on a bundle
// with internals is sent once more with internals asked for; the candidate's per-node outputs
// are compared in the bundle's topological order and the first one out of tolerance is named.
// Checks whose worker side is the same (share_runs) are sent once, their leader's request, and
// each settles its own verdict from that run; --repeat still repeats each distinct run.
// With a run cache, a check whose worker, bundle and load API are those of a kept run is settled
// from that run's answer and outputs (compared afresh), and fresh runs are kept.
// Expectations are applied last, through settle_verdict.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "check/check_result.hpp"
#include "check/expectations.hpp"
#include "check/plan.hpp"
#include "check/run_cache.hpp"
#include "corpus/manifest.hpp"
#include "tensor/compare.hpp"

namespace mbcc {

// A tolerance for the outputs whose "model/output" name matches `pattern` (an fnmatch glob:
// "lstm/*", "*/output_1"). Unset members keep what applied before.
struct ToleranceOverride {
  std::string pattern;
  std::optional<double> rtol;
  std::optional<double> atol;
};

// Parses "PATTERN:rtol=X,atol=Y" (either member may be left out, not both).
Result<ToleranceOverride> parse_tolerance_override(std::string_view text);

// The command line's say on tolerances: --rtol/--atol for every output, then --tolerance
// overrides in order, the later winning.
struct ToleranceRules {
  std::optional<double> rtol;
  std::optional<double> atol;
  std::vector<ToleranceOverride> overrides;
};

// The tolerance for one output: the dtype's default, then the manifest's, then the command
// line's. Integers and booleans compare exactly whatever is asked.
Tolerance tolerance_for(DType dtype, const std::optional<corpus::Tolerance>& manifest,
                        const std::string& model, const std::string& output,
                        const ToleranceRules& rules);

struct RunOptions {
  std::filesystem::path store;
  std::vector<Candidate> candidates;
  Filters filters;
  int jobs = 2;                                                 // workers per pool
  std::chrono::milliseconds timeout = std::chrono::minutes(5);  // per check
  int repeat = 1;
  ForwardPolicy forward = ForwardPolicy::kReport;  // kSkip: forward checks are not planned
  // Checks of one candidate whose worker side is byte for byte the same (load API, model files,
  // inputs, the probe's description) share one run; each compares its own goldens.
  bool share_runs = true;
  // Candidate runs kept across runs (check/run_cache.hpp): checks whose every input is unchanged
  // are served from there, the others are kept there. nullptr: neither (--no-cache). Not used
  // with repeat > 1.
  const RunCache* cache = nullptr;
  ToleranceRules tolerance;
  Expectations expectations;
  std::chrono::year_month_day today{};
  // Every check writes its outputs under here, one folder per check and attempt. It must exist;
  // the caller removes it. A check's folder is removed once its verdict is settled unless
  // keep_outputs.
  std::filesystem::path work_dir;
  bool keep_outputs = false;
  // The registry dumps that explain refusals of unknown ops and arguments; empty: none.
  std::filesystem::path registry_dir;
  std::function<void(std::string_view)> progress;  // one line per pool; may be empty
  // After each check's outcome: how many of the run's checks have one, of how many (settled
  // checks count from the start); may be empty.
  std::function<void(std::size_t done, std::size_t total)> checks_done;
};

// Plans and runs every check, and returns them settled, with the expired expectations and the
// run errors. Fills run.candidates, run.store and the start and end times; the caller fills the
// rest of RunInfo. A candidate's failure never ends the run early: every check gets a verdict.
RunResult run_checks(const RunOptions& options);

}  // namespace mbcc
