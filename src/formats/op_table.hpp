// What mbcc knows about MXNet operators: the facts nnvm's registry gives MXNet when it lists a
// graph's arguments, auxiliary states and outputs, and when it upgrades old graph JSON
// (FListInputNames, FMutateInputs, num_outputs, FNumVisibleOutputs, FListOutputNames,
// FSetInputVarAttrOnCompose). Read from the registrations of MXNet 1.9.1 and master (2.0);
// an op outside the table gets a fallback and the caller is told so.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbcc {

// A node's attribute dict: every value a string, as MXNet stores it.
using AttrMap = std::map<std::string, std::string>;

// An `__init__` value an op gives a variable feeding one of its inputs, unless the variable
// has one already (FSetInputVarAttrOnCompose).
struct InitHint {
  uint32_t input = 0;
  std::string_view init;
};

// What the registry says about one node, given its attributes.
struct OpSignature {
  // FListInputNames. nullopt where the op registers none: MXNet's upgrade passes then skip
  // everything that needs input names (nnvm's {"data"} default applies only to compose).
  std::optional<std::vector<std::string>> input_names;
  std::vector<uint32_t> mutable_inputs;   // FMutateInputs: the auxiliary-state input slots
  uint32_t num_outputs = 1;               // every output, hidden ones included
  uint32_t max_num_outputs = 1;           // more than num_outputs where oneDNN builds add one
  uint32_t num_visible_outputs = 1;       // FNumVisibleOutputs, else num_outputs
  std::vector<std::string> output_names;  // FListOutputNames, else nnvm's default
  std::vector<InitHint> init_hints;
};

struct OpLookup {
  OpSignature signature;
  std::string_view canonical_name;  // empty for an op outside the table
  // Why `signature` is the fallback (no mutable inputs, one output, no input names): the op
  // is unknown to mbcc, or an attribute the op's rules need is missing or malformed.
  std::string problem;
  bool exact() const { return problem.empty(); }
};

// `op` may be a canonical name or an alias ("_plus", "_npx_fully_connected").
OpLookup lookup_op(std::string_view op, const AttrMap& attrs);

// The canonical name of a known op or alias.
std::optional<std::string_view> canonical_op_name(std::string_view op);

// nnvm's output name for an op without FListOutputNames: "output", or "output<i>" when the
// op has more than one output.
std::string default_output_name(uint32_t index, uint32_t num_outputs);

// The canonical names in the table, sorted.
std::vector<std::string_view> known_ops();

}  // namespace mbcc
