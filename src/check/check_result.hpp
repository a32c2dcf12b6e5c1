// What a run found: one CheckResult per check, with everything a report shows about it, and the
// RunResult around them. Reports (src/report) only render and read these; the rules that decide
// a verdict and the exit code live here.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/check_key.hpp"
#include "check/expectations.hpp"
#include "check/message.hpp"
#include "check/verdict.hpp"
#include "tensor/compare.hpp"

namespace mbcc {

struct OutputResult {
  std::string name;  // the output's name in the manifest: "output_0", "softmax_output"
  Comparison comparison;
  bool operator==(const OutputResult&) const = default;
};

// The earliest node of the graph, in topological order, whose output leaves tolerance.
struct DivergingNode {
  std::string node;  // "conv1_fwd"
  std::string op;    // "Convolution"
  std::optional<Comparison> comparison;
  // The defaults the node relies on that differ between the producer's and the candidate's
  // registries (unset attributes); may be "".
  std::string explanation;
  bool operator==(const DivergingNode&) const = default;
};

// The candidate's own error text and what it says went wrong.
struct CandidateMessage {
  std::string text;
  MessageClass kind;
  std::string explanation;  // what the registries say of the op or argument named; may be ""
  bool operator==(const CandidateMessage&) const = default;
};

// An expectation entry as a report keeps it: applied to a check, or expired.
struct ExpectationRecord {
  VerdictSet verdicts;
  std::string reason;
  std::string link;
  std::optional<std::chrono::year_month_day> expires;
  std::string source;                        // "corpus/expectations.toml:12"
  std::vector<std::string> cpu_vendor{"*"};  // the entry's globs over the CPU's vendor_id
  std::vector<std::string> cpu_flags{};  // the CPU flags it needs ("avx2") or must lack ("!…")
  bool operator==(const ExpectationRecord&) const = default;
};
ExpectationRecord record_of(const Expectation& entry);

struct Timings {
  double load_ms = 0;
  double run_ms = 0;       // bind and forward
  double overhead_ms = 0;  // the worker's own cost: requests, reading inputs, writing outputs
  double total_ms() const { return load_ms + run_ms + overhead_ms; }
  bool operator==(const Timings&) const = default;
};

// Where the check's files come from relative to the candidate: an older release (backward, what
// MXNet promises to read), the same release, or a newer one (forward, never promised).
enum class Direction { kBackward, kSame, kForward };
std::string_view direction_name(Direction direction);  // "backward", "same", "forward"
std::optional<Direction> direction_from_name(std::string_view name);
// By release order; a candidate whose release is unknown ("") or not a version is taken as the
// newest, so every check on it is backward.
Direction direction_of(std::string_view producer, std::string_view candidate_release);

// What forward failures do to a run: shown apart and not failing it (report), failing it like
// any other (fail), or not checked at all (skip).
enum class ForwardPolicy { kReport, kFail, kSkip };
std::string_view forward_policy_name(ForwardPolicy policy);
std::optional<ForwardPolicy> forward_policy_from_name(std::string_view name);

struct CheckResult {
  CheckKey key;
  Direction direction = Direction::kBackward;
  Verdict verdict = Verdict::kPass;      // after expectations
  Verdict raw_verdict = Verdict::kPass;  // before them
  std::string detail;  // mbcc's own words: why UNSUPPORTED, the signal of a CRASH, …
  std::optional<CandidateMessage> message;
  std::vector<OutputResult> outputs;
  std::optional<DivergingNode> first_divergence;
  std::optional<ExpectationRecord> expectation;  // the entry that matched, whatever it changed
  Timings timings;
  std::vector<Verdict> attempts;  // the raw verdict of each run; more than one when repeated
  // "producer/model/save_api" of the bundle whose candidate run this check reused (same
  // candidate, load API, model files and inputs); empty when it ran its own
  std::string shared_run;
  // The candidate's answer was one an earlier run kept (check/run_cache.hpp), compared afresh
  bool from_cache = false;
  nlohmann::json bundle = nlohmann::json::object();  // manifest facts: producer build, seeds, …
  bool operator==(const CheckResult&) const = default;
};

struct RunInfo {
  std::string mbcc_version;
  std::vector<std::string> candidates;
  std::vector<std::string> candidate_releases;  // the release of each candidate; "" unknown
  ForwardPolicy forward = ForwardPolicy::kReport;
  std::string store;
  std::string expectations;  // the expectations file, empty when none
  // The vendor_id of the CPUs the checks ran on, which cpu_vendor entries match: one, or one
  // per machine in a merge of shards (their flags, which cpu_flags entries match, are not kept).
  std::vector<std::string> cpu_vendors;
  std::chrono::sys_seconds started_at{};
  std::chrono::sys_seconds finished_at{};
  bool operator==(const RunInfo&) const = default;
};

struct RunResult {
  RunInfo run;
  std::vector<CheckResult> checks;
  std::vector<ExpectationRecord> expired_expectations;  // each one fails the run
  std::vector<std::string> run_errors;  // why the run itself could not be done, when it could not
  bool operator==(const RunResult&) const = default;
};

// The raw verdict the outputs' comparisons give, the worst first: DTYPE_MISMATCH, then
// SHAPE_MISMATCH, NAN_INTRODUCED, NUMERIC_DRIFT; PASS when every output matches.
Verdict verdict_of_outputs(std::span<const OutputResult> outputs);

// Settles a check: its raw verdict from its attempts, then the first live expectation that
// matches it, applied through apply_expectation.
void settle_verdict(CheckResult& check, const Expectations& expectations,
                    std::chrono::year_month_day today);

// A failing verdict that fails the run: every one, except forward checks unless the policy is
// kFail.
bool fails_run(const CheckResult& check, ForwardPolicy forward);

using VerdictCounts = std::array<uint64_t, kVerdictCount>;
VerdictCounts count_verdicts(std::span<const CheckResult> checks);

inline constexpr int kExitClean = 0;      // nothing unexpected
inline constexpr int kExitFailures = 1;   // a failing verdict or an expired expectation
inline constexpr int kExitRunFailed = 2;  // the run itself could not be done
int exit_code(const RunResult& result);

}  // namespace mbcc
