#include "formats/symbol_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <span>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/file.hpp"

namespace mbcc {
namespace {

// Ordered, so that "attr" and "attrs" apply in file order as dmlc's reader applies them.
using Json = nlohmann::ordered_json;

// The keys nnvm's JSONGraph and JSONNode readers accept; dmlc's reader fails on any other.
constexpr auto kGraphKeys =
    std::to_array<std::string_view>({"nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"});
constexpr auto kNodeKeys =
    std::to_array<std::string_view>({"op", "name", "inputs", "attrs", "attr", "param",
                                     "control_deps", "subgraphs", "backward_source_id"});
// The dmlc "any" types MXNet registers (DMLC_JSON_ENABLE_ANY); others fail to load.
constexpr auto kAnyTypes = std::to_array<std::string_view>(
    {"int", "str", "list_int", "list_str", "size_t", "list_shape", "list_layout", "dict_str_int"});

constexpr std::size_t kShownBytes = 60;
constexpr std::size_t kMaxWarnings = 100;

// A value for an error message: compact JSON, cut at a UTF-8 boundary.
std::string shown(const Json& value) {
  std::string text = value.dump();
  if (text.size() <= kShownBytes) return text;
  std::size_t cut = kShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::string typed(const Json& value) { return std::string(value.type_name()) + " " + shown(value); }

std::string member_path(const std::string& base, std::string_view key) {
  bool plain = !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front())) &&
               std::all_of(key.begin(), key.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
               });
  if (plain) return base + "." + std::string(key);
  return base + "[" + Json(std::string(key)).dump() + "]";
}

std::string index_path(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

bool contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The ids a node depends on: its inputs, then its control dependencies (nnvm's order).
std::vector<uint32_t> dependencies(const Node& node) {
  std::vector<uint32_t> ids;
  ids.reserve(node.inputs.size() + node.control_deps.size());
  for (const NodeEntry& input : node.inputs) ids.push_back(input.node_id);
  ids.insert(ids.end(), node.control_deps.begin(), node.control_deps.end());
  return ids;
}

std::string output_name(const Node& node, const OpSignature& signature, uint32_t index) {
  std::string output = index < signature.output_names.size()
                           ? signature.output_names[index]
                           : default_output_name(index, std::max(signature.num_outputs, index + 1));
  return node.name.empty() ? output : node.name + "_" + output;
}

// Which keys of which generation the file used.
struct Seen {
  bool legacy_keys = false;  // "param" or "backward_source_id"
  bool attr = false;
  bool attrs = false;
  bool subgraphs = false;
  bool three_element_entries = false;
  bool node_row_ptr = false;
};

class Parser {
 public:
  Parser(const std::string& source, const SymbolLimits& limits)
      : source_(source), limits_(limits) {}

  Result<Graph> graph(const Json& json, const std::string& path, int depth);
  const Seen& seen() const { return seen_; }
  // Each distinct warning once, the first kMaxWarnings of them, then how many were left out.
  void warn(std::string warning) {
    if (!distinct_warnings_.insert(warning).second) return;
    if (warnings_.size() < kMaxWarnings) {
      warnings_.push_back(std::move(warning));
    } else {
      ++warnings_left_out_;
    }
  }
  std::vector<std::string> take_warnings() {
    if (warnings_left_out_ > 0) {
      warnings_.push_back("and " + std::to_string(warnings_left_out_) + " more warnings");
    }
    return std::move(warnings_);
  }

  Error error(const std::string& location, std::string field, std::string found,
              std::string allowed, std::string detail = "") const {
    Error e;
    e.source = source_;
    e.location = location;
    e.field = std::move(field);
    e.found = std::move(found);
    e.allowed = std::move(allowed);
    e.detail = std::move(detail);
    return e;
  }

 private:
  Status known_keys(const Json& object, const std::string& path,
                    std::span<const std::string_view> allowed, std::string_view what);
  Status required_keys(const Json& object, const std::string& path,
                       std::initializer_list<std::string_view> keys, std::string_view what);
  Result<uint32_t> u32(const Json& value, const std::string& path, std::string_view field);
  Result<std::vector<uint32_t>> u32_list(const Json& value, const std::string& path,
                                         std::string_view field);
  Result<NodeEntry> entry(const Json& value, const std::string& path);
  Status string_map(const Json& value, const std::string& path, AttrMap& out);
  Result<Node> node(const Json& json, const std::string& path, int depth);
  Status reference(const Graph& graph, uint32_t node_id, uint32_t id,
                   const std::string& location) const;
  Status output_index(const Graph& graph, const NodeEntry& entry, const std::string& path,
                      std::string_view reader);
  Status node_row_ptr(const Graph& graph, const std::string& path);
  Status graph_attrs(const Json& json, const std::string& path, Graph& graph);

  const std::string& source_;
  const SymbolLimits& limits_;
  std::size_t total_nodes_ = 0;
  Seen seen_;
  std::vector<std::string> warnings_;
  std::unordered_set<std::string> distinct_warnings_;
  std::size_t warnings_left_out_ = 0;
};

Status Parser::known_keys(const Json& object, const std::string& path,
                          std::span<const std::string_view> allowed, std::string_view what) {
  for (const auto& item : object.items()) {
    if (contains(allowed, item.key())) continue;
    std::string list;
    for (std::string_view key : allowed) list += (list.empty() ? "" : ", ") + std::string(key);
    return error(member_path(path, item.key()), std::string(what) + " key", item.key(), list,
                 "MXNet's JSON reader rejects unknown keys");
  }
  return Ok{};
}

Status Parser::required_keys(const Json& object, const std::string& path,
                             std::initializer_list<std::string_view> keys, std::string_view what) {
  for (std::string_view key : keys) {
    if (!object.contains(key)) {
      return error(member_path(path, key), std::string(key), "nothing",
                   "a value: every " + std::string(what) + " has one");
    }
  }
  return Ok{};
}

Result<uint32_t> Parser::u32(const Json& value, const std::string& path, std::string_view field) {
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  if (value.is_number_unsigned() && value.get<uint64_t>() <= kMax) {
    return static_cast<uint32_t>(value.get<uint64_t>());
  }
  std::string found = value.is_number_integer() ? shown(value) : typed(value);
  return error(path, std::string(field), found, "an integer in 0.." + std::to_string(kMax));
}

Result<std::vector<uint32_t>> Parser::u32_list(const Json& value, const std::string& path,
                                               std::string_view field) {
  if (!value.is_array()) return error(path, std::string(field), typed(value), "an array");
  std::vector<uint32_t> ids;
  ids.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    Result<uint32_t> id = u32(value[i], index_path(path, i), field);
    if (!id) return id.error();
    ids.push_back(*id);
  }
  return ids;
}

Result<NodeEntry> Parser::entry(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() < 2 || value.size() > 3) {
    return error(path, "entry", typed(value),
                 "[node_id, output_index] or [node_id, output_index, version]");
  }
  NodeEntry result;
  std::array<uint32_t*, 3> fields = {&result.node_id, &result.index, &result.version};
  constexpr std::array<std::string_view, 3> kNames = {"node id", "output index", "version"};
  for (std::size_t i = 0; i < value.size(); ++i) {
    Result<uint32_t> number = u32(value[i], index_path(path, i), kNames[i]);
    if (!number) return number.error();
    *fields[i] = *number;
  }
  if (value.size() == 3) seen_.three_element_entries = true;
  return result;
}

Status Parser::string_map(const Json& value, const std::string& path, AttrMap& out) {
  if (!value.is_object()) return error(path, "attributes", typed(value), "an object");
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      return error(member_path(path, item.key()), "attribute value", typed(item.value()),
                   "a string", "MXNet keeps every attribute as a string");
    }
    out[item.key()] = item.value().get<std::string>();
  }
  return Ok{};
}

Result<Node> Parser::node(const Json& json, const std::string& path, int depth) {
  if (!json.is_object()) return error(path, "node", typed(json), "an object");
  MBCC_TRY(known_keys(json, path, kNodeKeys, "node"));
  MBCC_TRY(required_keys(json, path, {"op", "name", "inputs"}, "node"));
  Node node;
  const Json& op = json["op"];
  if (!op.is_string() || op.get<std::string>().empty()) {
    return error(member_path(path, "op"), "op", typed(op),
                 "an op name, or \"null\" for a variable");
  }
  node.op = op.get<std::string>();
  const Json& name = json["name"];
  if (!name.is_string()) return error(member_path(path, "name"), "name", typed(name), "a string");
  node.name = name.get<std::string>();

  // "attr" and "attrs" fill one dict, each replacing what came before it; "param" (0.8) adds
  // the keys neither has.
  AttrMap params;
  for (const auto& item : json.items()) {
    const std::string& key = item.key();
    std::string item_path = member_path(path, key);
    if (key == "attr" || key == "attrs") {
      (key == "attr" ? seen_.attr : seen_.attrs) = true;
      node.attrs.clear();
      MBCC_TRY(string_map(item.value(), item_path, node.attrs));
    } else if (key == "param") {
      seen_.legacy_keys = true;
      MBCC_TRY(string_map(item.value(), item_path, params));
    } else if (key == "backward_source_id") {
      seen_.legacy_keys = true;
      if (!item.value().is_number_integer()) {
        return error(item_path, "backward_source_id", typed(item.value()), "an integer");
      }
    }
  }
  node.attrs.insert(params.begin(), params.end());

  const Json& inputs = json["inputs"];
  std::string inputs_path = member_path(path, "inputs");
  if (!inputs.is_array()) return error(inputs_path, "inputs", typed(inputs), "an array of entries");
  if (node.is_variable() && !inputs.empty()) {
    return error(inputs_path, "inputs", shown(inputs), "[]", "a variable has no inputs");
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Result<NodeEntry> input = entry(inputs[i], index_path(inputs_path, i));
    if (!input) return input.error();
    node.inputs.push_back(*input);
  }
  if (json.contains("control_deps")) {
    Result<std::vector<uint32_t>> deps =
        u32_list(json["control_deps"], member_path(path, "control_deps"), "control dependency");
    if (!deps) return deps.error();
    node.control_deps = std::move(*deps);
  }
  if (json.contains("subgraphs")) {
    const Json& subgraphs = json["subgraphs"];
    std::string subgraphs_path = member_path(path, "subgraphs");
    if (!subgraphs.is_array()) {
      return error(subgraphs_path, "subgraphs", typed(subgraphs), "an array of graphs");
    }
    seen_.subgraphs = seen_.subgraphs || !subgraphs.empty();
    if (!subgraphs.empty() && depth + 1 > limits_.max_subgraph_depth) {
      return error(subgraphs_path, "subgraph depth", std::to_string(depth + 1),
                   "at most " + std::to_string(limits_.max_subgraph_depth));
    }
    for (std::size_t i = 0; i < subgraphs.size(); ++i) {
      Result<Graph> subgraph = graph(subgraphs[i], index_path(subgraphs_path, i), depth + 1);
      if (!subgraph) return subgraph.error();
      node.subgraphs.push_back(std::move(*subgraph));
    }
  }
  return node;
}

// Is `target` among the dependencies of `from`, directly or not?
bool depends_on(const Graph& graph, uint32_t from, uint32_t target) {
  std::vector<bool> visited(graph.nodes.size(), false);
  std::vector<uint32_t> stack{from};
  while (!stack.empty()) {
    uint32_t id = stack.back();
    stack.pop_back();
    if (id == target) return true;
    if (id >= graph.nodes.size() || visited[id]) continue;
    visited[id] = true;
    for (uint32_t dep : dependencies(graph.nodes[id])) stack.push_back(dep);
  }
  return false;
}

Status Parser::reference(const Graph& graph, uint32_t node_id, uint32_t id,
                         const std::string& location) const {
  if (id < node_id) return Ok{};
  std::string allowed =
      node_id == 0 ? "none (node 0 can only be a source)" : "0.." + std::to_string(node_id - 1);
  const std::string& name = graph.nodes[node_id].name;
  if (id >= graph.nodes.size()) {
    return error(location, "node id", std::to_string(id), allowed,
                 "no such node: the graph has " + std::to_string(graph.nodes.size()));
  }
  if (id == node_id || depends_on(graph, id, node_id)) {
    return error(location, "node id", std::to_string(id), allowed,
                 "cycle: node " + std::to_string(node_id) + " ('" + name + "') and node " +
                     std::to_string(id) + " ('" + graph.nodes[id].name + "') depend on each other");
  }
  return error(location, "node id", std::to_string(id), allowed,
               "forward reference: a node's inputs precede it (MXNet writes nodes in "
               "topological order)");
}

// An entry must name an output its node has: the only output of a variable, or (a warning,
// since it rests on mbcc's op table) one of an op's outputs.
Status Parser::output_index(const Graph& graph, const NodeEntry& entry, const std::string& path,
                            std::string_view reader) {
  const Node& source = graph.nodes[entry.node_id];
  if (source.is_variable()) {
    if (entry.index == 0) return Ok{};
    return error(index_path(path, 1), "output index", std::to_string(entry.index), "0",
                 "variable '" + source.name + "' has one output");
  }
  OpLookup lookup = lookup_op(source.op, source.attrs);
  if (lookup.exact() && entry.index >= lookup.signature.max_num_outputs) {
    warn(std::string(reader) + " reads output " + std::to_string(entry.index) + " of '" +
         source.name + "' (" + source.op + "), which has " +
         std::to_string(lookup.signature.max_num_outputs) + " output(s) per mbcc's op table");
  }
  return Ok{};
}

Status Parser::node_row_ptr(const Graph& graph, const std::string& path) {
  const std::vector<uint32_t>& rows = graph.node_row_ptr;
  if (rows.size() != graph.nodes.size() + 1) {
    return error(path, "length", std::to_string(rows.size()),
                 std::to_string(graph.nodes.size() + 1), "one entry per node, plus one");
  }
  if (rows[0] != 0) return error(index_path(path, 0), "first entry", std::to_string(rows[0]), "0");
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    std::string location = index_path(path, i + 1);
    if (rows[i + 1] <= rows[i]) {
      return error(location, "row offset", std::to_string(rows[i + 1]),
                   "more than " + std::to_string(rows[i]),
                   "node " + std::to_string(i) + " ('" + node.name + "') has at least one output");
    }
    uint32_t outputs = rows[i + 1] - rows[i];
    if (node.is_variable()) {
      if (outputs == 1) continue;
      return error(location, "row offset", std::to_string(rows[i + 1]), std::to_string(rows[i] + 1),
                   "variable '" + node.name + "' has one output");
    }
    OpLookup lookup = lookup_op(node.op, node.attrs);
    if (lookup.exact() &&
        (outputs < lookup.signature.num_outputs || outputs > lookup.signature.max_num_outputs)) {
      warn("node_row_ptr gives '" + node.name + "' (" + node.op + ") " + std::to_string(outputs) +
           " output(s); mbcc's op table says " + std::to_string(lookup.signature.num_outputs));
    }
  }
  return Ok{};
}

Status Parser::graph_attrs(const Json& json, const std::string& path, Graph& graph) {
  if (!json.is_object()) return error(path, "attrs", typed(json), "an object");
  for (const auto& item : json.items()) {
    const Json& value = item.value();
    std::string item_path = member_path(path, item.key());
    if (!value.is_array() || value.size() != 2 || !value[0].is_string()) {
      return error(item_path, "graph attribute", typed(value), "[\"<type>\", <value>]");
    }
    std::string type = value[0].get<std::string>();
    if (!contains(kAnyTypes, type)) {
      return error(index_path(item_path, 0), "type", shown(value[0]),
                   "a type MXNet registers: int, str, list_int, list_str, size_t, list_shape, "
                   "list_layout, dict_str_int");
    }
    if ((item.key() == "mxnet_version" || item.key() == "is_np_shape") && type != "int") {
      return error(index_path(item_path, 0), "type", shown(value[0]), "\"int\"");
    }
    const Json& data = value[1];
    auto all = [&data](bool (Json::*is)() const noexcept) {
      return data.is_array() &&
             std::all_of(data.begin(), data.end(), [is](const Json& v) { return (v.*is)(); });
    };
    bool valid = true;
    std::string expected;
    if (type == "int") {
      valid = data.is_number_integer() &&
              (data.is_number_unsigned()
                   ? data.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())
                   : data.get<int64_t>() >= std::numeric_limits<int>::min());
      expected = "a 32-bit integer";
    } else if (type == "size_t") {
      valid = data.is_number_unsigned();
      expected = "a non-negative integer";
    } else if (type == "str") {
      valid = data.is_string();
      expected = "a string";
    } else if (type == "list_int") {
      valid = all(&Json::is_number_integer);
      expected = "an array of integers";
    } else if (type == "list_str") {
      valid = all(&Json::is_string);
      expected = "an array of strings";
    }
    if (!valid) return error(index_path(item_path, 1), "value", typed(data), expected);
    graph.attrs[item.key()] = GraphAttr{type, data.dump()};
  }
  return Ok{};
}

Result<Graph> Parser::graph(const Json& json, const std::string& path, int depth) {
  if (!json.is_object()) return error(path, "graph", typed(json), "an object");
  MBCC_TRY(known_keys(json, path, kGraphKeys, "graph"));
  MBCC_TRY(required_keys(json, path, {"nodes", "arg_nodes", "heads"}, "graph"));
  Graph graph;

  const Json& nodes = json["nodes"];
  std::string nodes_path = member_path(path, "nodes");
  if (!nodes.is_array()) return error(nodes_path, "nodes", typed(nodes), "an array of nodes");
  if (nodes.size() > limits_.max_nodes - total_nodes_) {
    return error(nodes_path, "node count", std::to_string(total_nodes_ + nodes.size()),
                 "at most " + std::to_string(limits_.max_nodes) + " in all graphs");
  }
  total_nodes_ += nodes.size();
  graph.nodes.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Result<Node> node = this->node(nodes[i], index_path(nodes_path, i), depth);
    if (!node) return node.error();
    graph.nodes.push_back(std::move(*node));
  }
  for (uint32_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    std::string node_path = index_path(nodes_path, i);
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      std::string input_path = index_path(member_path(node_path, "inputs"), k);
      MBCC_TRY(reference(graph, i, node.inputs[k].node_id, index_path(input_path, 0)));
      MBCC_TRY(output_index(graph, node.inputs[k], input_path, "'" + node.name + "'"));
    }
    for (std::size_t k = 0; k < node.control_deps.size(); ++k) {
      MBCC_TRY(reference(graph, i, node.control_deps[k],
                         index_path(member_path(node_path, "control_deps"), k)));
    }
  }

  const Json& heads = json["heads"];
  std::string heads_path = member_path(path, "heads");
  if (!heads.is_array()) return error(heads_path, "heads", typed(heads), "an array of entries");
  for (std::size_t i = 0; i < heads.size(); ++i) {
    std::string head_path = index_path(heads_path, i);
    Result<NodeEntry> head = entry(heads[i], head_path);
    if (!head) return head.error();
    if (head->node_id >= graph.nodes.size()) {
      return error(index_path(head_path, 0), "node id", std::to_string(head->node_id),
                   graph.nodes.empty() ? "none (the graph has no nodes)"
                                       : "0.." + std::to_string(graph.nodes.size() - 1));
    }
    MBCC_TRY(output_index(graph, *head, head_path, "head " + std::to_string(i)));
    graph.heads.push_back(*head);
  }

  std::string args_path = member_path(path, "arg_nodes");
  Result<std::vector<uint32_t>> args = u32_list(json["arg_nodes"], args_path, "node id");
  if (!args) return args.error();
  for (std::size_t i = 0; i < args->size(); ++i) {
    uint32_t id = (*args)[i];
    if (id >= graph.nodes.size() || !graph.nodes[id].is_variable()) {
      std::string found = std::to_string(id);
      if (id < graph.nodes.size()) found += " (op " + graph.nodes[id].op + ")";
      return error(index_path(args_path, i), "node id", found,
                   "the id of a variable (op \"null\")");
    }
  }
  graph.arg_nodes = std::move(*args);

  if (json.contains("node_row_ptr")) {
    seen_.node_row_ptr = true;
    std::string rows_path = member_path(path, "node_row_ptr");
    Result<std::vector<uint32_t>> rows = u32_list(json["node_row_ptr"], rows_path, "row offset");
    if (!rows) return rows.error();
    graph.node_row_ptr = std::move(*rows);
    MBCC_TRY(node_row_ptr(graph, rows_path));
  }
  if (json.contains("attrs"))
    MBCC_TRY(graph_attrs(json["attrs"], member_path(path, "attrs"), graph));
  return graph;
}

// Rejects nesting deeper than `max_depth` before the JSON parser builds anything.
Status check_nesting(std::string_view text, int max_depth, const Parser& parser) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return parser.error("byte " + std::to_string(i), "JSON nesting", std::to_string(depth),
                            "at most " + std::to_string(max_depth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to report
    }
  }
  return Ok{};
}

void add_op_warnings(const Graph& graph, Parser& parser) {
  for (const Node& node : graph.nodes) {
    for (const Graph& subgraph : node.subgraphs) add_op_warnings(subgraph, parser);
    if (node.is_variable()) continue;
    OpLookup lookup = lookup_op(node.op, node.attrs);
    if (lookup.exact()) continue;
    parser.warn(lookup.canonical_name.empty() ? lookup.problem
                                              : "node '" + node.name + "': " + lookup.problem);
  }
}

Generation generation_of(const Seen& seen, const SymbolFile& file) {
  if (seen.legacy_keys) return Generation::kStaticGraph;
  if (seen.subgraphs) return Generation::kNnvmSubgraphs;
  if (seen.attrs) return Generation::kNnvmAttrs;
  if (seen.attr) return Generation::kNnvmAttr;
  // No node has attributes: fall back on the version, then on the entry and row layout.
  if (file.version_recorded) {
    return file.producer_version >= 10000 ? Generation::kNnvmAttrs : Generation::kNnvmAttr;
  }
  return seen.three_element_entries || seen.node_row_ptr ? Generation::kNnvmAttr
                                                         : Generation::kStaticGraph;
}

void write_graph(const Graph& graph, Json& out) {
  Json nodes = Json::array();
  Json arg_nodes = Json::array();
  Json rows = Json::array({0});
  uint32_t row = 0;
  for (uint32_t id = 0; id < graph.nodes.size(); ++id) {
    const Node& node = graph.nodes[id];
    Json json = Json::object();
    json["op"] = node.op;
    json["name"] = node.name;
    if (!node.attrs.empty()) json["attrs"] = node.attrs;
    json["inputs"] = Json::array();
    for (const NodeEntry& input : node.inputs) {
      json["inputs"].push_back({input.node_id, input.index, input.version});
    }
    if (!node.control_deps.empty()) json["control_deps"] = node.control_deps;
    if (!node.subgraphs.empty()) {
      json["subgraphs"] = Json::array();
      for (const Graph& subgraph : node.subgraphs)
        write_graph(subgraph, json["subgraphs"].emplace_back());
    }
    nodes.push_back(std::move(json));
    if (node.is_variable()) arg_nodes.push_back(id);
    row += node.is_variable() ? 1 : lookup_op(node.op, node.attrs).signature.num_outputs;
    rows.push_back(row);
  }
  out = Json::object();
  out["nodes"] = std::move(nodes);
  out["arg_nodes"] = std::move(arg_nodes);
  out["node_row_ptr"] = std::move(rows);
  out["heads"] = Json::array();
  for (const NodeEntry& head : graph.heads)
    out["heads"].push_back({head.node_id, head.index, head.version});
}

// For each node, whether some op mutates it (FMutateInputs): what makes a variable auxiliary.
std::vector<bool> mutated_nodes(const Graph& graph, const std::vector<uint32_t>& order) {
  std::vector<bool> mutated(graph.nodes.size(), false);
  for (uint32_t id : order) {
    const Node& node = graph.nodes[id];
    if (node.is_variable()) continue;
    for (uint32_t slot : lookup_op(node.op, node.attrs).signature.mutable_inputs) {
      if (slot < node.inputs.size()) mutated[node.inputs[slot].node_id] = true;
    }
  }
  return mutated;
}

std::vector<std::string> variables(const Graph& graph, bool auxiliary) {
  std::vector<uint32_t> order = post_order(graph);
  std::vector<bool> mutated = mutated_nodes(graph, order);
  std::vector<std::string> names;
  for (uint32_t id : order) {
    if (graph.nodes[id].is_variable() && mutated[id] == auxiliary)
      names.push_back(graph.nodes[id].name);
  }
  return names;
}

void count_ops(const Graph& graph, std::map<std::string, std::size_t>& histogram) {
  for (const Node& node : graph.nodes) {
    if (!node.is_variable()) ++histogram[node.op];
    for (const Graph& subgraph : node.subgraphs) count_ops(subgraph, histogram);
  }
}

}  // namespace

std::string_view generation_name(Generation generation) {
  switch (generation) {
    case Generation::kStaticGraph:
      return "0.7-0.8 (StaticGraph: param/attr)";
    case Generation::kNnvmAttr:
      return "0.9-0.12 (nnvm: attr)";
    case Generation::kNnvmAttrs:
      return "1.0+ (nnvm: attrs)";
    case Generation::kNnvmSubgraphs:
      return "1.3+ (nnvm: attrs, subgraphs)";
  }
  return "unknown";
}

std::string mxnet_version_string(int version) {
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

Result<SymbolFile> parse_symbol_json(std::string_view text, const std::string& source,
                                     const SymbolLimits& limits) {
  Parser parser(source, limits);
  if (text.size() > limits.max_bytes) {
    return parser.error("", "file size", std::to_string(text.size()) + " bytes",
                        "at most " + std::to_string(limits.max_bytes) + " bytes");
  }
  MBCC_TRY(check_nesting(text, limits.max_json_depth, parser));
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // e.byte counts the bytes read, the failing one included.
    std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    return parser.error("byte " + std::to_string(offset), "JSON", "", "", e.what());
  } catch (const Json::exception& e) {  // e.g. a number too large for a double
    return parser.error("", "JSON", "", "", e.what());
  }
  Result<Graph> graph = parser.graph(root, "$", 0);
  if (!graph) return graph.error();

  SymbolFile file;
  file.graph = std::move(*graph);
  if (auto it = file.graph.attrs.find("mxnet_version"); it != file.graph.attrs.end()) {
    int version = std::stoi(it->second.value_json);  // validated as a 32-bit int above
    if (version < 0) {
      return parser.error("$.attrs.mxnet_version[1]", "mxnet_version", it->second.value_json,
                          "a version number: major*10000 + minor*100 + patch");
    }
    file.producer_version = version;
    file.version_recorded = true;
  }
  if (auto it = file.graph.attrs.find("is_np_shape"); it != file.graph.attrs.end()) {
    file.is_np_shape = it->second.value_json != "0";
  }
  file.generation = generation_of(parser.seen(), file);
  add_op_warnings(file.graph, parser);
  std::size_t reachable = post_order(file.graph).size();
  if (reachable < file.graph.nodes.size()) {
    parser.warn(std::to_string(file.graph.nodes.size() - reachable) + " of " +
                std::to_string(file.graph.nodes.size()) +
                " nodes are not reachable from the heads: MXNet drops them when loading");
  }
  file.warnings = parser.take_warnings();
  return file;
}

Result<SymbolFile> read_symbol_json(const std::filesystem::path& path, const SymbolLimits& limits) {
  Result<FileBytes> bytes = read_file(path);
  if (!bytes) return bytes.error();
  std::string_view text(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size);
  return parse_symbol_json(text, path.string(), limits);
}

std::string write_symbol_json(const Graph& graph, int mxnet_version) {
  Json out;
  write_graph(graph, out);
  Json attrs = Json::object();
  for (const auto& [key, attr] : graph.attrs) {
    if (key != "mxnet_version") attrs[key] = {attr.type, Json::parse(attr.value_json)};
  }
  attrs["mxnet_version"] = {"int", mxnet_version};
  out["attrs"] = std::move(attrs);
  return out.dump(2);
}

std::vector<uint32_t> post_order(const Graph& graph) {
  std::vector<uint32_t> order;
  std::vector<bool> visited(graph.nodes.size(), false);
  // (node, how many of its dependencies have been pushed)
  std::vector<std::pair<uint32_t, std::size_t>> stack;
  for (const NodeEntry& head : graph.heads) {
    if (visited.at(head.node_id)) continue;
    visited[head.node_id] = true;
    stack.emplace_back(head.node_id, 0);
    while (!stack.empty()) {
      auto& [id, next] = stack.back();
      const Node& node = graph.nodes[id];
      std::size_t count = node.inputs.size() + node.control_deps.size();
      if (next == count) {
        order.push_back(id);
        stack.pop_back();
        continue;
      }
      uint32_t dep = next < node.inputs.size() ? node.inputs[next].node_id
                                               : node.control_deps[next - node.inputs.size()];
      ++next;
      if (!visited.at(dep)) {
        visited[dep] = true;
        stack.emplace_back(dep, 0);
      }
    }
  }
  return order;
}

std::vector<std::string> list_arguments(const Graph& graph) { return variables(graph, false); }

std::vector<std::string> list_auxiliary_states(const Graph& graph) {
  return variables(graph, true);
}

std::vector<std::string> list_outputs(const Graph& graph) {
  std::vector<std::string> names;
  for (const NodeEntry& head : graph.heads) {
    const Node& node = graph.nodes.at(head.node_id);
    names.push_back(node.is_variable()
                        ? node.name
                        : output_name(node, lookup_op(node.op, node.attrs).signature, head.index));
  }
  return names;
}

std::vector<InternalOutput> internal_outputs(const Graph& graph) {
  std::vector<InternalOutput> outputs;
  for (uint32_t id : post_order(graph)) {
    const Node& node = graph.nodes[id];
    if (node.is_variable()) {
      outputs.push_back({node.name, node.op, id, 0});
      continue;
    }
    OpSignature signature = lookup_op(node.op, node.attrs).signature;
    for (uint32_t i = 0; i < signature.num_visible_outputs; ++i) {
      outputs.push_back({output_name(node, signature, i), node.op, id, i});
    }
  }
  return outputs;
}

std::map<std::string, std::size_t> op_histogram(const Graph& graph) {
  std::map<std::string, std::size_t> histogram;
  count_ops(graph, histogram);
  return histogram;
}

}  // namespace mbcc
