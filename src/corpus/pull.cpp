#include "corpus/pull.hpp"

#include <optional>
#include <system_error>

#include "base/file.hpp"
#include "corpus/bundle.hpp"
#include "corpus/manifest.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

Status write_file(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Error::plain(path.parent_path().string(), "cannot create: " + ec.message());
  return write_file_atomic(path, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

// A cache failure that is the store's content being wrong rather than a transfer failing.
bool is_mismatch(const Error& error) { return error.field == "sha256" || error.field == "size"; }

// The files one bundle wants from the cache, and where each goes in the view.
struct BundleFiles {
  std::vector<store::CacheRequest> requests;
  std::vector<fs::path> destinations;
};

// Hard links, not symbolic ones: the check's validation takes regular files only. A copy where
// the cache is on another file system.
Status link_into_view(const BundleFiles& files, const std::vector<fs::path>& cached) {
  for (std::size_t i = 0; i < cached.size(); ++i) {
    std::error_code ec;
    fs::create_directories(files.destinations[i].parent_path(), ec);
    if (!ec) fs::create_hard_link(cached[i], files.destinations[i], ec);
    if (ec == std::errc::cross_device_link) {
      ec.clear();
      fs::copy_file(cached[i], files.destinations[i], ec);
    }
    if (ec) {
      return Error::plain(files.destinations[i].string(),
                          "cannot link the cached file into the view: " + ec.message());
    }
  }
  return Ok{};
}

// How the store keeps a listed file: under the key its manifest implies, but in a local store
// wherever locate_bundle_file finds it (a packed bundle keeps every file in the shared folder).
store::CacheRequest file_request(store::Store& store, const BundleKey& bundle,
                                 const BundleFile& file) {
  store::CacheRequest request{stored_file_key(bundle, file), file.sha256, file.size,
                              file.compressed};
  if (store::is_s3_url(store.url())) return request;
  const fs::path dir = bundle_dir(store.url(), bundle);
  Result<FileLocation> at = locate_bundle_file(dir, file);
  if (!at.ok()) return request;  // the fetch names the key it lacks
  const bool in_bundle = at->path == dir / file.path;
  request.key = in_bundle ? bundle_object_key(bundle, file.path)
                          : shared_object_key(file.sha256, at->gzipped);
  request.gzipped = at->gzipped;
  return request;
}

}  // namespace

Result<std::vector<StoreBundle>> list_store_bundles(store::Store& store) {
  auto objects = store.list(std::string(kLayoutDir) + "/");
  if (!objects) return objects.error();
  std::vector<StoreBundle> bundles;
  for (const store::ObjectInfo& object : *objects) {
    // v1/<producer>/<model>/<save-api>/manifest.json, nothing deeper or shallower
    std::vector<std::string_view> parts;
    std::string_view rest = object.key;
    while (!rest.empty()) {
      const std::size_t slash = std::min(rest.find('/'), rest.size());
      parts.push_back(rest.substr(0, slash));
      rest.remove_prefix(std::min(slash + 1, rest.size()));
    }
    if (parts.size() != 5 || parts[4] != kManifestName) continue;
    if (!check_layout_name(parts[1], "producer").ok() ||
        !check_layout_name(parts[2], "model").ok() ||
        !check_layout_name(parts[3], "save API").ok()) {
      continue;
    }
    bundles.push_back(
        {{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])}, object.size});
  }
  std::sort(bundles.begin(), bundles.end(),
            [](const StoreBundle& a, const StoreBundle& b) { return a.key < b.key; });
  return bundles;
}

Result<PullResult> pull_bundles(store::Store& store, store::Cache& cache,
                                const std::vector<StoreBundle>& bundles, const fs::path& view) {
  PullResult result;
  // Manifests first, all at once, straight into the view.
  std::vector<store::GetRequest> manifests;
  for (const StoreBundle& bundle : bundles) {
    const std::string key = bundle_object_key(bundle.key, kManifestName);
    if (bundle.manifest_size > kMaxManifestBytes) {
      Error e;
      e.source = store.url() + " " + key;
      e.field = "size";
      e.found = std::to_string(bundle.manifest_size);
      e.allowed = "at most " + std::to_string(kMaxManifestBytes) + " bytes for a manifest";
      return e;
    }
    const fs::path dest = bundle_dir(view, bundle.key) / kManifestName;
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Error::plain(dest.parent_path().string(), "cannot create: " + ec.message());
    manifests.push_back({key, dest, bundle.manifest_size});
    result.manifest_bytes += bundle.manifest_size;
    result.bundles.push_back(bundle.key);
  }
  auto got = store.get(manifests);
  if (!got) return got.error();

  // Then every file of every manifest that parses, through the cache.
  std::vector<BundleFiles> wanted(bundles.size());
  std::vector<store::CacheRequest> all;
  for (std::size_t b = 0; b < bundles.size(); ++b) {
    auto manifest = read_manifest(manifests[b].dest);
    if (!manifest) continue;  // copied as it is: the check says ARTIFACT_CORRUPT and why
    for (const BundleFile& file : manifest->files) {
      wanted[b].requests.push_back(file_request(store, bundles[b].key, file));
      wanted[b].destinations.push_back(bundle_dir(view, bundles[b].key) / file.path);
      all.push_back(wanted[b].requests.back());
    }
  }
  auto fetched = cache.fetch(store, all);
  if (fetched) {
    result.cache_hits = fetched->hits;
    result.downloaded = fetched->downloaded;
    std::size_t next = 0;
    for (const BundleFiles& files : wanted) {
      const std::vector<fs::path> cached(fetched->paths.begin() + next,
                                         fetched->paths.begin() + next + files.requests.size());
      next += files.requests.size();
      MBCC_TRY(link_into_view(files, cached));
    }
  } else if (is_mismatch(fetched.error())) {
    // Some file is not what its manifest says. Bundle by bundle, then: the good ones through the
    // cache, and a bad one straight into the view, never into the cache, so that the check's
    // validation names the file and the hash it found.
    for (const BundleFiles& files : wanted) {
      auto one = cache.fetch(store, files.requests);
      if (!one && !is_mismatch(one.error())) return one.error();
      if (one) {
        result.cache_hits += one->hits;
        result.downloaded.bytes += one->downloaded.bytes;
        result.downloaded.objects += one->downloaded.objects;
        result.downloaded.retries += one->downloaded.retries;
        MBCC_TRY(link_into_view(files, one->paths));
        continue;
      }
      std::vector<store::GetRequest> direct;
      for (std::size_t i = 0; i < files.requests.size(); ++i) {
        std::error_code ec;
        fs::create_directories(files.destinations[i].parent_path(), ec);
        direct.push_back({files.requests[i].key, files.destinations[i], 0});
      }
      auto raw = store.get(direct);
      if (!raw) return raw.error();
    }
  } else {
    return fetched.error();
  }

  auto has_expectations = store.exists(kExpectationsName);
  if (!has_expectations) return has_expectations.error();
  if (*has_expectations) {
    auto text = store.read(kExpectationsName, kMaxExpectationsBytes);
    if (!text) return text.error();
    MBCC_TRY(write_file(view / kExpectationsName, *text));
  }
  return result;
}

}  // namespace mbcc::corpus
