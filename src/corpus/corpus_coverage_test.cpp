// What the shipped corpus covers: the distinct operator names its graphs use. The corpus is
// meant to exercise most of MXNet's operators, so a change that drops models below the target
// fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "corpus/bundle.hpp"
#include "corpus/layout.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

// At least this many distinct operator names in graphs written by 1.x (and 0.x) releases, and
// in all graphs, 2.0's own names included.
constexpr std::size_t kOneXOperators = 60;
constexpr std::size_t kAllOperators = 80;

void add_ops(const Graph& graph, std::set<std::string>& ops) {
  for (const Node& node : graph.nodes) {
    if (!node.is_variable()) ops.insert(node.op);
    for (const Graph& sub : node.subgraphs) add_ops(sub, ops);
  }
}

// Block.save's model JSON holds each hybridized graph as a string under "symbol".
void add_embedded_ops(const nlohmann::json& value, std::set<std::string>& ops) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      if (key == "symbol" && member.is_string()) {
        Result<SymbolFile> graph = parse_symbol_json(member.get<std::string>(), "model-json");
        if (graph.ok()) add_ops(graph->graph, ops);
      } else {
        add_embedded_ops(member, ops);
      }
    }
  } else if (value.is_array()) {
    for (const auto& member : value) add_embedded_ops(member, ops);
  }
}

TEST(ShippedCorpus, GraphsUseEnoughDistinctOperators) {
  const fs::path store = fs::path(MBCC_SOURCE_DIR) / "corpus";
  Result<std::vector<BundleKey>> keys = list_bundles(store);
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  std::set<std::string> one_x, all;
  for (const BundleKey& key : *keys) {
    const fs::path dir = bundle_dir(store, key);
    Result<Manifest> manifest = read_manifest(dir / kManifestName);
    ASSERT_TRUE(manifest.ok()) << manifest.error().message();
    std::set<std::string> ops;
    for (const BundleFile& file : manifest->files) {
      if (file.role != FileRole::kSymbol && file.role != FileRole::kModelJson) continue;
      Result<FileBytes> bytes = read_bundle_file(dir, file);
      ASSERT_TRUE(bytes.ok()) << bytes.error().message();
      const std::string text(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size);
      if (file.role == FileRole::kSymbol) {
        Result<SymbolFile> graph = parse_symbol_json(text, (dir / file.path).string());
        ASSERT_TRUE(graph.ok()) << graph.error().message();
        add_ops(graph->graph, ops);
      } else {
        add_embedded_ops(nlohmann::json::parse(text), ops);
      }
    }
    const bool before_two = key.producer.starts_with("0.") || key.producer.starts_with("1.");
    if (before_two) one_x.insert(ops.begin(), ops.end());
    all.insert(ops.begin(), ops.end());
  }
  std::string listed;
  for (const std::string& op : all) listed += op + " ";
  EXPECT_GE(one_x.size(), kOneXOperators) << "1.x graphs use " << one_x.size() << " operators";
  EXPECT_GE(all.size(), kAllOperators) << "all graphs use " << all.size() << ": " << listed;
}

}  // namespace
}  // namespace mbcc::corpus
