#include "formats/symbol_upgrade.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

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

// Reads a shape as mxnet::TShape's operator>> does into a shape that starts unknown;
// nullopt where it stays unknown ("None", or text it stops reading before assigning).
std::optional<std::vector<int64_t>> read_tshape(std::string_view text) {
  auto skip_space = [&text] {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
  };
  auto read_dim = [&]() -> std::optional<int64_t> {
    skip_space();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    int64_t dim = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), dim);
    if (ec != std::errc()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return dim;
  };
  auto next = [&text]() -> char {
    if (text.empty()) return '\0';
    char c = text.front();
    text.remove_prefix(1);
    return c;
  };
  auto closes = [](char c) { return c == ')' || c == ']'; };
  // A bare number is a 1-d shape; "None" and anything else before the bracket stay unknown.
  while (true) {
    if (text.empty()) return std::nullopt;
    char c = text.front();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      std::optional<int64_t> dim = read_dim();
      if (!dim) return std::nullopt;
      return std::vector<int64_t>{*dim};
    }
    text.remove_prefix(1);
    if (c == '(' || c == '[') break;
    if (!std::isspace(static_cast<unsigned char>(c))) return std::nullopt;
  }
  skip_space();
  std::vector<int64_t> dims;
  if (!text.empty() && closes(text.front())) return dims;
  // Dims up to the first one it cannot read are kept, as TShape keeps them.
  while (std::optional<int64_t> dim = read_dim()) {
    dims.push_back(*dim);
    skip_space();
    char c = next();
    if (c == 'L') c = next();  // Python 2 longs: (5L, 2L)
    if (c == ',') {
      skip_space();
      if (!text.empty() && closes(text.front())) break;
    } else if (!closes(c)) {
      return std::nullopt;
    }
    if (closes(c)) break;
  }
  return dims;
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
    case UpgradePass::kNpShape:
      return "np-shape __shape__ rewrite";
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

void convert_shapes_to_np(Graph& graph) {
  for (uint32_t id : post_order(graph)) {
    Node& node = graph.nodes[id];
    auto shape = node.attrs.find("__shape__");
    if (!node.is_variable() || shape == node.attrs.end()) continue;
    std::optional<std::vector<int64_t>> dims = read_tshape(shape->second);
    // Legacy shapes used 0 dims, and 0 for a dim, to mean unknown; numpy shapes use -1.
    if (!dims || dims->empty()) {
      shape->second = "None";
      continue;
    }
    std::string text = "[";
    for (std::size_t i = 0; i < dims->size(); ++i) {
      int64_t dim = (*dims)[i] == 0 ? -1 : (*dims)[i];
      text += (i == 0 ? "" : ",") + std::to_string(dim);
    }
    shape->second = text + "]";
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

UpgradedSymbol upgrade_symbol(const SymbolFile& file, const Loader& loader) {
  UpgradedSymbol result;
  int version = file.producer_version;
  if (version > loader.version) {
    result.warnings.push_back("saved by MXNet " + mxnet_version_string(version) +
                              ", newer than the loader " + mxnet_version_string(loader.version) +
                              ": MXNet loads it without upgrading and only logs a warning");
  }
  Graph graph = in_mxnet_order(file.graph);
  if (loader.version > version) {
    fix_hidden_keys(graph, loader.version);
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
  if (loader.np_shape && !file.is_np_shape) {
    convert_shapes_to_np(graph);
    result.passes.push_back(UpgradePass::kNpShape);
  }
  result.graph = std::move(graph);
  return result;
}

}  // namespace mbcc
