#include "report/json.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <span>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/release_version.hpp"
#include "check/transitions.hpp"
#include "report/describe.hpp"

namespace mbcc {

// Insertion order, so the file reads top down: schema, run, summary, then the checks.
using json = nlohmann::ordered_json;

namespace {

// JSON has no NaN or Inf; the report writes them as strings so worst elements survive.
json number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

json to_json(const ErrorSummary& s) {
  return {{"max", number(s.max)}, {"mean", number(s.mean)}, {"p99", number(s.p99)}};
}

json to_json(const CompareStats& s) {
  json worst = nullptr;
  if (s.worst) {
    worst = {{"index", s.worst->index},
             {"actual", number(s.worst->actual)},
             {"expected", number(s.worst->expected)},
             {"actual_bits", s.worst->actual_bits},
             {"expected_bits", s.worst->expected_bits},
             {"abs_error", number(s.worst->abs_error)},
             {"rel_error", s.worst->rel_error ? number(*s.worst->rel_error) : json(nullptr)}};
  }
  return {{"count", s.count},
          {"compared", s.compared},
          {"rel_compared", s.rel_compared},
          {"mismatched", s.mismatched},
          {"mismatched_share", number(s.mismatched_share)},
          {"nonfinite_introduced", s.nonfinite_introduced},
          {"actual_nan", s.actual_nan},
          {"actual_inf", s.actual_inf},
          {"expected_nan", s.expected_nan},
          {"expected_inf", s.expected_inf},
          {"abs_error", to_json(s.abs_error)},
          {"rel_error", to_json(s.rel_error)},
          {"worst", worst},
          {"abs_error_histogram",
           {{"edges", kAbsErrorHistogramEdges}, {"counts", s.abs_error_histogram}}}};
}

json to_json(const Comparison& c) {
  return {{"outcome", outcome_name(c.outcome)},
          {"dtype", dtype_info(c.actual_dtype).name},
          {"expected_dtype", dtype_info(c.expected_dtype).name},
          {"shape", c.actual_shape},
          {"expected_shape", c.expected_shape},
          {"tolerance", {{"rtol", c.tolerance.rtol}, {"atol", c.tolerance.atol}}},
          {"stats", to_json(c.stats)}};
}

json to_json(const ExpectationRecord& e) {
  json verdicts = json::array();
  for (const VerdictInfo& info : kVerdictTable) {
    if (e.verdicts.contains(info.verdict)) verdicts.push_back(info.name);
  }
  return {{"verdicts", verdicts},
          {"reason", e.reason},
          {"link", e.link},
          {"expires", e.expires ? json(format_date(*e.expires)) : json(nullptr)},
          {"cpu_vendor", e.cpu_vendor},
          {"cpu_flags", e.cpu_flags},
          {"source", e.source}};
}

json to_json(const Transition& t) {
  return {{"producer", t.producer},
          {"model", t.model},
          {"save_api", t.save_api},
          {"load_api", t.load_api},
          {"from", t.from_candidate},
          {"to", t.to_candidate},
          {"verdicts", {verdict_name(t.from_verdict), verdict_name(t.to_verdict)}},
          {"change", t.broke() ? "broke" : "passes"}};
}

json to_json(const CheckResult& c, ForwardPolicy forward) {
  json outputs = json::array();
  for (const OutputResult& output : c.outputs) {
    json item = to_json(output.comparison);
    item["name"] = output.name;
    outputs.push_back(std::move(item));
  }
  json divergence = nullptr;
  if (c.first_divergence) {
    const DivergingNode& d = *c.first_divergence;
    divergence = {{"node", d.node},
                  {"op", d.op},
                  {"comparison", d.comparison ? to_json(*d.comparison) : json(nullptr)},
                  {"explanation", d.explanation}};
  }
  json message = nullptr;
  if (c.message) {
    message = {{"text", c.message->text},
               {"kind", message_kind_name(c.message->kind.kind)},
               {"subject", c.message->kind.subject},
               {"explanation", c.message->explanation}};
  }
  json attempts = json::array();
  for (Verdict v : c.attempts) attempts.push_back(verdict_name(v));
  return {{"producer", c.key.producer},
          {"model", c.key.model},
          {"save_api", c.key.save_api},
          {"load_api", c.key.load_api},
          {"candidate", c.key.candidate},
          {"direction", direction_name(c.direction)},
          {"verdict", verdict_name(c.verdict)},
          {"raw_verdict", verdict_name(c.raw_verdict)},
          {"failure", fails_run(c, forward)},
          {"detail", c.detail},
          {"message", message},
          {"outputs", outputs},
          {"first_divergence", divergence},
          {"expectation", c.expectation ? to_json(*c.expectation) : json(nullptr)},
          {"timings",
           {{"load_ms", c.timings.load_ms},
            {"run_ms", c.timings.run_ms},
            {"overhead_ms", c.timings.overhead_ms}}},
          {"attempts", attempts},
          {"shared_run", c.shared_run.empty() ? json(nullptr) : json(c.shared_run)},
          {"from_cache", c.from_cache}};
}

// The reader stops at the first bad value with a FormatError, which report_from_json turns
// into an Error; nothing else throws it, and it never leaves this file.
struct FormatError {
  std::string path;
  std::string found;
  std::string allowed;
};

[[noreturn]] void fail(const std::string& path, std::string found, std::string allowed) {
  throw FormatError{path, std::move(found), std::move(allowed)};
}

std::string describe(const json& value) {
  std::string shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  return fmt::format("{} {}", value.type_name(), shown);
}

const json& field(const json& object, const std::string& path, std::string_view key) {
  if (!object.is_object()) fail(path, describe(object), "an object");
  auto it = object.find(key);
  if (it == object.end()) fail(fmt::format("{}.{}", path, key), "nothing", "a value");
  return *it;
}

std::string str(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, describe(value), "a string");
  return value.get<std::string>();
}

template <class Enum>
Enum named(const json& value, const std::string& path,
           std::optional<Enum> (*from_name)(std::string_view), std::string_view allowed) {
  std::optional<Enum> out = from_name(str(value, path));
  if (!out) fail(path, describe(value), std::string(allowed));
  return *out;
}

double real(const json& value, const std::string& path) {
  if (value.is_number()) return value.get<double>();
  if (value == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (value == "Infinity") return std::numeric_limits<double>::infinity();
  if (value == "-Infinity") return -std::numeric_limits<double>::infinity();
  fail(path, describe(value), R"(a number, "NaN", "Infinity" or "-Infinity")");
}

uint64_t count(const json& value, const std::string& path) {
  if (!value.is_number_unsigned()) fail(path, describe(value), "a count");
  return value.get<uint64_t>();
}

template <class Parse>
auto each(const json& value, const std::string& path, Parse parse) {
  if (!value.is_array()) fail(path, describe(value), "an array");
  std::vector<decltype(parse(value, path))> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(parse(value[i], fmt::format("{}[{}]", path, i)));
  }
  return out;
}

std::vector<std::string> strings(const json& value, const std::string& path) {
  return each(value, path, str);
}

// A member that may be null.
template <class Parse>
auto nullable(const json& object, const std::string& path, std::string_view key, Parse parse)
    -> std::optional<decltype(parse(object, path))> {
  const json& value = field(object, path, key);
  if (value.is_null()) return std::nullopt;
  return parse(value, fmt::format("{}.{}", path, key));
}

// Reads member `key` of `object` with `parse`.
template <class Parse>
auto member(const json& object, const std::string& path, std::string_view key, Parse parse) {
  return parse(field(object, path, key), fmt::format("{}.{}", path, key));
}

Verdict verdict(const json& value, const std::string& path) {
  return named<Verdict>(value, path, verdict_from_name, "a verdict name");
}

std::chrono::year_month_day date(const json& value, const std::string& path) {
  const std::string s = str(value, path);
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  int used = 0;
  const bool shaped = s.size() == 10 &&
                      std::sscanf(s.c_str(), "%4d-%2u-%2u%n", &y, &m, &d, &used) == 3 && used == 10;
  const std::chrono::year_month_day out{std::chrono::year{y}, std::chrono::month{m},
                                        std::chrono::day{d}};
  if (!shaped || !out.ok()) fail(path, describe(value), "a date YYYY-MM-DD");
  return out;
}

std::chrono::sys_seconds utc_time(const json& value, const std::string& path) {
  const std::string s = str(value, path);
  unsigned hours = 0;
  unsigned minutes = 0;
  unsigned seconds = 0;
  int used = 0;
  const bool shaped =
      s.size() == 20 && s[10] == 'T' &&
      std::sscanf(s.c_str() + 11, "%2u:%2u:%2uZ%n", &hours, &minutes, &seconds, &used) == 3 &&
      used == 9 && hours < 24 && minutes < 60 && seconds < 60;
  if (!shaped) fail(path, describe(value), "a UTC time YYYY-MM-DDTHH:MM:SSZ");
  const std::chrono::sys_days day(date(json(s.substr(0, 10)), path));
  return day + std::chrono::hours(hours) + std::chrono::minutes(minutes) +
         std::chrono::seconds(seconds);
}

Shape shape(const json& value, const std::string& path) {
  return each(value, path, [](const json& dim, const std::string& p) {
    if (!dim.is_number_integer()) fail(p, describe(dim), "an integer");
    return dim.get<int64_t>();
  });
}

ErrorSummary error_summary(const json& v, const std::string& path) {
  return {member(v, path, "max", real), member(v, path, "mean", real),
          member(v, path, "p99", real)};
}

WorstElement worst_element(const json& v, const std::string& path) {
  WorstElement w;
  w.index = member(v, path, "index", shape);
  w.actual = member(v, path, "actual", real);
  w.expected = member(v, path, "expected", real);
  w.actual_bits = member(v, path, "actual_bits", str);
  w.expected_bits = member(v, path, "expected_bits", str);
  w.abs_error = member(v, path, "abs_error", real);
  w.rel_error = nullable(v, path, "rel_error", real);
  return w;
}

AbsErrorHistogram histogram(const json& v, const std::string& path) {
  const std::vector<double> edges =
      member(v, path, "edges", [](const json& e, const auto& p) { return each(e, p, real); });
  if (!std::equal(edges.begin(), edges.end(), kAbsErrorHistogramEdges.begin(),
                  kAbsErrorHistogramEdges.end())) {
    fail(path + ".edges", describe(v["edges"]), "the decade edges 0, 1e-12, …, 1");
  }
  const std::vector<uint64_t> counts =
      member(v, path, "counts", [](const json& c, const auto& p) { return each(c, p, count); });
  AbsErrorHistogram out{};
  if (counts.size() != out.size()) {
    fail(path + ".counts", describe(v["counts"]), fmt::format("{} counts", out.size()));
  }
  std::copy(counts.begin(), counts.end(), out.begin());
  return out;
}

CompareStats compare_stats(const json& v, const std::string& path) {
  CompareStats s;
  s.count = member(v, path, "count", count);
  s.compared = member(v, path, "compared", count);
  s.rel_compared = member(v, path, "rel_compared", count);
  s.mismatched = member(v, path, "mismatched", count);
  s.mismatched_share = member(v, path, "mismatched_share", real);
  s.nonfinite_introduced = member(v, path, "nonfinite_introduced", count);
  s.actual_nan = member(v, path, "actual_nan", count);
  s.actual_inf = member(v, path, "actual_inf", count);
  s.expected_nan = member(v, path, "expected_nan", count);
  s.expected_inf = member(v, path, "expected_inf", count);
  s.abs_error = member(v, path, "abs_error", error_summary);
  s.rel_error = member(v, path, "rel_error", error_summary);
  s.worst = nullable(v, path, "worst", worst_element);
  s.abs_error_histogram = member(v, path, "abs_error_histogram", histogram);
  return s;
}

DType dtype(const json& value, const std::string& path) {
  return named<DType>(value, path, dtype_from_name, "a dtype name");
}

Comparison comparison(const json& v, const std::string& path) {
  Comparison c;
  c.outcome = named<CompareOutcome>(field(v, path, "outcome"), path + ".outcome", outcome_from_name,
                                    "a comparison outcome");
  c.actual_dtype = member(v, path, "dtype", dtype);
  c.expected_dtype = member(v, path, "expected_dtype", dtype);
  c.actual_shape = member(v, path, "shape", shape);
  c.expected_shape = member(v, path, "expected_shape", shape);
  const json& tolerance = field(v, path, "tolerance");
  c.tolerance.rtol = member(tolerance, path + ".tolerance", "rtol", real);
  c.tolerance.atol = member(tolerance, path + ".tolerance", "atol", real);
  c.stats = member(v, path, "stats", compare_stats);
  return c;
}

ExpectationRecord expectation(const json& v, const std::string& path) {
  ExpectationRecord e;
  for (Verdict verdict_value : member(
           v, path, "verdicts", [](const json&a, const auto&p) { return each(a, p, verdict); })) {
    e.verdicts.insert(verdict_value);
  }
  e.reason = member(v, path, "reason", str);
  e.link = member(v, path, "link", str);
  e.expires = nullable(v, path, "expires", date);
  // reports written before entries could name a CPU have neither: they held on every CPU
  if (v.contains("cpu_vendor")) e.cpu_vendor = member(v, path, "cpu_vendor", strings);
  if (v.contains("cpu_flags")) e.cpu_flags = member(v, path, "cpu_flags", strings);
  e.source = member(v, path, "source", str);
  return e;
}

// `releases`: each candidate's release, for reports of schema 1, which have no direction.
// `bundles`: the facts of $.bundles (schema 3) by report_bundle_key.
CheckResult check(const json& v, const std::string& path,
                  const std::map<std::string, std::string>& releases,
                  const std::map<std::string, const json*>& bundles) {
  CheckResult c;
  c.key.producer = member(v, path, "producer", str);
  c.key.model = member(v, path, "model", str);
  c.key.save_api = member(v, path, "save_api", str);
  c.key.load_api = member(v, path, "load_api", str);
  c.key.candidate = member(v, path, "candidate", str);
  if (v.contains("direction")) {
    c.direction = named<Direction>(field(v, path, "direction"), path + ".direction",
                                   direction_from_name, "backward, same or forward");
  } else {
    auto release = releases.find(c.key.candidate);
    c.direction = direction_of(c.key.producer, release == releases.end() ? "" : release->second);
  }
  c.verdict = member(v, path, "verdict", verdict);
  c.raw_verdict = member(v, path, "raw_verdict", verdict);
  c.detail = member(v, path, "detail", str);
  c.message = nullable(v, path, "message", [](const json& m, const std::string& p) {
    CandidateMessage out;
    out.text = member(m, p, "text", str);
    out.kind.kind = named<MessageKind>(field(m, p, "kind"), p + ".kind", message_kind_from_name,
                                       "a message kind");
    out.kind.subject = member(m, p, "subject", str);
    if (m.contains("explanation")) out.explanation = member(m, p, "explanation", str);
    return out;
  });
  c.outputs = member(v, path, "outputs", [](const json& a, const std::string& p) {
    return each(a, p, [](const json& o, const std::string& op) {
      return OutputResult{member(o, op, "name", str), comparison(o, op)};
    });
  });
  c.first_divergence =
      nullable(v, path, "first_divergence", [](const json& d, const std::string& p) {
        // Reports written before drifts were explained have no "explanation".
        return DivergingNode{member(d, p, "node", str), member(d, p, "op", str),
                             nullable(d, p, "comparison", comparison),
                             d.contains("explanation") ? member(d, p, "explanation", str) : ""};
      });
  c.expectation = nullable(v, path, "expectation", expectation);
  const json& timings = field(v, path, "timings");
  c.timings.load_ms = member(timings, path + ".timings", "load_ms", real);
  c.timings.run_ms = member(timings, path + ".timings", "run_ms", real);
  c.timings.overhead_ms = member(timings, path + ".timings", "overhead_ms", real);
  c.attempts = member(v, path, "attempts",
                      [](const json& a, const std::string& p) { return each(a, p, verdict); });
  if (v.contains("shared_run") && !v["shared_run"].is_null()) {
    c.shared_run = member(v, path, "shared_run", str);
  }
  if (v.contains("from_cache")) {  // reports before the run cache have none
    const json& cached = v["from_cache"];
    if (!cached.is_boolean()) fail(path + ".from_cache", describe(cached), "true or false");
    c.from_cache = cached.get<bool>();
  }
  // Up to schema 2 each check holds its bundle's facts; from 3 only a check whose facts differ
  // from those of $.bundles (a merge of reports of different stores).
  if (v.contains("bundle")) {
    c.bundle = v["bundle"];
  } else if (auto shared = bundles.find(report_bundle_key(c.key)); shared != bundles.end()) {
    c.bundle = *shared->second;
  } else {
    fail(path + ".bundle", "nothing",
         fmt::format("an object, or $.bundles[\"{}\"]", report_bundle_key(c.key)));
  }
  if (!c.bundle.is_object()) fail(path + ".bundle", describe(c.bundle), "an object");
  return c;
}

RunResult run_result(const json& document) {
  const std::string root = "$";
  const json& schema = field(document, root, "schema");
  if (schema != kReportSchema && schema != kReportSchemaV2 && schema != kReportSchemaV1) {
    fail("$.schema", describe(schema),
         fmt::format("{}, {} or {}", kReportSchema, kReportSchemaV2, kReportSchemaV1));
  }
  const bool v1 = schema == kReportSchemaV1;
  std::map<std::string, const json*> bundles;
  if (schema == kReportSchema) {
    const json& all = field(document, root, "bundles");
    if (!all.is_object()) fail("$.bundles", describe(all), "an object");
    for (const auto& [key, facts] : all.items()) bundles.emplace(key, &facts);
  }
  RunResult r;
  const json& run = field(document, root, "run");
  r.run.mbcc_version = member(run, "$.run", "mbcc_version", str);
  r.run.candidates = member(run, "$.run", "candidates", strings);
  if (v1) {  // a release name is its own release; a build named by path is of unknown release
    for (const std::string& name : r.run.candidates) {
      r.run.candidate_releases.push_back(parse_release_version(name).ok() ? name : "");
    }
  } else {
    r.run.candidate_releases = member(run, "$.run", "candidate_releases", strings);
    if (r.run.candidate_releases.size() != r.run.candidates.size()) {
      fail("$.run.candidate_releases", describe(run["candidate_releases"]),
           fmt::format("{} releases, one per candidate", r.run.candidates.size()));
    }
    r.run.forward = named<ForwardPolicy>(field(run, "$.run", "forward"), "$.run.forward",
                                         forward_policy_from_name, "report, fail or skip");
  }
  std::map<std::string, std::string> releases;
  for (std::size_t i = 0; i < r.run.candidates.size(); ++i) {
    releases.emplace(r.run.candidates[i], r.run.candidate_releases[i]);
  }
  r.run.store = member(run, "$.run", "store", str);
  r.run.expectations = member(run, "$.run", "expectations", str);
  if (run.contains("cpu_vendors")) {  // absent from reports written before it was recorded
    r.run.cpu_vendors = member(run, "$.run", "cpu_vendors", strings);
  }
  r.run.started_at = member(run, "$.run", "started_at", utc_time);
  r.run.finished_at = member(run, "$.run", "finished_at", utc_time);
  r.checks = member(document, root, "checks", [&](const json& a, const std::string& p) {
    return each(a, p, [&](const json& c, const std::string& cp) {
      return check(c, cp, releases, bundles);
    });
  });
  r.expired_expectations =
      member(document, root, "expired_expectations",
             [](const json& a, const std::string& p) { return each(a, p, expectation); });
  r.run_errors = member(document, root, "run_errors",
                        [](const json& a, const std::string& p) { return each(a, p, str); });
  return r;
}

}  // namespace

namespace {

// Each bundle's facts once, in $.bundles, for the checks that share them; a check whose facts
// differ from its bundle's first check's (a store changed under the run) keeps its own.
struct SharedFacts {
  json bundles = json::object();
  std::vector<bool> own;  // by check
};

SharedFacts shared_facts(const RunResult& result) {
  SharedFacts facts;
  std::map<std::string, const nlohmann::json*> facts_of;  // bundles' own lookup is linear
  for (const CheckResult& c : result.checks) {
    auto [shared, fresh] = facts_of.try_emplace(report_bundle_key(c.key), &c.bundle);
    if (fresh) facts.bundles[shared->first] = c.bundle;
    facts.own.push_back(!fresh && *shared->second != c.bundle);
  }
  return facts;
}

json check_with_facts(const CheckResult& c, ForwardPolicy forward, bool own_facts) {
  json check = report_check_json(c, forward);
  if (own_facts) check["bundle"] = c.bundle;
  return check;
}

// `value` dumped as it reads `depth` levels into a document indented by 2: each line after the
// first indented further.
std::string nested(const json& value, int depth) {
  const std::string text = value.dump(2, ' ', false, json::error_handler_t::replace);
  const std::string indent(static_cast<std::size_t>(2 * depth), ' ');
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;  // JSON strings hold no raw newline: every one is a line break
  }
  return out;
}

}  // namespace

std::string report_bundle_key(const CheckKey& key) {
  return fmt::format("{}/{}/{}", key.producer, key.model, key.save_api);
}

nlohmann::ordered_json report_check_json(const CheckResult& check, ForwardPolicy forward) {
  return to_json(check, forward);
}

json report_head_json(const RunResult& result) {
  const VerdictCounts counts = count_verdicts(result.checks);
  json verdicts = json::object();
  for (const VerdictInfo& info : kVerdictTable) {
    verdicts[std::string(info.name)] = counts[static_cast<std::size_t>(info.verdict)];
  }
  const ForwardPolicy forward = result.run.forward;
  uint64_t failures = 0;
  uint64_t forward_failures = 0;
  std::size_t from_cache = 0;
  for (const CheckResult& c : result.checks) {
    from_cache += c.from_cache ? 1 : 0;
    failures += fails_run(c, forward) ? 1 : 0;
    forward_failures += is_failure(c.verdict) && c.direction == Direction::kForward ? 1 : 0;
  }
  json transitions = json::array();
  for (const Transition& t : find_transitions(result)) transitions.push_back(to_json(t));
  json expired = json::array();
  for (const ExpectationRecord& e : result.expired_expectations) expired.push_back(to_json(e));
  return {{"schema", kReportSchema},
          {"run",
           {{"mbcc_version", result.run.mbcc_version},
            {"candidates", result.run.candidates},
            {"candidate_releases", result.run.candidate_releases},
            {"forward", forward_policy_name(forward)},
            {"store", result.run.store},
            {"expectations", result.run.expectations},
            {"cpu_vendors", result.run.cpu_vendors},
            {"started_at", format_utc_time(result.run.started_at)},
            {"finished_at", format_utc_time(result.run.finished_at)}}},
          {"summary",
           {{"checks", result.checks.size()},
            {"failures", failures},
            {"forward_failures", forward_failures},
            {"expired_expectations", result.expired_expectations.size()},
            {"from_cache", from_cache},
            {"exit_code", exit_code(result)},
            {"verdicts", verdicts}}},
          {"run_errors", result.run_errors},
          {"expired_expectations", expired},
          {"transitions", transitions}};
}

json report_to_json(const RunResult& result) {
  json document = report_head_json(result);
  SharedFacts facts = shared_facts(result);
  json checks = json::array();
  for (std::size_t i = 0; i < result.checks.size(); ++i) {
    checks.push_back(check_with_facts(result.checks[i], result.run.forward, facts.own[i]));
  }
  document["bundles"] = std::move(facts.bundles);
  document["checks"] = std::move(checks);
  return document;
}

std::string report_json_text(const RunResult& result) {
  // Written member by member, each check built, written and dropped in turn: a release matrix's
  // document whole would take gigabytes. The text is report_to_json's dumped with indent 2.
  // Candidates' messages are arbitrary bytes; the report stays valid UTF-8 whatever they hold.
  std::string text = nested(report_head_json(result), 0);
  text.resize(text.size() - 2);  // the head's closing "\n}"
  const SharedFacts facts = shared_facts(result);
  text += ",\n  \"bundles\": {";
  const char* separator = "\n    ";
  for (const auto& [key, value] : facts.bundles.items()) {
    text += separator + json(key).dump(-1, ' ', false, json::error_handler_t::replace) + ": " +
            nested(value, 2);
    separator = ",\n    ";
  }
  text += facts.bundles.empty() ? "}" : "\n  }";
  text += ",\n  \"checks\": [";
  separator = "\n    ";
  for (std::size_t i = 0; i < result.checks.size(); ++i) {
    text += separator;
    text += nested(check_with_facts(result.checks[i], result.run.forward, facts.own[i]), 2);
    separator = ",\n    ";
  }
  text += result.checks.empty() ? "]" : "\n  ]";
  return text + "\n}\n";
}

Result<RunResult> report_from_json(const json& document, const std::string& source) {
  try {
    return run_result(document);
  } catch (const FormatError& e) {
    Error error;
    error.source = source;
    error.location = e.path;
    error.found = e.found;
    error.allowed = e.allowed;
    return error;
  }
}

Result<RunResult> parse_report_json(std::string_view text, const std::string& source) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Error::plain(source, "not valid JSON");
  return report_from_json(document, source);
}

Result<RunResult> read_report_json(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  std::string_view text(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size);
  return parse_report_json(text, path.string());
}

Status write_report_json(const std::filesystem::path& path, const RunResult& result) {
  const std::string document = report_json_text(result);
  return write_file_atomic(path, std::as_bytes(std::span(document)));
}

}  // namespace mbcc
