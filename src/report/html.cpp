#include "report/html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "base/file.hpp"
#include "report/describe.hpp"
#include "report/html_page.hpp"
#include "report/json.hpp"

namespace mbcc {

using json = nlohmann::ordered_json;

namespace {

constexpr std::string_view kDataMarker = "MBCC_REPORT_DATA";
static_assert(kHtmlPage.find(kDataMarker) != std::string_view::npos &&
                  kHtmlPage.find(kDataMarker) == kHtmlPage.rfind(kDataMarker),
              "html_page.html must hold the data marker exactly once");

// The page shows statistics to four significant digits; more would only make a 20,000-check
// page bigger. NaN and infinities are strings here, as in report.json.
json rounded(double value) { return std::stod(fmt::format("{:.4g}", value)); }

// Values that many checks hold alike within a check's member, stored once in the page's
// "strings" and referred to by their index there: the candidates' messages and the statistics
// of outputs repeat across a release matrix. A check's own members are deduplicated by their
// column instead (columns_json).
constexpr std::array<std::string_view, 11> kInternedPaths = {"check/message/kind",
                                                             "check/message/subject",
                                                             "check/message/explanation",
                                                             "check/outputs/*/name",
                                                             "check/outputs/*/outcome",
                                                             "check/outputs/*/dtype",
                                                             "check/outputs/*/expected_dtype",
                                                             "check/outputs/*/stats",
                                                             "check/outputs/*/tolerance",
                                                             "check/outputs/*/shape",
                                                             "check/outputs/*/expected_shape"};

// Texts stored as the indexes of their lines in "strings": MXNet's messages differ in a line
// or two and share their stack traces and warnings (3,223 messages of the full matrix hold
// 2.8 MB, their distinct lines 0.8 MB).
constexpr std::string_view kLinedPath = "check/message/text";

bool interned_path(const std::string& path) {
  return std::find(kInternedPaths.begin(), kInternedPaths.end(), path) != kInternedPaths.end();
}

// Equal values stored once and referred to by their index: a bundle's facts are the same for
// every check of the bundle, and a producer's name for every check of the producer.
class Interned {
 public:
  std::size_t index_of(const json& value) {
    // candidates' messages are arbitrary bytes: the key replaces what is not UTF-8, as the page
    auto [it, fresh] = index_.try_emplace(
        value.dump(-1, ' ', false, json::error_handler_t::replace), values_.size());
    if (fresh) values_.push_back(value);
    return it->second;
  }
  const json& values() const { return values_; }

 private:
  std::unordered_map<std::string, std::size_t> index_;
  json values_ = json::array();
};

struct Packer {
  json schemas = json::object();
  Interned strings;

  // Each object becomes the array of its values, its keys recorded once per path in `schemas`
  // ("check/outputs/*/stats"). Objects at one path always have the same keys: report_to_json
  // writes every key, null when empty.
  json pack(const json& value, const std::string& path);

 private:
  json pack_value(const json& value, const std::string& path);  // pack() but never interned
};

json Packer::pack(const json& value, const std::string& path) {
  if (interned_path(path)) {
    return value.is_null() ? json(nullptr) : json(strings.index_of(pack_value(value, path)));
  }
  if (path == "check/bundle") return value;  // bundle_facts packed it
  if (path == kLinedPath) {
    json lines = json::array();
    const std::string& text = value.get_ref<const std::string&>();
    for (std::size_t from = 0;;) {
      const std::size_t end = text.find('\n', from);
      lines.push_back(strings.index_of(text.substr(from, end - from)));
      if (end == std::string::npos) break;
      from = end + 1;
    }
    return lines;
  }
  return pack_value(value, path);
}

json Packer::pack_value(const json& value, const std::string& path) {
  if (value.is_object()) {
    json keys = json::array();
    json values = json::array();
    for (const auto& [key, item] : value.items()) {
      keys.push_back(key);
      values.push_back(pack(item, fmt::format("{}/{}", path, key)));
    }
    if (!schemas.contains(path)) {
      schemas[path] = keys;
    } else if (schemas[path] != keys) {
      throw std::logic_error("report_to_json wrote different keys at " + path);
    }
    return values;
  }
  if (value.is_array()) {
    json items = json::array();
    for (const json& item : value) items.push_back(pack(item, path + "/*"));
    return items;
  }
  // An element's values keep their every digit: they show how two close float32 values differ.
  if (value.is_number_float() && !path.ends_with("/worst/actual") &&
      !path.ends_with("/worst/expected")) {
    return rounded(value.get<double>());
  }
  return value;
}

// A bundle's facts (the manifest's, any JSON) with each string stored once in `strings`: the
// files' paths and sha256s and the producers' builds repeat across bundles. In the result a
// number is the index of a string, and a string is the JSON text of a number.
json bundle_facts(const json& value, Interned& strings) {
  if (value.is_string()) return strings.index_of(value);
  if (value.is_number()) return value.dump();
  if (value.is_object()) {
    json object = json::object();
    for (const auto& [key, item] : value.items()) object[key] = bundle_facts(item, strings);
    return object;
  }
  if (value.is_array()) {
    json items = json::array();
    for (const json& item : value) items.push_back(bundle_facts(item, strings));
    return items;
  }
  return value;
}

// The digits of a column's codes: 64 of them, none that JSON or HTML would escape.
constexpr std::string_view kCodeDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

// One member of every check: its distinct values once, and each check's as a fixed-width code,
// the index of its value in base 64 (a release matrix has 20 candidates, 1,978 bundles).
class Column {
 public:
  void add(const json& value) { codes_.push_back(distinct_.index_of(value)); }
  json to_json() const {
    const json& values = distinct_.values();
    std::size_t width = 0;  // none when every check holds the same (one night: no history)
    for (std::size_t room = 1; room < values.size(); room *= kCodeDigits.size()) ++width;
    std::string codes(codes_.size() * width, ' ');
    for (std::size_t i = 0; i < codes_.size(); ++i) {
      std::size_t code = codes_[i];
      for (std::size_t k = width; k-- > 0; code /= kCodeDigits.size()) {
        codes[i * width + k] = kCodeDigits[code % kCodeDigits.size()];
      }
    }
    return {{"values", values}, {"width", width}, {"codes", codes}};
  }

 private:
  Interned distinct_;
  std::vector<std::size_t> codes_;
};

// A candidate's message as the page shows it: its first 1,000 characters (MXNet's stack traces
// run long), the rest in report.json.
constexpr std::size_t kMessageChars = 1000;
json shortened(const json& text) {
  const std::string& full = text.get_ref<const std::string&>();
  if (full.size() <= kMessageChars) return text;
  std::size_t cut = kMessageChars;
  while (cut > 0 && (static_cast<unsigned char>(full[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return full.substr(0, cut) +
         fmt::format("\n… {} more characters in report.json", full.size() - cut);
}

// The release matrix (describe.hpp): each cell as [worst verdict or null, checks, {verdict:
// count}, forward checks, forward failures].
json overview_json(const RunResult& result) {
  const ReleaseOverview overview = release_overview(result);
  json cells = json::array();
  for (const PairCell& cell : overview.cells) {
    json counts = json::object();
    for (const VerdictInfo& info : kVerdictTable) {
      if (const uint64_t n = cell.counts[static_cast<std::size_t>(info.verdict)]; n > 0) {
        counts[std::string(info.name)] = n;
      }
    }
    cells.push_back({cell.worst ? json(verdict_name(*cell.worst)) : json(nullptr), cell.checks,
                     counts, cell.forward_checks, cell.forward_failures});
  }
  return {{"producers", overview.producers}, {"candidates", overview.candidates}, {"cells", cells}};
}

// Two significant digits, written without a fraction when it has none: "14", "0.38".
json short_number(double value) {
  const double rounded_value = std::stod(fmt::format("{:.2g}", value));
  if (rounded_value == std::floor(rounded_value) && std::abs(rounded_value) < 1e15) {
    return static_cast<int64_t>(rounded_value);
  }
  return rounded_value;
}

json history_json(const CheckHistory& history) {
  json verdicts = json::array();
  for (const std::optional<Verdict>& v : history.verdicts) {
    verdicts.push_back(v ? json(verdict_name(*v)) : json(nullptr));
  }
  return {{"verdicts", verdicts},
          {"last_passed", history.last_passed ? json(*history.last_passed) : json(nullptr)},
          {"failing_since", history.failing_since ? json(*history.failing_since) : json(nullptr)}};
}

// `<` never appears raw, so no text in the data can close its <script> element.
std::string script_safe(const json& data) {
  const std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 64);
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<const RunResult*> nights_in_order(std::span<const RunResult> reports) {
  std::vector<const RunResult*> nights;
  for (const RunResult& r : reports) nights.push_back(&r);
  std::stable_sort(nights.begin(), nights.end(), [](const RunResult* a, const RunResult* b) {
    return a->run.started_at < b->run.started_at;
  });
  return nights;
}

std::vector<CheckHistory> check_histories(std::span<const RunResult* const> nights) {
  std::vector<std::map<CheckKey, Verdict>> verdicts(nights.size());
  for (std::size_t n = 0; n < nights.size(); ++n) {
    for (const CheckResult& c : nights[n]->checks) verdicts[n][c.key] = c.verdict;
  }
  std::vector<CheckHistory> histories;
  for (const CheckResult& c : nights.back()->checks) {
    CheckHistory h;
    for (const auto& night : verdicts) {
      auto it = night.find(c.key);
      h.verdicts.push_back(it == night.end() ? std::nullopt : std::optional(it->second));
    }
    // Back from the newest night (which ran it) to the latest one it did not fail.
    for (std::size_t n = nights.size(); n-- > 0;) {
      if (!h.verdicts[n]) continue;
      if (!is_failure(*h.verdicts[n])) {
        h.last_passed = n;
        break;
      }
      h.failing_since = n;
    }
    histories.push_back(std::move(h));
  }
  return histories;
}

json html_page_data(std::span<const RunResult> reports) {
  const std::vector<const RunResult*> nights = nights_in_order(reports);
  const RunResult& shown = *nights.back();
  const std::vector<CheckHistory> histories =
      nights.size() > 1 ? check_histories(nights) : std::vector<CheckHistory>{};

  // One check at a time: a release matrix's report.json whole would take gigabytes.
  const json report = report_head_json(shown);
  Packer packer;
  std::vector<Column> columns;
  std::set<std::string, ReleaseNameLess> producers;
  // A bundle's facts packed once for the checks of the bundle that hold the same
  std::unordered_map<std::string, std::pair<const nlohmann::json*, json>> facts_of;
  for (std::size_t i = 0; i < shown.checks.size(); ++i) {
    const CheckResult& result = shown.checks[i];
    json full = report_check_json(result, shown.run.forward);
    for (json& output : full["outputs"]) output["stats"]["abs_error_histogram"].erase("edges");
    if (full["first_divergence"].is_object() &&
        full["first_divergence"]["comparison"].is_object()) {
      full["first_divergence"]["comparison"]["stats"]["abs_error_histogram"].erase("edges");
    }
    if (full["message"].is_object()) full["message"]["text"] = shortened(full["message"]["text"]);
    // What the page shows of a check; `failure` it derives from the verdict, the direction and
    // the run's forward policy.
    json check = json::object();
    for (const char* key :
         {"producer", "model", "save_api", "load_api", "candidate", "direction", "verdict",
          "raw_verdict", "attempts", "outputs", "shared_run", "from_cache"}) {
      check[key] = std::move(full[key]);
    }
    for (const auto& [key, value] : full["timings"].items()) {
      check[key] = short_number(value.get<double>());
    }
    auto [facts, fresh] =
        facts_of.try_emplace(report_bundle_key(result.key), &result.bundle, json());
    if (fresh || *facts->second.first != result.bundle) {
      facts->second = {&result.bundle, bundle_facts(result.bundle, packer.strings)};
    }
    check["bundle"] = facts->second.second;
    check["detail"] = full["detail"] == "" ? json(nullptr) : std::move(full["detail"]);
    for (const char* key : {"message", "first_divergence", "expectation"}) {
      check[key] = std::move(full[key]);
    }
    check["history"] = histories.empty() ? json(nullptr) : history_json(histories[i]);
    const json packed = packer.pack(check, "check");
    columns.resize(packed.size());
    for (std::size_t f = 0; f < packed.size(); ++f) columns[f].add(packed[f]);
    producers.insert(result.key.producer);
  }
  json packed_columns = json::array();
  for (const Column& column : columns) packed_columns.push_back(column.to_json());

  json verdicts = json::array();
  for (const VerdictInfo& info : kVerdictTable) {
    verdicts.push_back({{"name", info.name},
                        {"code", info.code},
                        {"failure", info.is_failure},
                        {"meaning", info.meaning}});
  }
  json night_times = json::array();
  for (const RunResult* n : nights) night_times.push_back(format_utc_time(n->run.started_at));
  const SummaryLines summary = summary_lines(shown);
  return {{"run", report["run"]},
          {"summary", {summary.counts, summary.exit}},
          {"run_errors", report["run_errors"]},
          {"expired_expectations", report["expired_expectations"]},
          {"overview", overview_json(shown)},
          {"transitions", report["transitions"]},
          {"nights", night_times},
          {"verdicts", verdicts},
          {"producers", producers},
          {"histogram_edges", kAbsErrorHistogramEdges},
          {"schemas", packer.schemas},
          {"strings", packer.strings.values()},
          {"interned", kInternedPaths},
          {"lined", kLinedPath},
          {"code_digits", kCodeDigits},
          {"check_count", shown.checks.size()},
          {"columns", packed_columns}};
}

std::string html_report(std::span<const RunResult> reports) {
  const std::size_t at = kHtmlPage.find(kDataMarker);
  std::string page(kHtmlPage.substr(0, at));
  page += script_safe(html_page_data(reports));
  page += kHtmlPage.substr(at + kDataMarker.size());
  return page;
}

Status write_html_report(const std::filesystem::path& path, std::span<const RunResult> reports) {
  const std::string page = html_report(reports);
  return write_file_atomic(path, std::as_bytes(std::span(page)));
}

}  // namespace mbcc
