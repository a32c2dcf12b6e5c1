// Bundles of any store (S3 or a local folder) as a local store that `mbcc check` reads: the
// "view". Each manifest is copied as the store has it; each file it lists becomes a link to a
// cache entry that was verified against the manifest's size and sha256 before anything could
// read it, so a warm re-check downloads manifests only, never a tensor or a model file.
//
// What the store gets wrong stays visible: a manifest that does not parse is copied as it is
// and its files are not fetched, and a bundle with a file that does not match its manifest is
// left without that file; the check's own validation then settles the bundle ARTIFACT_CORRUPT
// with the reason. A transfer that fails past the store's retries is not the bundle's fault: it
// is an error of the pull, naming the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "corpus/layout.hpp"
#include "store/cache.hpp"
#include "store/store.hpp"

namespace mbcc::corpus {

// Manifests are small; a larger object under that name is not read.
inline constexpr std::uint64_t kMaxManifestBytes = 16u << 20;

struct StoreBundle {
  BundleKey key;
  std::uint64_t manifest_size = 0;
};

// Every bundle of the store: each key v1/<producer>/<model>/<save-api>/manifest.json whose
// parts are layout names, sorted.
Result<std::vector<StoreBundle>> list_store_bundles(store::Store& store);

struct PullResult {
  std::vector<BundleKey> bundles;   // what the view holds, sorted
  std::uint64_t cache_hits = 0;     // files already in the cache
  store::TransferStats downloaded;  // files fetched, manifests not counted
  std::uint64_t manifest_bytes = 0;
};

// Fills `view` (an empty or missing folder) with `bundles` of `store`, and the store's
// expectations.toml when it has one.
Result<PullResult> pull_bundles(store::Store& store, store::Cache& cache,
                                const std::vector<StoreBundle>& bundles,
                                const std::filesystem::path& view);

}  // namespace mbcc::corpus
