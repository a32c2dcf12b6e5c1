#include "report/merge.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace mbcc {
namespace {

// The one value every report gives for `field` (ignoring empty ones when `empty_is_unset`).
Result<std::string> agreed(std::span<const RunResult> reports, const char* field,
                           std::string RunInfo::*member, bool empty_is_unset) {
  std::string value;
  std::size_t first = 0;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const std::string& v = reports[i].run.*member;
    if (empty_is_unset && v.empty()) continue;
    if (first == 0) {
      value = v;
      first = i + 1;
    } else if (v != value) {
      Error e;
      e.source = fmt::format("reports {} and {}", first, i + 1);
      e.field = fmt::format("run.{}", field);
      e.found = fmt::format(R"("{}" and "{}")", value, v);
      e.allowed = "the same value in every report";
      return e;
    }
  }
  return value;
}

// Appends `item` unless `to` has it already, keeping the first-seen order; true when appended.
template <class T>
bool add_once(std::vector<T>& to, const T& item) {
  if (std::find(to.begin(), to.end(), item) != to.end()) return false;
  to.push_back(item);
  return true;
}

}  // namespace

Result<RunResult> merge_reports(std::span<const RunResult> reports) {
  if (reports.empty()) return Error::plain("report merge", "no reports to merge");
  RunResult merged;
  auto version = agreed(reports, "mbcc_version", &RunInfo::mbcc_version, false);
  if (!version) return version.error();
  auto store = agreed(reports, "store", &RunInfo::store, false);
  if (!store) return store.error();
  auto expectations = agreed(reports, "expectations", &RunInfo::expectations, true);
  if (!expectations) return expectations.error();
  merged.run.mbcc_version = std::move(version).value();
  merged.run.store = std::move(store).value();
  merged.run.expectations = std::move(expectations).value();
  merged.run.started_at = reports.front().run.started_at;
  merged.run.finished_at = reports.front().run.finished_at;
  merged.run.forward = reports.front().run.forward;
  for (const RunResult& report : reports) {
    if (report.run.forward != merged.run.forward) {
      Error e = Error::plain("report merge", "the reports' runs treat forward checks differently");
      e.field = "run.forward";
      e.found = fmt::format("{} and {}", forward_policy_name(merged.run.forward),
                            forward_policy_name(report.run.forward));
      e.allowed = "one policy for every shard of a run";
      return e;
    }
  }

  std::map<CheckKey, std::size_t> position;
  for (const RunResult& report : reports) {
    merged.run.started_at = std::min(merged.run.started_at, report.run.started_at);
    merged.run.finished_at = std::max(merged.run.finished_at, report.run.finished_at);
    for (const std::string& vendor : report.run.cpu_vendors) {
      add_once(merged.run.cpu_vendors, vendor);
    }
    for (const std::string& candidate : report.run.candidates) {
      if (add_once(merged.run.candidates, candidate)) {
        const std::size_t i = static_cast<std::size_t>(&candidate - report.run.candidates.data());
        merged.run.candidate_releases.push_back(
            i < report.run.candidate_releases.size() ? report.run.candidate_releases[i] : "");
      }
    }
    for (const CheckResult& check : report.checks) {
      auto [it, added] = position.emplace(check.key, merged.checks.size());
      if (added) {
        merged.checks.push_back(check);
      } else {
        merged.checks[it->second] = check;
      }
    }
    for (const ExpectationRecord& e : report.expired_expectations) {
      add_once(merged.expired_expectations, e);
    }
    merged.run_errors.insert(merged.run_errors.end(), report.run_errors.begin(),
                             report.run_errors.end());
  }
  return merged;
}

}  // namespace mbcc
