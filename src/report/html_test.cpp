#include "report/html.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "report/describe.hpp"
#include "report/json.hpp"
#include "report/terminal.hpp"
#include "report/test_run.hpp"

namespace mbcc {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kDataOpen = R"(<script type="application/json" id="mbcc-data">)";

// The text between the data element's tags, exactly as the page holds it.
std::string embedded_data(const std::string& page) {
  const std::size_t start = page.find(kDataOpen);
  EXPECT_NE(start, std::string::npos);
  const std::size_t from = start + kDataOpen.size();
  return page.substr(from, page.find("</script>", from) - from);
}

json unpack_value(const json& data, const std::string& path, const json& value);

// The packed check `i` of the page's data, read from its columns as the page's script does.
json packed_check(const json& data, std::size_t i) {
  const std::string digits = data["code_digits"];
  json check = json::array();
  for (const json& column : data["columns"]) {
    const std::size_t width = column["width"];
    const std::string& codes = column["codes"].get_ref<const std::string&>();
    EXPECT_EQ(codes.size(), width * data["check_count"].get<std::size_t>());
    std::size_t code = 0;
    for (std::size_t k = 0; k < width; ++k) {
      code = code * digits.size() + digits.find(codes[i * width + k]);
    }
    check.push_back(column["values"][code]);
  }
  return check;
}

// A bundle's facts as the page's data holds them back into the manifest's JSON.
json bundle_facts(const json& data, const json& value) {
  if (value.is_number()) return data["strings"][value.get<std::size_t>()];
  if (value.is_string()) return json::parse(value.get<std::string>());
  json result = value;
  if (!result.is_structured()) return result;
  for (auto& [key, item] : result.items()) item = bundle_facts(data, item);
  return result;
}

// A packed value of the page's data back into the object of report.json, as the page's script
// does it.
json unpack(const json& data, const std::string& path, const json& value) {
  const json& interned = data["interned"];
  auto is_interned = [&interned](const std::string& p) {
    return std::find(interned.begin(), interned.end(), p) != interned.end();
  };
  if (is_interned(path) && !value.is_null()) {
    return unpack_value(data, path, data["strings"][value.get<std::size_t>()]);
  }
  if (path == data["lined"] && !value.is_null()) {
    std::string text;
    for (const json& line : value) {
      if (&line != &value.front()) text += '\n';
      text += data["strings"][line.get<std::size_t>()].get<std::string>();
    }
    return text;
  }
  if (path == "check/bundle") return bundle_facts(data, value);
  return unpack_value(data, path, value);
}

json unpack_value(const json& data, const std::string& path, const json& value) {
  const json& interned = data["interned"];
  auto is_interned = [&interned](const std::string& p) {
    return std::find(interned.begin(), interned.end(), p) != interned.end();
  };
  if (!value.is_array()) return value;
  const json& schemas = data["schemas"];
  if (schemas.contains(path)) {  // a packed object; a check leaves its trailing nulls out
    json object = json::object();
    for (std::size_t i = 0; i < schemas[path].size(); ++i) {
      const std::string key = schemas[path][i];
      object[key] = unpack(data, path + "/" + key, value[i]);
    }
    return object;
  }
  if (!schemas.contains(path + "/*") && !is_interned(path + "/*")) return value;
  json items = json::array();
  for (const json& item : value) items.push_back(unpack(data, path + "/*", item));
  return items;
}

// Equal but for floating numbers, which the page keeps to four significant digits.
bool same_to_four_digits(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    if (!a.is_number() || !b.is_number()) return false;
    const double x = a.get<double>();
    const double y = b.get<double>();
    return std::abs(x - y) <= 5e-4 * std::max(std::abs(x), std::abs(y));
  }
  if (a.is_structured() || b.is_structured()) {
    if (a.type() != b.type() || a.size() != b.size()) return false;
    if (a.is_object()) {
      return std::all_of(a.items().begin(), a.items().end(), [&b](const auto& item) {
        return b.contains(item.key()) && same_to_four_digits(item.value(), b[item.key()]);
      });
    }
    return std::equal(a.begin(), a.end(), b.begin(), same_to_four_digits);
  }
  return a == b;
}

TEST(HtmlReport, HostileTextStaysTextInTheData) {
  RunResult run = test_run();
  const std::string hostile =
      "</script><img src=x onerror=\"window.injected=1\"><!-- <script>alert(1)</script> "
      "bad bytes \xff\xfe end";
  run.checks[3].message->text = hostile;
  run.checks[3].detail = "</SCRIPT ><b>detail</b>";
  const std::string page = html_report(std::span(&run, 1));

  const std::string data = embedded_data(page);
  EXPECT_EQ(data.find('<'), std::string::npos) << "a '<' in the data could end its element";
  const json parsed = json::parse(data);
  const json check = unpack(parsed, "check", packed_check(parsed, 3));
  EXPECT_EQ(check["message"]["text"],
            "</script><img src=x onerror=\"window.injected=1\"><!-- <script>alert(1)</script> "
            "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(check["detail"], "</SCRIPT ><b>detail</b>");
  // The page's own markup is all there is: one data element and one script.
  std::size_t scripts = 0;
  for (std::size_t at = 0; (at = page.find("<script", at)) != std::string::npos; ++at) ++scripts;
  EXPECT_EQ(scripts, 2U);
}

TEST(HtmlReport, DataHoldsEveryCheckAsReportJsonDoes) {
  const RunResult run = test_run();
  const json data = html_page_data(std::span(&run, 1));
  const json report = report_to_json(run);
  ASSERT_EQ(data["check_count"], run.checks.size());
  for (std::size_t i = 0; i < run.checks.size(); ++i) {
    json check = unpack(data, "check", packed_check(data, i));
    json expected = report["checks"][i];
    EXPECT_EQ(check["bundle"], run.checks[i].bundle);  // report.json: in $.bundles
    check.erase("bundle");
    expected.erase("bundle");
    // Stored once for the page: the histogram's edges.
    for (json& output : expected["outputs"]) output["stats"]["abs_error_histogram"].erase("edges");
    if (expected["first_divergence"].is_object()) {
      expected["first_divergence"]["comparison"]["stats"]["abs_error_histogram"].erase("edges");
    }
    EXPECT_TRUE(check["history"].is_null());  // one night: no history
    check.erase("history");
    // The page derives `failure`, leaves an empty detail out and keeps timings to two digits,
    // each a member of the check.
    EXPECT_FALSE(check.contains("failure"));
    expected.erase("failure");
    if (expected["detail"] == "") expected["detail"] = nullptr;
    for (const char* t : {"load_ms", "run_ms", "overhead_ms"}) {
      const double shown = check[t].get<double>();
      const double full = expected["timings"][t].get<double>();
      EXPECT_LE(std::abs(shown - full), 0.05 * std::abs(full) + 1e-9) << t;
      check.erase(t);
    }
    expected.erase("timings");
    EXPECT_TRUE(same_to_four_digits(check, expected)) << check.dump() << "\n" << expected.dump();
  }
  EXPECT_EQ(data["producers"], json({"1.2.0", "1.5.1", "1.10.0"}));
  EXPECT_EQ(data["histogram_edges"].size(), kAbsErrorHistogramEdges.size());
}

// What keeps the page of a release matrix small: a bundle's facts appear once in the page
// however many checks (candidates, load APIs) use them, their strings once however many bundles
// hold them, each message line once, and each check's members as codes of a few characters.
TEST(HtmlReport, EachFactIsStoredOnce) {
  RunResult run = test_run();
  const std::string sha256(64, 'e');
  const std::string trace = "[bt] (0) /envs/1.9.1/lib/libmxnet.so(+0x192112) [0x7f1869d92112]";
  const CheckResult load_fail = run.checks[3];  // with a message
  ASSERT_TRUE(load_fail.message);
  run.checks.clear();
  for (int k = 0; k < 400; ++k) {  // 100 bundles, 2 load APIs, 2 candidates
    CheckResult c = load_fail;
    c.key.model = fmt::format("model-{}", k / 4);
    c.key.load_api = k % 2 == 0 ? "gluon-imports" : "c-predict";
    c.key.candidate = k % 4 < 2 ? "1.9.1" : "2.0.0";
    c.bundle = {{"files", {{{"path", "model/net.params"}, {"sha256", sha256}, {"size", 9408}}}},
                {"producer", {{"platform", "Linux-x86_64"}}},
                {"id", fmt::format("bundle {}", k / 4)}};
    c.message->text = fmt::format("error {}\n{}", k, trace);
    run.checks.push_back(c);
  }
  const std::string page = html_report(std::span(&run, 1));
  auto count = [&page](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = page.find(text, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  EXPECT_EQ(count(sha256), 1U);
  EXPECT_EQ(count("Linux-x86_64"), 1U);
  EXPECT_EQ(count("bundle 7\""), 1U);
  EXPECT_EQ(count(trace), 1U);
  const json data = html_page_data(std::span(&run, 1));
  for (const json& column : data["columns"]) {
    EXPECT_LE(column["width"].get<std::size_t>(), 2U);  // 101 bundles and null: two digits
  }
  for (std::size_t i = 0; i < run.checks.size(); ++i) {
    const json check = unpack(data, "check", packed_check(data, i));
    EXPECT_EQ(check["bundle"], run.checks[i].bundle);
    EXPECT_EQ(check["message"]["text"], run.checks[i].message->text);
  }
}

TEST(HtmlReport, SummaryIsTheTerminalsWords) {
  const RunResult run = test_run();
  const json data = html_page_data(std::span(&run, 1));
  const std::string terminal = terminal_summary(run, false);
  const std::string lines = fmt::format("\n{}\n{}\n", data["summary"][0].get<std::string>(),
                                        data["summary"][1].get<std::string>());
  ASSERT_GE(terminal.size(), lines.size());
  EXPECT_EQ(terminal.substr(terminal.size() - lines.size()), lines);
  EXPECT_EQ(data["summary"][0],
            "6 checks: 1 PASS, 1 XFAIL, 1 UNSUPPORTED, 1 ARTIFACT_CORRUPT, 1 LOAD_FAIL, "
            "1 NUMERIC_DRIFT");
}

// Three nights given newest first: history is in time order, and says when the check last
// passed and since when it fails.
TEST(HtmlReport, HistoryOfSeveralNights) {
  std::vector<RunResult> nights(3, test_run());
  const CheckKey drift = nights[0].checks[1].key;  // NUMERIC_DRIFT in test_run
  for (std::size_t n = 0; n < 3; ++n) {
    nights[n].run.started_at -= std::chrono::days(n);  // nights[0] is the newest
  }
  nights[2].checks[1].verdict = Verdict::kPass;          // passed two nights ago
  nights[1].checks.erase(nights[1].checks.begin() + 3);  // yesterday's run lacked the LOAD_FAIL

  const std::vector<const RunResult*> ordered = nights_in_order(nights);
  ASSERT_EQ(ordered.back(), &nights[0]);
  const std::vector<CheckHistory> histories = check_histories(ordered);
  ASSERT_EQ(histories.size(), nights[0].checks.size());

  const CheckHistory& h = histories[1];
  ASSERT_EQ(nights[0].checks[1].key, drift);
  EXPECT_EQ(h.verdicts, (std::vector<std::optional<Verdict>>{Verdict::kPass, Verdict::kNumericDrift,
                                                             Verdict::kNumericDrift}));
  EXPECT_EQ(h.last_passed, 0U);
  EXPECT_EQ(h.failing_since, 1U);

  const CheckHistory& load_fail = histories[3];
  EXPECT_EQ(load_fail.verdicts, (std::vector<std::optional<Verdict>>{
                                    Verdict::kLoadFail, std::nullopt, Verdict::kLoadFail}));
  EXPECT_EQ(load_fail.last_passed, std::nullopt);
  EXPECT_EQ(load_fail.failing_since, 0U);

  const CheckHistory& pass = histories[0];
  EXPECT_EQ(pass.last_passed, 2U);
  EXPECT_EQ(pass.failing_since, std::nullopt);

  const json data = html_page_data(nights);
  EXPECT_EQ(data["nights"],
            json({"2025-05-30T02:00:00Z", "2025-05-31T02:00:00Z", "2025-06-01T02:00:00Z"}));
  const json shown = unpack(data, "check", packed_check(data, 1));
  EXPECT_EQ(shown["history"]["verdicts"], json({"PASS", "NUMERIC_DRIFT", "NUMERIC_DRIFT"}));
  EXPECT_EQ(shown["history"]["failing_since"], 1);
}

TEST(HtmlReport, WriteErrorNamesThePath) {
  const RunResult run = test_run();
  const std::filesystem::path path = "/nonexistent-folder/report.html";
  const Status written = write_html_report(path, std::span(&run, 1));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace mbcc
