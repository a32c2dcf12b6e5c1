#include "check/plan.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "corpus/test_bundle.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;
using corpus::testing::make_bundle;

runners::WorkerCommand fake_command(std::string kind) {
  return {std::move(kind), {"/bin/true"}, {}};
}

Candidate full_candidate(std::string name) {
  return {std::move(name), {fake_command("python"), ""}, {fake_command("capi"), ""}, ""};
}

Candidate library_only(std::string name) {
  return {std::move(name), {std::nullopt, "no Python here"}, {fake_command("capi"), ""}, ""};
}

class PlanTest : public corpus::testing::TempDir {
 protected:
  // Bundles 1.5.1/fc/module-checkpoint and 1.9.1/fc/module-checkpoint, each with load APIs
  // module-load-checkpoint and c-predict.
  void SetUp() override {
    TempDir::SetUp();
    for (const char* producer : {"1.9.1", "1.5.1"}) {
      make_bundle(corpus::bundle_dir(dir_, {producer, "fc", "module-checkpoint"}));
    }
  }
  fs::path bundle(const char* producer) const {
    return corpus::bundle_dir(dir_, {producer, "fc", "module-checkpoint"});
  }
};

TEST_F(PlanTest, EveryBundleTimesLoadApiTimesCandidateInOrder) {
  const std::vector<Candidate> candidates = {full_candidate("2.0.0b1"), full_candidate("1.9.1")};
  Result<Plan> plan = make_plan(dir_, candidates, {});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->bundles.size(), 2U);
  std::vector<std::string> names;
  for (const PlannedCheck& c : plan->checks) {
    EXPECT_FALSE(c.settled);
    names.push_back(c.key.candidate + " " + c.key.producer + " " + c.key.load_api);
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "2.0.0b1 1.5.1 module-load-checkpoint", "2.0.0b1 1.5.1 c-predict",
                       "2.0.0b1 1.9.1 module-load-checkpoint", "2.0.0b1 1.9.1 c-predict",
                       "1.9.1 1.5.1 module-load-checkpoint", "1.9.1 1.5.1 c-predict",
                       "1.9.1 1.9.1 module-load-checkpoint", "1.9.1 1.9.1 c-predict"}));
  EXPECT_EQ(plan->checks[0].runner, RunnerKind::kPython);
  EXPECT_EQ(plan->checks[1].runner, RunnerKind::kCapi);
}

TEST_F(PlanTest, FiltersLeaveChecksOutRatherThanSkipThem) {
  const std::vector<Candidate> candidates = {full_candidate("1.9.1")};
  Filters filters;
  filters.producer.patterns = {"1.9.*"};
  filters.load_api.patterns = {"c-*"};
  Result<Plan> plan = make_plan(dir_, candidates, filters);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->bundles.size(), 1U);  // the other bundle is not even validated
  ASSERT_EQ(plan->checks.size(), 1U);
  EXPECT_EQ(plan->checks[0].key.producer, "1.9.1");
  EXPECT_EQ(plan->checks[0].key.load_api, "c-predict");
}

TEST_F(PlanTest, ACandidateWithoutAWorkerKindGetsThoseChecksAsUnsupported) {
  const std::vector<Candidate> candidates = {library_only("/opt/libmxnet.so")};
  Filters filters;
  filters.producer.patterns = {"1.9.1"};
  Result<Plan> plan = make_plan(dir_, candidates, filters);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->checks.size(), 2U);
  EXPECT_EQ(plan->checks[0].settled, Verdict::kUnsupported);
  EXPECT_EQ(plan->checks[0].detail, "no Python here");
  EXPECT_FALSE(plan->checks[1].settled);
}

TEST_F(PlanTest, ACorruptBundleIsSettledForEveryCheckUnderItsManifestLoadApis) {
  std::vector<std::byte> params =
      corpus::testing::read_bytes(bundle("1.5.1") / "model/fc-0000.params");
  params[40] ^= std::byte{0x01};
  corpus::testing::write_bytes(bundle("1.5.1") / "model/fc-0000.params", params);

  const std::vector<Candidate> candidates = {full_candidate("1.9.1")};
  Result<Plan> plan = make_plan(dir_, candidates, {});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->checks.size(), 4U);
  for (int i : {0, 1}) {
    EXPECT_EQ(plan->checks[i].settled, Verdict::kArtifactCorrupt);
    EXPECT_NE(plan->checks[i].detail.find("sha256"), std::string::npos) << plan->checks[i].detail;
  }
  EXPECT_EQ(plan->checks[1].key.load_api, "c-predict");
  EXPECT_FALSE(plan->checks[2].settled);
}

TEST_F(PlanTest, ABundleWhoseManifestIsUnreadableGetsOneCheckPerCandidate) {
  corpus::testing::write_bytes(bundle("1.5.1") / "manifest.json",
                               corpus::testing::bytes_of("{\"schema_version\": 1, "));
  const std::vector<Candidate> candidates = {full_candidate("1.9.1")};
  Filters filters;
  filters.producer.patterns = {"1.5.1"};
  Result<Plan> plan = make_plan(dir_, candidates, filters);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->checks.size(), 1U);
  EXPECT_EQ(plan->checks[0].key.load_api, "*");
  EXPECT_EQ(plan->checks[0].settled, Verdict::kArtifactCorrupt);
}

TEST_F(PlanTest, AStoreThatIsNotAFolderIsAnError) {
  const std::vector<Candidate> candidates = {full_candidate("1.9.1")};
  Result<Plan> plan = make_plan(dir_ / "missing", candidates, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("not a folder"), std::string::npos);
}

TEST(RunnerFor, CApiNamesGoToTheCApiWorkerEverythingElseToPython) {
  EXPECT_EQ(runner_for("c-predict"), RunnerKind::kCapi);
  EXPECT_EQ(runner_for("c-executor"), RunnerKind::kCapi);
  EXPECT_EQ(runner_for("c-cachedop"), RunnerKind::kCapi);
  EXPECT_EQ(runner_for("gluon-imports"), RunnerKind::kPython);
  EXPECT_EQ(runner_for("gluon-block-load"), RunnerKind::kPython);
}

}  // namespace
}  // namespace mbcc
