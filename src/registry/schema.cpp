#include "registry/schema.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace mbcc::registry {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string_view unquote(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
      text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

// "Shape(tuple), " -> "Shape(tuple)": the type part before the "optional"/"required" word.
std::string type_part(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.back() == ',') text.remove_suffix(1);
  return std::string(trim(text));
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::optional<double> parse_double(std::string_view text) {
  const std::string copy(text);
  if (copy.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return std::nullopt;
  return value;
}

std::optional<long long> parse_integer(std::string_view text) {
  const std::string copy(text);
  if (copy.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(copy.c_str(), &end, 10);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return std::nullopt;
  return value;
}

std::string canonical_float(std::string_view text) {
  const auto value = parse_double(text);
  if (!value) return std::string(text);
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.9g",
                static_cast<double>(static_cast<float>(*value)));
  return buffer.data();
}

std::string canonical_number(std::string_view text) {
  if (const auto integer = parse_integer(text)) return std::to_string(*integer);
  return canonical_float(text);
}

// "(2, 2)", "[2,2]", "(2,)" -> "[2,2]" / "[2]"; elements compared as numbers.
std::string canonical_list(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && ((text.front() == '(' && text.back() == ')') ||
                           (text.front() == '[' && text.back() == ']'))) {
    text = text.substr(1, text.size() - 2);
  }
  std::string out = "[";
  bool first = true;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    if (!first) out += ',';
    out += item == "None" ? std::string(item) : canonical_number(unquote(item));
    first = false;
  }
  return out + "]";
}

}  // namespace

TypeString parse_type_string(std::string_view text) {
  TypeString parsed;
  Arg& arg = parsed.arg;
  arg.type_string = std::string(text);
  std::string_view rest = trim(text);
  const bool is_enum = rest.starts_with('{') && contains(rest, "}");
  if (is_enum) {
    const std::size_t close = rest.find('}');
    std::string_view values = rest.substr(1, close - 1);
    while (!values.empty()) {
      const std::size_t comma = values.find(',');
      const std::string_view item = unquote(values.substr(0, comma));
      values = comma == std::string_view::npos ? std::string_view() : values.substr(comma + 1);
      if (!item.empty()) arg.enum_values.emplace_back(item);
    }
    rest = rest.substr(close + 1);
  }
  constexpr std::string_view kOptional = "optional, default=";
  constexpr std::string_view kRequired = "required";
  std::string type;
  if (const std::size_t at = rest.find(kOptional); at != std::string_view::npos) {
    type = type_part(rest.substr(0, at));
    arg.default_value = std::string(unquote(rest.substr(at + kOptional.size())));
  } else if (trim(rest).ends_with(kRequired)) {
    const std::string_view kept = trim(rest);
    type = type_part(kept.substr(0, kept.size() - kRequired.size()));
    arg.required = true;
  } else {
    parsed.is_input = true;
    type = type_part(rest);
  }
  arg.type = is_enum ? "enum" : type;
  return parsed;
}

std::string canonical_value(const Arg& arg, std::string_view value) {
  const std::string_view v = unquote(value);
  const std::string_view type = arg.type;
  const bool is_list = contains(type, "Shape") || contains(type, "tuple");
  if (v == "None") return type == "Shape(tuple)" ? "[]" : "None";
  if (type == "enum" || contains(type, "string")) return std::string(v);
  if (is_list) return canonical_list(v);
  if (contains(type, "boolean")) {
    if (v == "1" || v == "True" || v == "true") return "true";
    if (v == "0" || v == "False" || v == "false") return "false";
    return std::string(v);
  }
  if (contains(type, "float") || contains(type, "double")) return canonical_float(v);
  if (contains(type, "int") || contains(type, "long")) return canonical_number(v);
  return std::string(v);
}

std::string_view parser_name(Parser parser) {
  switch (parser) {
    case Parser::kStrict:
      return "strict";
    case Parser::kNone:
      return "none";
    case Parser::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Parser> parser_from_name(std::string_view name) {
  for (Parser parser : {Parser::kStrict, Parser::kNone, Parser::kUnknown}) {
    if (parser_name(parser) == name) return parser;
  }
  return std::nullopt;
}

const Arg* Op::find_accepted(std::string_view arg_name) const {
  for (const Arg& arg : accepted()) {
    if (arg.name == arg_name) return &arg;
  }
  return nullptr;
}

const Op* Registry::find(std::string_view name) const {
  if (auto it = ops.find(name); it != ops.end()) return &it->second;
  if (auto alias = alias_of.find(name); alias != alias_of.end()) {
    if (auto it = ops.find(alias->second); it != ops.end()) return &it->second;
  }
  return nullptr;
}

std::optional<std::vector<Arg>> parse_possible_arguments(std::string_view message) {
  constexpr std::string_view kMarker = "Possible Arguments:";
  const std::size_t at = message.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kMarker.size());
  std::vector<Arg> fields;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.starts_with(", in operator")) break;  // the op's name and the kwargs follow
    // A field is "name : type string"; its description lines are indented.
    const std::size_t colon = line.find(" : ");
    if (line.empty() || colon == std::string_view::npos ||
        std::isspace(static_cast<unsigned char>(line.front()))) {
      continue;
    }
    const std::string_view name = line.substr(0, colon);
    bool is_identifier = true;
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') is_identifier = false;
    }
    if (!is_identifier) continue;
    Arg field = parse_type_string(line.substr(colon + 3)).arg;
    field.name = std::string(name);
    fields.push_back(std::move(field));
  }
  return fields;
}

}  // namespace mbcc::registry
