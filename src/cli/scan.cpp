// mbcc scan: the static check of graph files against candidates' registries (part registry).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/registries.hpp"
#include "corpus/bundle.hpp"
#include "corpus/manifest.hpp"
#include "registry/dump.hpp"
#include "registry/scan.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;
using registry::Finding;
using registry::Registry;

constexpr std::string_view kGraphSuffix = "-symbol.json";

// The graph files FILE names: itself, or every *-symbol.json under a folder (a bundle, a store),
// with the graphs that bundles keep in their store's shared folder (shared, or packed) named by
// their place in the bundle.
Result<std::vector<fs::path>> graph_files(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) return Error::plain(path.string(), "no such file or folder");
    return std::vector<fs::path>{path};
  }
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    if (it->path().filename().string().ends_with(kGraphSuffix)) files.push_back(it->path());
    if (it->path().filename() != corpus::kManifestName) continue;
    auto manifest = corpus::read_manifest(it->path());
    if (!manifest) continue;  // not a bundle scan can read; its graphs, if any, are listed above
    for (const corpus::BundleFile& file : manifest->files) {
      const fs::path in_bundle = it->path().parent_path() / file.path;
      if (file.role == corpus::FileRole::kSymbol && !fs::exists(in_bundle)) {
        files.push_back(in_bundle);
      }
    }
  }
  if (ec) return Error::plain(path.string(), "cannot list the folder: " + ec.message());
  if (files.empty()) {
    return Error::plain(path.string(), "holds no graph file (*" + std::string(kGraphSuffix) + ")");
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A graph file, or one a bundle keeps in its store's shared folder (named by its place in the
// bundle).
Result<SymbolFile> read_graph(const fs::path& file) {
  std::error_code ec;
  if (fs::exists(file, ec)) return read_symbol_json(file);
  for (const fs::path& dir : {file.parent_path(), file.parent_path().parent_path()}) {
    if (!fs::exists(dir / corpus::kManifestName, ec)) continue;
    auto manifest = corpus::read_manifest(dir / corpus::kManifestName);
    if (!manifest) return manifest.error();
    const corpus::BundleFile* listed =
        manifest->find_file(file.lexically_relative(dir).generic_string());
    if (listed == nullptr) break;
    auto bytes = corpus::read_bundle_file(dir, *listed);
    if (!bytes) return bytes.error();
    return parse_symbol_json({reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size},
                             file.string());
  }
  return Error::plain(file.string(), "no such file");
}

// The producer a bundle's manifest names, for a graph in the bundle or in its model/ folder.
std::optional<std::string> manifest_producer(const fs::path& file) {
  for (const fs::path& dir : {file.parent_path(), file.parent_path().parent_path()}) {
    std::error_code ec;
    if (!fs::exists(dir / "manifest.json", ec)) continue;
    auto manifest = corpus::read_manifest(dir / "manifest.json");
    if (manifest) return manifest->producer.version;
  }
  return std::nullopt;
}

struct ScannedCandidate {
  std::string candidate;
  std::vector<Finding> findings;
  bool loads() const {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return registry::is_fatal(f.kind); });
  }
};

struct ScannedFile {
  fs::path file;
  std::string producer;  // "" when unknown
  std::vector<ScannedCandidate> candidates;
};

nlohmann::ordered_json finding_to_json(const Finding& finding) {
  nlohmann::ordered_json json = {{"kind", registry::finding_kind_name(finding.kind)},
                                 {"fatal", registry::is_fatal(finding.kind)},
                                 {"node", finding.node},
                                 {"op", finding.op},
                                 {"attribute", finding.attribute},
                                 {"candidate", finding.candidate},
                                 {"producer", finding.producer},
                                 {"detail", finding.detail}};
  if (finding.change) {
    const registry::Rule& rule = registry::rule(finding.change->kind);
    json["change"] = {{"kind", rule.name},
                      {"description", finding.change->describe()},
                      {"backward", registry::effect_name(rule.backward)},
                      {"forward", registry::effect_name(rule.forward)}};
  }
  return json;
}

void print_text(const std::vector<ScannedFile>& files) {
  for (const ScannedFile& file : files) {
    for (const ScannedCandidate& scanned : file.candidates) {
      fmt::print("{} on {} (producer {}): {}, {} finding(s)\n", file.file.string(),
                 scanned.candidate, file.producer.empty() ? "unknown" : file.producer,
                 scanned.loads() ? "loads" : "PREDICTED BREAK", scanned.findings.size());
      for (const Finding& f : scanned.findings) {
        fmt::print("  {:<18} {:<5} node {} op {}{}: {}\n", registry::finding_kind_name(f.kind),
                   registry::is_fatal(f.kind) ? "fatal" : "note", f.node.empty() ? "-" : f.node,
                   f.op.empty() ? "-" : f.op,
                   f.attribute.empty() ? "" : " attribute " + f.attribute, f.detail);
        if (f.change)
          fmt::print("      explained by {} -> {}: {}\n", f.producer, f.candidate,
                     f.change->describe());
      }
    }
  }
}

struct ScanOptions {
  std::vector<std::string> files;
  std::vector<std::string> candidates;
  std::string producer;
  std::string registry_dir;
  bool json = false;
};

// Everything is scanned before anything is printed: an error means no partial output.
int run_scan(const ScanOptions& options) {
  auto fail = [](const Error& error) {
    fmt::print(stderr, "mbcc scan: {}\n", error.message());
    return 2;
  };
  auto dir = registry_dir(options.registry_dir);
  if (!dir) return fail(dir.error());
  std::vector<Registry> candidates;
  for (const std::string& version : options.candidates) {
    auto loaded = load_registry(*dir, version);
    if (!loaded) return fail(loaded.error());
    candidates.push_back(std::move(loaded).value());
  }
  // Producers: --producer, else the bundle's manifest, else the file's mxnet_version; an
  // inferred producer without a dump is left unknown rather than installed.
  std::map<std::string, std::unique_ptr<Registry>> producers;
  if (!options.producer.empty()) {
    auto loaded = load_registry(*dir, options.producer);
    if (!loaded) return fail(loaded.error());
    producers[loaded->release] = std::make_unique<Registry>(std::move(loaded).value());
  }
  auto dumped = registry::dumped_releases(*dir);
  if (!dumped) return fail(dumped.error());
  auto producer_registry = [&](const std::string& release) -> Result<const Registry*> {
    if (release.empty()) return static_cast<const Registry*>(nullptr);
    if (auto it = producers.find(release); it != producers.end()) return it->second.get();
    if (std::find(dumped->begin(), dumped->end(), release) == dumped->end()) {
      producers[release] = nullptr;
      return static_cast<const Registry*>(nullptr);
    }
    auto loaded = registry::read_dump(*dir, release);
    if (!loaded) return loaded.error();
    auto& slot = producers[release];
    slot = std::make_unique<Registry>(std::move(loaded).value());
    return slot.get();
  };
  std::map<std::pair<std::string, std::string>, registry::Diff> diffs;

  std::vector<ScannedFile> scanned;
  for (const std::string& argument : options.files) {
    auto files = graph_files(argument);
    if (!files) return fail(files.error());
    for (const fs::path& path : *files) {
      auto symbol = read_graph(path);
      if (!symbol) return fail(symbol.error());
      ScannedFile out{path, "", {}};
      if (!options.producer.empty()) {
        out.producer = release_name(options.producer);
      } else if (auto from_manifest = manifest_producer(path)) {
        out.producer = *from_manifest;
      } else if (symbol->version_recorded) {
        out.producer = mxnet_version_string(symbol->producer_version);
      }
      auto producer = producer_registry(out.producer);
      if (!producer) return fail(producer.error());
      for (const Registry& candidate : candidates) {
        registry::ScanTarget target{&candidate, *producer, nullptr};
        if (*producer != nullptr) {
          auto key = std::make_pair((*producer)->release, candidate.release);
          auto it = diffs.find(key);
          if (it == diffs.end()) {
            it = diffs.emplace(key, registry::diff_registries(**producer, candidate)).first;
          }
          target.diff = &it->second;
        }
        out.candidates.push_back({candidate.release, registry::scan_graph(*symbol, target)});
      }
      scanned.push_back(std::move(out));
    }
  }

  int predicted_breaks = 0;
  for (const ScannedFile& file : scanned) {
    for (const ScannedCandidate& c : file.candidates) predicted_breaks += c.loads() ? 0 : 1;
  }
  if (options.json) {
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const ScannedFile& file : scanned) {
      nlohmann::ordered_json per_candidate = nlohmann::ordered_json::array();
      for (const ScannedCandidate& c : file.candidates) {
        nlohmann::ordered_json findings = nlohmann::ordered_json::array();
        for (const Finding& f : c.findings) findings.push_back(finding_to_json(f));
        per_candidate.push_back(
            {{"candidate", c.candidate}, {"loads", c.loads()}, {"findings", std::move(findings)}});
      }
      files.push_back({{"file", file.file.string()},
                       {"producer", file.producer},
                       {"candidates", std::move(per_candidate)}});
    }
    const nlohmann::ordered_json out = {{"predicted_breaks", predicted_breaks},
                                        {"files", std::move(files)}};
    fmt::print("{}\n", out.dump(2));
  } else {
    print_text(scanned);
  }
  return predicted_breaks > 0 ? 1 : 0;
}

}  // namespace

void add_scan(CLI::App& app, int& exit_code) {
  auto* scan = app.add_subcommand(
      "scan",
      "Check graph files against candidates' operator registries without running them; "
      "exit 1 when one would not load");
  auto options = std::make_shared<ScanOptions>();
  scan->add_option("files", options->files, "-symbol.json files, bundle folders or stores")
      ->required();
  scan->add_option("--candidate", options->candidates, "releases to check against")->required();
  scan->add_option("--producer", options->producer,
                   "the release that wrote the files (default: the manifest, else the file's "
                   "mxnet_version)");
  scan->add_option("--registry-dir", options->registry_dir,
                   "the dumps folder (default: registry/)");
  scan->add_flag("--json", options->json, "one JSON object");
  scan->callback([options, &exit_code] { exit_code = run_scan(*options); });
}

}  // namespace mbcc::cli
