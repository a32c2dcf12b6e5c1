// mbcc publish SRC DST: copies bundles between stores (a folder, s3://bucket/prefix). Every file
// is verified against the source manifest before it is sent, and each bundle's manifest goes
// last, so a reader of DST (which lists bundles by their manifests) never sees half a bundle,
// even when publish is killed midway. An existing bundle is kept unless --force; with --force
// its manifest is removed first, for the same reason. The store's expectations.toml goes along.
#include <fmt/format.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "base/gzip.hpp"
#include "check/check_result.hpp"
#include "check/plan.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/publish.hpp"
#include "cli/stores.hpp"
#include "corpus/bundle.hpp"
#include "corpus/manifest.hpp"
#include "corpus/pull.hpp"
#include "store/cache.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

// Where the bytes of a source file can be read, verified against the manifest: where the local
// store keeps it (the whole bundle validated, as check would), else the cache's verified copy,
// which is inflated.
class SourceFiles {
 public:
  SourceFiles(store::Store& source, std::optional<store::Cache> cache)
      : source_(source), cache_(std::move(cache)) {}

  Result<std::vector<corpus::FileLocation>> verified(const corpus::BundleKey& bundle,
                                                     const corpus::Manifest& manifest) {
    std::vector<corpus::FileLocation> places;
    if (!cache_) {  // a local store: the bundle is validated where it lies, as check does
      const fs::path dir = corpus::bundle_dir(source_.url(), bundle);
      auto valid = corpus::validate_bundle(dir);
      if (!valid) return valid.error();
      for (const corpus::BundleFile& file : manifest.files) {
        auto at = corpus::locate_bundle_file(dir, file);
        if (!at) return at.error();
        places.push_back(*at);
      }
      return places;
    }
    std::vector<store::CacheRequest> wanted;
    for (const corpus::BundleFile& file : manifest.files) {
      wanted.push_back(
          {corpus::stored_file_key(bundle, file), file.sha256, file.size, file.compressed});
    }
    auto fetched = cache_->fetch(source_, wanted);
    if (!fetched) return fetched.error();
    for (const fs::path& path : fetched->paths) places.push_back({path, false});
    return places;
  }

 private:
  store::Store& source_;
  std::optional<store::Cache> cache_;
};

// Sends one file to `key`, in the form the destination keeps it (gzip'd when the manifest says
// "compressed"), from where the source has it (a packed local store keeps every file gzip'd).
Status send_file(store::Store& destination, const std::string& key, const corpus::BundleFile& file,
                 const corpus::FileLocation& from) {
  if (from.gzipped == file.compressed) return destination.put(key, from.path);
  auto content = read_file(from.path);
  if (!content) return content.error();
  const std::span<const std::byte> bytes = content->bytes();
  if (from.gzipped) {
    auto text = gunzip(bytes, from.path.string(), file.size);
    if (!text) return text.error();
    return destination.put_bytes(key, *text);
  }
  const std::vector<std::byte> packed =
      gzip({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  return destination.put_bytes(key, {reinterpret_cast<const char*>(packed.data()), packed.size()});
}

// The store's known breaks go with its bundles, unless DST has its own (and no --force).
Status publish_expectations(store::Store& source, store::Store& destination, bool force) {
  constexpr std::string_view kName = corpus::kExpectationsName;
  auto has = source.exists(kName);
  if (!has) return has.error();
  if (!*has) return Ok{};
  auto there = destination.exists(kName);
  if (!there) return there.error();
  if (*there && !force) return Ok{};
  auto text = source.read(kName, corpus::kMaxExpectationsBytes);
  if (!text) return text.error();
  return destination.put_bytes(kName, *text);
}

}  // namespace

int run_publish(const PublishArgs& args) {
  ProgressLine progress;
  auto source = open_store(args.source, args.store_args, progress);
  auto destination = open_store(args.destination, args.store_args, progress);
  for (const auto* opened : {&source, &destination}) {
    if (!opened->ok()) {
      fmt::print(stderr, "mbcc publish: {}\n", opened->error().message());
      return kExitRunFailed;
    }
  }
  std::optional<store::Cache> cache;
  if (store::is_s3_url(args.source)) {
    auto opened = open_cache(args.store_args);
    if (!opened) {
      fmt::print(stderr, "mbcc publish: {}\n", opened.error().message());
      return kExitRunFailed;
    }
    cache = std::move(opened).value();
  }
  auto listed = corpus::list_store_bundles(**source);
  auto present = corpus::list_store_bundles(**destination);
  for (const auto* listing : {&listed, &present}) {
    if (!listing->ok()) {
      fmt::print(stderr, "mbcc publish: {}\n", listing->error().message());
      return kExitRunFailed;
    }
  }
  std::set<corpus::BundleKey> existing;
  for (const corpus::StoreBundle& bundle : *present) existing.insert(bundle.key);
  std::vector<corpus::BundleKey> keys;
  for (const corpus::StoreBundle& bundle : *listed) keys.push_back(bundle.key);
  const std::vector<corpus::BundleKey> chosen = select_bundles(keys, bundle_filters(args.bundles));

  SourceFiles files(**source, std::move(cache));
  std::size_t published = 0, kept = 0, refused = 0;
  std::set<std::string> shared_sent;  // shared objects this run has sent or found there
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const corpus::BundleKey& bundle = chosen[i];
    progress.update("bundles", i, chosen.size(), bundle.to_string());
    const bool exists = existing.contains(bundle);
    if (exists && !args.force) {
      ++kept;
      continue;
    }
    if (args.dry_run) {
      fmt::print("would publish {}{}\n", bundle.to_string(), exists ? " (replacing it)" : "");
      ++published;
      continue;
    }
    const std::string manifest_key = corpus::bundle_object_key(bundle, corpus::kManifestName);
    auto text = (*source)->read(manifest_key, corpus::kMaxManifestBytes);
    if (!text) {
      progress.clear();
      fmt::print(stderr, "mbcc publish: {}\n", text.error().message());
      return kExitRunFailed;
    }
    auto manifest = corpus::parse_manifest(*text, args.source + " " + manifest_key);
    auto paths = manifest ? files.verified(bundle, *manifest)
                          : Result<std::vector<corpus::FileLocation>>(manifest.error());
    if (!paths) {
      // The source's own bundle is bad: never spread it; the others still go.
      progress.clear();
      fmt::print(stderr, "refused {}: {}\n", bundle.to_string(), paths.error().message());
      ++refused;
      continue;
    }
    Status sent = Ok{};
    if (exists) sent = (*destination)->remove(manifest_key);  // invisible while replaced
    for (std::size_t f = 0; sent.ok() && f < paths->size(); ++f) {
      const corpus::BundleFile& file = manifest->files[f];
      const std::string key = corpus::stored_file_key(bundle, file);
      if (file.shared) {  // content kept once: sent only when the destination lacks it
        if (!shared_sent.insert(key).second) continue;
        auto there = (*destination)->exists(key);
        if (!there) sent = there.error();
        if (!there || *there) continue;
      }
      sent = send_file(**destination, key, file, (*paths)[f]);
    }
    if (sent.ok()) sent = (*destination)->put_bytes(manifest_key, *text);
    if (!sent.ok()) {
      progress.clear();
      fmt::print(stderr, "mbcc publish: {}: {}\n", bundle.to_string(), sent.error().message());
      return kExitRunFailed;
    }
    ++published;
  }
  progress.clear();
  if (!args.dry_run) {
    Status sent = publish_expectations(**source, **destination, args.force);
    if (!sent.ok()) {
      fmt::print(stderr, "mbcc publish: {}\n", sent.error().message());
      return kExitRunFailed;
    }
  }
  fmt::print("{}{} bundles {}published to {}, {} already there and kept{}, {} refused\n",
             args.dry_run ? "dry run: " : "", published, args.dry_run ? "would be " : "",
             args.destination, kept, args.force ? "" : " (--force replaces them)", refused);
  return refused == 0 ? kExitClean : kExitFailures;
}

void add_publish(CLI::App& app, int& exit_code) {
  auto* publish =
      app.add_subcommand("publish", "Copy bundles from one store to another, each manifest last");
  auto args = std::make_shared<PublishArgs>();
  publish->add_option("SRC", args->source, "a folder or s3://bucket/prefix")->required();
  publish->add_option("DST", args->destination, "a folder or s3://bucket/prefix")->required();
  publish->add_flag("--force", args->force, "replace bundles DST already has");
  publish->add_flag("--dry-run", args->dry_run, "say what would be published, send nothing");
  add_bundle_glob_options(*publish, args->bundles);
  add_store_options(*publish, args->store_args);
  publish->callback([args, &exit_code] { exit_code = run_publish(*args); });
}

}  // namespace mbcc::cli
