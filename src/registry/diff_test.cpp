#include "registry/diff.hpp"

#include <gtest/gtest.h>

namespace mbcc::registry {
namespace {

Arg arg(const std::string& name, const std::string& type_string) {
  Arg parsed = parse_type_string(type_string).arg;
  parsed.name = name;
  return parsed;
}

Op strict_op(const std::string& name, std::vector<Arg> args) {
  Op op;
  op.name = name;
  op.inputs = {"data"};
  op.parser = Parser::kStrict;
  op.args = std::move(args);
  return op;
}

Registry make(const std::string& release, std::vector<Op> ops) {
  Registry registry;
  registry.release = release;
  for (Op& op : ops) {
    for (const std::string& alias : op.aliases) registry.alias_of[alias] = op.name;
    registry.ops[op.name] = std::move(op);
  }
  return registry;
}

const Change* find_kind(const Diff& diff, ChangeKind kind, const std::string& attribute) {
  for (const Change& change : diff.changes) {
    if (change.kind == kind && change.attribute == attribute) return &change;
  }
  return nullptr;
}

TEST(Rules, OneRulePerKindInOrder) {
  for (std::size_t i = 0; i < rules().size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(rules()[i].kind), i) << rules()[i].name;
  }
  EXPECT_EQ(rule(ChangeKind::kArgAddedOptional).backward, Effect::kOk);
  EXPECT_EQ(rule(ChangeKind::kArgAddedOptional).forward, Effect::kBreaksIfSet);
  EXPECT_EQ(rule(ChangeKind::kOpRemoved).backward, Effect::kBreaks);
}

// The 1.4.1 -> 1.5.0 changes of the fact sheet: Pooling layout added, BatchNorm eps printed
// with max_digits10, Softmax turned into an alias of SoftmaxOutput.
TEST(Diff, FindsArgumentChangesAndIgnoresFloatFormatting) {
  Op softmax_old = strict_op("Softmax", {arg("grad_scale", "float, optional, default=1")});
  Op softmax_output = strict_op(
      "SoftmaxOutput", {arg("grad_scale", "float, optional, default=1"),
                        arg("normalization", "{'batch', 'null'},optional, default='null'")});
  const Registry a = make(
      "1.4.1", {strict_op("Pooling", {arg("kernel", "Shape(tuple), optional, default=[]"),
                                      arg("pool_type", "{'avg', 'max'},optional, default='max'")}),
                strict_op("BatchNorm", {arg("eps", "double, optional, default=0.001"),
                                        arg("momentum", "float, optional, default=0.9")}),
                softmax_old, softmax_output, strict_op("Pooling_v1", {})});
  Op softmax_output_new = softmax_output;
  softmax_output_new.aliases = {"Softmax"};
  const Registry b = make(
      "1.5.0",
      {strict_op("Pooling", {arg("kernel", "Shape(tuple), optional, default=None"),
                             arg("pool_type", "{'avg', 'lp', 'max'},optional, default='max'"),
                             arg("layout", "{None, 'NCHW', 'NHWC'},optional, default='None'")}),
       strict_op("BatchNorm", {arg("eps", "double, optional, default=0.0010000000474974513"),
                               arg("momentum", "float, optional, default=0.99")}),
       softmax_output_new});
  const Diff diff = diff_registries(a, b);
  const Change* layout = find_kind(diff, ChangeKind::kArgAddedOptional, "layout");
  ASSERT_NE(layout, nullptr);
  EXPECT_EQ(layout->op, "Pooling");
  const Change* lp = find_kind(diff, ChangeKind::kEnumValuesAdded, "pool_type");
  ASSERT_NE(lp, nullptr);
  EXPECT_EQ(lp->values, std::vector<std::string>{"lp"});
  // eps: formatting only; kernel: [] and None are one unknown shape; momentum really changed.
  EXPECT_EQ(find_kind(diff, ChangeKind::kDefaultChanged, "eps"), nullptr);
  EXPECT_EQ(find_kind(diff, ChangeKind::kDefaultChanged, "kernel"), nullptr);
  const Change* momentum = find_kind(diff, ChangeKind::kDefaultChanged, "momentum");
  ASSERT_NE(momentum, nullptr);
  EXPECT_EQ(momentum->before, "0.9");
  EXPECT_EQ(momentum->after, "0.99");
  const Change* retarget = find_kind(diff, ChangeKind::kAliasRetargeted, "");
  ASSERT_NE(retarget, nullptr);
  EXPECT_EQ(retarget->op, "Softmax");
  EXPECT_EQ(retarget->after, "SoftmaxOutput");
  // A file's Softmax node is now parsed by SoftmaxOutput, which has normalization.
  const Change* normalization = find_kind(diff, ChangeKind::kArgAddedOptional, "normalization");
  ASSERT_NE(normalization, nullptr);
  EXPECT_EQ(normalization->op, "Softmax");
  EXPECT_EQ(normalization->op_in_b, "SoftmaxOutput");
  const Change* removed = find_kind(diff, ChangeKind::kOpRemoved, "");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->op, "Pooling_v1");
  EXPECT_EQ(diff.find("Pooling", "layout"), layout);
}

TEST(Diff, RequiredToOptionalAndBack) {
  const Registry a =
      make("1.1.0", {strict_op("Pooling", {arg("pool_type", "{'avg', 'max'}, required")})});
  const Registry b =
      make("1.2.0",
           {strict_op("Pooling", {arg("pool_type", "{'avg', 'max'},optional, default='max'")})});
  const Diff newer = diff_registries(a, b);
  const Change* forward = find_kind(newer, ChangeKind::kArgBecameOptional, "pool_type");
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ(rule(forward->kind).forward, Effect::kBreaksIfUnset);
  const Diff older = diff_registries(b, a);
  EXPECT_NE(find_kind(older, ChangeKind::kArgBecameRequired, "pool_type"), nullptr);
}

TEST(Diff, ArgumentsOfOpsWithoutParserAreNotCompared) {
  Op a_op = strict_op("relu", {arg("x", "int, optional, default='1'")});
  a_op.parser = Parser::kNone;
  Op b_op = a_op;
  b_op.args.clear();
  EXPECT_TRUE(diff_registries(make("a", {a_op}), make("b", {b_op})).changes.empty());
}

TEST(Diff, UsesTheParsersOwnFields) {
  // ftml_update in 1.2.1 documents AdamParam but parses FTMLParam (fact sheet §2).
  Op documented = strict_op("ftml_update", {arg("beta1", "float, optional, default=0.9")});
  documented.parser_fields = std::vector<Arg>{arg("beta1", "float, optional, default=0.600000024")};
  const Op fixed = strict_op("ftml_update", {arg("beta1", "float, optional, default=0.6")});
  EXPECT_TRUE(diff_registries(make("1.2.1", {documented}), make("1.3.0", {fixed})).changes.empty());
}

}  // namespace
}  // namespace mbcc::registry
