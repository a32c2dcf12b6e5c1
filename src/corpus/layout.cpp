#include "corpus/layout.hpp"

#include <algorithm>
#include <system_error>

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxNameLength = 64;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

// The sub-folders of `dir` that are layout names, sorted.
Result<std::vector<std::string>> layout_children(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory(ec) && check_layout_name(name, "folder").ok()) names.push_back(name);
  }
  if (ec) return Error::plain(dir.string(), "cannot list the folder: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string BundleKey::to_string() const { return producer + "/" + model + "/" + save_api; }

Status check_layout_name(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && name.front() != '.' &&
            std::all_of(name.begin(), name.end(), is_name_char);
  if (ok) return Ok{};
  Error e;
  e.source = std::string(what);
  e.found = "\"" + std::string(name) + "\"";
  e.allowed = "1 to 64 letters, digits and . _ + -, not starting with a dot";
  return e;
}

fs::path release_dir(const fs::path& store, std::string_view producer) {
  return store / kLayoutDir / producer;
}

fs::path bundle_dir(const fs::path& store, const BundleKey& key) {
  return release_dir(store, key.producer) / key.model / key.save_api;
}

std::string bundle_object_key(const BundleKey& key, std::string_view path) {
  return std::string(kLayoutDir) + "/" + key.to_string() + "/" + std::string(path);
}

std::string shared_object_key(std::string_view sha256, bool compressed) {
  return std::string(kSharedDir) + "/" + std::string(sha256.substr(0, 2)) + "/" +
         std::string(sha256) + (compressed ? std::string(kCompressedSuffix) : "");
}

fs::path shared_file_path(const fs::path& store, std::string_view sha256, bool compressed) {
  return store / shared_object_key(sha256, compressed);
}

fs::path store_of_bundle(const fs::path& bundle_dir) {
  return bundle_dir.parent_path().parent_path().parent_path().parent_path();
}

bool has_shared_files(const fs::path& store) {
  std::error_code ec;
  return fs::is_directory(store / kSharedDir, ec);
}

Result<std::vector<BundleKey>> list_bundles(const fs::path& store) {
  std::vector<BundleKey> keys;
  fs::path root = store / kLayoutDir;
  std::error_code ec;
  if (!fs::exists(root, ec)) return keys;
  Result<std::vector<std::string>> producers = layout_children(root);
  if (!producers.ok()) return producers.error();
  for (const std::string& producer : *producers) {
    Result<std::vector<std::string>> models = layout_children(root / producer);
    if (!models.ok()) return models.error();
    for (const std::string& model : *models) {
      Result<std::vector<std::string>> apis = layout_children(root / producer / model);
      if (!apis.ok()) return apis.error();
      for (const std::string& api : *apis) {
        BundleKey key{producer, model, api};
        const fs::path dir = bundle_dir(store, key);
        if (fs::exists(dir / kManifestName, ec) || fs::exists(dir / kUnconvertedName, ec)) {
          keys.push_back(std::move(key));
        }
      }
    }
  }
  return keys;
}

}  // namespace mbcc::corpus
