#include "report/merge.hpp"

#include <gtest/gtest.h>

#include "report/test_run.hpp"

namespace mbcc {
namespace {

// The test run cut in two by candidate, as two shards of a nightly would report it.
std::vector<RunResult> shards_by_candidate() {
  const RunResult whole = test_run();
  std::vector<RunResult> shards(2);
  for (std::size_t i = 0; i < 2; ++i) {
    shards[i].run = whole.run;
    shards[i].run.candidates = {whole.run.candidates[i]};
    shards[i].run.candidate_releases = {whole.run.candidate_releases[i]};
    for (const CheckResult& c : whole.checks) {
      if (c.key.candidate == whole.run.candidates[i]) shards[i].checks.push_back(c);
    }
  }
  shards[0].run.finished_at -= std::chrono::seconds(100);
  shards[1].run.started_at += std::chrono::seconds(60);
  shards[0].expired_expectations = whole.expired_expectations;
  shards[1].expired_expectations = whole.expired_expectations;  // each shard read the same file
  return shards;
}

TEST(MergeReports, ShardsMakeTheWholeRun) {
  auto merged = merge_reports(shards_by_candidate());
  ASSERT_TRUE(merged.ok()) << merged.error().message();
  EXPECT_EQ(*merged, test_run());
}

TEST(MergeReports, ShardsFromMachinesOfDifferentCpusNameEachVendorOnce) {
  std::vector<RunResult> reports = shards_by_candidate();
  reports[1].run.cpu_vendors = {"GenuineIntel"};
  reports.push_back(reports[0]);
  auto merged = merge_reports(reports);
  ASSERT_TRUE(merged.ok()) << merged.error().message();
  EXPECT_EQ(merged->run.cpu_vendors, (std::vector<std::string>{"AuthenticAMD", "GenuineIntel"}));
}

TEST(MergeReports, ALaterResultOfTheSameCheckReplacesTheEarlier) {
  std::vector<RunResult> reports = shards_by_candidate();
  RunResult rerun;
  rerun.run = reports[0].run;
  rerun.checks.push_back(reports[0].checks[1]);  // the drifting check, passing this time
  rerun.checks.back().verdict = Verdict::kPass;
  rerun.run_errors = {"worker for 1.9.1 restarted twice"};
  reports.push_back(rerun);

  auto merged = merge_reports(reports);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->checks.size(), 6U);
  EXPECT_EQ(merged->checks[1].key, reports[0].checks[1].key);  // same place as first seen
  EXPECT_EQ(merged->checks[1].verdict, Verdict::kPass);
  EXPECT_EQ(merged->run_errors, std::vector<std::string>{"worker for 1.9.1 restarted twice"});
}

TEST(MergeReports, ReportsMustAgreeOnVersionAndStore) {
  std::vector<RunResult> reports = shards_by_candidate();
  reports[1].run.mbcc_version = "0.2.0";
  auto merged = merge_reports(reports);
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().source, "reports 1 and 2");
  EXPECT_EQ(merged.error().field, "run.mbcc_version");
  EXPECT_EQ(merged.error().found, "\"0.1.0\" and \"0.2.0\"");

  reports = shards_by_candidate();
  reports[1].run.store = "s3://bucket/mbcc";
  EXPECT_EQ(merge_reports(reports).error().field, "run.store");
}

TEST(MergeReports, AReportWithoutExpectationsMergesWithOneThatHasThem) {
  std::vector<RunResult> reports = shards_by_candidate();
  reports[0].run.expectations.clear();
  auto merged = merge_reports(reports);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->run.expectations, "corpus/expectations.toml");

  reports[0].run.expectations = "other.toml";
  EXPECT_EQ(merge_reports(reports).error().field, "run.expectations");
}

TEST(MergeReports, NothingToMergeIsAnError) { EXPECT_FALSE(merge_reports({}).ok()); }

}  // namespace
}  // namespace mbcc
