// mbcc pull STORE: fetches the bundles of a store into the verified cache, and with --to into a
// local folder that is itself a store: to warm a CI machine's cache before a sharded check, or
// to take a bucket's bundles offline.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "check/check_result.hpp"
#include "check/plan.hpp"
#include "cli/commands.hpp"
#include "cli/stores.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

struct PullArgs {
  std::string source;
  std::string to;  // empty: the cache only
  BundleGlobs bundles;
  std::string shard;
  StoreArgs store_args;
};

int run_pull(const PullArgs& args) {
  Filters filters = bundle_filters(args.bundles);
  if (!args.shard.empty()) {
    Result<Shard> shard = parse_shard(args.shard);
    if (!shard) {
      fmt::print(stderr, "mbcc pull: {}\n", shard.error().message());
      return kExitRunFailed;
    }
    filters.shard = *shard;
  }
  fs::path view = args.to;
  std::optional<LockedDir> view_dir;  // without --to: only the cache is filled
  std::error_code ec;
  if (view.empty()) {
    auto made = make_view_dir(args.store_args);
    if (!made) {
      fmt::print(stderr, "mbcc pull: {}\n", made.error().message());
      return kExitRunFailed;
    }
    view_dir.emplace(std::move(made).value());
    view = view_dir->path();
  } else if (fs::exists(view / "v1", ec)) {
    fmt::print(stderr, "mbcc pull: {} holds a store already; give an empty folder\n",
               view.string());
    return kExitRunFailed;
  }
  Status pulled = pull_store(args.source, args.store_args, filters, view);
  view_dir.reset();
  if (!pulled.ok()) {
    fmt::print(stderr, "mbcc pull: {}\n", pulled.error().message());
    return kExitRunFailed;
  }
  auto cache = open_cache(args.store_args);
  Status trimmed = cache.ok() ? cache->trim() : Status(cache.error());
  if (!trimmed.ok()) {
    fmt::print(stderr, "mbcc pull: {}\n", trimmed.error().message());
    return kExitRunFailed;
  }
  return kExitClean;
}

}  // namespace

void add_pull(CLI::App& app, int& exit_code) {
  auto* pull = app.add_subcommand(
      "pull", "Fetch the bundles of a store into the cache, verified, and optionally a folder");
  auto args = std::make_shared<PullArgs>();
  pull->add_option("STORE", args->source, "s3://bucket/prefix or a folder")->required();
  pull->add_option("--to", args->to, "also make this empty folder a local store of the bundles");
  add_bundle_glob_options(*pull, args->bundles);
  pull->add_option("--shard", args->shard,
                   "I/N: only the bundles `mbcc check --shard` would check");
  add_store_options(*pull, args->store_args);
  pull->callback([args, &exit_code] { exit_code = run_pull(*args); });
}

}  // namespace mbcc::cli
