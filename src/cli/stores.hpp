// How the commands open stores: the options every store-using command shares (--s3-endpoint,
// --connections, the cache), and a remote store made local for `mbcc check`.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/locked_dir.hpp"
#include "base/result.hpp"
#include "check/plan.hpp"
#include "check/run_cache.hpp"
#include "cli/progress.hpp"
#include "store/cache.hpp"
#include "store/store.hpp"

namespace mbcc::cli {

struct StoreArgs {
  std::string s3_endpoint;
  int connections = 8;
  std::string cache_dir;   // empty: the user's cache folder
  double cache_gb = 20.0;  // the cache is trimmed to this after a pull
};

void add_store_options(CLI::App& command, StoreArgs& args);

// Which bundles a command takes: globs over the producer, the model and the save API.
struct BundleGlobs {
  std::vector<std::string> producers;
  std::vector<std::string> models;
  std::vector<std::string> save_apis;
};

void add_bundle_glob_options(CLI::App& command, BundleGlobs& globs);
Filters bundle_filters(const BundleGlobs& globs);

// The store at `url` (s3://bucket/prefix or a folder), with transfers drawn on `progress`.
Result<std::unique_ptr<store::Store>> open_store(const std::string& url, const StoreArgs& args,
                                                 ProgressLine& progress);

// The cache the options name. Trim it only when nothing links into it any more.
Result<store::Cache> open_cache(const StoreArgs& args);
// The candidate runs kept across checks (check/run_cache.hpp): run-cache/ beside the store
// cache, trimmed to the same size.
Result<RunCache> open_run_cache(const StoreArgs& args);

// A new empty folder beside the cache for a view: on the cache's file system, so that the view's
// files are hard links rather than copies. It goes with the object; the views of runs that were
// killed are deleted here first.
Result<LockedDir> make_view_dir(const StoreArgs& args);

// The bundles of the store at `url` that `filters` keep (globs and shard), fetched through the
// cache into `view`, a local store of hard links into the cache; says on stderr what was
// transferred.
Status pull_store(const std::string& url, const StoreArgs& args, const Filters& filters,
                  const std::filesystem::path& view);

// The same for a store in the original MXNet nightly layout: every model folder the filters
// keep, converted into a bundle of `view` (corpus/original_layout.hpp); says on stderr what was
// skipped and what could not be converted.
Status pull_original_store(const std::string& url, const StoreArgs& args, const Filters& filters,
                           const std::filesystem::path& view);

}  // namespace mbcc::cli
