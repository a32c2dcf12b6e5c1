// MXNet's load-time upgrade of graph JSON (src/nnvm/legacy_json_util.cc, pass LoadLegacyJSON):
// what an older file becomes inside MXNet before anything uses it. Every pass whose threshold
// is above the file's version runs, in MXNet's order; the outcome on save_000800.json is what
// MXNet's test_load_000800 expects. Spec: shared/docs/mxnet-formats.md §2.5.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "formats/symbol_json.hpp"

namespace mbcc {

constexpr int kMxnetVersion191 = 10901;
constexpr int kMxnetVersion200 = 20000;

// The MXNet that loads the file: its version (MXGetVersion) and whether numpy shape semantics
// are on while it loads (npx.set_np(); on after `import mxnet` from 2.0.0.beta0).
struct Loader {
  int version = kMxnetVersion200;
  bool np_shape = true;
};
constexpr Loader kLoader191{kMxnetVersion191, false};
constexpr Loader kLoader200{kMxnetVersion200, true};  // 2.0.0.beta1; alpha had np_shape off

enum class UpgradePass {
  kFixHiddenKeys,  // FixParsing (files older than the loader): lr_mult -> __lr_mult__, ...
  kAddAuxInputs,   // 0.8 -> 0.9: auxiliary inputs were not saved; add them as variables
  kInitHints,      // 0.9.3 -> 0.9.4: __init__ hints ops give their variables
  kArgmaxAxis,     // 0.9.4 -> 0.9.5: argmax/argmin axis -1 meant "all axes"; drop it
  kNpShape,        // np-shape loaders, graphs without is_np_shape: 0 in __shape__ -> -1
};
std::string_view upgrade_pass_name(UpgradePass pass);

struct UpgradedSymbol {
  // As MXNet holds it: the nodes the heads reach, in post_order, variables added by the
  // upgrade just before the node that reads them; node_row_ptr cleared.
  Graph graph;
  std::vector<UpgradePass> passes;    // the passes that ran, in order
  std::vector<std::string> warnings;  // e.g. a file newer than the loader
};

// Upgrades `file` as `loader` loads it: LoadLegacyJSON's passes whose threshold is above the
// file's version, then (MXSymbolCreateFromFile, 1.6+) the np-shape rewrite of __shape__.
// FixParsing runs for files older than the loader, and 2.0 loaders also hide profiler_scope.
UpgradedSymbol upgrade_symbol(const SymbolFile& file, const Loader& loader = kLoader200);

// The passes one by one, as upgrade_symbol runs them (each visits nodes in post_order).
// `<key>` attributes named after a hidden key k (ctx_group, lr_mult, wd_mult,
// force_mirroring, mirror_stage, and profiler_scope from 2.0) become `__k__`; an op's
// `<input>_<k>` moves to the variable feeding that input as `__k__`.
void fix_hidden_keys(Graph& graph, int loader_version);
// Appends the inputs an op declares but the node lacks as variables `<node>_<input name>`,
// each with a copy of the node's attributes; returns the graph in MXNet's order.
Graph add_aux_inputs(const Graph& graph);
void add_init_hints(Graph& graph);
void drop_argmax_axis(Graph& graph);
// Rewrites each variable's __shape__ the way mxnet::TShape reads it, with legacy unknowns
// (no dims, or 0 dims) made numpy unknowns, printed as 2.0 prints shapes: "(10, 0)" ->
// "[10,-1]", "()" -> "None".
void convert_shapes_to_np(Graph& graph);

// The nodes the heads reach, renumbered in post_order (what MXNet keeps of a loaded graph).
Graph in_mxnet_order(const Graph& graph);

}  // namespace mbcc
