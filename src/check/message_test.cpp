#include "check/message.hpp"

#include <gtest/gtest.h>

namespace mbcc {
namespace {

// Texts as MXNet releases print them, trimmed of backtraces.
TEST(ClassifyMessage, UnregisteredOperator) {
  EXPECT_EQ(classify_message("MXNetError: Failed loading Op prob of type SoftmaxOutput: "
                             "[09:12:01] ../src/core/op.cc:52: Check failed: op != nullptr: "
                             "Operator SoftmaxOutput is not registered"),
            (MessageClass{MessageKind::kMissingOperator, "SoftmaxOutput"}));
  EXPECT_EQ(classify_message("Failed loading Op prob of type SoftmaxOutput"),
            (MessageClass{MessageKind::kMissingOperator, "SoftmaxOutput"}));
}

TEST(ClassifyMessage, UnknownOperatorArgument) {
  EXPECT_EQ(classify_message("MXNetError: [10:20:30] include/dmlc/parameter.h:385: Cannot find "
                             "argument 'x', Possible Arguments:\n----------------\neps : "
                             "double, optional, default=0.001"),
            (MessageClass{MessageKind::kOperatorArgument, "x"}));
  EXPECT_EQ(classify_message("Failed loading Op bn0 of type BatchNorm: Cannot find argument "
                             "'axis', Possible Arguments:"),
            (MessageClass{MessageKind::kOperatorArgument, "axis"}));
  EXPECT_EQ(classify_message("Invalid Parameter format for num_group expect int but "
                             "value='2.0', in operator Convolution(name=\"conv0\")"),
            (MessageClass{MessageKind::kOperatorArgument, "num_group"}));
}

TEST(ClassifyMessage, ParameterNamesThatDoNotMatch) {
  EXPECT_EQ(classify_message("AssertionError: Parameter 'conv0_weight' is missing in file "
                             "'test.params', which contains parameters: '0.weight', "
                             "'0.bias'. Please make sure source and target networks have the "
                             "same prefix."),
            (MessageClass{MessageKind::kParameterNameMismatch, "conv0_weight"}));
  EXPECT_EQ(classify_message("AssertionError: Parameter '0.weight' is missing in 'file: "
                             "lenet.params', which contains parameters: 'conv0_weight', "
                             "'conv0_bias'. Set allow_missing=True to ignore missing parameters."),
            (MessageClass{MessageKind::kParameterNameMismatch, "0.weight"}));
  EXPECT_EQ(classify_message("AssertionError: Parameter 'dense0.weight' loaded from file "
                             "'net.params' is not present in ParameterDict, choices are: "
                             "'0.weight'. Set allow_extra=True to ignore."),
            (MessageClass{MessageKind::kParameterNameMismatch, "dense0.weight"}));
}

TEST(ClassifyMessage, NpShapeSemantics) {
  EXPECT_EQ(classify_message("Check failed: Imperative::Get()->is_np_shape(): ndarray was saved "
                             "in np shape semantics, must be loaded in the same semantics")
                .kind,
            MessageKind::kNpShape);
  EXPECT_EQ(classify_message("is_np_shape").kind, MessageKind::kNpShape);
}

TEST(ClassifyMessage, FileFormat) {
  EXPECT_EQ(classify_message("MXNetError: [11:00:00] src/ndarray/ndarray.cc:2063: Check failed: "
                             "header == kMXAPINDArrayListMagic: Invalid NDArray file format")
                .kind,
            MessageKind::kFileFormat);
}

TEST(ClassifyMessage, ShapeInference) {
  EXPECT_EQ(classify_message("Error in operator conv0: [11:00:00] src/operator/nn/"
                             "convolution.cc:152: Check failed: i >= 0 && i < ndim(): index = 0 "
                             "must be in range [0, -1)")
                .kind,
            MessageKind::kShapeInference);
  EXPECT_EQ(
      classify_message("InferShape pass cannot decide shapes for the following arguments").kind,
      MessageKind::kShapeInference);
}

TEST(ClassifyMessage, DuplicateOutputNames) {
  EXPECT_EQ(classify_message("ValueError: There are multiple outputs with name "
                             "\"resmodel0_relu0_fwd_output\"."),
            (MessageClass{MessageKind::kDuplicateName, "resmodel0_relu0_fwd_output"}));
}

TEST(ClassifyMessage, AnythingElseIsOther) {
  EXPECT_EQ(classify_message("Segmentation fault: 11"), MessageClass{});
  EXPECT_EQ(classify_message(""), MessageClass{});
}

TEST(MessageKindName, RoundTrips) {
  for (auto kind :
       {MessageKind::kMissingOperator, MessageKind::kOperatorArgument,
        MessageKind::kParameterNameMismatch, MessageKind::kNpShape, MessageKind::kFileFormat,
        MessageKind::kShapeInference, MessageKind::kDuplicateName, MessageKind::kOther}) {
    EXPECT_EQ(message_kind_from_name(message_kind_name(kind)), kind);
  }
  EXPECT_FALSE(message_kind_from_name("missing").has_value());
}

}  // namespace
}  // namespace mbcc
