// Plain-text descriptions of checks and comparisons, shared by the terminal summary and the
// JUnit failure text so both say the same thing in the same words.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/natural_order.hpp"
#include "base/release_version.hpp"
#include "check/check_result.hpp"

namespace mbcc {

std::string plural(std::size_t n, std::string_view word);  // "1 check", "3 checks"

// The end of every summary, in the same words on the terminal and the HTML page: the count per
// verdict ("6 checks: 1 PASS, 2 LOAD_FAIL") and the exit code with its reason.
struct SummaryLines {
  std::string counts;
  std::string exit;
};
SummaryLines summary_lines(const RunResult& result);

std::string format_date(std::chrono::year_month_day date);   // "2026-06-30"
std::string format_utc_time(std::chrono::sys_seconds time);  // "2025-06-01T02:00:00Z"

// "1.5.1 lenet/gluon-export -> gluon-imports @ 1.9.1"
std::string check_title(const CheckKey& key);

// How bad a verdict is, for a cell that stands for many checks: a failure worse than an
// expected failure, worse than UNSUPPORTED, SKIPPED, then PASS.
int verdict_severity(Verdict verdict);

// The release matrix of a run: one cell per producer × candidate with the worst verdict of its
// backward and same-release checks and their counts; its forward checks are counted apart.
struct PairCell {
  std::optional<Verdict> worst;  // absent when the pair has no backward or same check
  VerdictCounts counts{};        // of the backward and same checks
  std::size_t checks = 0;
  std::size_t forward_checks = 0;
  std::size_t forward_failures = 0;
};
struct ReleaseOverview {
  std::vector<std::string> producers;   // release order
  std::vector<std::string> candidates;  // release order
  std::vector<PairCell> cells;          // producers × candidates, row by row
  const PairCell& cell(std::size_t producer, std::size_t candidate) const {
    return cells[producer * candidates.size() + candidate];
  }
};
ReleaseOverview release_overview(const RunResult& result);

// What went wrong with one output, one line each: the mismatch, the error statistics, the
// worst element. Empty for an output that matches.
std::vector<std::string> describe_comparison(const std::string& name, const Comparison& c);

// Everything a person needs to act on a check, one line each: mbcc's detail, the candidate's
// message (at most `message_lines` of it, 0 for all; later lines indented), each output that
// does not match, the first diverging node, the expectation and the attempts. The first line
// alone summarises the check.
std::vector<std::string> describe_check(const CheckResult& check, std::size_t message_lines);

}  // namespace mbcc
