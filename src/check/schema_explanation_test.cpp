#include "check/schema_explanation.hpp"

#include <gtest/gtest.h>

#include "corpus/bundle.hpp"

namespace mbcc {
namespace {

CheckResult refused(const std::string& candidate, const std::string& text) {
  CheckResult check;
  check.key.candidate = candidate;
  check.message = CandidateMessage{text, classify_message(text), ""};
  return check;
}

// Messages as 1.9.1 and 1.4.1 word them (corpus checks of 2.0.0b1 and 1.9.1 exports).
TEST(SchemaExplanation, NamesTheReleasesThatHaveIt) {
  std::vector<CheckResult> checks = {
      refused("1.9.1",
              "MXNetError: Cannot find argument 'output_size', Possible Arguments:\n"
              "----------------\nkernel : Shape(tuple), optional, default=[]\n"
              ", in operator Pooling(name=\"\", output_size=\"None\")"),
      refused("1.4.1", "Operator _npx_relu is not registered"),
      refused("1.9.1", "KeyError: 'orig_name'"),
      // 1.9.1's refusal does not name the op: the ops output_size can be about are explained.
      refused("1.9.1", "MXNetError: Cannot find argument 'output_size', Possible Arguments:\n")};
  RegistryHistory history(std::filesystem::path(MBCC_SOURCE_DIR) / "registry");
  explain_refusals(history, checks);
  EXPECT_EQ(checks[0].message->explanation,
            "`output_size`: an argument of Pooling in 2.0.0b1; 1.9.1 does not have it");
  EXPECT_TRUE(checks[1].message->explanation.starts_with("`_npx_relu`: an operator in 1.6.0"))
      << checks[1].message->explanation;
  EXPECT_EQ(checks[2].message->explanation, "");
  // …and _contrib_quantized_pooling, which has it from 2.0.0b1 too.
  EXPECT_TRUE(checks[3].message->explanation.starts_with(checks[0].message->explanation + " or "))
      << checks[3].message->explanation;
}

TEST(SchemaExplanation, UnreadableDumpsLeaveMessagesAlone) {
  std::vector<CheckResult> checks = {refused("1.4.1", "Operator _npx_relu is not registered")};
  RegistryHistory history("/nonexistent/registry");
  explain_refusals(history, checks);
  EXPECT_EQ(checks[0].message->explanation, "");
}

// A drift at `node` of the corpus's bundle `producer`/`model`/gluon-export, checked on `candidate`.
struct Drifted {
  Plan plan;
  std::vector<CheckResult> checks;
};

Drifted drifted(const std::string& producer, const std::string& model,
                const std::vector<std::pair<std::string, std::string>>& candidate_and_node) {
  const std::filesystem::path store = std::filesystem::path(MBCC_SOURCE_DIR) / "corpus";
  Drifted d;
  PlannedBundle bundle;
  bundle.key = {producer, model, "gluon-export"};
  bundle.dir = corpus::bundle_dir(store, bundle.key);
  auto manifest = corpus::validate_bundle(bundle.dir);
  EXPECT_TRUE(manifest.ok()) << manifest.error().message();
  if (manifest.ok()) bundle.manifest = std::move(manifest).value();
  d.plan.bundles.push_back(std::move(bundle));
  for (const auto& [candidate, node] : candidate_and_node) {
    PlannedCheck planned;
    planned.key = {producer, model, "gluon-export", "gluon-symbolblock-imports", candidate};
    d.plan.checks.push_back(planned);
    CheckResult check;
    check.key = planned.key;
    check.raw_verdict = check.verdict = Verdict::kNumericDrift;
    check.first_divergence = DivergingNode{node, "", std::nullopt, ""};
    d.checks.push_back(std::move(check));
  }
  return d;
}

// 1.9.1's style-transfer leaves Deconvolution's workspace unset; 2.0 raised its default (the
// shipped dumps of both releases). The only default that changed in 1.x is none, and a node
// with no unset changed default is left alone.
TEST(SchemaExplanation, ADriftAtANodeThatReliesOnAChangedDefaultSaysSo) {
  Drifted d = drifted("1.9.1", "style-transfer",
                      {{"2.0.0b1", "styletransfer_conv2_fwd"},
                       {"2.0.0b1", "styletransfer_conv0_fwd"},
                       {"1.9.0", "styletransfer_conv2_fwd"}});
  RegistryHistory history(std::filesystem::path(MBCC_SOURCE_DIR) / "registry");
  explain_drifts(history, d.plan, d.checks);
  EXPECT_EQ(d.checks[0].first_divergence->explanation,
            "relies on a changed default: Deconvolution.workspace unset; default '512' in 1.9.1, "
            "'1024' in 2.0.0b1");
  EXPECT_EQ(d.checks[1].first_divergence->explanation, "");
  EXPECT_EQ(d.checks[2].first_divergence->explanation, "");
}

TEST(SchemaExplanation, UnreadableDumpsLeaveDriftsAlone) {
  Drifted d = drifted("1.9.1", "style-transfer", {{"2.0.0b1", "styletransfer_conv2_fwd"}});
  RegistryHistory history("/nonexistent/registry");
  explain_drifts(history, d.plan, d.checks);
  EXPECT_EQ(d.checks[0].first_divergence->explanation, "");
}

}  // namespace
}  // namespace mbcc
