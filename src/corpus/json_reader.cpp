#include "corpus/json_reader.hpp"

#include <algorithm>

#include "corpus/layout.hpp"

namespace mbcc::corpus {
namespace {

const nlohmann::json kNull;

constexpr std::size_t kFoundLimit = 80;

}  // namespace

const nlohmann::json& JsonReader::parse(std::string_view text) {
  root_ = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root_.is_discarded()) {
    root_ = nullptr;
    fail("$", "", "text that is not JSON", "a JSON document");
  }
  return root_;
}

void JsonReader::fail(const std::string& path, std::string_view field, std::string found,
                      std::string allowed) {
  if (error_) return;  // the first error is the one worth reading
  Error e;
  e.source = source_;
  e.location = path;
  e.field = std::string(field);
  e.found = std::move(found);
  e.allowed = std::move(allowed);
  error_ = std::move(e);
}

const nlohmann::json& JsonValue::raw() const { return value_ != nullptr ? *value_ : kNull; }

JsonValue JsonValue::operator[](std::string_view key) const {
  std::string path = path_ + "." + std::string(key);
  if (value_ == nullptr || !value_->is_object()) {
    expect(false, "an object");
    return {*reader_, nullptr, std::move(path)};
  }
  auto it = value_->find(key);
  return {*reader_, it == value_->end() ? nullptr : &*it, std::move(path)};
}

std::string JsonValue::field() const {
  std::size_t dot = path_.find_last_of('.');
  return dot == std::string::npos ? path_ : path_.substr(dot + 1);
}

std::string JsonValue::found() const {
  if (value_ == nullptr) return "nothing (required)";
  std::string text = value_->dump();
  if (text.size() > kFoundLimit) text = text.substr(0, kFoundLimit) + "…";
  return text;
}

void JsonValue::fail(std::string found, std::string allowed) const {
  reader_->fail(path_, field(), std::move(found), std::move(allowed));
}

bool JsonValue::expect(bool ok, std::string_view allowed) const {
  if (!ok) fail(found(), std::string(allowed));
  return ok;
}

std::string JsonValue::string() const {
  if (!expect(value_ != nullptr && value_->is_string(), "a string")) return {};
  return value_->get<std::string>();
}

std::string JsonValue::name() const {
  std::string text = string();
  if (reader_->failed()) return {};
  Status valid = check_layout_name(text, "name");
  if (!valid.ok()) {
    fail(found(), valid.error().allowed);
    return {};
  }
  return text;
}

bool JsonValue::boolean() const {
  if (!expect(value_ != nullptr && value_->is_boolean(), "true or false")) return false;
  return value_->get<bool>();
}

int64_t JsonValue::integer(int64_t min, int64_t max) const {
  std::string allowed = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!expect(value_ != nullptr && value_->is_number_integer(), allowed)) return min;
  // Unsigned values above INT64_MAX are out of every range used here.
  if (value_->is_number_unsigned() && value_->get<uint64_t>() > uint64_t(INT64_MAX)) {
    expect(false, allowed);
    return min;
  }
  auto number = value_->get<int64_t>();
  if (!expect(number >= min && number <= max, allowed)) return min;
  return number;
}

double JsonValue::number(double min, double max) const {
  std::string allowed =
      "a number in [" + nlohmann::json(min).dump() + ", " + nlohmann::json(max).dump() + "]";
  if (!expect(value_ != nullptr && value_->is_number(), allowed)) return min;
  auto number = value_->get<double>();
  if (!expect(number >= min && number <= max, allowed)) return min;
  return number;
}

std::vector<JsonValue> JsonValue::elements() const {
  std::vector<JsonValue> out;
  if (!expect(value_ != nullptr && value_->is_array(), "an array")) return out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back(*reader_, &(*value_)[i], path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

std::vector<std::pair<std::string, JsonValue>> JsonValue::members() const {
  std::vector<std::pair<std::string, JsonValue>> out;
  if (!expect(value_ != nullptr && value_->is_object(), "an object")) return out;
  for (const auto& [key, member] : value_->items()) {
    out.emplace_back(key, JsonValue(*reader_, &member, path_ + "." + key));
  }
  return out;
}

std::vector<std::string> JsonValue::strings() const {
  std::vector<std::string> out;
  for (const JsonValue& element : elements()) out.push_back(element.string());
  return out;
}

void JsonValue::allow_only(std::initializer_list<std::string_view> keys) const {
  if (!expect(value_ != nullptr && value_->is_object(), "an object")) return;
  for (const auto& [key, member] : value_->items()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    reader_->fail(path_ + "." + key, key, "an unknown field",
                  "one of: " + join_names(keys, std::identity{}));
    return;
  }
}

}  // namespace mbcc::corpus
