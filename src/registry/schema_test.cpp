#include "registry/schema.hpp"

#include <gtest/gtest.h>

namespace mbcc::registry {
namespace {

// Strings as the real 1.9.1 and 1.4.1 wheels print them (shared/docs/mxnet-op-registry.md §2).
TEST(TypeString, GenericOptional) {
  const TypeString parsed = parse_type_string("Shape(tuple), optional, default=[]");
  EXPECT_FALSE(parsed.is_input);
  EXPECT_EQ(parsed.arg.type, "Shape(tuple)");
  EXPECT_FALSE(parsed.arg.required);
  EXPECT_EQ(parsed.arg.default_value, "[]");
}

TEST(TypeString, EnumWithoutSpaceAfterTheBrace) {
  const TypeString parsed = parse_type_string(
      "{None, 'NCDHW', 'NCHW', 'NCW', 'NDHWC', 'NHWC', 'NWC'},optional, default='None'");
  EXPECT_EQ(parsed.arg.type, "enum");
  EXPECT_EQ(parsed.arg.enum_values,
            (std::vector<std::string>{"None", "NCDHW", "NCHW", "NCW", "NDHWC", "NHWC", "NWC"}));
  EXPECT_EQ(parsed.arg.default_value, "None");
}

TEST(TypeString, Required) {
  const TypeString rnn = parse_type_string("{'gru', 'lstm', 'rnn_relu', 'rnn_tanh'}, required");
  EXPECT_TRUE(rnn.arg.required);
  EXPECT_EQ(rnn.arg.enum_values.size(), 4U);
  const TypeString conv = parse_type_string("int (non-negative), required");
  EXPECT_TRUE(conv.arg.required);
  EXPECT_EQ(conv.arg.type, "int (non-negative)");
  const TypeString bare = parse_type_string(", required");  // _eye.N in 1.4.1
  EXPECT_TRUE(bare.arg.required);
  EXPECT_EQ(bare.arg.type, "");
}

TEST(TypeString, Inputs) {
  EXPECT_TRUE(parse_type_string("NDArray-or-Symbol").is_input);
  EXPECT_TRUE(parse_type_string("NDArray-or-Symbol[]").is_input);
  EXPECT_TRUE(parse_type_string("real_t").is_input);
}

Arg typed(const std::string& type_string) { return parse_type_string(type_string).arg; }

TEST(CanonicalValue, FloatsCompareAsFloat32) {
  const Arg eps14 = typed("double, optional, default=0.001");
  const Arg eps19 = typed("double, optional, default=0.0010000000474974513");
  EXPECT_EQ(canonical_value(eps14, "0.001"), canonical_value(eps19, "0.0010000000474974513"));
  const Arg momentum = typed("float, optional, default=0.899999976");
  EXPECT_EQ(canonical_value(momentum, "0.9"), canonical_value(momentum, "0.899999976"));
  EXPECT_NE(canonical_value(momentum, "0.9"), canonical_value(momentum, "0.99"));
}

TEST(CanonicalValue, IntsBoolsShapes) {
  EXPECT_EQ(canonical_value(typed("int, optional, default='1'"), "'1'"), "1");
  EXPECT_EQ(canonical_value(typed("boolean, optional, default=1"), "True"), "true");
  EXPECT_EQ(canonical_value(typed("boolean, optional, default=1"), "1"), "true");
  const Arg kernel = typed("Shape(tuple), optional, default=[]");
  EXPECT_EQ(canonical_value(kernel, "(2, 2)"), "[2,2]");
  EXPECT_EQ(canonical_value(kernel, "[2,2]"), "[2,2]");
  EXPECT_EQ(canonical_value(kernel, "(2,)"), "[2]");
  // An unknown TShape printed [] up to 1.4 and None from 1.5: the same value.
  EXPECT_EQ(canonical_value(kernel, "None"), canonical_value(kernel, "[]"));
  // An optional shape's None is not an empty shape.
  const Arg axis = typed("Shape or None, optional, default=None");
  EXPECT_NE(canonical_value(axis, "None"), canonical_value(axis, "[]"));
}

TEST(PossibleArguments, ParsesTheParsersFieldList) {
  const std::string message =
      "[14:05:00] ../src/core/op.cc:1: Cannot find argument 'zz_probe_key', Possible Arguments:\n"
      "----------------\n"
      "lr : float, required\n"
      "    Learning rate\n"
      "beta1 : float, optional, default=0.600000024\n"
      "    Generally close to 0.5.\n"
      "t : int, required\n"
      "    Number of update.\n"
      "clip_grad : float, optional, default=-1\n"
      "    Clip gradient to the range of [-clip_gradient, clip_gradient]\n"
      ", in operator ftml_update(name=\"\", zz_probe_key=\"1\")\n";
  const auto fields = parse_possible_arguments(message);
  ASSERT_TRUE(fields.has_value());
  ASSERT_EQ(fields->size(), 4U);
  EXPECT_EQ((*fields)[0].name, "lr");
  EXPECT_TRUE((*fields)[0].required);
  EXPECT_EQ((*fields)[1].default_value, "0.600000024");
  EXPECT_EQ((*fields)[3].name, "clip_grad");
  EXPECT_FALSE(parse_possible_arguments("Required parameter op_type of string is not presented"));
}

TEST(Registry, FindsAliases) {
  Registry registry;
  registry.ops["SoftmaxOutput"].name = "SoftmaxOutput";
  registry.alias_of["Softmax"] = "SoftmaxOutput";
  ASSERT_NE(registry.find("Softmax"), nullptr);
  EXPECT_EQ(registry.find("Softmax")->name, "SoftmaxOutput");
  EXPECT_EQ(registry.find("Pooling"), nullptr);
}

}  // namespace
}  // namespace mbcc::registry
