#include "check/plan.hpp"

#include <system_error>

#include "capi/abi.hpp"
#include "corpus/bundle.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// A bundle whose manifest does not parse gives no load APIs; its checks go under this name.
constexpr std::string_view kEveryLoadApi = "*";

bool keeps(const GlobList& filter, const std::string& text) {
  return filter.patterns.empty() || filter.matches(text);
}

PlannedBundle validated(const fs::path& store, const corpus::BundleKey& key) {
  PlannedBundle bundle{key, corpus::bundle_dir(store, key), std::nullopt, ""};
  Result<corpus::Manifest> manifest = corpus::validate_bundle(bundle.dir);
  if (manifest.ok()) {
    bundle.manifest = std::move(manifest).value();
  } else {
    bundle.corruption = manifest.error().message();
  }
  return bundle;
}

// The load APIs a corrupt bundle's checks are named by: its manifest's, when that still parses.
std::vector<std::string> claimed_load_apis(const PlannedBundle& bundle) {
  Result<corpus::Manifest> manifest =
      corpus::read_manifest(bundle.dir / std::string(corpus::kManifestName));
  if (manifest.ok()) return manifest->load_apis;
  return {std::string(kEveryLoadApi)};
}

}  // namespace

Result<Shard> parse_shard(std::string_view text) {
  Shard shard;
  const std::size_t slash = text.find('/');
  const auto number = [](std::string_view digits, int& out) {
    if (digits.empty() || digits.size() > 6) return false;
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  if (slash == std::string_view::npos || !number(text.substr(0, slash), shard.index) ||
      !number(text.substr(slash + 1), shard.count) || shard.index < 1 ||
      shard.index > shard.count) {
    Error e = Error::plain("--shard", "");
    e.found = "\"" + std::string(text) + "\"";
    e.allowed = "I/N with 1 <= I <= N, e.g. 2/4";
    return e;
  }
  return shard;
}

std::vector<corpus::BundleKey> select_bundles(std::span<const corpus::BundleKey> keys,
                                              const Filters& filters) {
  std::vector<corpus::BundleKey> kept;
  std::size_t position = 0;
  for (const corpus::BundleKey& key : keys) {
    if (!keeps(filters.producer, key.producer) || !keeps(filters.model, key.model) ||
        !keeps(filters.save_api, key.save_api)) {
      continue;
    }
    if (position++ % static_cast<std::size_t>(filters.shard.count) ==
        static_cast<std::size_t>(filters.shard.index - 1)) {
      kept.push_back(key);
    }
  }
  return kept;
}

RunnerKind runner_for(std::string_view load_api) {
  return capi::load_api_from_name(load_api) ? RunnerKind::kCapi : RunnerKind::kPython;
}

Result<Plan> make_plan(const fs::path& store, std::span<const Candidate> candidates,
                       const Filters& filters) {
  std::error_code ec;
  if (!fs::is_directory(store, ec)) {
    return Error::plain(store.string(),
                        "the store is not a folder" + (ec ? ": " + ec.message() : std::string()));
  }
  Result<std::vector<corpus::BundleKey>> keys = corpus::list_bundles(store);
  if (!keys.ok()) return keys.error();

  Plan plan;
  for (const corpus::BundleKey& key : select_bundles(*keys, filters)) {
    plan.bundles.push_back(validated(store, key));
  }

  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const Candidate& candidate = candidates[c];
    for (std::size_t b = 0; b < plan.bundles.size(); ++b) {
      const PlannedBundle& bundle = plan.bundles[b];
      const std::vector<std::string> load_apis =
          bundle.manifest ? bundle.manifest->load_apis : claimed_load_apis(bundle);
      for (const std::string& load_api : load_apis) {
        if (!keeps(filters.load_api, load_api)) continue;
        PlannedCheck check;
        check.key = {bundle.key.producer, bundle.key.model, bundle.key.save_api, load_api,
                     candidate.name};
        check.bundle = b;
        check.candidate = c;
        check.runner = runner_for(load_api);
        const WorkerSetup& worker = candidate.worker(check.runner);
        if (!bundle.manifest) {
          check.settled = Verdict::kArtifactCorrupt;
          check.detail = bundle.corruption;
        } else if (!worker.command) {
          check.settled = Verdict::kUnsupported;
          check.detail = worker.unavailable;
        }
        plan.checks.push_back(std::move(check));
      }
    }
  }
  return plan;
}

}  // namespace mbcc
