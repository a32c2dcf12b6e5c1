#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "formats/op_table.hpp"
#include "formats/symbol_json.hpp"
#include "formats/symbol_upgrade.hpp"

namespace mbcc {
namespace {

using Strings = std::vector<std::string>;

const std::filesystem::path kCorpus = std::filesystem::path(MBCC_SOURCE_DIR) / "fuzz/corpus/symbol";

SymbolFile corpus_file(const std::string& name) {
  Result<SymbolFile> file = read_symbol_json(kCorpus / name);
  EXPECT_TRUE(file.ok()) << (file.ok() ? "" : file.error().message());
  return file.ok() ? std::move(file).value() : SymbolFile{};
}

SymbolFile parsed(std::string_view text) {
  Result<SymbolFile> file = parse_symbol_json(text, "test.json");
  EXPECT_TRUE(file.ok()) << (file.ok() ? "" : file.error().message());
  return file.ok() ? std::move(file).value() : SymbolFile{};
}

Error rejected(std::string_view text, const SymbolLimits& limits = {}) {
  Result<SymbolFile> file = parse_symbol_json(text, "bad.json", limits);
  EXPECT_FALSE(file.ok()) << "accepted: " << text;
  return file.ok() ? Error{} : file.error();
}

const Node& node_named(const Graph& graph, const std::string& name) {
  for (const Node& node : graph.nodes) {
    if (node.name == name) return node;
  }
  ADD_FAILURE() << "no node " << name;
  static const Node kMissing;
  return kMissing;
}

std::string attr(const Graph& graph, const std::string& node, const std::string& key) {
  const AttrMap& attrs = node_named(graph, node).attrs;
  auto it = attrs.find(key);
  return it == attrs.end() ? "<absent>" : it->second;
}

Strings internal_names(const Graph& graph) {
  Strings names;
  for (const InternalOutput& output : internal_outputs(graph)) names.push_back(output.name);
  return names;
}

// A 1.x graph with one op `op` (attrs as a JSON object) over variables a and b.
std::string one_op(const std::string& op, const std::string& attrs, int heads = 1) {
  std::string head_list;
  for (int i = 0; i < heads; ++i)
    head_list += (i ? ", " : "") + std::string("[2, ") + std::to_string(i) + ", 0]";
  return R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
                       {"op": "null", "name": "b", "inputs": []},
                       {"op": ")" +
         op + R"(", "name": "x", "attrs": )" + attrs +
         R"(, "inputs": [[0, 0, 0], [1, 0, 0]]}],
             "arg_nodes": [0, 1], "heads": [)" +
         head_list + R"(]})";
}

// --- Every generation parses -------------------------------------------------------------

TEST(SymbolJson, StaticGraphGeneration) {
  SymbolFile file = corpus_file("v0.8-mlp.json");
  EXPECT_EQ(file.generation, Generation::kStaticGraph);
  EXPECT_FALSE(file.version_recorded);
  EXPECT_EQ(file.producer_version, 800);
  EXPECT_TRUE(file.graph.attrs.empty());
  ASSERT_EQ(file.graph.nodes.size(), 10u);
  // "param" and "attr" merge into one dict; 2-element entries get version 0.
  EXPECT_EQ(attr(file.graph, "fc", "num_hidden"), "8");
  EXPECT_EQ(attr(file.graph, "fc", "ctx_group"), "dev1");
  EXPECT_EQ(node_named(file.graph, "bn").inputs[2], (NodeEntry{5, 0, 0}));
  EXPECT_TRUE(file.warnings.empty()) << file.warnings.front();
}

TEST(SymbolJson, NnvmAttrGeneration) {
  SymbolFile file = corpus_file("v0.12-bn.json");
  EXPECT_EQ(file.generation, Generation::kNnvmAttr);
  EXPECT_EQ(file.producer_version, 1201);
  EXPECT_EQ(mxnet_version_string(file.producer_version), "0.12.1");
  EXPECT_EQ(file.graph.node_row_ptr.back(), 12u);
  EXPECT_EQ(node_named(file.graph, "bn").inputs[3], (NodeEntry{3, 0, 1}));
  EXPECT_EQ(list_arguments(file.graph), (Strings{"data", "bn_gamma", "bn_beta"}));
  EXPECT_EQ(list_auxiliary_states(file.graph), (Strings{"bn_moving_mean", "bn_moving_var"}));
  EXPECT_EQ(list_outputs(file.graph), (Strings{"concat_output"}));
  EXPECT_TRUE(file.warnings.empty()) << file.warnings.front();
}

TEST(SymbolJson, NnvmAttrsGeneration) {
  SymbolFile file = corpus_file("v1.9-lstm.json");
  EXPECT_EQ(file.generation, Generation::kNnvmAttrs);
  EXPECT_EQ(file.producer_version, 10901);
  EXPECT_FALSE(file.is_np_shape);
  EXPECT_EQ(list_arguments(file.graph),
            (Strings{"data", "embed_weight", "lstm_l0_i2h_weight", "lstm_l0_h2h_weight",
                     "lstm_l0_i2h_bias", "lstm_l0_h2h_bias", "fc_weight", "fc_bias"}));
  EXPECT_TRUE(list_auxiliary_states(file.graph).empty());
  EXPECT_EQ(list_outputs(file.graph), (Strings{"drop_output", "lstm_rnn0_state_output"}));
  Strings internals = internal_names(file.graph);
  Strings rnn_outputs(internals.begin() + 10, internals.begin() + 13);
  EXPECT_EQ(rnn_outputs,
            (Strings{"lstm_rnn0_output", "lstm_rnn0_state_output", "lstm_rnn0_statecell_output"}));
  EXPECT_EQ(internals.back(), "drop_output");  // the mask is hidden
  EXPECT_TRUE(file.warnings.empty()) << file.warnings.front();
}

TEST(SymbolJson, SubgraphsAndControlDeps) {
  SymbolFile file = corpus_file("v1.3-foreach.json");
  EXPECT_EQ(file.generation, Generation::kNnvmSubgraphs);
  const Node& loop = node_named(file.graph, "foreach0");
  ASSERT_EQ(loop.subgraphs.size(), 1u);
  EXPECT_EQ(loop.subgraphs[0].nodes.size(), 3u);
  EXPECT_EQ(node_named(file.graph, "result").control_deps, (std::vector<uint32_t>{1}));
  EXPECT_EQ(list_outputs(file.graph), (Strings{"result_output", "foreach0_output1"}));
  EXPECT_EQ(op_histogram(file.graph), (std::map<std::string, std::size_t>{
                                          {"_copy", 1}, {"_foreach", 1}, {"elemwise_add", 1}}));
  EXPECT_TRUE(file.warnings.empty()) << file.warnings.front();
}

TEST(SymbolJson, NumpyGeneration) {
  SymbolFile file = corpus_file("v2.0-np.json");
  EXPECT_EQ(file.generation, Generation::kNnvmAttrs);
  EXPECT_EQ(file.producer_version, 20000);
  EXPECT_TRUE(file.is_np_shape);
  EXPECT_EQ(file.graph.attrs.at("is_np_shape"), (GraphAttr{"int", "1"}));
  EXPECT_EQ(attr(file.graph, "relu0", "__profiler_scope__"), "<unk>:");
  EXPECT_EQ(list_arguments(file.graph),
            (Strings{"data", "0.weight", "0.bias", "1.gamma", "1.beta"}));
  EXPECT_EQ(list_auxiliary_states(file.graph), (Strings{"1.running_mean", "1.running_var"}));
  EXPECT_EQ(list_outputs(file.graph), (Strings{"mean0_output"}));
  EXPECT_TRUE(file.warnings.empty()) << file.warnings.front();
  // A 2.0 file is current for a 2.0 loader: nothing to upgrade.
  UpgradedSymbol upgraded = upgrade_symbol(file, kLoader200);
  EXPECT_TRUE(upgraded.passes.empty());
  EXPECT_EQ(upgraded.graph.nodes, file.graph.nodes);
}

TEST(SymbolJson, ReportsGenerationFromKeysVersionAndLayout) {
  auto generation = [](const std::string& extra, const std::string& entry) {
    return parsed(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
                                {"op": "_copy", "name": "b", "inputs": [)" +
                  entry + R"(]}],
                      "arg_nodes": [0], "heads": [[1, 0]])" +
                  extra + "}")
        .generation;
  };
  EXPECT_EQ(generation("", "[0, 0]"), Generation::kStaticGraph);
  EXPECT_EQ(generation("", "[0, 0, 0]"), Generation::kNnvmAttr);
  EXPECT_EQ(generation(R"(, "attrs": {"mxnet_version": ["int", 905]})", "[0, 0]"),
            Generation::kNnvmAttr);
  EXPECT_EQ(generation(R"(, "attrs": {"mxnet_version": ["int", 10600]})", "[0, 0, 0]"),
            Generation::kNnvmAttrs);
}

TEST(SymbolJson, LaterAttrDictReplacesEarlierAndParamNeverOverrides) {
  SymbolFile file = parsed(R"({"nodes": [{"op": "null", "name": "a", "attrs": {"x": "1"},
      "param": {"y": "p", "z": "p"}, "attr": {"y": "2"}, "inputs": []}],
      "arg_nodes": [0], "heads": [[0, 0]]})");
  EXPECT_EQ(file.graph.nodes[0].attrs, (AttrMap{{"y", "2"}, {"z", "p"}}));
}

// --- save_000800.json, the real 0.8 file MXNet's test_load_000800 loads ------------------

class Save000800 : public testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::path path =
        std::filesystem::path(MBCC_SHARED_DIR) / "testdata/mxnet-legacy/save_000800.json";
    if (!std::filesystem::exists(path)) {
      GTEST_SKIP() << "needs " << path << " (the shared test data folder is absent)";
    }
    Result<SymbolFile> file = read_symbol_json(path);
    ASSERT_TRUE(file.ok()) << file.error().message();
    file_ = std::move(file).value();
    upgraded_ = upgrade_symbol(file_, kLoader191);  // test_load_000800 ran on 1.x
  }

  SymbolFile file_;
  UpgradedSymbol upgraded_;
};

TEST_F(Save000800, ParsesAsStaticGraph) {
  EXPECT_EQ(file_.generation, Generation::kStaticGraph);
  EXPECT_EQ(file_.producer_version, 800);
  EXPECT_FALSE(file_.version_recorded);
  EXPECT_EQ(file_.graph.nodes.size(), 17u);
  EXPECT_EQ(file_.graph.arg_nodes, (std::vector<uint32_t>{0, 1, 2, 5, 6, 9, 10, 12, 13, 15}));
  EXPECT_TRUE(file_.warnings.empty()) << file_.warnings.front();
  EXPECT_EQ(op_histogram(file_.graph),
            (std::map<std::string, std::size_t>{
                {"Activation", 2}, {"BatchNorm", 1}, {"FullyConnected", 3}, {"SoftmaxOutput", 1}}));
}

TEST_F(Save000800, RunsEveryPass) {
  EXPECT_EQ(upgraded_.passes,
            (std::vector<UpgradePass>{UpgradePass::kFixHiddenKeys, UpgradePass::kAddAuxInputs,
                                      UpgradePass::kInitHints, UpgradePass::kArgmaxAxis}));
  EXPECT_EQ(upgraded_.graph.nodes.size(), 19u);
}

TEST_F(Save000800, ListsAsMxnet) {
  const Graph& graph = upgraded_.graph;
  EXPECT_EQ(list_arguments(graph),
            (Strings{"data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "fc3_weight",
                     "fc3_bias", "batchnorm0_gamma", "batchnorm0_beta", "softmax_label"}));
  EXPECT_EQ(list_auxiliary_states(graph),
            (Strings{"batchnorm0_moving_mean", "batchnorm0_moving_var"}));
  EXPECT_EQ(list_outputs(graph), (Strings{"softmax_output"}));
  // The added variables sit just before the node that reads them, as MXNet orders them.
  EXPECT_EQ(graph.nodes[14].name, "batchnorm0_moving_mean");
  EXPECT_EQ(graph.nodes[16].name, "batchnorm0");
}

TEST_F(Save000800, MovesHiddenKeys) {
  const Graph& graph = upgraded_.graph;
  EXPECT_EQ(attr(graph, "data", "__ctx_group__"), "stage1");
  EXPECT_EQ(attr(graph, "data", "__lr_mult__"), "0.2");
  EXPECT_EQ(attr(graph, "data", "lr_mult"), "<absent>");
  // fc1's weight_lr_mult moves onto fc1_weight; on the variables themselves it stays as is.
  EXPECT_EQ(attr(graph, "fc1_weight", "__lr_mult__"), "1.2");
  EXPECT_EQ(attr(graph, "fc1_weight", "weight_lr_mult"), "1.2");
  EXPECT_EQ(attr(graph, "fc1_bias", "__lr_mult__"), "<absent>");
  EXPECT_EQ(attr(graph, "fc1", "weight_lr_mult"), "<absent>");
  EXPECT_EQ(attr(graph, "fc1", "__wd_mult__"), "0.3");
  EXPECT_EQ(attr(graph, "fc2_bias", "__lr_mult__"), "0.01");
  EXPECT_EQ(attr(graph, "softmax", "__ctx_group__"), "stage2");
}

TEST_F(Save000800, AuxVariablesCopyTheNodeAndGetInitHints) {
  const Graph& graph = upgraded_.graph;
  EXPECT_EQ(node_named(graph, "batchnorm0_moving_mean").attrs,
            (AttrMap{{"__ctx_group__", "stage2"},
                     {"__init__", R"(["zero", {}])"},
                     {"eps", "0.001"},
                     {"fix_gamma", "True"},
                     {"momentum", "0.9"},
                     {"use_global_stats", "False"}}));
  EXPECT_EQ(attr(graph, "batchnorm0_moving_var", "__init__"), R"(["one", {}])");
}

// What test_load_000800 checks: every hidden attribute of the network rebuilt with current
// APIs is on the loaded graph with the same value.
TEST_F(Save000800, HasEveryHiddenAttributeOfTheRebuiltNetwork) {
  const std::map<std::string, AttrMap> rebuilt = {
      {"data", {{"__ctx_group__", "stage1"}, {"__lr_mult__", "0.2"}}},
      {"fc1_weight", {{"__ctx_group__", "stage1"}, {"__lr_mult__", "1.2"}}},
      {"fc1_bias", {{"__ctx_group__", "stage1"}, {"__wd_mult__", "0.3"}}},
      {"fc1", {{"__ctx_group__", "stage1"}, {"__wd_mult__", "0.3"}}},
      {"relu1", {{"__ctx_group__", "stage1"}}},
      {"fc2_weight", {{"__ctx_group__", "stage2"}, {"__lr_mult__", "0.01"}}},
      {"fc2_bias", {{"__ctx_group__", "stage2"}, {"__lr_mult__", "0.01"}}},
      {"fc2", {{"__ctx_group__", "stage2"}, {"__lr_mult__", "0.01"}}},
      {"relu2", {{"__ctx_group__", "stage2"}}},
      {"fc3_weight", {{"__ctx_group__", "stage2"}}},
      {"fc3_bias", {{"__ctx_group__", "stage2"}}},
      {"fc3", {{"__ctx_group__", "stage2"}}},
      {"batchnorm0_gamma", {{"__ctx_group__", "stage2"}}},
      {"batchnorm0_beta", {{"__ctx_group__", "stage2"}}},
      {"batchnorm0_moving_mean", {{"__ctx_group__", "stage2"}, {"__init__", R"(["zero", {}])"}}},
      {"batchnorm0_moving_var", {{"__ctx_group__", "stage2"}, {"__init__", R"(["one", {}])"}}},
      {"batchnorm0", {{"__ctx_group__", "stage2"}}},
      {"softmax_label", {{"__ctx_group__", "stage2"}}},
      {"softmax", {{"__ctx_group__", "stage2"}}},
  };
  ASSERT_EQ(rebuilt.size(), upgraded_.graph.nodes.size());
  for (const auto& [node, attrs] : rebuilt) {
    for (const auto& [key, value] : attrs) {
      EXPECT_EQ(attr(upgraded_.graph, node, key), value) << node << "." << key;
    }
  }
}

TEST_F(Save000800, WritesAs1xAndReadsBack) {
  std::string json = write_symbol_json(upgraded_.graph);
  SymbolFile again = parsed(json);
  EXPECT_EQ(again.generation, Generation::kNnvmAttrs);
  EXPECT_EQ(again.producer_version, 10901);
  EXPECT_EQ(again.graph.nodes, upgraded_.graph.nodes);
  EXPECT_EQ(again.graph.heads, upgraded_.graph.heads);
  EXPECT_EQ(again.graph.arg_nodes, upgraded_.graph.arg_nodes);
  // BatchNorm writes three rows (output, mean, var).
  EXPECT_EQ(again.graph.node_row_ptr[17] - again.graph.node_row_ptr[16], 3u);
  EXPECT_TRUE(again.warnings.empty()) << again.warnings.front();
  // Current for a 1.9.1 loader: nothing left to upgrade.
  EXPECT_TRUE(upgrade_symbol(again, kLoader191).passes.empty());
}

// --- The upgrade passes one by one ---------------------------------------------------------

TEST(SymbolUpgrade, FixHiddenKeys) {
  SymbolFile file = parsed(R"({"nodes": [
      {"op": "null", "name": "x", "attrs": {"lr_mult": "2", "x_wd_mult": "3",
                                            "lr_mult_extra": "4", "__lr_mult__": "9"},
       "inputs": []},
      {"op": "Activation", "name": "act", "attrs": {"act_type": "relu"}, "inputs": [[0, 0]]},
      {"op": "null", "name": "fc_weight", "inputs": []},
      {"op": "null", "name": "fc_bias", "inputs": []},
      {"op": "FullyConnected", "name": "fc",
       "attrs": {"num_hidden": "4", "weight_lr_mult": "5", "bias_wd_mult": "6",
                 "data_lr_mult": "7", "ctx_group": "g", "profiler_scope": "s:"},
       "inputs": [[1, 0], [2, 0], [3, 0]]}],
      "arg_nodes": [0, 2, 3], "heads": [[4, 0]]})");
  Graph graph = file.graph;
  fix_hidden_keys(graph, kMxnetVersion191);
  EXPECT_EQ(graph.nodes[0].attrs,
            (AttrMap{{"__lr_mult__", "2"}, {"x_wd_mult", "3"}, {"lr_mult_extra", "4"}}));
  EXPECT_EQ(attr(graph, "fc_weight", "__lr_mult__"), "5");
  EXPECT_EQ(attr(graph, "fc_bias", "__wd_mult__"), "6");
  // data is fed by an op, not a variable: the key stays on fc.
  EXPECT_EQ(graph.nodes[4].attrs, (AttrMap{{"__ctx_group__", "g"},
                                           {"data_lr_mult", "7"},
                                           {"num_hidden", "4"},
                                           {"profiler_scope", "s:"}}));
  // 2.0 loaders also hide profiler_scope.
  Graph graph2 = file.graph;
  fix_hidden_keys(graph2, kMxnetVersion200);
  EXPECT_EQ(attr(graph2, "fc", "__profiler_scope__"), "s:");
}

TEST(SymbolUpgrade, AddAuxInputs) {
  SymbolFile file = parsed(R"({"nodes": [
      {"op": "null", "name": "data", "inputs": []},
      {"op": "null", "name": "bn_gamma", "inputs": []},
      {"op": "null", "name": "bn_beta", "inputs": []},
      {"op": "BatchNorm", "name": "bn", "attrs": {"eps": "0.01"},
       "inputs": [[0, 0], [1, 0], [2, 0]]},
      {"op": "LeakyReLU", "name": "act", "attrs": {"act_type": "prelu"}, "inputs": [[3, 0]]},
      {"op": "null", "name": "fc_weight", "inputs": []},
      {"op": "FullyConnected", "name": "fc", "attrs": {"no_bias": "True", "num_hidden": "2"},
       "inputs": [[4, 0], [5, 0]]}],
      "arg_nodes": [0, 1, 2, 5], "heads": [[6, 0]]})");
  Graph graph = add_aux_inputs(file.graph);
  Strings names;
  for (const Node& node : graph.nodes) names.push_back(node.name);
  EXPECT_EQ(names, (Strings{"data", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var", "bn",
                            "act_gamma", "act", "fc_weight", "fc"}));
  EXPECT_EQ(attr(graph, "bn_moving_var", "eps"), "0.01");
  EXPECT_EQ(attr(graph, "act_gamma", "act_type"), "prelu");
  EXPECT_EQ(graph.arg_nodes, (std::vector<uint32_t>{0, 1, 2, 3, 4, 6, 8}));
  EXPECT_EQ(list_auxiliary_states(graph), (Strings{"bn_moving_mean", "bn_moving_var"}));
}

TEST(SymbolUpgrade, InitHints) {
  SymbolFile file = parsed(R"({"nodes": [
      {"op": "null", "name": "d", "inputs": []},
      {"op": "null", "name": "g", "inputs": []},
      {"op": "null", "name": "b", "inputs": []},
      {"op": "null", "name": "mean", "inputs": []},
      {"op": "null", "name": "var", "attrs": {"__init__": "mine"}, "inputs": []},
      {"op": "BatchNorm", "name": "bn", "inputs": [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]},
      {"op": "null", "name": "slope", "inputs": []},
      {"op": "LeakyReLU", "name": "act", "attrs": {"act_type": "prelu"},
       "inputs": [[5, 0], [6, 0]]},
      {"op": "null", "name": "kernel", "inputs": []},
      {"op": "UpSampling", "name": "up", "attrs": {"sample_type": "bilinear", "scale": "2"},
       "inputs": [[7, 0], [8, 0]]}],
      "arg_nodes": [0, 1, 2, 3, 4, 6, 8], "heads": [[9, 0]]})");
  Graph graph = file.graph;
  add_init_hints(graph);
  EXPECT_EQ(attr(graph, "mean", "__init__"), R"(["zero", {}])");
  EXPECT_EQ(attr(graph, "var", "__init__"), "mine");
  EXPECT_EQ(attr(graph, "g", "__init__"), "<absent>");
  EXPECT_EQ(attr(graph, "slope", "__init__"), R"(["Constant", {"value": 0.25}])");
  EXPECT_EQ(attr(graph, "kernel", "__init__"), R"(["bilinear", {}])");
}

TEST(SymbolUpgrade, ArgmaxAxis) {
  SymbolFile file = corpus_file("v0.9.3-conv.json");
  Graph graph = file.graph;
  drop_argmax_axis(graph);
  EXPECT_EQ(attr(graph, "pred", "axis"), "<absent>");
  Graph other = parsed(one_op("argmin", R"({"axis": "1"})")).graph;
  drop_argmax_axis(other);
  EXPECT_EQ(attr(other, "x", "axis"), "1");
  Graph sum = parsed(one_op("sum", R"({"axis": "-1"})")).graph;
  drop_argmax_axis(sum);
  EXPECT_EQ(attr(sum, "x", "axis"), "-1");
}

TEST(SymbolUpgrade, NpShape) {
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"(10, 0)", "[10,-1]"}, {"()", "None"}, {"(5,)", "[5]"},        {"None", "None"},
      {"(5L, 2L)", "[5,2]"},  {"7", "[7]"},   {" [3, 0] ", "[3,-1]"}, {"(2, x)", "[2]"},
      {"(2; 3)", "None"},     {"abc", "None"}};
  for (const auto& [legacy, np] : shapes) {
    Graph graph = parsed(R"({"nodes": [{"op": "null", "name": "v", "attrs": {"__shape__": ")" +
                         legacy + R"("}, "inputs": []}], "arg_nodes": [0], "heads": [[0, 0]]})")
                      .graph;
    convert_shapes_to_np(graph);
    EXPECT_EQ(attr(graph, "v", "__shape__"), np) << legacy;
  }
  // 2.0 loads with np shape on; a graph saved under np shape is left alone.
  SymbolFile lstm = corpus_file("v1.9-lstm.json");
  EXPECT_EQ(attr(upgrade_symbol(lstm, kLoader200).graph, "data", "__shape__"), "[5,2]");
  EXPECT_EQ(attr(upgrade_symbol(lstm, kLoader191).graph, "data", "__shape__"), "(5, 2)");
  SymbolFile np = corpus_file("v2.0-np.json");
  EXPECT_EQ(attr(upgrade_symbol(np, kLoader200).graph, "0.weight", "__shape__"), "(8, -1)");
}

TEST(SymbolUpgrade, RunsThePassesAboveTheFileVersion) {
  auto passes = [](int version, int loader) {
    SymbolFile file = parsed(R"({"nodes": [{"op": "null", "name": "a", "inputs": []}],
        "arg_nodes": [0], "heads": [[0, 0]],
        "attrs": {"mxnet_version": ["int", )" +
                             std::to_string(version) + "]}}");
    return upgrade_symbol(file, Loader{loader, false}).passes;
  };
  using P = UpgradePass;
  EXPECT_EQ(passes(903, kMxnetVersion191),
            (std::vector<P>{P::kFixHiddenKeys, P::kInitHints, P::kArgmaxAxis}));
  EXPECT_EQ(passes(904, kMxnetVersion191), (std::vector<P>{P::kFixHiddenKeys, P::kArgmaxAxis}));
  EXPECT_EQ(passes(905, kMxnetVersion191), (std::vector<P>{P::kFixHiddenKeys}));
  EXPECT_EQ(passes(10901, kMxnetVersion191), (std::vector<P>{}));
  EXPECT_EQ(passes(10901, kMxnetVersion200), (std::vector<P>{P::kFixHiddenKeys}));
  SymbolFile legacy = corpus_file("v0.8-mlp.json");
  EXPECT_EQ(upgrade_symbol(legacy, kLoader200).passes,
            (std::vector<P>{P::kFixHiddenKeys, P::kAddAuxInputs, P::kInitHints, P::kArgmaxAxis,
                            P::kNpShape}));
  SymbolFile newer = corpus_file("v2.0-np.json");
  UpgradedSymbol upgraded = upgrade_symbol(newer, kLoader191);
  EXPECT_TRUE(upgraded.passes.empty());
  ASSERT_EQ(upgraded.warnings.size(), 1u);
  EXPECT_NE(upgraded.warnings[0].find("newer than the loader 1.9.1"), std::string::npos);
}

TEST(SymbolUpgrade, ConvFileKeepsSavedInputsAndGetsHints) {
  UpgradedSymbol upgraded = upgrade_symbol(corpus_file("v0.9.3-conv.json"), kLoader191);
  EXPECT_EQ(upgraded.graph.nodes.size(), 13u);  // no_bias=True: no bias to add
  EXPECT_EQ(attr(upgraded.graph, "prelu_gamma", "__init__"), R"(["Constant", {"value": 0.25}])");
  EXPECT_EQ(list_outputs(upgraded.graph), (Strings{"softmax_output", "pred_output"}));
}

TEST(SymbolUpgrade, DropsNodesTheHeadsDoNotReach) {
  SymbolFile file = parsed(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "null", "name": "orphan", "inputs": []},
      {"op": "_copy", "name": "c", "inputs": [[0, 0]]}],
      "arg_nodes": [0, 1], "heads": [[2, 0]]})");
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_EQ(file.warnings[0],
            "1 of 3 nodes are not reachable from the heads: MXNet drops them when loading");
  Graph graph = in_mxnet_order(file.graph);
  ASSERT_EQ(graph.nodes.size(), 2u);
  EXPECT_EQ(graph.nodes[1].inputs[0], (NodeEntry{0, 0, 0}));
}

// --- Listing as MXNet lists ----------------------------------------------------------------

TEST(SymbolListing, OutputNamesFollowEachOp) {
  auto outputs = [](const std::string& op, const std::string& attrs, int heads) {
    return list_outputs(parsed(one_op(op, attrs, heads)).graph);
  };
  EXPECT_EQ(outputs("BatchNorm", R"({"output_mean_var": "True"})", 3),
            (Strings{"x_output", "x_mean", "x_var"}));
  EXPECT_EQ(outputs("SliceChannel", R"({"num_outputs": "1"})", 1), (Strings{"x_output0"}));
  EXPECT_EQ(outputs("split", R"({"num_outputs": "2"})", 2), (Strings{"x_output0", "x_output1"}));
  EXPECT_EQ(outputs("_split_v2", R"j({"indices": "(0, 2)"})j", 2),
            (Strings{"x_output0", "x_output1"}));
  EXPECT_EQ(outputs("_npi_split", R"j({"indices": "()", "sections": "1"})j", 1),
            (Strings{"x_output"}));
  EXPECT_EQ(outputs("LeakyReLU", R"({"act_type": "rrelu"})", 2), (Strings{"x_output", "x_mask"}));
  EXPECT_EQ(outputs("make_loss", "{}", 1), (Strings{"x_loss"}));
  EXPECT_EQ(outputs("_npi_matmul", "{}", 1), (Strings{"x_out"}));
  EXPECT_EQ(outputs("_plus", "{}", 1), (Strings{"x_output"}));
}

TEST(SymbolListing, InternalsShowVisibleOutputsOnly) {
  Graph graph = parsed(one_op("BatchNorm", "{}")).graph;
  std::vector<InternalOutput> internals = internal_outputs(graph);
  ASSERT_EQ(internals.size(), 3u);
  EXPECT_EQ(internals[2].name, "x_output");
  EXPECT_EQ(internals[2].op, "BatchNorm");
  EXPECT_EQ(internals[2].node_id, 2u);
  EXPECT_EQ(internal_names(parsed(one_op("RNN", R"({"mode": "gru", "state_outputs": "1"})")).graph),
            (Strings{"a", "b", "x_output", "x_state_output"}));
}

TEST(SymbolListing, MutableInputsMakeAuxStates) {
  Graph graph = parsed(one_op("IdentityAttachKLSparseReg", "{}")).graph;
  EXPECT_EQ(list_arguments(graph), (Strings{"a"}));
  EXPECT_EQ(list_auxiliary_states(graph), (Strings{"b"}));
}

TEST(SymbolListing, UnnamedNodeOutputs) {
  Graph graph = parsed(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "Flatten", "name": "", "inputs": [[0, 0]]}], "arg_nodes": [0],
      "heads": [[1, 0], [0, 0]]})")
                    .graph;
  EXPECT_EQ(list_outputs(graph), (Strings{"output", "a"}));
}

TEST(SymbolListing, UnknownOpFallsBackAndWarns) {
  SymbolFile file = parsed(one_op("MyPluginOp", "{}"));
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_EQ(file.warnings[0], "op MyPluginOp unknown to mbcc: aux/output names may be wrong");
  EXPECT_EQ(list_arguments(file.graph), (Strings{"a", "b"}));
  EXPECT_EQ(list_outputs(file.graph), (Strings{"x_output"}));
}

TEST(SymbolListing, UnreadableOpAttributeFallsBackAndWarns) {
  SymbolFile file = parsed(one_op("Concat", R"({"num_args": "two"})"));
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_EQ(file.warnings[0],
            "node 'x': op Concat: attribute num_args = 'two', expected an integer in 1..4096; "
            "assuming no aux inputs and one output");
}

TEST(SymbolListing, TableMismatchesAreWarningsNotErrors) {
  SymbolFile rows = parsed(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "Pooling", "name": "p", "inputs": [[0, 0, 0]]},
      {"op": "Flatten", "name": "f", "inputs": [[1, 1, 0]]}],
      "arg_nodes": [0], "node_row_ptr": [0, 1, 3, 5], "heads": [[2, 0, 0]]})");
  // Pooling's second row is the oneDNN workspace; Flatten has one output.
  ASSERT_EQ(rows.warnings.size(), 1u);
  EXPECT_EQ(rows.warnings[0],
            "node_row_ptr gives 'f' (Flatten) 2 output(s); mbcc's op table says 1");
  SymbolFile index = parsed(one_op("FullyConnected", R"({"no_bias": "1"})", 2));
  ASSERT_EQ(index.warnings.size(), 1u);
  EXPECT_EQ(index.warnings[0],
            "head 1 reads output 1 of 'x' (FullyConnected), which has 1 output(s) per mbcc's op "
            "table");
}

TEST(SymbolListing, WarningsAreCappedAndCounted) {
  std::string nodes = R"({"op": "null", "name": "a", "inputs": []})";
  for (int i = 1; i <= 150; ++i) {
    nodes += R"(, {"op": "Concat", "name": "c)" + std::to_string(i) + R"(", "inputs": [[)" +
             std::to_string(i - 1) + ", 0]]}";
  }
  SymbolFile file =
      parsed(R"({"nodes": [)" + nodes + R"(], "arg_nodes": [0], "heads": [[150, 0]]})");
  ASSERT_EQ(file.warnings.size(), 101u);
  EXPECT_EQ(file.warnings.back(), "and 50 more warnings");
}

TEST(OpTable, AliasesResolveToCanonicalNames) {
  EXPECT_EQ(canonical_op_name("_npx_fully_connected"), "FullyConnected");
  EXPECT_EQ(canonical_op_name("Softmax"), "SoftmaxOutput");
  EXPECT_EQ(canonical_op_name("_Plus"), "elemwise_add");
  EXPECT_EQ(canonical_op_name("NoSuchOp"), std::nullopt);
  OpLookup conv = lookup_op("Convolution", {{"num_group", "4"}, {"no_bias", "true"}});
  EXPECT_EQ(conv.signature.input_names, (Strings{"data", "weight"}));
  OpLookup deconv = lookup_op("Deconvolution", {});
  EXPECT_EQ(deconv.signature.input_names, (Strings{"data", "weight"}));  // no_bias defaults true
  EXPECT_FALSE(lookup_op("Activation", {}).signature.input_names.has_value());
  EXPECT_GT(known_ops().size(), 100u);
}

// --- Errors: each names the file, the JSON path, the value found and what was allowed ----

TEST(SymbolErrors, MalformedJson) {
  Error e = rejected(R"({"nodes": [)");
  EXPECT_EQ(e.source, "bad.json");
  EXPECT_EQ(e.location, "byte 11");
  EXPECT_EQ(e.field, "JSON");
  EXPECT_NE(e.message().find("bad.json: byte 11: JSON"), std::string::npos) << e.message();
}

// Found by symbol_fuzz: nlohmann reports number overflow as out_of_range, not parse_error.
TEST(SymbolErrors, NumberOverflow) {
  Error e = rejected("5555555555555e55555555559");
  EXPECT_EQ(e.field, "JSON");
  EXPECT_NE(e.detail.find("number overflow"), std::string::npos) << e.detail;
}

TEST(SymbolErrors, WrongRoot) {
  Error e = rejected("[]");
  EXPECT_EQ(e.location, "$");
  EXPECT_EQ(e.found, "array []");
}

TEST(SymbolErrors, MissingAndUnknownKeys) {
  EXPECT_EQ(rejected(R"({"nodes": [], "arg_nodes": []})").location, "$.heads");
  Error unknown = rejected(R"({"nodes": [], "arg_nodes": [], "heads": [], "extra": 1})");
  EXPECT_EQ(unknown.location, "$.extra");
  EXPECT_EQ(unknown.allowed, "nodes, arg_nodes, node_row_ptr, heads, attrs");
  EXPECT_EQ(rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": [], "shape": []}],
                        "arg_nodes": [], "heads": []})")
                .location,
            "$.nodes[0].shape");
  EXPECT_EQ(rejected(R"({"nodes": [{"op": "null", "inputs": []}], "arg_nodes": [], "heads": []})")
                .location,
            "$.nodes[0].name");
}

TEST(SymbolErrors, MistypedKeys) {
  Error nodes = rejected(R"({"nodes": {}, "arg_nodes": [], "heads": []})");
  EXPECT_EQ(nodes.location, "$.nodes");
  EXPECT_EQ(nodes.found, "object {}");
  Error op = rejected(R"({"nodes": [{"op": 3, "name": "a", "inputs": []}], "arg_nodes": [],
                          "heads": []})");
  EXPECT_EQ(op.location, "$.nodes[0].op");
  EXPECT_EQ(op.found, "number 3");
  Error entry = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "_copy", "name": "b", "inputs": [[0, 0, 0, 0]]}], "arg_nodes": [0],
      "heads": []})");
  EXPECT_EQ(entry.location, "$.nodes[1].inputs[0]");
  Error fraction = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "_copy", "name": "b", "inputs": [[0.5, 0]]}], "arg_nodes": [0], "heads": []})");
  EXPECT_EQ(fraction.location, "$.nodes[1].inputs[0][0]");
  EXPECT_EQ(fraction.found, "number 0.5");
}

TEST(SymbolErrors, NonStringAttributeValue) {
  Error e = rejected(R"({"nodes": [{"op": "null", "name": "a", "attrs": {"num hidden": 128},
                        "inputs": []}], "arg_nodes": [0], "heads": []})");
  EXPECT_EQ(e.location, R"($.nodes[0].attrs["num hidden"])");
  EXPECT_EQ(e.found, "number 128");
  EXPECT_EQ(e.allowed, "a string");
}

std::string two_nodes(const std::string& first_inputs, const std::string& second_inputs) {
  return R"({"nodes": [{"op": "_copy", "name": "a", "inputs": [)" + first_inputs + R"(]},
                       {"op": "_copy", "name": "b", "inputs": [)" +
         second_inputs + R"(]}],
             "arg_nodes": [], "heads": [[1, 0, 0]]})";
}

TEST(SymbolErrors, BadInputIds) {
  Error dangling = rejected(two_nodes("", "[7, 0, 0]"));
  EXPECT_EQ(dangling.location, "$.nodes[1].inputs[0][0]");
  EXPECT_EQ(dangling.found, "7");
  EXPECT_EQ(dangling.allowed, "0..0");
  EXPECT_EQ(dangling.detail, "no such node: the graph has 2");
  Error negative = rejected(two_nodes("", "[-1, 0, 0]"));
  EXPECT_EQ(negative.location, "$.nodes[1].inputs[0][0]");
  EXPECT_EQ(negative.found, "-1");
  Error forward = rejected(two_nodes("[1, 0, 0]", ""));
  EXPECT_EQ(forward.location, "$.nodes[0].inputs[0][0]");
  EXPECT_NE(forward.detail.find("forward reference"), std::string::npos) << forward.detail;
  Error cycle = rejected(two_nodes("[1, 0, 0]", "[0, 0, 0]"));
  EXPECT_EQ(cycle.location, "$.nodes[0].inputs[0][0]");
  EXPECT_EQ(cycle.detail, "cycle: node 0 ('a') and node 1 ('b') depend on each other");
  Error self = rejected(two_nodes("", "[1, 0, 0]"));
  EXPECT_NE(self.detail.find("cycle"), std::string::npos);
  Error deps = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": [],
      "control_deps": [3]}], "arg_nodes": [0], "heads": [[0, 0]]})");
  EXPECT_EQ(deps.location, "$.nodes[0].control_deps[0]");
}

TEST(SymbolErrors, VariableHasOneOutput) {
  Error e = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "_copy", "name": "b", "inputs": [[0, 1, 0]]}], "arg_nodes": [0],
      "heads": [[1, 0, 0]]})");
  EXPECT_EQ(e.location, "$.nodes[1].inputs[0][1]");
  EXPECT_EQ(e.found, "1");
  EXPECT_EQ(e.allowed, "0");
}

TEST(SymbolErrors, VariableHasNoInputs) {
  Error e = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "null", "name": "b", "inputs": [[0, 0, 0]]}], "arg_nodes": [0, 1],
      "heads": [[1, 0, 0]]})");
  EXPECT_EQ(e.location, "$.nodes[1].inputs");
  EXPECT_EQ(e.found, "[[0,0,0]]");
  EXPECT_EQ(e.allowed, "[]");
}

TEST(SymbolErrors, HeadsAndArgNodes) {
  Error head = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []}],
                           "arg_nodes": [0], "heads": [[0, 0], [1, 0]]})");
  EXPECT_EQ(head.location, "$.heads[1][0]");
  EXPECT_EQ(head.found, "1");
  EXPECT_EQ(head.allowed, "0..0");
  Error arg = rejected(R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
      {"op": "_copy", "name": "b", "inputs": [[0, 0]]}], "arg_nodes": [0, 1],
      "heads": [[1, 0]]})");
  EXPECT_EQ(arg.location, "$.arg_nodes[1]");
  EXPECT_EQ(arg.found, "1 (op _copy)");
}

TEST(SymbolErrors, InconsistentNodeRowPtr) {
  auto with_rows = [](const std::string& rows) {
    return R"({"nodes": [{"op": "null", "name": "a", "inputs": []},
        {"op": "BatchNorm", "name": "bn", "inputs": [[0, 0, 0]]}], "arg_nodes": [0],
        "heads": [[1, 0, 0]], "node_row_ptr": )" +
           rows + "}";
  };
  EXPECT_TRUE(parse_symbol_json(with_rows("[0, 1, 4]"), "ok.json").ok());
  Error length = rejected(with_rows("[0, 1]"));
  EXPECT_EQ(length.location, "$.node_row_ptr");
  EXPECT_EQ(length.found, "2");
  EXPECT_EQ(length.allowed, "3");
  EXPECT_EQ(rejected(with_rows("[1, 2, 5]")).location, "$.node_row_ptr[0]");
  EXPECT_EQ(rejected(with_rows("[0, 2, 5]")).location, "$.node_row_ptr[1]");
  EXPECT_EQ(rejected(with_rows("[0, 1, 1]")).location, "$.node_row_ptr[2]");
}

TEST(SymbolErrors, GraphAttributes) {
  auto with_attrs = [](const std::string& attrs) {
    return R"({"nodes": [], "arg_nodes": [], "heads": [], "attrs": )" + attrs + "}";
  };
  EXPECT_EQ(rejected(with_attrs(R"({"mxnet_version": ["str", "1.9.1"]})")).location,
            "$.attrs.mxnet_version[0]");
  EXPECT_EQ(rejected(with_attrs(R"({"mxnet_version": ["int", "10901"]})")).location,
            "$.attrs.mxnet_version[1]");
  EXPECT_EQ(rejected(with_attrs(R"({"mxnet_version": ["int", -5]})")).location,
            "$.attrs.mxnet_version[1]");
  EXPECT_EQ(rejected(with_attrs(R"({"note": ["float", 1.5]})")).location, "$.attrs.note[0]");
  EXPECT_EQ(rejected(with_attrs(R"({"note": "x"})")).location, "$.attrs.note");
  EXPECT_TRUE(parse_symbol_json(with_attrs(R"({"names": ["list_str", ["a"]]})"), "ok").ok());
}

TEST(SymbolErrors, DeepNesting) {
  std::string deep = std::string(200, '[') + std::string(200, ']');
  Error e = rejected(deep);
  EXPECT_EQ(e.location, "byte 128");
  EXPECT_EQ(e.field, "JSON nesting");
  // Brackets inside strings do not count.
  std::string quoted = R"({"nodes": [{"op": "null", "name": ")" + std::string(300, '[') +
                       R"(", "inputs": []}], "arg_nodes": [0], "heads": [[0, 0]]})";
  EXPECT_TRUE(parse_symbol_json(quoted, "ok.json").ok());
}

TEST(SymbolErrors, SubgraphDepthAndNodeCount) {
  SymbolLimits shallow;
  shallow.max_subgraph_depth = 0;
  Result<SymbolFile> deep = read_symbol_json(kCorpus / "v1.3-foreach.json", shallow);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().location, "$.nodes[2].subgraphs");
  EXPECT_EQ(deep.error().found, "1");
  SymbolLimits few;
  few.max_nodes = 4;
  Result<SymbolFile> many = read_symbol_json(kCorpus / "v1.3-foreach.json", few);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().location, "$.nodes[2].subgraphs[0].nodes");
  EXPECT_EQ(many.error().found, "7");
}

TEST(SymbolErrors, MissingFile) {
  Result<SymbolFile> file = read_symbol_json(kCorpus / "no-such-file.json");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("no-such-file.json"), std::string::npos);
}

}  // namespace
}  // namespace mbcc
