// mbcc scan on a 1,000-node graph: a 1.9.1-style network (Convolution, BatchNorm, Activation,
// Pooling blocks) checked against the shipped 1.4.1 and 1.9.1 registry dumps, with 1.9.1 as
// the producer so that every unset default is compared too. The dumps are read once, as
// `mbcc scan` reads them once per run; the figure is the scan of one graph.
// Run from the source folder, or set MBCC_REGISTRY_DIR.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "registry/diff.hpp"
#include "registry/dump.hpp"
#include "registry/scan.hpp"

namespace {

using namespace mbcc;

std::string thousand_node_graph() {
  std::string nodes = R"({"op": "null", "name": "data", "inputs": []})";
  int id = 0;
  auto add = [&](const std::string& op, const std::string& name, const std::string& attrs,
                 int input) {
    nodes += R"(, {"op": ")" + op + R"(", "name": ")" + name + R"(", "attrs": )" + attrs +
             R"(, "inputs": [[)" + std::to_string(input) + ", 0, 0]]}";
    return ++id;
  };
  int last = 0;
  for (int block = 0; id < 999; ++block) {
    const std::string b = std::to_string(block);
    last = add(
        "Convolution", "conv" + b,
        R"j({"kernel": "(3, 3)", "num_filter": "16", "pad": "(1, 1)", "no_bias": "True", "layout": "NCHW"})j",
        last);
    if (id >= 999) break;
    last = add("BatchNorm", "bn" + b, R"({"fix_gamma": "False", "eps": "1e-05"})", last);
    if (id >= 999) break;
    last = add("Activation", "relu" + b, R"({"act_type": "relu"})", last);
    if (id >= 999) break;
    last = add("Pooling", "pool" + b,
               R"j({"kernel": "(1, 1)", "pool_type": "max", "layout": "NCHW"})j", last);
  }
  return R"({"nodes": [)" + nodes + R"(], "arg_nodes": [0], "heads": [[)" + std::to_string(last) +
         R"(, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}})";
}

void BM_Scan1000Nodes(benchmark::State& state) {
  const char* from_env = std::getenv("MBCC_REGISTRY_DIR");
  const std::string dir = from_env != nullptr ? from_env : "registry";
  auto old = registry::read_dump(dir, "1.4.1");
  auto current = registry::read_dump(dir, "1.9.1");
  if (!old || !current) {
    state.SkipWithError("the registry dumps of 1.4.1 and 1.9.1 are needed (MBCC_REGISTRY_DIR)");
    return;
  }
  auto file = parse_symbol_json(thousand_node_graph(), "bench-symbol.json");
  if (!file || file->graph.nodes.size() != 1000) throw std::logic_error("bad bench graph");
  const registry::Diff backward = registry::diff_registries(*current, *old);
  std::size_t findings = 0;
  for (auto _ : state) {
    findings = registry::scan_graph(*file, {&*old, &*current, &backward}).size() +
               registry::scan_graph(*file, {&*current, &*current, nullptr}).size();
    benchmark::DoNotOptimize(findings);
  }
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Scan1000Nodes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
