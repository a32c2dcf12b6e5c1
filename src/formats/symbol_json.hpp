// Symbol (graph) JSON as every MXNet generation wrote it (sym.save, HybridBlock.export): the
// graph model, a strict parser, a writer of 1.x JSON, and what MXNet lists from a graph
// (arguments, auxiliary states, outputs, internals). Spec: shared/docs/mxnet-formats.md §2.
// The load-time upgrade MXNet applies to older files is in symbol_upgrade.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "formats/op_table.hpp"

namespace mbcc {

// Output `index` of node `node_id`. `version` is nnvm's mutation counter of a variable (0
// unless a mutated auxiliary variable is read again).
struct NodeEntry {
  uint32_t node_id = 0;
  uint32_t index = 0;
  uint32_t version = 0;
  bool operator==(const NodeEntry&) const = default;
};

struct Graph;

struct Node {
  std::string op;  // registered op name as written; "null" for a variable
  std::string name;
  AttrMap attrs;  // "attrs", "attr" and "param" merged the way nnvm merges them
  std::vector<NodeEntry> inputs;
  std::vector<uint32_t> control_deps;
  std::vector<Graph> subgraphs;  // bodies of _foreach, _while_loop, _cond, fused ops
  bool is_variable() const { return op == "null"; }
  bool operator==(const Node&) const = default;
};

// A graph attribute: a dmlc "any", written ["int", 10901], ["str", "x"], ["list_int", [1]].
struct GraphAttr {
  std::string type;
  std::string value_json;  // the value as compact JSON
  bool operator==(const GraphAttr&) const = default;
};

// Nodes are in topological order: every input and control dependency precedes its node.
struct Graph {
  std::vector<Node> nodes;
  std::vector<uint32_t> arg_nodes;     // as written: ids of variables
  std::vector<uint32_t> node_row_ptr;  // as written; empty when absent
  std::vector<NodeEntry> heads;
  std::map<std::string, GraphAttr> attrs;
  bool operator==(const Graph&) const = default;
};

// How a file was written, from the keys it uses (docs §2.1).
enum class Generation {
  kStaticGraph,    // 0.7-0.8: "param" + "attr", "backward_source_id", 2-element inputs
  kNnvmAttr,       // 0.9-0.12: "attr", 3-element inputs, node_row_ptr, mxnet_version
  kNnvmAttrs,      // 1.0+: "attrs"
  kNnvmSubgraphs,  // 1.3+: "attrs" and nested "subgraphs"
};
std::string_view generation_name(Generation generation);

// MXNet's version number: major·10000 + minor·100 + patch (10901 is 1.9.1).
constexpr int kVersionAssumedWhenAbsent = 800;  // what MXNet takes a file without one for
std::string mxnet_version_string(int version);  // 10901 -> "1.9.1"

struct SymbolFile {
  Graph graph;
  Generation generation = Generation::kNnvmAttrs;
  int producer_version = kVersionAssumedWhenAbsent;  // attrs.mxnet_version, else 800
  bool version_recorded = false;                     // attrs.mxnet_version was present
  bool is_np_shape = false;                          // attrs.is_np_shape == 1 (1.6+)
  // What mbcc could not be sure of: ops outside its table, op attributes it could not read,
  // node_row_ptr or output indices that disagree with the table, nodes unreachable from the
  // heads (MXNet drops them).
  std::vector<std::string> warnings;
};

struct SymbolLimits {
  std::size_t max_bytes = std::size_t{64} << 20;
  int max_json_depth = 128;
  int max_subgraph_depth = 16;
  std::size_t max_nodes = std::size_t{1} << 20;  // over all nested graphs together
};

// Parses and validates `text` completely; `source` names the file in errors, which give the
// JSON path ("$.nodes[3].inputs[0][0]"), the value found and what was allowed.
Result<SymbolFile> parse_symbol_json(std::string_view text, const std::string& source,
                                     const SymbolLimits& limits = {});
Result<SymbolFile> read_symbol_json(const std::filesystem::path& path,
                                    const SymbolLimits& limits = {});

// Serialises as MXNet 1.x writes: "attrs", 3-element inputs, arg_nodes recomputed,
// node_row_ptr from the op table (as a build without oneDNN counts outputs), the graph's
// attrs with mxnet_version set to `mxnet_version`. Nodes keep their order.
std::string write_symbol_json(const Graph& graph, int mxnet_version = 10901);

// Node ids in nnvm's DFSVisit order: post-order from the heads, inputs before control
// dependencies, each node once. Nodes the heads do not reach are left out, as in MXNet.
std::vector<uint32_t> post_order(const Graph& graph);

// The variables MXNet lists as arguments (read-only inputs) and auxiliary states (inputs some
// op mutates, per FMutateInputs), in post_order.
std::vector<std::string> list_arguments(const Graph& graph);
std::vector<std::string> list_auxiliary_states(const Graph& graph);
// One name per head: a variable's name, else "<node>_<output name>".
std::vector<std::string> list_outputs(const Graph& graph);

// What get_internals() lists: every visible output of every node, in post_order.
struct InternalOutput {
  std::string name;  // as list_outputs would name it
  std::string op;    // "null" for a variable
  uint32_t node_id = 0;
  uint32_t index = 0;
};
std::vector<InternalOutput> internal_outputs(const Graph& graph);

// Op name -> number of op nodes (variables not counted), nested graphs included.
std::map<std::string, std::size_t> op_histogram(const Graph& graph);

}  // namespace mbcc
