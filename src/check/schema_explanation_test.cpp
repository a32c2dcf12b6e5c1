#include "check/schema_explanation.hpp"

#include <gtest/gtest.h>

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
  explain_refusals(std::filesystem::path(MBCC_SOURCE_DIR) / "registry", checks);
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
  explain_refusals("/nonexistent/registry", checks);
  EXPECT_EQ(checks[0].message->explanation, "");
}

}  // namespace
}  // namespace mbcc
