#include "check/check_result.hpp"

#include <algorithm>

#include "base/release_version.hpp"

namespace mbcc {

std::string_view direction_name(Direction direction) {
  switch (direction) {
    case Direction::kBackward:
      return "backward";
    case Direction::kSame:
      return "same";
    case Direction::kForward:
      return "forward";
  }
  return "backward";
}

std::optional<Direction> direction_from_name(std::string_view name) {
  for (Direction d : {Direction::kBackward, Direction::kSame, Direction::kForward}) {
    if (direction_name(d) == name) return d;
  }
  return std::nullopt;
}

Direction direction_of(std::string_view producer, std::string_view candidate_release) {
  Result<ReleaseVersion> made = parse_release_version(producer);
  Result<ReleaseVersion> reading = parse_release_version(candidate_release);
  if (!made.ok() || !reading.ok()) return Direction::kBackward;
  if (*made == *reading) return Direction::kSame;
  return *made < *reading ? Direction::kBackward : Direction::kForward;
}

std::string_view forward_policy_name(ForwardPolicy policy) {
  switch (policy) {
    case ForwardPolicy::kReport:
      return "report";
    case ForwardPolicy::kFail:
      return "fail";
    case ForwardPolicy::kSkip:
      return "skip";
  }
  return "report";
}

std::optional<ForwardPolicy> forward_policy_from_name(std::string_view name) {
  for (ForwardPolicy p : {ForwardPolicy::kReport, ForwardPolicy::kFail, ForwardPolicy::kSkip}) {
    if (forward_policy_name(p) == name) return p;
  }
  return std::nullopt;
}

bool fails_run(const CheckResult& check, ForwardPolicy forward) {
  return is_failure(check.verdict) &&
         (check.direction != Direction::kForward || forward == ForwardPolicy::kFail);
}

ExpectationRecord record_of(const Expectation& entry) {
  return {entry.verdicts, entry.reason, entry.link,
          entry.expires,  entry.source, entry.cpu_vendor.patterns,
          entry.cpu_flags};
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
  const bool any_failure =
      std::any_of(result.checks.begin(), result.checks.end(),
                  [&result](const CheckResult& c) { return fails_run(c, result.run.forward); });
  return any_failure || !result.expired_expectations.empty() ? kExitFailures : kExitClean;
}

}  // namespace mbcc
