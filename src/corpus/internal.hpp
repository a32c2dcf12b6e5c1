// Internals of the corpus part shared by its .cpp files: the JSON shapes that manifests and the
// probe's own files have in common.
#pragma once

#include <nlohmann/json.hpp>

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

}  // namespace mbcc::corpus::detail
