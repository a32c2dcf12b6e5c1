#include "formats/symbol_upgrade.hpp"

#include <algorithm>
#include <limits>

namespace mbcc {
namespace {

constexpr int kVersion090 = 900;
constexpr int kVersion094 = 904;
constexpr int kVersion095 = 905;

// kHiddenKeys of the loader's c_api_symbolic.cc.
std::vector<std::string_view> hidden_keys(int loader_version) {
  std::vector<std::string_view> keys = {"ctx_group", "lr_mult", "wd_mult", "force_mirroring",
                                        "mirror_stage"};
  if (loader_version >= kMxnetVersion200) keys.emplace_back("profiler_scope");
  return keys;
}

// FixParsing holds back a key whose last occurrence of a hidden key is at its start or its
// end ("lr_mult", "weight_lr_mult", "lr_mult_x"; not "__lr_mult__").
bool held_back(const std::string& key, const std::vector<std::string_view>& hidden) {
  return std::any_of(hidden.begin(), hidden.end(), [&key](std::string_view h) {
    std::size_t pos = key.rfind(h);
    return pos == 0 || (pos != std::string::npos && pos == key.size() - h.size());
  });
}

// Puts a held-back key where FixParsing puts it; false when it goes back unchanged. Follows
// MXNet to the letter: only the first hidden key that matches decides, and the character
// before `<k>` in `<input>_<k>` is not checked.
bool place_hidden_key(Graph& graph, uint32_t id, const OpSignature& signature,
                      const std::string& key, const std::string& value,
                      const std::vector<std::string_view>& hidden) {
  Node& node = graph.nodes[id];
  for (std::string_view h : hidden) {
    std::size_t pos = key.rfind(h);
    std::string hidden_name = "__" + std::string(h) + "__";
    if (pos == 0 && key.size() == h.size()) {
      node.attrs[hidden_name] = value;
      return true;
    }
    if (pos == std::string::npos || pos <= 1 || pos != key.size() - h.size()) continue;
    if (node.is_variable() || !signature.input_names) return false;
    const std::vector<std::string>& names = *signature.input_names;
    auto slot = std::find(names.begin(), names.end(), key.substr(0, pos - 1));
    auto index = static_cast<std::size_t>(slot - names.begin());
    // MXNet reads past the node's inputs when it has fewer than the op declares.
    if (slot == names.end() || index >= node.inputs.size()) return false;
    Node& source = graph.nodes[node.inputs[index].node_id];
    if (!source.is_variable()) return false;
    source.attrs[hidden_name] = value;
    return true;
  }
  return false;
}

}  // namespace

std::string_view upgrade_pass_name(UpgradePass pass) {
  switch (pass) {
    case UpgradePass::kFixHiddenKeys:
      return "FixParsing (hidden keys)";
    case UpgradePass::kAddAuxInputs:
      return "000800->000900 (auxiliary inputs)";
    case UpgradePass::kInitHints:
      return "000903->000904 (__init__ hints)";
    case UpgradePass::kArgmaxAxis:
      return "000904->000905 (argmax/argmin axis)";
  }
  return "unknown";
}

void fix_hidden_keys(Graph& graph, int loader_version) {
  std::vector<std::string_view> hidden = hidden_keys(loader_version);
  for (uint32_t id : post_order(graph)) {
    AttrMap& attrs = graph.nodes[id].attrs;
    AttrMap held;
    for (auto it = attrs.begin(); it != attrs.end();) {
      if (held_back(it->first, hidden)) {
        held.insert(attrs.extract(it++));
      } else {
        ++it;
      }
    }
    // MXNet parses the op's attributes while the hidden keys are out.
    OpSignature signature = lookup_op(graph.nodes[id].op, attrs).signature;
    for (const auto& [key, value] : held) {
      if (!place_hidden_key(graph, id, signature, key, value, hidden)) {
        graph.nodes[id].attrs[key] = value;
      }
    }
  }
}

Graph add_aux_inputs(const Graph& original) {
  Graph graph = original;
  for (uint32_t id : post_order(original)) {
    if (graph.nodes[id].is_variable()) continue;
    std::optional<std::vector<std::string>> names =
        lookup_op(graph.nodes[id].op, graph.nodes[id].attrs).signature.input_names;
    if (!names) continue;
    for (std::size_t i = graph.nodes[id].inputs.size(); i < names->size(); ++i) {
      const Node& node = graph.nodes[id];
      Node variable;
      variable.op = "null";
      variable.name = node.name.empty() ? (*names)[i] : node.name + "_" + (*names)[i];
      variable.attrs = node.attrs;
      auto variable_id = static_cast<uint32_t>(graph.nodes.size());
      graph.nodes.push_back(std::move(variable));
      graph.nodes[id].inputs.push_back({variable_id, 0, 0});
    }
  }
  return in_mxnet_order(graph);
}

void add_init_hints(Graph& graph) {
  for (uint32_t id : post_order(graph)) {
    const Node& node = graph.nodes[id];
    if (node.is_variable()) continue;
    for (const InitHint& hint : lookup_op(node.op, node.attrs).signature.init_hints) {
      if (hint.input >= node.inputs.size()) continue;
      Node& source = graph.nodes[node.inputs[hint.input].node_id];
      if (source.is_variable() && !source.attrs.contains("__init__")) {
        source.attrs["__init__"] = std::string(hint.init);
      }
    }
  }
}

void drop_argmax_axis(Graph& graph) {
  for (uint32_t id : post_order(graph)) {
    Node& node = graph.nodes[id];
    std::optional<std::string_view> op = canonical_op_name(node.op);
    bool arg_reduce = op == "argmax" || op == "argmin";
    if (auto axis = node.attrs.find("axis");
        arg_reduce && axis != node.attrs.end() && axis->second == "-1") {
      node.attrs.erase(axis);
    }
  }
}

Graph in_mxnet_order(const Graph& graph) {
  std::vector<uint32_t> order = post_order(graph);
  std::vector<uint32_t> renumbered(graph.nodes.size(), std::numeric_limits<uint32_t>::max());
  for (uint32_t i = 0; i < order.size(); ++i) renumbered[order[i]] = i;
  Graph result;
  result.attrs = graph.attrs;
  for (uint32_t id : order) {
    Node node = graph.nodes[id];
    for (NodeEntry& input : node.inputs) input.node_id = renumbered[input.node_id];
    for (uint32_t& dep : node.control_deps) dep = renumbered[dep];
    for (Graph& subgraph : node.subgraphs) subgraph = in_mxnet_order(subgraph);
    if (node.is_variable()) result.arg_nodes.push_back(static_cast<uint32_t>(result.nodes.size()));
    result.nodes.push_back(std::move(node));
  }
  for (NodeEntry head : graph.heads) {
    head.node_id = renumbered[head.node_id];
    result.heads.push_back(head);
  }
  return result;
}

UpgradedSymbol upgrade_symbol(const SymbolFile& file, int loader_version) {
  UpgradedSymbol result;
  int version = file.producer_version;
  if (version > loader_version) {
    result.warnings.push_back("saved by MXNet " + mxnet_version_string(version) +
                              ", newer than the loader " + mxnet_version_string(loader_version) +
                              ": MXNet loads it without upgrading and only logs a warning");
  }
  Graph graph = in_mxnet_order(file.graph);
  if (loader_version > version) {
    fix_hidden_keys(graph, loader_version);
    result.passes.push_back(UpgradePass::kFixHiddenKeys);
  }
  if (kVersion090 > version) {
    graph = add_aux_inputs(graph);
    result.passes.push_back(UpgradePass::kAddAuxInputs);
  }
  if (kVersion094 > version) {
    add_init_hints(graph);
    result.passes.push_back(UpgradePass::kInitHints);
  }
  if (kVersion095 > version) {
    drop_argmax_axis(graph);
    result.passes.push_back(UpgradePass::kArgmaxAxis);
  }
  result.graph = std::move(graph);
  return result;
}

}  // namespace mbcc
