#include "report/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "report/test_run.hpp"

namespace mbcc {
namespace {

RunResult round_trip(const RunResult& run) {
  auto back = parse_report_json(report_json_text(run), "report.json");
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message());
  return back.ok() ? std::move(back).value() : RunResult{};
}

TEST(ReportJson, RoundTripsEveryField) {
  const RunResult run = test_run();
  EXPECT_EQ(round_trip(run), run);
}

TEST(ReportJson, KeepsNaNAndInfinityAsStrings) {
  RunResult run = test_run();
  Comparison& c = run.checks[1].outputs[0].comparison;
  c.stats.worst->actual = std::numeric_limits<double>::quiet_NaN();
  c.stats.worst->expected = -std::numeric_limits<double>::infinity();
  const nlohmann::ordered_json document = report_to_json(run);
  const nlohmann::ordered_json& worst = document["checks"][1]["outputs"][0]["stats"]["worst"];
  EXPECT_EQ(worst["actual"], "NaN");
  EXPECT_EQ(worst["expected"], "-Infinity");

  const WorstElement back = *round_trip(run).checks[1].outputs[0].comparison.stats.worst;
  EXPECT_TRUE(std::isnan(back.actual));
  EXPECT_EQ(back.expected, -std::numeric_limits<double>::infinity());
}

TEST(ReportJson, SummaryCountsEveryVerdict) {
  const nlohmann::ordered_json document = report_to_json(test_run());
  EXPECT_EQ(document["schema"], "mbcc-report/3");
  const nlohmann::ordered_json& summary = document["summary"];
  EXPECT_EQ(summary["checks"], 6);
  EXPECT_EQ(summary["failures"], 3);  // drift, load failure, corrupt artifact
  EXPECT_EQ(summary["expired_expectations"], 1);
  EXPECT_EQ(summary["exit_code"], 1);
  EXPECT_EQ(summary["verdicts"].size(), kVerdictCount);
  EXPECT_EQ(summary["verdicts"]["XFAIL"], 1);
  EXPECT_EQ(summary["verdicts"]["FLAKY"], 0);
  EXPECT_EQ(document["run"]["started_at"], "2025-06-01T02:00:00Z");
  EXPECT_EQ(document["checks"][2]["message"]["kind"], "parameter_name_mismatch");
  EXPECT_EQ(document["checks"][2]["message"]["subject"], "conv0_weight");
  EXPECT_EQ(document["bundles"]["1.5.1/lenet/gluon-export"]["seeds"]["weights"], 7);
  EXPECT_EQ(document["checks"][0]["outputs"][0]["stats"]["abs_error_histogram"]["counts"].size(),
            kAbsErrorHistogramEdges.size() + 1);
}

// report_json_text writes one check at a time; it must say exactly what the whole document says.
TEST(ReportJson, TheWrittenTextIsTheDocumentIndented) {
  auto dumped = [](const RunResult& run) {
    return report_to_json(run).dump(2, ' ', false,
                                    nlohmann::ordered_json::error_handler_t::replace) +
           "\n";
  };
  RunResult run = test_run();
  run.checks[1].bundle = run.checks[0].bundle;  // two checks of one bundle, one with other facts
  run.checks[1].key.producer = run.checks[0].key.producer;
  run.checks[1].key.model = run.checks[0].key.model;
  run.checks[1].key.save_api = run.checks[0].key.save_api;
  run.checks[1].bundle["model_kind"] = "changed under the run";
  run.checks[3].message->text = "two\nlines \xff";
  EXPECT_EQ(report_json_text(run), dumped(run));
  EXPECT_TRUE(report_to_json(run)["checks"][1].contains("bundle"));
  EXPECT_FALSE(report_to_json(run)["checks"][0].contains("bundle"));
  run.checks.clear();
  EXPECT_EQ(report_json_text(run), dumped(run));
}

TEST(ReportJson, InvalidUtf8InAMessageIsReplaced) {
  RunResult run = test_run();
  run.checks[3].message->text = "bad \xff\xfe bytes";
  const std::string text = report_json_text(run);
  EXPECT_NE(text.find("bad \xEF\xBF\xBD\xEF\xBF\xBD bytes"), std::string::npos);
  EXPECT_TRUE(parse_report_json(text, "report.json").ok());
}

Error read_error(const nlohmann::ordered_json& document) {
  auto result = report_from_json(document, "report.json");
  EXPECT_FALSE(result.ok());
  return result.ok() ? Error{} : result.error();
}

TEST(ReportJson, ErrorsGiveTheJsonPath) {
  nlohmann::ordered_json document = report_to_json(test_run());
  document["checks"][1]["verdict"] = "MAYBE";
  Error bad_verdict = read_error(document);
  EXPECT_EQ(bad_verdict.source, "report.json");
  EXPECT_EQ(bad_verdict.location, "$.checks[1].verdict");
  EXPECT_EQ(bad_verdict.found, "string \"MAYBE\"");

  document = report_to_json(test_run());
  document["checks"][0]["outputs"][0]["stats"].erase("compared");
  EXPECT_EQ(read_error(document).location, "$.checks[0].outputs[0].stats.compared");

  document = report_to_json(test_run());
  document["run"]["started_at"] = "2025-06-01 02:00:00";
  EXPECT_EQ(read_error(document).location, "$.run.started_at");

  document = report_to_json(test_run());
  document["expired_expectations"][0]["expires"] = "2025-02-30";
  EXPECT_EQ(read_error(document).location, "$.expired_expectations[0].expires");
}

TEST(ReportJson, RefusesAnotherSchema) {
  nlohmann::ordered_json document = report_to_json(test_run());
  document["schema"] = "mbcc-report/4";
  Error e = read_error(document);
  EXPECT_EQ(e.location, "$.schema");
  EXPECT_EQ(e.allowed, "mbcc-report/3, mbcc-report/2 or mbcc-report/1");
  EXPECT_FALSE(parse_report_json("{", "report.json").ok());
}

TEST(ReportJson, WritesAndReadsAFile) {
  const std::filesystem::path dir = testing::TempDir();
  const std::filesystem::path path = dir / "mbcc-report-test.json";
  ASSERT_TRUE(write_report_json(path, test_run()).ok());
  auto back = read_report_json(path);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, test_run());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mbcc

namespace mbcc {
namespace {

// A report of schema 1 has no directions: they come from release order.
TEST(ReportJson, ASchema1ReportReadsWithDirectionsFromReleaseOrder) {
  nlohmann::ordered_json document = report_to_json(test_run());
  document["schema"] = "mbcc-report/1";
  document["run"].erase("candidate_releases");
  document["run"].erase("forward");
  document.erase("bundles");
  for (std::size_t i = 0; i < document["checks"].size(); ++i) {
    document["checks"][i].erase("direction");
    document["checks"][i]["bundle"] = test_run().checks[i].bundle;
  }
  Result<RunResult> back = report_from_json(document, "old.json");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->run.candidate_releases, test_run().run.candidates);
  for (const CheckResult& c : back->checks) {
    EXPECT_EQ(c.direction, direction_of(c.key.producer, c.key.candidate)) << c.key.producer;
  }
  EXPECT_EQ(back->checks[3].direction, Direction::kForward);  // 1.10.0's file on 1.9.1
}

TEST(ReportJson, TransitionsAreWritten) {
  const nlohmann::ordered_json document = report_to_json(test_run());
  ASSERT_TRUE(document["transitions"].is_array());
  EXPECT_EQ(document["summary"]["forward_failures"], 0);
  EXPECT_EQ(document["run"]["forward"], "report");
}

// A bundle's facts are written once however many checks (candidates, load APIs) share them; a
// check whose facts differ from its bundle's first (a merge of reports of different stores)
// keeps its own, and both read back.
TEST(ReportJson, EachBundlesFactsAreWrittenOnce) {
  RunResult run = test_run();
  const CheckResult first = run.checks[0];
  run.checks.clear();
  for (const char* candidate : {"1.9.1", "2.0.0"}) {
    for (const char* load_api : {"gluon-imports", "c-predict", "module-load"}) {
      CheckResult c = first;
      c.key.candidate = candidate;
      c.key.load_api = load_api;
      run.checks.push_back(c);
    }
  }
  run.checks.back().bundle = {{"seeds", {{"weights", 8}}}};
  const std::string text = report_json_text(run);
  std::size_t seeds = 0;
  for (std::size_t at = 0; (at = text.find("\"seeds\"", at)) != std::string::npos; ++at) ++seeds;
  EXPECT_EQ(seeds, 2U);  // the bundle's, and the one check's own
  const nlohmann::ordered_json document = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(document["bundles"].size(), 1U);
  EXPECT_FALSE(document["checks"][0].contains("bundle"));
  EXPECT_EQ(document["checks"][5]["bundle"]["seeds"]["weights"], 8);
  auto back = parse_report_json(text, "report.json");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, run);
}

// A report of schema 2 holds each check's bundle facts in the check.
TEST(ReportJson, ASchema2ReportWithFactsPerCheckReads) {
  const RunResult run = test_run();
  nlohmann::ordered_json document = report_to_json(run);
  document["schema"] = "mbcc-report/2";
  document.erase("bundles");
  for (std::size_t i = 0; i < run.checks.size(); ++i) {
    document["checks"][i]["bundle"] = run.checks[i].bundle;
  }
  Result<RunResult> back = report_from_json(document, "old.json");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, run);

  // written before the CPU was recorded: the run names none, and every entry held on every CPU
  document["run"].erase("cpu_vendors");
  document["checks"][2]["expectation"].erase("cpu_vendor");
  document["checks"][2]["expectation"].erase("cpu_flags");
  back = report_from_json(document, "old.json");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(back->run.cpu_vendors.empty());
  EXPECT_EQ(back->checks[2].expectation->cpu_vendor, std::vector<std::string>{"*"});
  EXPECT_TRUE(back->checks[2].expectation->cpu_flags.empty());

  document["schema"] = "mbcc-report/3";  // schema 3 wants $.bundles
  EXPECT_EQ(read_error(document).location, "$.bundles");
  document["bundles"] = nlohmann::ordered_json::object();
  document["checks"][2].erase("bundle");
  const Error missing = read_error(document);
  EXPECT_EQ(missing.location, "$.checks[2].bundle");
  EXPECT_NE(missing.allowed.find(run.checks[2].key.producer), std::string::npos);
}

}  // namespace
}  // namespace mbcc
