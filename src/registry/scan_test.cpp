#include "registry/scan.hpp"

#include <gtest/gtest.h>

namespace mbcc::registry {
namespace {

Arg arg(const std::string& name, const std::string& type_string) {
  Arg parsed = parse_type_string(type_string).arg;
  parsed.name = name;
  return parsed;
}

Registry pooling_registry(const std::string& release, int version, std::vector<Arg> args,
                          Parser parser = Parser::kStrict) {
  Registry registry;
  registry.release = release;
  registry.mxnet_version = version;
  Op pooling;
  pooling.name = "Pooling";
  pooling.inputs = {"data"};
  pooling.parser = parser;
  pooling.args = std::move(args);
  registry.ops["Pooling"] = pooling;
  Op relu;
  relu.name = "relu";
  relu.parser = Parser::kNone;
  registry.ops["relu"] = relu;
  return registry;
}

SymbolFile graph(const std::string& pooling_attrs, int version = 10901) {
  const std::string text =
      R"({"nodes": [{"op": "null", "name": "data", "inputs": []},
                    {"op": "Pooling", "name": "pool0", "attrs": )" +
      pooling_attrs + R"(, "inputs": [[0, 0, 0]]},
                    {"op": "relu", "name": "relu0", "attrs": {"junk": "1"}, "inputs": [[1, 0, 0]]}],
          "arg_nodes": [0], "heads": [[2, 0, 0]],
          "attrs": {"mxnet_version": ["int", )" +
      std::to_string(version) + "]}}";
  auto parsed = parse_symbol_json(text, "test-symbol.json");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return *parsed;
}

const Registry kOld = pooling_registry("1.4.1", 10401,
                                       {arg("kernel", "Shape(tuple), optional, default=[]"),
                                        arg("pool_type", "{'avg', 'max'},optional, default='max'"),
                                        arg("stride", "Shape(tuple), optional, default=[]")});
const Registry kNew =
    pooling_registry("1.9.1", 10901,
                     {arg("kernel", "Shape(tuple), optional, default=None"),
                      arg("pool_type", "{'avg', 'max'},optional, default='avg'"),
                      arg("layout", "{None, 'NCHW', 'NHWC'},optional, default='None'")});

TEST(Scan, NewerFileOnOlderCandidate) {
  const Diff diff = diff_registries(kNew, kOld);
  const auto findings =
      scan_graph(graph(R"j({"kernel": "(2, 2)", "layout": "NCHW"})j"), {&kOld, &kNew, &diff});
  ASSERT_EQ(findings.size(), 3U);
  EXPECT_EQ(findings[0].kind, FindingKind::kAttrRefused);
  EXPECT_EQ(findings[0].node, "pool0");
  EXPECT_EQ(findings[0].attribute, "layout");
  EXPECT_EQ(findings[0].candidate, "1.4.1");
  ASSERT_TRUE(findings[0].change.has_value());
  EXPECT_EQ(findings[0].change->kind, ChangeKind::kArgRemovedOptional);
  EXPECT_TRUE(is_fatal(findings[0].kind));
  // pool_type is unset: its default was 'avg' in the producer and is 'max' in the candidate.
  EXPECT_EQ(findings[1].kind, FindingKind::kDefaultChanged);
  EXPECT_EQ(findings[1].attribute, "pool_type");
  EXPECT_NE(findings[1].detail.find("'avg' in 1.9.1"), std::string::npos);
  EXPECT_NE(findings[1].detail.find("'max' in 1.4.1"), std::string::npos);
  EXPECT_FALSE(is_fatal(findings[1].kind));
  // relu has no parser: its unknown key is ignored, not fatal.
  EXPECT_EQ(findings[2].kind, FindingKind::kAttrIgnored);
  EXPECT_EQ(findings[2].node, "relu0");
}

TEST(Scan, ValuesRequiredAndMissingOps) {
  Registry strict = kOld;
  strict.ops["Pooling"].args[1] = arg("pool_type", "{'avg', 'max'}, required");
  strict.ops.erase("relu");
  const auto findings =
      scan_graph(graph(R"j({"kernel": "(2, 2)", "stride": "sum"})j"), {&strict, nullptr, nullptr});
  ASSERT_EQ(findings.size(), 2U);
  EXPECT_EQ(findings[0].kind, FindingKind::kRequiredMissing);
  EXPECT_EQ(findings[0].attribute, "pool_type");
  EXPECT_EQ(findings[1].kind, FindingKind::kOpMissing);
  EXPECT_EQ(findings[1].op, "relu");
  const auto values = scan_graph(graph(R"({"pool_type": "lp"})"), {&kOld, nullptr, nullptr});
  ASSERT_FALSE(values.empty());
  EXPECT_EQ(values[0].kind, FindingKind::kValueRefused);
}

TEST(Scan, HiddenKeysAndCleanGraphs) {
  const auto findings =
      scan_graph(graph(R"j({"kernel": "(2, 2)", "__lr_mult__": "2"})j"), {&kNew, nullptr, nullptr});
  ASSERT_EQ(findings.size(), 1U);  // only relu's ignored key
  EXPECT_EQ(findings[0].kind, FindingKind::kAttrIgnored);
}

TEST(Scan, PreOneReadersRefuseAttrs) {
  const Registry old = pooling_registry("0.12.1", 1201, {});
  const auto findings = scan_graph(graph(R"j({"kernel": "(2, 2)"})j"), {&old, nullptr, nullptr});
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].kind, FindingKind::kFormat);
}

}  // namespace
}  // namespace mbcc::registry
