#include "check/check_result.hpp"

#include <gtest/gtest.h>

namespace mbcc {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

constexpr year_month_day kToday{year{2025}, month{6}, day{1}};

OutputResult output(CompareOutcome outcome) {
  OutputResult out;
  out.comparison.outcome = outcome;
  return out;
}

TEST(VerdictOfOutputs, WorstOutcomeDecides) {
  EXPECT_EQ(verdict_of_outputs({}), Verdict::kPass);
  std::vector<OutputResult> outputs{output(CompareOutcome::kMatch),
                                    output(CompareOutcome::kOutOfTolerance)};
  EXPECT_EQ(verdict_of_outputs(outputs), Verdict::kNumericDrift);
  outputs.push_back(output(CompareOutcome::kNonFiniteIntroduced));
  EXPECT_EQ(verdict_of_outputs(outputs), Verdict::kNanIntroduced);
  outputs.push_back(output(CompareOutcome::kShapeMismatch));
  EXPECT_EQ(verdict_of_outputs(outputs), Verdict::kShapeMismatch);
  outputs.push_back(output(CompareOutcome::kDTypeMismatch));
  EXPECT_EQ(verdict_of_outputs(outputs), Verdict::kDTypeMismatch);
}

Expectations load_fail_on_1_2_0() {
  auto parsed = parse_expectations(R"(schema = 1
[[expect]]
producer = "1.2.0"
verdict = "LOAD_FAIL"
reason = "structural names"
link = "https://github.com/apache/mxnet/issues/11091"
)",
                                   "e.toml");
  EXPECT_TRUE(parsed.ok());
  return std::move(parsed).value();
}

CheckResult check_with(std::string producer, std::vector<Verdict> attempts) {
  CheckResult check;
  check.key = {std::move(producer), "lenet", "gluon-save-params", "gluon-load-params", "1.9.1"};
  check.attempts = std::move(attempts);
  return check;
}

TEST(SettleVerdict, ExpectedFailureBecomesXFailAndKeepsTheEntry) {
  CheckResult check = check_with("1.2.0", {Verdict::kLoadFail});
  settle_verdict(check, load_fail_on_1_2_0(), kToday);
  EXPECT_EQ(check.raw_verdict, Verdict::kLoadFail);
  EXPECT_EQ(check.verdict, Verdict::kXFail);
  ASSERT_TRUE(check.expectation.has_value());
  EXPECT_EQ(check.expectation->reason, "structural names");
  EXPECT_EQ(check.expectation->source, "e.toml:2");
}

TEST(SettleVerdict, PassUnderAnEntryIsXPass) {
  CheckResult check = check_with("1.2.0", {Verdict::kPass});
  settle_verdict(check, load_fail_on_1_2_0(), kToday);
  EXPECT_EQ(check.verdict, Verdict::kXPass);
}

TEST(SettleVerdict, DisagreeingAttemptsAreFlakyEvenUnderAnEntry) {
  CheckResult check = check_with("1.2.0", {Verdict::kLoadFail, Verdict::kPass});
  settle_verdict(check, load_fail_on_1_2_0(), kToday);
  EXPECT_EQ(check.raw_verdict, Verdict::kFlaky);
  EXPECT_EQ(check.verdict, Verdict::kFlaky);
  EXPECT_TRUE(check.expectation.has_value());
}

TEST(SettleVerdict, NoEntryNoChange) {
  CheckResult check = check_with("1.5.1", {Verdict::kLoadFail});
  settle_verdict(check, load_fail_on_1_2_0(), kToday);
  EXPECT_EQ(check.verdict, Verdict::kLoadFail);
  EXPECT_FALSE(check.expectation.has_value());
}

TEST(ExitCode, CleanFailingOrNotRun) {
  RunResult run;
  run.checks.push_back(check_with("1.5.1", {Verdict::kPass}));
  run.checks.back().verdict = Verdict::kPass;
  run.checks.push_back(check_with("1.2.0", {Verdict::kLoadFail}));
  run.checks.back().verdict = Verdict::kXFail;
  EXPECT_EQ(exit_code(run), kExitClean);

  run.expired_expectations.push_back({});
  EXPECT_EQ(exit_code(run), kExitFailures);
  run.expired_expectations.clear();

  run.checks.back().verdict = Verdict::kXPass;
  EXPECT_EQ(exit_code(run), kExitFailures);

  run.run_errors.emplace_back("store unreachable");
  EXPECT_EQ(exit_code(run), kExitRunFailed);
}

TEST(CountVerdicts, OnePerCheck) {
  std::vector<CheckResult> checks(3);
  checks[1].verdict = Verdict::kCrash;
  VerdictCounts counts = count_verdicts(checks);
  EXPECT_EQ(counts[static_cast<std::size_t>(Verdict::kPass)], 2U);
  EXPECT_EQ(counts[static_cast<std::size_t>(Verdict::kCrash)], 1U);
}

}  // namespace
}  // namespace mbcc
