// libFuzzer target: the symbol JSON parser, the load-time upgrade for a 1.9.1 and a 2.0
// loader, every listing, and the writer, whose output must read back to the same graph.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/symbol_json.hpp"
#include "formats/symbol_upgrade.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mbcc::Result<mbcc::SymbolFile> file = mbcc::parse_symbol_json(text, "fuzz.json");
  if (!file.ok()) {
    (void)file.error().message();
    return 0;
  }
  for (const mbcc::Loader& loader : {mbcc::kLoader191, mbcc::kLoader200}) {
    mbcc::UpgradedSymbol upgraded = mbcc::upgrade_symbol(*file, loader);
    const mbcc::Graph& graph = upgraded.graph;
    (void)mbcc::list_arguments(graph);
    (void)mbcc::list_auxiliary_states(graph);
    (void)mbcc::list_outputs(graph);
    (void)mbcc::internal_outputs(graph);
    (void)mbcc::op_histogram(graph);
    mbcc::Result<mbcc::SymbolFile> again =
        mbcc::parse_symbol_json(mbcc::write_symbol_json(graph), "rewritten.json");
    if (!again.ok()) __builtin_trap();
    // in_mxnet_order drops the node_row_ptr the writer added, down to the subgraphs.
    mbcc::Graph reread = mbcc::in_mxnet_order(again->graph);
    if (reread.nodes != graph.nodes || reread.heads != graph.heads) __builtin_trap();
  }
  return 0;
}
