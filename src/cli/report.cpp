// mbcc report: renders the report.json files that `mbcc check` wrote. Several reports given to
// `mbcc report` are several nights (the newest is shown, all give the history); `mbcc report
// merge` joins the shards of one night into one report.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "check/check_result.hpp"
#include "cli/commands.hpp"
#include "report/html.hpp"
#include "report/json.hpp"
#include "report/junit.hpp"
#include "report/merge.hpp"
#include "report/terminal.hpp"

namespace mbcc::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> reports;
  std::string html;
  std::vector<std::string> shards;
  std::string merged;
  std::string merged_html;
  std::string merged_junit;
};

Result<std::vector<RunResult>> read_reports(const std::vector<std::string>& paths) {
  std::vector<RunResult> reports;
  for (const std::string& path : paths) {
    Result<RunResult> report = read_report_json(path);
    if (!report.ok()) return report.error();
    reports.push_back(std::move(report).value());
  }
  return reports;
}

int failed(const Error& error) {
  fmt::print(stderr, "mbcc report: {}\n", error.message());
  return kExitRunFailed;
}

// The newest night's summary on the terminal, or the page of every night with --html.
int run_report(const ReportArgs& args) {
  Result<std::vector<RunResult>> reports = read_reports(args.reports);
  if (!reports.ok()) return failed(reports.error());
  if (args.html.empty()) {
    fmt::print("{}", terminal_summary(*nights_in_order(*reports).back(), colour_on_stdout()));
    return 0;
  }
  if (Status written = write_html_report(args.html, *reports); !written.ok()) {
    return failed(written.error());
  }
  fmt::print("html: {}\n", args.html);
  return 0;
}

int run_merge(const ReportArgs& args) {
  Result<std::vector<RunResult>> shards = read_reports(args.shards);
  if (!shards.ok()) return failed(shards.error());
  Result<RunResult> merged = merge_reports(*shards);
  if (!merged.ok()) return failed(merged.error());
  if (Status written = write_report_json(args.merged, *merged); !written.ok()) {
    return failed(written.error());
  }
  fmt::print("report: {}\n", args.merged);
  if (!args.merged_html.empty()) {
    if (Status written = write_html_report(args.merged_html, std::span(&*merged, 1));
        !written.ok()) {
      return failed(written.error());
    }
    fmt::print("html: {}\n", args.merged_html);
  }
  if (!args.merged_junit.empty()) {
    if (Status written = write_junit_xml(args.merged_junit, *merged); !written.ok()) {
      return failed(written.error());
    }
    fmt::print("junit: {}\n", args.merged_junit);
  }
  return 0;
}

}  // namespace

void add_report(CLI::App& app, int& exit_code) {
  auto* report = app.add_subcommand(
      "report",
      "Render report.json files: the summary of the newest, or with --html one page for them all "
      "(several reports are several nights: the newest is shown, all give each check's history)");
  auto args = std::make_shared<ReportArgs>();
  report->add_option("reports", args->reports, "report.json files written by mbcc check");
  report->add_option("--html", args->html, "write the HTML page here");
  auto* merge = report->add_subcommand(
      "merge", "Merge the report.json files of shards of one run into one report");
  merge->add_option("shards", args->shards, "report.json files of the shards, in run order")
      ->required();
  merge->add_option("-o,--output", args->merged, "the merged report.json")->required();
  merge->add_option("--html", args->merged_html, "also write the merged report's HTML page here");
  merge->add_option("--junit", args->merged_junit,
                    "also write the merged report as JUnit XML here, for CI");
  report->callback([args, merge, report, &exit_code] {
    if (merge->parsed()) {
      exit_code = run_merge(*args);
    } else if (args->reports.empty()) {
      fmt::print(stderr, "{}\nmbcc report: give one or more report.json files\n", report->help());
      exit_code = kExitRunFailed;
    } else {
      exit_code = run_report(*args);
    }
  });
}

}  // namespace mbcc::cli
