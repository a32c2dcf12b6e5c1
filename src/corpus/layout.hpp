// The layout of a local store: STORE/v1/<producer-version>/<model>/<save-api>/ holds one bundle,
// STORE/v1/<producer-version>/generation-log.json says what became of every case of that
// release. Folders starting with a dot are work in progress of a generate run and never
// bundles.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc::corpus {

inline constexpr std::string_view kLayoutDir = "v1";
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kGenerationLogName = "generation-log.json";
// The store's known breaks, beside v1/; small, as people write it by hand.
inline constexpr std::string_view kExpectationsName = "expectations.toml";
inline constexpr std::uint64_t kMaxExpectationsBytes = 4u << 20;
// In a bundle folder instead of a manifest: a bundle of another layout that could not be
// converted (corpus/original_layout.hpp), with the reason as its text. It is a bundle, and a
// corrupt one.
inline constexpr std::string_view kUnconvertedName = "unconverted.txt";

// Files that many bundles hold byte for byte are kept once, at STORE/objects/<aa>/<sha256>
// (aa: the first two hex digits); a manifest marks them "shared". Local stores and S3 alike.
inline constexpr std::string_view kSharedDir = "objects";

// Names one bundle in a store.
struct BundleKey {
  std::string producer;  // "1.9.1"
  std::string model;     // "lstm"
  std::string save_api;  // "gluon-export"
  auto operator<=>(const BundleKey&) const = default;
  std::string to_string() const;  // "1.9.1/lstm/gluon-export"
};

// Whether `name` can be one folder of the layout: 1 to 64 letters, digits and . _ + -, not
// starting with a dot. The error says which part (`what`) is wrong.
Status check_layout_name(std::string_view name, std::string_view what);

std::filesystem::path release_dir(const std::filesystem::path& store, std::string_view producer);
std::filesystem::path bundle_dir(const std::filesystem::path& store, const BundleKey& key);
// The store key of a bundle's file: "v1/<producer>/<model>/<save-api>/<path>".
std::string bundle_object_key(const BundleKey& key, std::string_view path);

// A shared file kept gzip'd (schema 3) is STORE/objects/<aa>/<sha256>.gz; its sha256 and size
// are those of the file itself.
inline constexpr std::string_view kCompressedSuffix = ".gz";

// Where a shared file's bytes are: in a local store, and as a store key.
std::filesystem::path shared_file_path(const std::filesystem::path& store, std::string_view sha256,
                                       bool compressed = false);
std::string shared_object_key(std::string_view sha256, bool compressed = false);
// The store a bundle folder belongs to (the bundle is STORE/v1/<producer>/<model>/<save-api>).
std::filesystem::path store_of_bundle(const std::filesystem::path& bundle_dir);
// Whether the local store keeps shared files (has a shared folder).
bool has_shared_files(const std::filesystem::path& store);

// Every bundle of the store (a folder at bundle depth that holds a manifest, or
// kUnconvertedName), sorted. A store
// without a v1 folder has none.
Result<std::vector<BundleKey>> list_bundles(const std::filesystem::path& store);

}  // namespace mbcc::corpus
