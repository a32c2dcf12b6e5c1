#include "corpus/bundle.hpp"

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/gzip.hpp"
#include "base/sha256.hpp"
#include "corpus/layout.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"
#include "formats/sniff.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

Error file_error(const fs::path& file, std::string field, std::string found, std::string allowed,
                 std::string detail = {}) {
  Error e;
  e.source = file.string();
  e.field = std::move(field);
  e.found = std::move(found);
  e.allowed = std::move(allowed);
  e.detail = std::move(detail);
  return e;
}

std::string_view as_text(const FileBytes& file) {
  return {reinterpret_cast<const char*>(file.bytes().data()), file.size};
}

Result<nlohmann::json> parse_json_object(const FileBytes& file, const fs::path& path) {
  nlohmann::json value = nlohmann::json::parse(as_text(file), nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return file_error(path, "json",
                      value.is_discarded() ? "text that is not JSON" : value.type_name(),
                      "a JSON object");
  }
  return value;
}

// Block.save's model JSON keeps each hybridized graph as a string under "symbol" (and the
// graph inputs under "inputs"); every such graph must parse like a symbol file.
Status check_embedded_graphs(const nlohmann::json& value, const fs::path& path,
                             const std::string& where) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      std::string at = where + "." + key;
      if (key == "symbol" && member.is_string()) {
        std::string source = path.string();
        source.append(" ").append(at);
        Result<SymbolFile> graph = parse_symbol_json(member.get<std::string>(), source);
        if (!graph.ok()) return graph.error();
      } else {
        MBCC_TRY(check_embedded_graphs(member, path, at));
      }
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      MBCC_TRY(check_embedded_graphs(value[i], path, where + "[" + std::to_string(i) + "]"));
    }
  }
  return Ok{};
}

// A golden tensor (an .npy, or an archive member named by `field_prefix`) must have the shape
// and dtype its manifest entry lists.
Status check_like_entry(const Tensor& tensor, const fs::path& path, const TensorEntry& entry,
                        const std::string& field_prefix = {}) {
  if (tensor.shape() != entry.shape) {
    return file_error(path, field_prefix + "shape", shape_to_string(tensor.shape()),
                      shape_to_string(entry.shape) + " (manifest)");
  }
  if (tensor.dtype() != entry.dtype) {
    return file_error(path, field_prefix + "dtype", std::string(dtype_info(tensor.dtype()).name),
                      std::string(dtype_info(entry.dtype).name) + " (manifest)");
  }
  return Ok{};
}

Status check_tensor(const FileBytes& file, const fs::path& path, const TensorEntry& entry) {
  Result<Tensor> tensor = parse_npy(file.bytes(), file.owner, path.string());
  if (!tensor.ok()) return tensor.error();
  return check_like_entry(*tensor, path, entry);
}

Status check_params(const FileBytes& file, const fs::path& path) {
  FileKind kind = sniff_file_kind(file.bytes());
  if (kind == FileKind::kNDArrayList) {
    Result<NDArrayList> list = parse_ndarray_list(file.bytes(), file.owner, path.string());
    if (!list.ok()) return list.error();
    return Ok{};
  }
  if (kind == FileKind::kNpz) {
    Result<std::vector<NpzEntry>> entries = parse_npz(file.bytes(), path.string());
    if (!entries.ok()) return entries.error();
    return Ok{};
  }
  return file_error(path, "params", std::string(file_kind_name(kind)),
                    "an NDArray list file or an npz archive");
}

// An internals archive must hold exactly the members the manifest names, each with its listed
// shape and dtype.
Status check_archive(const BundleFile& listed, const FileBytes& file, const fs::path& path,
                     const Manifest& manifest) {
  Result<std::vector<NpzEntry>> members = parse_npz(file.bytes(), path.string());
  if (!members.ok()) return members.error();
  std::map<std::string, const NDArrayRecord*> by_name;
  for (const NpzEntry& m : *members) by_name[m.name] = &m.array;
  std::size_t named = 0;
  for (const InternalEntry& e : manifest.internals.outputs) {
    if (e.member.empty() || e.tensor.file != listed.path) continue;
    ++named;
    auto it = by_name.find(e.member);
    if (it == by_name.end()) {
      return file_error(path, "member", "no member " + e.member, "every member the manifest names");
    }
    if (it->second->storage != StorageType::kDefault) {
      return file_error(path, e.member, "a sparse array", "a dense array (manifest)");
    }
    MBCC_TRY(check_like_entry(it->second->values, path, e.tensor, e.member + "."));
  }
  if (named != by_name.size()) {
    return file_error(path, "members", std::to_string(by_name.size()) + " members",
                      std::to_string(named) + " (the internals the manifest names)");
  }
  return Ok{};
}

// Parses one file according to its role; `tensors` maps tensor files to their manifest entry.
Status check_contents(const BundleFile& listed, const FileBytes& file, const fs::path& path,
                      const std::map<std::string, const TensorEntry*>& tensors,
                      const Manifest& manifest) {
  switch (listed.role) {
    case FileRole::kSymbol: {
      Result<SymbolFile> graph = parse_symbol_json(as_text(file), path.string());
      if (!graph.ok()) return graph.error();
      return Ok{};
    }
    case FileRole::kParams:
      return check_params(file, path);
    case FileRole::kModelJson: {
      Result<nlohmann::json> value = parse_json_object(file, path);
      if (!value.ok()) return value.error();
      return check_embedded_graphs(*value, path, "$");
    }
    case FileRole::kInput:
    case FileRole::kOutput:
    case FileRole::kInternal:
      return check_tensor(file, path, *tensors.at(listed.path));
    case FileRole::kInternalsArchive:
      return check_archive(listed, file, path, manifest);
    case FileRole::kBlockSource:  // Python code: its sha256 is all there is to check
      return Ok{};
    case FileRole::kInternalsIndex:
    case FileRole::kProbe: {
      Result<nlohmann::json> value = parse_json_object(file, path);
      if (!value.ok()) return value.error();
      return Ok{};
    }
  }
  return Ok{};
}

// Every regular file under `dir` but the manifest must be listed; nothing else may be there.
Status check_no_unlisted(const fs::path& dir, const Manifest& manifest) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    std::string relative = it->path().lexically_relative(dir).generic_string();
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      return file_error(it->path(), "files", "a symlink or special file", "regular files only");
    }
    if (relative == kManifestName) continue;
    if (manifest.find_file(relative) == nullptr) {
      return file_error(it->path(), "files", "a file the manifest does not list",
                        "only the files listed in " + std::string(kManifestName));
    }
  }
  if (ec) return Error::plain(dir.string(), "cannot list the bundle: " + ec.message());
  return Ok{};
}

// Schema 3: the internals' entries, from the index file the manifest names; each must name a
// member of a listed internals archive.
Status read_internals_index(const fs::path& dir, Manifest& manifest) {
  if (manifest.internals.index.empty()) return Ok{};
  const BundleFile* listed = manifest.find_file(manifest.internals.index);
  if (listed == nullptr)
    return Error::plain(manifest.internals.index, "not listed in the manifest");
  Result<FileLocation> at = locate_bundle_file(dir, *listed);
  if (!at.ok()) return at.error();
  Result<FileBytes> bytes = read_located_file(*at, *listed);
  if (!bytes.ok()) return bytes.error();
  const fs::path& path = at->path;
  if (bytes->size != listed->size || sha256_hex(bytes->bytes()) != listed->sha256) {
    return file_error(path, "sha256", "other bytes", listed->sha256 + " (manifest)");
  }
  Result<std::vector<InternalEntry>> outputs =
      parse_internals_index(as_text(*bytes), path.string());
  if (!outputs.ok()) return outputs.error();
  for (const InternalEntry& e : *outputs) {
    const BundleFile* archive = manifest.find_file(e.tensor.file);
    if (archive == nullptr || archive->role != FileRole::kInternalsArchive) {
      return file_error(path, e.name + ".file", e.tensor.file,
                        "a listed file of role internals-archive");
    }
  }
  manifest.internals.outputs = std::move(*outputs);
  return Ok{};
}

}  // namespace

Result<Manifest> validate_bundle(const fs::path& dir) {
  std::error_code marker_ec;
  if (fs::exists(dir / kUnconvertedName, marker_ec)) {
    Result<FileBytes> reason = read_file(dir / kUnconvertedName);
    if (!reason.ok()) return reason.error();
    std::string text(as_text(*reason));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return Error::plain("not converted from the store's layout", text);
  }
  Result<Manifest> manifest = read_manifest(dir / kManifestName);
  if (!manifest.ok()) return manifest.error();
  MBCC_TRY(check_no_unlisted(dir, *manifest));
  MBCC_TRY(read_internals_index(dir, *manifest));

  std::map<std::string, const TensorEntry*> tensors;
  for (const TensorEntry& e : manifest->inputs) tensors[e.file] = &e;
  for (const TensorEntry& e : manifest->outputs) tensors[e.file] = &e;
  for (const InternalEntry& e : manifest->internals.outputs) {
    if (e.member.empty()) tensors[e.tensor.file] = &e.tensor;
  }

  for (const BundleFile& listed : manifest->files) {
    Result<FileLocation> at = locate_bundle_file(dir, listed);
    if (!at.ok()) return at.error();
    const fs::path& path = at->path;
    // A large file is hashed as a stream and parsed from a lazy map: its readers touch only
    // its headers, so it never becomes resident. (A gzip'd object is unpacked.)
    const bool large = listed.size >= kStreamedFileBytes && !at->gzipped;
    Result<FileBytes> file = large ? map_file(path) : read_located_file(*at, listed);
    if (!file.ok()) return file.error();
    if (file->size != listed.size) {
      return file_error(path, "size", std::to_string(file->size) + " bytes",
                        std::to_string(listed.size) + " bytes (manifest)");
    }
    Result<std::string> hashed = large ? sha256_file(path) : sha256_hex(file->bytes());
    if (!hashed.ok()) return hashed.error();
    const std::string& sha256 = *hashed;
    if (sha256 != listed.sha256) {
      return file_error(path, "sha256", sha256, listed.sha256 + " (manifest)");
    }
    MBCC_TRY(check_contents(listed, *file, path, tensors, *manifest));
  }
  return manifest;
}

Result<FileLocation> locate_bundle_file(const fs::path& dir, const BundleFile& file) {
  const fs::path in_bundle = dir / file.path;
  const fs::path store = store_of_bundle(dir);
  const std::array<FileLocation, 3> places = {{{in_bundle, false},
                                               {shared_file_path(store, file.sha256, true), true},
                                               {shared_file_path(store, file.sha256), false}}};
  for (const FileLocation& place : places) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(place.path, ec))) return place;
  }
  return file_error(in_bundle, "files", "nothing",
                    "the file listed in " + std::string(kManifestName) +
                        ", in the bundle's folder or the store's shared one (" +
                        places[1].path.string() + " or " + places[2].path.string() + ")");
}

Result<FileBytes> read_bundle_file(const fs::path& dir, const BundleFile& file) {
  Result<FileLocation> at = locate_bundle_file(dir, file);
  if (!at.ok()) return at.error();
  return read_located_file(*at, file);
}

Result<FileBytes> read_located_file(const FileLocation& at, const BundleFile& file) {
  Result<FileBytes> bytes = read_file(at.path);
  if (!bytes.ok() || !at.gzipped) return bytes;
  // No more than the manifest says, so a damaged object cannot fill the memory.
  Result<std::string> text = gunzip(bytes->bytes(), at.path.string(), file.size);
  if (!text.ok()) return text.error();
  auto owner = std::make_shared<std::byte[]>(text->size());
  std::memcpy(owner.get(), text->data(), text->size());
  return FileBytes{std::move(owner), text->size()};
}

std::string stored_file_key(const BundleKey& bundle, const BundleFile& file) {
  return file.shared ? shared_object_key(file.sha256, file.compressed)
                     : bundle_object_key(bundle, file.path);
}

Result<std::vector<Tensor>> read_internal_values(const fs::path& dir, const Manifest& manifest) {
  std::map<std::string, std::map<std::string, Tensor>> archives;  // file -> member -> value
  std::vector<Tensor> values;
  for (const InternalEntry& e : manifest.internals.outputs) {
    const BundleFile* listed = manifest.find_file(e.tensor.file);
    if (listed == nullptr) return Error::plain(e.tensor.file, "not listed in the manifest");
    const std::string source = (dir / listed->path).string();
    if (e.member.empty()) {
      Result<FileBytes> bytes = read_bundle_file(dir, *listed);
      if (!bytes.ok()) return bytes.error();
      Result<Tensor> value = parse_npy(bytes->bytes(), bytes->owner, source);
      if (!value.ok()) return value.error();
      values.push_back(std::move(*value));
      continue;
    }
    auto archive = archives.find(e.tensor.file);
    if (archive == archives.end()) {
      Result<FileBytes> bytes = read_bundle_file(dir, *listed);
      if (!bytes.ok()) return bytes.error();
      Result<std::vector<NpzEntry>> members = parse_npz(bytes->bytes(), source);
      if (!members.ok()) return members.error();
      archive = archives.emplace(e.tensor.file, std::map<std::string, Tensor>{}).first;
      for (NpzEntry& m : *members) archive->second.emplace(m.name, std::move(m.array.values));
    }
    auto member = archive->second.find(e.member);
    if (member == archive->second.end()) {
      return Error::plain(source, "holds no member " + e.member);
    }
    values.push_back(member->second);
  }
  return values;
}

bool same_files(const Manifest& a, const Manifest& b) { return a.files == b.files; }

}  // namespace mbcc::corpus
