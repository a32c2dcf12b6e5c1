#include "cli/stores.hpp"

#include <fmt/format.h>

#include "base/file.hpp"
#include "corpus/original_layout.hpp"
#include "corpus/pull.hpp"
#include "store/cache.hpp"

namespace mbcc::cli {

namespace fs = std::filesystem;

void add_store_options(CLI::App& command, StoreArgs& args) {
  command.add_option("--s3-endpoint", args.s3_endpoint,
                     "S3 endpoint URL, path-style (default: AWS_ENDPOINT_URL_S3, "
                     "AWS_ENDPOINT_URL, else AWS itself)");
  command.add_option("--connections", args.connections, "parallel transfers")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command.add_option("--cache-dir", args.cache_dir,
                     "the content-addressed cache of store files (default: "
                     "~/.cache/mbcc/store-cache)");
  command
      .add_option("--cache-size", args.cache_gb,
                  "GB the store cache is trimmed to after a pull (and the run cache of `mbcc "
                  "check` after a run)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void add_bundle_glob_options(CLI::App& command, BundleGlobs& globs) {
  command.add_option("--producer", globs.producers, "only producers matching this glob");
  command.add_option("--model", globs.models, "only models matching this glob");
  command.add_option("--save-api", globs.save_apis, "only save APIs matching this glob");
}

Filters bundle_filters(const BundleGlobs& globs) {
  return {{globs.producers}, {globs.models}, {globs.save_apis}, {}, {}};
}

Result<std::unique_ptr<store::Store>> open_store(const std::string& url, const StoreArgs& args,
                                                 ProgressLine& progress) {
  store::StoreOptions options;
  options.s3_endpoint = args.s3_endpoint;
  options.connections = args.connections;
  options.progress = [&progress](const store::TransferProgress& p) {
    progress.update("files", p.objects_done, p.objects_total,
                    format_bytes(p.bytes_done) + " of " + format_bytes(p.bytes_total));
  };
  return store::open_store(url, options);
}

Result<store::Cache> open_cache(const StoreArgs& args) {
  fs::path dir = args.cache_dir;
  if (dir.empty()) {
    auto default_dir = store::Cache::default_dir();
    if (!default_dir) return default_dir.error();
    dir = *default_dir;
  }
  return store::Cache(dir, static_cast<std::uint64_t>(args.cache_gb * 1e9));
}

Result<RunCache> open_run_cache(const StoreArgs& args) {
  auto cache = open_cache(args);
  if (!cache) return cache.error();
  return RunCache(cache->dir().parent_path() / "run-cache",
                  static_cast<std::uint64_t>(args.cache_gb * 1e9));
}

Result<LockedDir> make_view_dir(const StoreArgs& args) {
  auto cache = open_cache(args);
  if (!cache) return cache.error();
  const fs::path views = cache->dir().parent_path() / "store-views";
  remove_abandoned_dirs(views, "view");
  return LockedDir::create(views, "view");
}

namespace {

// The items of a store's listing (each with its bundle `key`) that `filters` keep, in order.
template <typename Item>
std::vector<Item> kept_by(const std::vector<Item>& listed, const Filters& filters) {
  std::vector<corpus::BundleKey> keys;
  for (const Item& item : listed) keys.push_back(item.key);
  const std::vector<corpus::BundleKey> kept = select_bundles(keys, filters);
  std::vector<Item> wanted;
  for (const Item& item : listed) {
    if (std::binary_search(kept.begin(), kept.end(), item.key)) wanted.push_back(item);
  }
  return wanted;
}

}  // namespace

Status pull_store(const std::string& url, const StoreArgs& args, const Filters& filters,
                  const fs::path& view) {
  ProgressLine progress;
  auto source = open_store(url, args, progress);
  if (!source) return source.error();
  auto listed = corpus::list_store_bundles(**source);
  if (!listed) return listed.error();
  const std::vector<corpus::StoreBundle> wanted = kept_by(*listed, filters);

  auto cache = open_cache(args);
  if (!cache) return cache.error();
  auto pulled = corpus::pull_bundles(**source, *cache, wanted, view);
  progress.clear();
  if (!pulled) return pulled.error();
  fmt::print(stderr, "{}: {} bundles; {} files downloaded ({}), {} from the cache; manifests {}\n",
             url, pulled->bundles.size(), pulled->downloaded.objects,
             format_bytes(pulled->downloaded.bytes), pulled->cache_hits,
             format_bytes(pulled->manifest_bytes));
  return Ok{};
}

Status pull_original_store(const std::string& url, const StoreArgs& args, const Filters& filters,
                           const fs::path& view) {
  ProgressLine progress;
  auto source = open_store(url, args, progress);
  if (!source) return source.error();
  auto listed = corpus::list_original_layout(**source);
  if (!listed) return listed.error();
  for (const std::string& skipped : listed->skipped) {
    fmt::print(stderr, "{}: skipped {}\n", url, skipped);
  }
  auto pulled = corpus::pull_original_layout(**source, kept_by(listed->folders, filters), view);
  progress.clear();
  if (!pulled) return pulled.error();
  for (const std::string& unconverted : pulled->unconverted) {
    fmt::print(stderr, "{}: cannot convert {}\n", url, unconverted);
  }
  fmt::print(stderr, "{} (original layout): {} bundles; {} files downloaded ({})\n", url,
             pulled->bundles.size(), pulled->downloaded.objects,
             format_bytes(pulled->downloaded.bytes));
  return Ok{};
}

}  // namespace mbcc::cli
