#include "candidates/candidates.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "envs/envs.hpp"

namespace mbcc {
namespace {

std::vector<std::string> names(const std::vector<std::string>& texts) {
  Result<std::vector<CandidateSpec>> specs = expand_candidate_specs(texts);
  EXPECT_TRUE(specs.ok()) << (specs.ok() ? "" : specs.error().message());
  std::vector<std::string> out;
  if (specs.ok()) {
    for (const CandidateSpec& s : *specs) out.push_back(s.name);
  }
  return out;
}

std::string error_of(const std::vector<std::string>& texts) {
  Result<std::vector<CandidateSpec>> specs = expand_candidate_specs(texts);
  EXPECT_FALSE(specs.ok());
  return specs.ok() ? "" : specs.error().message();
}

TEST(CandidateSpecs, AllIsEveryReleaseThatWorksHereOldestFirst) {
  const std::vector<std::string> all = names({"all"});
  std::vector<std::string> table;
  for (const envs::ReleaseQuirks& row : envs::release_table()) {
    if (row.support == envs::Support::kWorks) table.emplace_back(row.release);
  }
  EXPECT_EQ(all, table);
  EXPECT_EQ(all.size(), 20U);
  EXPECT_EQ(names({"1.9.1", "all"}).front(), "1.9.1");  // in the order given, each once
  EXPECT_EQ(names({"1.9.1", "all"}).size(), 20U);
}

TEST(CandidateSpecs, RangesLeaveOutPreReleasesUnlessTheyNameOne) {
  EXPECT_EQ(names({">=1.8,<2"}), (std::vector<std::string>{"1.8.0", "1.9.0", "1.9.1"}));
  EXPECT_EQ(names({">=1.9.1"}), (std::vector<std::string>{"1.9.1"}));
  EXPECT_EQ(names({">=1.9.1,<=2.0.0b1"}),
            (std::vector<std::string>{"1.9.1", "2.0.0a0", "2.0.0b1"}));
  EXPECT_EQ(names({"~=1.4.0"}), (std::vector<std::string>{"1.4.0", "1.4.1"}));
  EXPECT_EQ(names({"~=1.8"}), (std::vector<std::string>{"1.8.0", "1.9.0", "1.9.1"}));
  EXPECT_EQ(names({"==1.2.1"}), (std::vector<std::string>{"1.2.1"}));
  EXPECT_EQ(names({"<1.0,!=0.12.0"}), (std::vector<std::string>{"0.11.0", "0.12.1"}));
}

TEST(CandidateSpecs, ADistributionIsACandidateOfItsOwnNamedAsGiven) {
  Result<std::vector<CandidateSpec>> specs = expand_candidate_specs(
      std::vector<std::string>{"mxnet-mkl==1.6.0", "1.6.0", "mxnet-native==1.8.0.post0"});
  ASSERT_TRUE(specs.ok());
  EXPECT_EQ(*specs, (std::vector<CandidateSpec>{
                        {"mxnet-mkl==1.6.0", "mxnet-mkl==1.6.0", "1.6.0"},
                        {"1.6.0", "1.6.0", "1.6.0"},
                        {"mxnet-native==1.8.0.post0", "mxnet-native==1.8.0.post0", "1.8.0"}}));
  EXPECT_EQ(names({"2.0.0.beta1"}), (std::vector<std::string>{"2.0.0b1"}));
}

TEST(CandidateSpecs, BadSpecsAreNamed) {
  EXPECT_NE(error_of({">=1.5,<"}).find("\">=1.5,<\""), std::string::npos);
  EXPECT_NE(error_of({">=3"}).find("no release mbcc knows is in the range"), std::string::npos);
  EXPECT_NE(error_of({"~=2"}).find("~= needs at least two components"), std::string::npos);
  EXPECT_NE(error_of({"tensorflow==2.0"}).find("mxnet or mxnet-<variant>"), std::string::npos);
  EXPECT_NE(error_of({"1.9.1;rm"}).find("1.9.1;rm"), std::string::npos);
}

TEST(EnvSpec, ADistributionGetsItsOwnFolderAndItsReleasesQuirks) {
  Result<envs::EnvSpec> mkl = envs::parse_env_spec("mxnet-mkl==1.6.0");
  ASSERT_TRUE(mkl.ok());
  EXPECT_EQ(mkl->folder, "mxnet-mkl-1.6.0");
  EXPECT_EQ(mkl->requirement, "mxnet-mkl==1.6.0");
  EXPECT_EQ(mkl->release, "1.6.0");
  Result<envs::EnvSpec> native = envs::parse_env_spec("mxnet-native==1.8.0.post0");
  ASSERT_TRUE(native.ok());
  EXPECT_EQ(native->release, "1.8.0");  // found by the release's pip version
  EXPECT_EQ(native->folder, "mxnet-native-1.8.0.post0");
  Result<envs::EnvSpec> plain = envs::parse_env_spec("mxnet==1.7.0.post2");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->folder, "1.7.0");  // plain mxnet is the release itself
  // an old release's quirks come along: 1.2.x patches its DataLoader whatever the distribution
  Result<envs::InstallPlan> plan = envs::install_plan("mxnet-mkl==1.2.1");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->requirement, "mxnet-mkl==1.2.1");
  EXPECT_EQ(plan->steps.size(), 3U);  // --no-deps, the modern pins, the DataLoader patch
}

}  // namespace
}  // namespace mbcc
