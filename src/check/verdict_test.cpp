#include "check/verdict.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace mbcc {
namespace {

TEST(VerdictTable, NamesAndCodesAreUniqueAndRoundTrip) {
  std::set<std::string_view> names;
  std::set<std::string_view> codes;
  for (const VerdictInfo& info : kVerdictTable) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_TRUE(codes.insert(info.code).second) << info.code;
    EXPECT_EQ(info.code.size(), 2U) << info.name;
    EXPECT_FALSE(info.meaning.empty()) << info.name;
    EXPECT_EQ(verdict_from_name(info.name), info.verdict);
  }
  EXPECT_FALSE(verdict_from_name("FAIL").has_value());
}

TEST(VerdictTable, FailuresAreUpperCaseInTheMatrix) {
  for (const VerdictInfo& info : kVerdictTable) {
    const bool upper = info.code[0] >= 'A' && info.code[0] <= 'Z';
    EXPECT_EQ(upper, info.is_failure) << info.name;
  }
}

TEST(VerdictTable, OnlyTheFourQuietOutcomesAreNotFailures) {
  std::vector<std::string_view> quiet;
  for (const VerdictInfo& info : kVerdictTable) {
    if (!info.is_failure) quiet.push_back(info.name);
  }
  EXPECT_EQ(quiet, (std::vector<std::string_view>{"PASS", "XFAIL", "UNSUPPORTED", "SKIPPED"}));
}

TEST(ApplyExpectation, WithoutAnEntryTheRawVerdictStands) {
  for (const VerdictInfo& info : kVerdictTable) {
    EXPECT_EQ(apply_expectation(info.verdict, nullptr), info.verdict);
  }
}

TEST(ApplyExpectation, AnExpectedFailureIsXFail) {
  VerdictSet expected{Verdict::kLoadFail, Verdict::kRunFail};
  EXPECT_EQ(apply_expectation(Verdict::kLoadFail, &expected), Verdict::kXFail);
  EXPECT_EQ(apply_expectation(Verdict::kRunFail, &expected), Verdict::kXFail);
}

TEST(ApplyExpectation, APassIsXPassBecauseTheEntryIsStale) {
  VerdictSet expected{Verdict::kNumericDrift};
  EXPECT_EQ(apply_expectation(Verdict::kPass, &expected), Verdict::kXPass);
}

TEST(ApplyExpectation, AnotherFailureOrAQuietOutcomeStands) {
  VerdictSet expected{Verdict::kLoadFail};
  EXPECT_EQ(apply_expectation(Verdict::kCrash, &expected), Verdict::kCrash);
  EXPECT_EQ(apply_expectation(Verdict::kUnsupported, &expected), Verdict::kUnsupported);
  EXPECT_EQ(apply_expectation(Verdict::kSkipped, &expected), Verdict::kSkipped);
}

TEST(CanBeExpected, FailuresExceptXPass) {
  EXPECT_TRUE(can_be_expected(Verdict::kLoadFail));
  EXPECT_TRUE(can_be_expected(Verdict::kFlaky));
  EXPECT_FALSE(can_be_expected(Verdict::kXPass));
  EXPECT_FALSE(can_be_expected(Verdict::kPass));
  EXPECT_FALSE(can_be_expected(Verdict::kUnsupported));
}

TEST(CombineAttempts, AgreeingRunsKeepTheirVerdictDisagreeingOnesAreFlaky) {
  std::vector<Verdict> same{Verdict::kNumericDrift, Verdict::kNumericDrift};
  EXPECT_EQ(combine_attempts(same), Verdict::kNumericDrift);
  std::vector<Verdict> mixed{Verdict::kPass, Verdict::kNumericDrift, Verdict::kPass};
  EXPECT_EQ(combine_attempts(mixed), Verdict::kFlaky);
  EXPECT_THROW(combine_attempts({}), std::logic_error);
}

TEST(VerdictSet, HoldsWhatWasInserted) {
  VerdictSet set;
  EXPECT_TRUE(set.empty());
  set.insert(Verdict::kTimeout);
  EXPECT_TRUE(set.contains(Verdict::kTimeout));
  EXPECT_FALSE(set.contains(Verdict::kCrash));
  EXPECT_EQ(set, VerdictSet{Verdict::kTimeout});
}

}  // namespace
}  // namespace mbcc
