// The dumps shipped in registry/, made by the real releases: each reads strictly, and they
// hold the facts of shared/docs/mxnet-op-registry.md that a real release confirmed.
#include <gtest/gtest.h>

#include "registry/diff.hpp"
#include "registry/dump.hpp"
#include "registry/explain.hpp"

namespace mbcc::registry {
namespace {

const std::filesystem::path kDir = std::filesystem::path(MBCC_SOURCE_DIR) / "registry";

Registry shipped(const std::string& release) {
  auto registry = read_dump(kDir, release);
  if (!registry) throw std::runtime_error(registry.error().message());
  return *registry;
}

TEST(Shipped, EveryListedDumpReads) {
  auto releases = dumped_releases(kDir);
  ASSERT_TRUE(releases.ok()) << releases.error().message();
  EXPECT_GE(releases->size(), 16U);
  for (const std::string& release : *releases) {
    auto registry = read_dump(kDir, release);
    ASSERT_TRUE(registry.ok()) << registry.error().message();
    EXPECT_GT(registry->ops.size(), 300U) << release;
  }
}

TEST(Shipped, CountsOfTheFactSheet) {
  const Registry r100 = shipped("1.0.0");
  EXPECT_EQ(r100.ops.size(), 413U);
  EXPECT_EQ(r100.ops.size() + r100.alias_of.size(), 555U);
  const Registry r200 = shipped("2.0.0b1");
  EXPECT_EQ(r200.ops.size() + r200.alias_of.size(), 1362U);
}

TEST(Shipped, ParserDiffersFromTheDocumentationIn121) {
  const Registry r121 = shipped("1.2.1");
  const Op& ftml = r121.ops.at("ftml_update");
  ASSERT_TRUE(ftml.parser_fields.has_value());
  EXPECT_NE(ftml.find_accepted("clip_grad"), nullptr);
  EXPECT_EQ(ftml.find_accepted("clip_gradient"), nullptr);
  const Op& pick = r121.ops.at("pick");
  EXPECT_EQ(pick.find_accepted("axis")->default_value, "-1");
  // With the parser's own fields, 1.2.1 -> 1.3.0 shows no false default change of pick.axis.
  const Diff diff = diff_registries(r121, shipped("1.3.0"));
  for (const Change& change : diff.changes) {
    EXPECT_FALSE(change.kind == ChangeKind::kDefaultChanged && change.op == "pick")
        << change.describe();
  }
}

TEST(Shipped, RealChangesBetweenReleases) {
  const Diff diff = diff_registries(shipped("1.4.1"), shipped("1.9.1"));
  const Change* layout = diff.find("Pooling", "layout");
  ASSERT_NE(layout, nullptr);
  EXPECT_EQ(layout->kind, ChangeKind::kArgAddedOptional);
  EXPECT_EQ(diff.find("BatchNorm", "eps"), nullptr);  // 0.001 vs 0.0010000000474974513
  const Change* softmax = diff.find("Softmax", "");
  ASSERT_NE(softmax, nullptr);
  EXPECT_EQ(softmax->kind, ChangeKind::kAliasRetargeted);
  const Diff to_alpha = diff_registries(shipped("1.9.1"), shipped("2.0.0a0"));
  const Change* removed = to_alpha.find("SoftmaxOutput", "");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->kind, ChangeKind::kOpRemoved);
  const Diff to_beta = diff_registries(shipped("1.9.1"), shipped("2.0.0b1"));
  const Change* workspace = to_beta.find("Deconvolution", "workspace");
  ASSERT_NE(workspace, nullptr);
  EXPECT_EQ(workspace->kind, ChangeKind::kDefaultChanged);
}

}  // namespace
}  // namespace mbcc::registry

namespace mbcc::registry {
namespace {

TEST(Shipped, ExplainsWhichReleasesHaveAnArgumentOrOp) {
  auto history = read_history(kDir);
  ASSERT_TRUE(history.ok()) << history.error().message();
  const std::string argument = explain_argument(*history, "RNN", "use_sequence_length", "1.4.1");
  EXPECT_TRUE(argument.starts_with("`use_sequence_length`: an argument of RNN in 1.5.0"))
      << argument;
  EXPECT_TRUE(argument.ends_with("2.0.0b1; 1.4.1 does not have it")) << argument;
  const std::string op = explain_operator(*history, "SoftmaxOutput", "2.0.0a0");
  EXPECT_TRUE(op.starts_with("`SoftmaxOutput`: an operator in 0.11.0–1.")) << op;
  EXPECT_TRUE(op.ends_with(", 2.0.0b1; 2.0.0a0 does not have it")) << op;
  EXPECT_EQ(explain_operator(*history, "NoSuchOp", "1.9.1"),
            "`NoSuchOp`: an operator: no release from 0.11.0 to 2.0.0b1 has it");
  EXPECT_EQ(explain_operator(*history, "Pooling", "9.9.9"), "");  // not a dumped release
}

}  // namespace
}  // namespace mbcc::registry
