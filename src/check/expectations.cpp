#include "check/expectations.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/file.hpp"

namespace mbcc {

bool GlobList::matches(const std::string& text) const {
  return std::any_of(patterns.begin(), patterns.end(), [&text](const std::string& pattern) {
    return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
  });
}

bool GlobList::matches_everything() const {
  return std::find(patterns.begin(), patterns.end(), "*") != patterns.end();
}

bool Cpu::has(const std::string& flag) const {
  return std::binary_search(flags.begin(), flags.end(), flag);
}

bool Expectation::matches(const CheckKey& key, const Cpu& cpu) const {
  const auto flag_holds = [&cpu](const std::string& f) {
    return f.starts_with('!') ? !cpu.has(f.substr(1)) : cpu.has(f);
  };
  return producer.matches(key.producer) && model.matches(key.model) &&
         save_api.matches(key.save_api) && load_api.matches(key.load_api) &&
         candidate.matches(key.candidate) && cpu_vendor.matches(cpu.vendor) &&
         std::all_of(cpu_flags.begin(), cpu_flags.end(), flag_holds);
}

const Expectation* Expectations::find(const CheckKey& key,
                                      std::chrono::year_month_day today) const {
  for (const Expectation& entry : entries) {
    if (!entry.expired(today) && entry.matches(key, cpu)) return &entry;
  }
  return nullptr;
}

std::vector<const Expectation*> Expectations::expired(std::chrono::year_month_day today) const {
  std::vector<const Expectation*> out;
  for (const Expectation& entry : entries) {
    if (entry.expired(today)) out.push_back(&entry);
  }
  return out;
}

namespace {

constexpr std::array<std::string_view, 11> kEntryKeys = {
    "producer", "model", "save_api", "load_api",   "candidate", "verdict",
    "reason",   "link",  "expires",  "cpu_vendor", "cpu_flags"};
constexpr std::string_view kGlobKeys = "producer, model, save_api, load_api or candidate";

std::string allowed_keys() { return fmt::format("{}", fmt::join(kEntryKeys, ", ")); }

std::string expectable_verdicts() {
  std::vector<std::string_view> names;
  for (const VerdictInfo& info : kVerdictTable) {
    if (can_be_expected(info.verdict)) names.push_back(info.name);
  }
  return fmt::format("one of {}", fmt::join(names, ", "));
}

// "string \"LOADFAIL\"", "integer 2", "array": what a person wrote, for error messages.
std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return fmt::format("string \"{}\"", node.as_string()->get());
    case toml::node_type::integer:
      return fmt::format("integer {}", node.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("float {}", node.as_floating_point()->get());
    case toml::node_type::boolean:
      return fmt::format("boolean {}", node.as_boolean()->get());
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Builds the errors of one file, each pointing at a line.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  Error error(const toml::source_region& where, std::string field, std::string found,
              std::string allowed, std::string detail = {}) const {
    Error e;
    e.source = source_;
    e.location = fmt::format("line {}", where.begin.line);
    e.field = std::move(field);
    e.found = std::move(found);
    e.allowed = std::move(allowed);
    e.detail = std::move(detail);
    return e;
  }

  // A string, or a non-empty array of strings; no string may be empty.
  Result<std::vector<std::string>> strings(const toml::node& node, std::string_view key,
                                           std::string_view what) const {
    std::vector<std::string> out;
    auto add = [&](const toml::node& item) -> Status {
      const auto* text = item.as_string();
      if (text == nullptr || text->get().empty()) {
        return error(item.source(), std::string(key), text ? "an empty string" : describe(item),
                     std::string(what));
      }
      out.push_back(text->get());
      return Ok{};
    };
    if (const auto* array = node.as_array()) {
      if (array->empty()) return error(node.source(), std::string(key), "[]", std::string(what));
      for (const toml::node& item : *array) MBCC_TRY(add(item));
    } else {
      MBCC_TRY(add(node));
    }
    return out;
  }

  Result<Expectation> entry(const toml::table& table) const {
    for (const auto& [key, node] : table) {
      if (std::find(kEntryKeys.begin(), kEntryKeys.end(), key.str()) == kEntryKeys.end()) {
        return error(key.source(), std::string(key.str()), "an unknown key", allowed_keys());
      }
    }
    Expectation e;
    e.source = fmt::format("{}:{}", source_, table.source().begin.line);

    bool names_something = false;
    const std::array<std::pair<const char*, GlobList*>, 5> glob_keys{{{"producer", &e.producer},
                                                                      {"model", &e.model},
                                                                      {"save_api", &e.save_api},
                                                                      {"load_api", &e.load_api},
                                                                      {"candidate", &e.candidate}}};
    for (auto [key, globs] : glob_keys) {
      const toml::node* node = table.get(key);
      if (node == nullptr) {
        globs->patterns = {"*"};
        continue;
      }
      auto patterns = strings(*node, key, "a glob or a list of globs");
      if (!patterns) return patterns.error();
      globs->patterns = std::move(patterns).value();
      names_something = names_something || !globs->matches_everything();
    }
    e.cpu_vendor.patterns = {"*"};
    if (const toml::node* node = table.get("cpu_vendor")) {
      auto patterns = strings(*node, "cpu_vendor", "a glob or a list of globs");
      if (!patterns) return patterns.error();
      e.cpu_vendor.patterns = std::move(patterns).value();
    }
    if (const toml::node* node = table.get("cpu_flags")) {
      constexpr std::string_view what = "a CPU flag as /proc/cpuinfo names it, or !flag, or a list";
      auto flags = strings(*node, "cpu_flags", what);
      if (!flags) return flags.error();
      for (const std::string& flag : *flags) {
        const std::string_view name = std::string_view(flag).substr(flag.starts_with('!'));
        if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                std::string_view::npos) {
          return error(node->source(), "cpu_flags", fmt::format("\"{}\"", flag), std::string(what));
        }
      }
      e.cpu_flags = std::move(flags).value();
    }
    if (!names_something) {
      return error(table.source(), "[[expect]]", "an entry that matches every check",
                   fmt::format("a glob other than \"*\" for {}", kGlobKeys));
    }

    const toml::node* verdict = table.get("verdict");
    if (verdict == nullptr) {
      return error(table.source(), "verdict", "nothing", expectable_verdicts());
    }
    auto names = strings(*verdict, "verdict", expectable_verdicts());
    if (!names) return names.error();
    for (const std::string& name : *names) {
      auto v = verdict_from_name(name);
      if (!v || !can_be_expected(*v)) {
        return error(verdict->source(), "verdict", fmt::format("\"{}\"", name),
                     expectable_verdicts());
      }
      e.verdicts.insert(*v);
    }

    auto text = [&](const char* key, std::string& out) -> Status {
      const toml::node* node = table.get(key);
      if (node == nullptr) return error(table.source(), key, "nothing", "a non-empty string");
      const auto* value = node->as_string();
      if (value == nullptr || value->get().empty()) {
        return error(node->source(), key, value ? "an empty string" : describe(*node),
                     "a non-empty string");
      }
      out = value->get();
      return Ok{};
    };
    MBCC_TRY(text("reason", e.reason));
    MBCC_TRY(text("link", e.link));
    if (!e.link.starts_with("https://") && !e.link.starts_with("http://")) {
      return error(table.get("link")->source(), "link", fmt::format("\"{}\"", e.link),
                   "an http(s) URL");
    }

    if (const toml::node* expires = table.get("expires")) {
      const auto* date = expires->as_date();
      if (date == nullptr) {
        return error(expires->source(), "expires", describe(*expires),
                     "a TOML date such as 2026-06-30, without quotes");
      }
      const toml::date& d = date->get();
      e.expires = std::chrono::year_month_day{std::chrono::year{d.year},
                                              std::chrono::month{d.month}, std::chrono::day{d.day}};
    }
    return e;
  }

  Result<Expectations> file(const toml::table& root) const {
    for (const auto& [key, node] : root) {
      if (key.str() != "schema" && key.str() != "expect") {
        return error(key.source(), std::string(key.str()), "an unknown key", "schema, expect");
      }
    }
    const toml::node* schema = root.get("schema");
    if (schema == nullptr) {
      return error(root.source(), "schema", "nothing", "schema = 1",
                   "the first line of the file states its schema");
    }
    if (const auto* version = schema->as_integer(); version == nullptr || version->get() != 1) {
      return error(schema->source(), "schema", describe(*schema), "1");
    }

    Expectations out;
    const toml::node* expect = root.get("expect");
    if (expect == nullptr) return out;
    const toml::array* tables = expect->as_array();
    if (tables == nullptr || !tables->is_array_of_tables()) {
      return error(expect->source(), "expect", describe(*expect),
                   "[[expect]] tables, one per known break");
    }
    for (const toml::node& node : *tables) {
      auto e = entry(*node.as_table());
      if (!e) return e.error();
      out.entries.push_back(std::move(e).value());
    }
    return out;
  }

 private:
  const std::string& source_;
};

}  // namespace

Result<Expectations> parse_expectations(std::string_view text, const std::string& source) {
  Reader reader(source);
  try {
    toml::table root = toml::parse(text, source);
    Result<Expectations> out = reader.file(root);
    if (out) out->cpu = this_cpu();
    return out;
  } catch (const toml::parse_error& e) {
    return reader.error(e.source(), "TOML", {}, {}, std::string(e.description()));
  }
}

Result<Expectations> read_expectations(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  std::string_view text(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size);
  return parse_expectations(text, path.string());
}

Cpu this_cpu() {
  Cpu cpu{"unknown", {}};
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool vendor_seen = false;
  bool flags_seen = false;
  // the first processor's lines: every core of a machine names the same
  while (!(vendor_seen && flags_seen) && std::getline(cpuinfo, line)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::istringstream value(line.substr(colon + 1));
    if (key == "vendor_id" && !vendor_seen) {
      vendor_seen = true;
      if (std::string vendor; value >> vendor) cpu.vendor = vendor;
    } else if (key == "flags" && !flags_seen) {
      flags_seen = true;
      for (std::string flag; value >> flag;) cpu.flags.push_back(flag);
      std::sort(cpu.flags.begin(), cpu.flags.end());
    }
  }
  return cpu;
}

}  // namespace mbcc
