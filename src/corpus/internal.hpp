// Internals of the corpus part shared by its .cpp files: the JSON shapes that manifests and the
// probe's own files have in common.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

#include "corpus/json_reader.hpp"
#include "corpus/manifest.hpp"

namespace mbcc::corpus::detail {

// {file, name, shape, dtype[, kind]}: `with_kind` for inputs, which must have one.
TensorEntry read_tensor_entry(const JsonValue& value, bool with_kind);
nlohmann::json tensor_entry_json(const TensorEntry& entry);

// {index, name, node, op, output, file, shape, dtype}, as the probe's internals index has it.
InternalEntry read_internal_entry(const JsonValue& value);
nlohmann::json internal_entry_json(const InternalEntry& entry);

// The "producer" object without the fields mbcc adds (version, requirement, created).
void read_producer_facts(const JsonValue& value, Producer& producer);

// The "self_check" array.
std::vector<SelfCheck> read_self_checks(const JsonValue& value);

// The "seeds" object: numbers, or strings saying how a stream was derived.
std::map<std::string, SeedValue> read_seeds(const JsonValue& value);

// The "origin" object (manifest and probe.json alike), and back.
Origin read_origin(const JsonValue& value);
nlohmann::json origin_json(const Origin& origin);

// Now, as a manifest's "created": "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_now();

// A bundle-relative path: '/'-separated, no empty, "." or ".." part, not absolute.
bool is_bundle_path(std::string_view path);

// rename(2) that fails with EEXIST (or ENOTEMPTY) rather than replace `to`; errno says why.
int rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to);

// Moves the file at `from`, a listed `file` of a bundle, into the store's shared folder gzip'd
// (shared_file_path(store, sha256, true)), through a temporary file in `scratch` (on the store's
// file system); returns whether it wrote a new object. Its bytes must match the listing. Content
// already there is not written again, but is checked, as `from` goes only once the object is in
// place and holds the same bytes.
Result<bool> move_to_shared(const std::filesystem::path& from, const BundleFile& file,
                            const std::filesystem::path& store,
                            const std::filesystem::path& scratch);

// Removes the folders of the bundle in `dir` that its files left empty (each takes a block on
// disk); returns how many.
std::size_t remove_emptied_folders(const std::filesystem::path& dir, const Manifest& manifest);

}  // namespace mbcc::corpus::detail
