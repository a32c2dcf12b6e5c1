#include "check/transitions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mbcc {
namespace {

CheckResult check(const char* producer, const char* candidate, Verdict raw,
                  const char* load_api = "gluon-imports") {
  CheckResult c;
  c.key = {producer, "mlp", "gluon-export", load_api, candidate};
  c.raw_verdict = raw;
  c.verdict = raw;
  c.direction = direction_of(producer, candidate);
  return c;
}

RunResult run_on(std::vector<std::string> candidates, std::vector<CheckResult> checks) {
  RunResult r;
  r.run.candidates = candidates;
  r.run.candidate_releases = candidates;
  r.checks = std::move(checks);
  return r;
}

TEST(Direction, ComesFromReleaseOrder) {
  EXPECT_EQ(direction_of("1.2.1", "1.10.0"), Direction::kBackward);
  EXPECT_EQ(direction_of("1.9.1", "1.9.1"), Direction::kSame);
  EXPECT_EQ(direction_of("2.0.0b1", "1.9.1"), Direction::kForward);
  EXPECT_EQ(direction_of("2.0.0a0", "2.0.0b1"), Direction::kBackward);
  // a build of unknown release is taken as the newest
  EXPECT_EQ(direction_of("2.0.0b1", ""), Direction::kBackward);
  EXPECT_EQ(direction_of("2.0.0b1", "my-build"), Direction::kBackward);
}

TEST(Direction, ForwardFailuresFailTheRunOnlyWhenAsked) {
  RunResult r = run_on({"1.9.1"}, {check("2.0.0b1", "1.9.1", Verdict::kLoadFail),
                                   check("1.9.1", "1.9.1", Verdict::kPass)});
  EXPECT_EQ(exit_code(r), kExitClean);
  r.run.forward = ForwardPolicy::kFail;
  EXPECT_EQ(exit_code(r), kExitFailures);
  r.run.forward = ForwardPolicy::kReport;
  r.checks.push_back(check("1.2.1", "1.9.1", Verdict::kNumericDrift));
  EXPECT_EQ(exit_code(r), kExitFailures);  // a backward failure always does
}

// The verdicts of one case across candidates in release order, given out of order.
TEST(Transitions, SayWhereACaseStoppedPassingAndWhereItCameBack) {
  const RunResult r = run_on(
      {"2.0.0b1", "1.4.1", "1.2.1", "1.9.1", "2.0.0a0"},
      {check("1.2.1", "2.0.0b1", Verdict::kPass), check("1.2.1", "1.4.1", Verdict::kLoadFail),
       check("1.2.1", "1.2.1", Verdict::kPass), check("1.2.1", "1.9.1", Verdict::kPass),
       check("1.2.1", "2.0.0a0", Verdict::kUnsupported),
       // forward checks say nothing of a break: 1.9.1's file on 1.2.1 and 1.4.1
       check("1.9.1", "1.2.1", Verdict::kLoadFail), check("1.9.1", "1.4.1", Verdict::kLoadFail),
       check("1.9.1", "1.9.1", Verdict::kPass), check("1.9.1", "2.0.0a0", Verdict::kPass)});
  EXPECT_EQ(candidates_in_release_order(r.run),
            (std::vector<std::string>{"1.2.1", "1.4.1", "1.9.1", "2.0.0a0", "2.0.0b1"}));
  const std::vector<Transition> t = find_transitions(r);
  ASSERT_EQ(t.size(), 4U);
  EXPECT_EQ(t[0], (Transition{"1.2.1", "mlp", "gluon-export", "gluon-imports", "1.2.1", "1.4.1",
                              Verdict::kPass, Verdict::kLoadFail}));
  EXPECT_TRUE(t[0].broke());
  EXPECT_EQ(t[1].to_candidate, "1.9.1");
  EXPECT_FALSE(t[1].broke());
  EXPECT_EQ(t[2].to_candidate, "2.0.0a0");
  EXPECT_EQ(t[3].to_candidate, "2.0.0b1");
  EXPECT_FALSE(t[3].broke());
}

TEST(Transitions, ACorruptBundleIsNoBreakOfACandidate) {
  const RunResult r =
      run_on({"1.4.1", "1.9.1"}, {check("1.2.1", "1.4.1", Verdict::kPass),
                                  check("1.2.1", "1.9.1", Verdict::kArtifactCorrupt)});
  EXPECT_TRUE(find_transitions(r).empty());
}

}  // namespace
}  // namespace mbcc
