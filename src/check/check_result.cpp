#include "check/check_result.hpp"

#include <algorithm>

namespace mbcc {

ExpectationRecord record_of(const Expectation& entry) {
  return {entry.verdicts, entry.reason, entry.link, entry.expires, entry.source};
}

Verdict verdict_of_outputs(std::span<const OutputResult> outputs) {
  // Worst first: a wrong dtype or shape makes the values meaningless to compare.
  constexpr std::array<std::pair<CompareOutcome, Verdict>, 4> kWorstFirst{{
      {CompareOutcome::kDTypeMismatch, Verdict::kDTypeMismatch},
      {CompareOutcome::kShapeMismatch, Verdict::kShapeMismatch},
      {CompareOutcome::kNonFiniteIntroduced, Verdict::kNanIntroduced},
      {CompareOutcome::kOutOfTolerance, Verdict::kNumericDrift},
  }};
  for (const auto& worst : kWorstFirst) {
    if (std::any_of(outputs.begin(), outputs.end(), [&worst](const OutputResult& output) {
          return output.comparison.outcome == worst.first;
        })) {
      return worst.second;
    }
  }
  return Verdict::kPass;
}

void settle_verdict(CheckResult& check, const Expectations& expectations,
                    std::chrono::year_month_day today) {
  check.raw_verdict = combine_attempts(check.attempts);
  const Expectation* entry = expectations.find(check.key, today);
  check.verdict = apply_expectation(check.raw_verdict, entry ? &entry->verdicts : nullptr);
  if (entry != nullptr) {
    check.expectation = record_of(*entry);
  } else {
    check.expectation.reset();
  }
}

VerdictCounts count_verdicts(std::span<const CheckResult> checks) {
  VerdictCounts counts{};
  for (const CheckResult& check : checks) ++counts[static_cast<std::size_t>(check.verdict)];
  return counts;
}

int exit_code(const RunResult& result) {
  if (!result.run_errors.empty()) return kExitRunFailed;
  const bool any_failure = std::any_of(result.checks.begin(), result.checks.end(),
                                       [](const CheckResult& c) { return is_failure(c.verdict); });
  return any_failure || !result.expired_expectations.empty() ? kExitFailures : kExitClean;
}

}  // namespace mbcc
