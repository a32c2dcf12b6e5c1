// A strict reader of one JSON document for the corpus files (manifests, probe output). A
// JsonValue is one value at a JSON path; each getter checks type and range and, on the first
// mismatch, records an Error naming the path, the value found and what was allowed. Later reads
// return defaults, so a parser reads straight through and checks `error()` once at the end.
// Internal to the corpus part.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/result.hpp"

namespace mbcc::corpus {

// "a, b, c": the names of `items` (projected by `name`), for the `allowed` part of errors.
template <class Range, class Projection>
std::string join_names(const Range& items, Projection name) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += std::string_view(std::invoke(name, item));
  }
  return out;
}

class JsonReader {
 public:
  explicit JsonReader(std::string source) : source_(std::move(source)) {}

  // Parses `text`; a syntax error is recorded and the root is null.
  const nlohmann::json& parse(std::string_view text);

  void fail(const std::string& path, std::string_view field, std::string found,
            std::string allowed);
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  std::string source_;
  nlohmann::json root_;
  std::optional<Error> error_;
};

class JsonValue {
 public:
  JsonValue(JsonReader& reader, const nlohmann::json* value, std::string path)
      : reader_(&reader), value_(value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool present() const { return value_ != nullptr; }
  bool is_null() const { return value_ == nullptr || value_->is_null(); }
  const nlohmann::json& raw() const;  // null when absent

  // A member of an object (absent members give a value that is not present()).
  JsonValue operator[](std::string_view key) const;

  std::string string() const;
  // A non-empty name usable as one path component: letters, digits and . _ + - only, not
  // starting with a dot.
  std::string name() const;
  bool boolean() const;
  int64_t integer(int64_t min, int64_t max) const;
  double number(double min, double max) const;
  std::vector<JsonValue> elements() const;                         // of an array
  std::vector<std::pair<std::string, JsonValue>> members() const;  // of an object
  std::vector<std::string> strings() const;                        // an array of strings
  // Records an error for the first member whose key is not in `keys` (strict schemas).
  void allow_only(std::initializer_list<std::string_view> keys) const;
  void fail(std::string found, std::string allowed) const;

 private:
  bool expect(bool ok, std::string_view allowed) const;
  std::string field() const;  // the last component of the path, for Error::field
  std::string found() const;  // the value, abridged

  JsonReader* reader_;
  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace mbcc::corpus
