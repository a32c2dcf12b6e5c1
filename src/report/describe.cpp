#include "report/describe.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "check/transitions.hpp"

namespace mbcc {
namespace {

// Statistics to three digits; element values to nine, enough to tell two float32 values apart.
std::string format_number(double value, int digits) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Inf" : "-Inf";
  return fmt::format("{:.{}g}", value, digits);
}
std::string stat(double value) { return format_number(value, 3); }
std::string element(double value) { return format_number(value, 9); }

std::string verdict_names(const VerdictSet& verdicts) {
  std::string out;
  for (const VerdictInfo& info : kVerdictTable) {
    if (!verdicts.contains(info.verdict)) continue;
    if (!out.empty()) out += " or ";
    out += info.name;
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string_view::npos) {
    lines.pop_back();
  }
  return lines;
}

}  // namespace

int verdict_severity(Verdict verdict) {
  if (is_failure(verdict)) return 10 + static_cast<int>(verdict);
  switch (verdict) {
    case Verdict::kXFail:
      return 3;
    case Verdict::kUnsupported:
      return 2;
    case Verdict::kSkipped:
      return 1;
    default:
      return 0;
  }
}

ReleaseOverview release_overview(const RunResult& result) {
  ReleaseOverview overview;
  overview.candidates = candidates_in_release_order(result.run);
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < overview.candidates.size(); ++i) {
    column.emplace(overview.candidates[i], i);
  }
  std::set<std::string, ReleaseNameLess> producers;
  for (const CheckResult& c : result.checks) {
    producers.insert(c.key.producer);
    if (column.emplace(c.key.candidate, overview.candidates.size()).second) {
      overview.candidates.push_back(c.key.candidate);  // a merged report's stray candidate
    }
  }
  overview.producers.assign(producers.begin(), producers.end());
  std::map<std::string, std::size_t> row;
  for (std::size_t i = 0; i < overview.producers.size(); ++i) row.emplace(overview.producers[i], i);
  overview.cells.resize(overview.producers.size() * overview.candidates.size());
  for (const CheckResult& c : result.checks) {
    PairCell& cell = overview.cells[row.at(c.key.producer) * overview.candidates.size() +
                                    column.at(c.key.candidate)];
    if (c.direction == Direction::kForward) {
      ++cell.forward_checks;
      cell.forward_failures += is_failure(c.verdict) ? 1 : 0;
      continue;
    }
    ++cell.checks;
    ++cell.counts[static_cast<std::size_t>(c.verdict)];
    if (!cell.worst || verdict_severity(c.verdict) > verdict_severity(*cell.worst)) {
      cell.worst = c.verdict;
    }
  }
  return overview;
}

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

SummaryLines summary_lines(const RunResult& result) {
  const VerdictCounts counts = count_verdicts(result.checks);
  std::string tally;
  for (const VerdictInfo& info : kVerdictTable) {
    if (const uint64_t n = counts[static_cast<std::size_t>(info.verdict)]; n > 0) {
      tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", n, info.name);
    }
  }
  std::size_t failures = 0;
  std::size_t forward_apart = 0;  // forward failures that do not fail the run
  for (const CheckResult& c : result.checks) {
    if (fails_run(c, result.run.forward)) {
      ++failures;
    } else if (is_failure(c.verdict)) {
      ++forward_apart;
    }
  }
  SummaryLines lines;
  lines.counts = plural(result.checks.size(), "check") + (tally.empty() ? "" : ": ") + tally;
  const auto from_cache =
      static_cast<std::size_t>(std::count_if(result.checks.begin(), result.checks.end(),
                                             [](const CheckResult& c) { return c.from_cache; }));
  if (from_cache > 0) {
    lines.counts += fmt::format(
        " ({} of them from the run cache, compared afresh; --no-cache "
        "runs them)",
        from_cache);
  }
  switch (const int code = exit_code(result)) {
    case kExitClean:
      lines.exit = fmt::format("exit {}: nothing unexpected", code);
      break;
    case kExitFailures: {
      std::string why = plural(failures, "failing check");
      if (!result.expired_expectations.empty()) {
        why += ", " + plural(result.expired_expectations.size(), "expired expectation");
      }
      lines.exit = fmt::format("exit {}: {}", code, why);
      break;
    }
    default:
      lines.exit = fmt::format("exit {}: the run could not be done", code);
  }
  if (forward_apart > 0) {
    lines.exit += fmt::format(
        " ({} of files newer than their candidate, which no release "
        "promised to read, do not count: --forward fail counts them)",
        plural(forward_apart, "failure"));
  }
  return lines;
}

std::string format_date(std::chrono::year_month_day date) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

std::string format_utc_time(std::chrono::sys_seconds time) {
  const auto days = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::hh_mm_ss clock(time - days);
  return fmt::format("{}T{:02}:{:02}:{:02}Z", format_date(std::chrono::year_month_day(days)),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count());
}

std::string check_title(const CheckKey& key) {
  return fmt::format("{} {}/{} -> {} @ {}", key.producer, key.model, key.save_api, key.load_api,
                     key.candidate);
}

std::vector<std::string> describe_comparison(const std::string& name, const Comparison& c) {
  const CompareStats& s = c.stats;
  switch (c.outcome) {
    case CompareOutcome::kMatch:
      return {};
    case CompareOutcome::kDTypeMismatch:
      return {fmt::format("{}: dtype {}, golden {}", name, dtype_info(c.actual_dtype).name,
                          dtype_info(c.expected_dtype).name)};
    case CompareOutcome::kShapeMismatch:
      return {fmt::format("{}: shape {}, golden {}", name, shape_to_string(c.actual_shape),
                          shape_to_string(c.expected_shape))};
    case CompareOutcome::kOutOfTolerance:
    case CompareOutcome::kNonFiniteIntroduced:
      break;
  }
  std::string rule =
      c.tolerance == Tolerance{}
          ? std::string("differ (exact match required)")
          : fmt::format("outside rtol {} atol {}", stat(c.tolerance.rtol), stat(c.tolerance.atol));
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{}: {} of {} elements ({}%) {}", name, s.mismatched, s.count,
                              stat(s.mismatched_share * 100), rule));
  if (s.nonfinite_introduced > 0) {
    lines.back() +=
        fmt::format(", {} NaN or Inf where the golden is finite", s.nonfinite_introduced);
  }
  lines.push_back(fmt::format("abs error max {} mean {} p99 {}; rel error max {} mean {} p99 {}",
                              stat(s.abs_error.max), stat(s.abs_error.mean), stat(s.abs_error.p99),
                              stat(s.rel_error.max), stat(s.rel_error.mean),
                              stat(s.rel_error.p99)));
  if (s.worst) {
    lines.push_back(fmt::format("worst at {}: actual {} ({}), golden {} ({})",
                                shape_to_string(s.worst->index), element(s.worst->actual),
                                s.worst->actual_bits, element(s.worst->expected),
                                s.worst->expected_bits));
  }
  return lines;
}

std::vector<std::string> describe_check(const CheckResult& check, std::size_t message_lines) {
  std::vector<std::string> lines;
  for (std::string_view line : split_lines(check.detail)) lines.emplace_back(line);
  if (check.message) {
    const MessageClass& kind = check.message->kind;
    std::string label(message_kind_name(kind.kind));
    if (!kind.subject.empty()) label += " " + kind.subject;
    std::vector<std::string_view> text = split_lines(check.message->text);
    if (text.empty()) lines.push_back(fmt::format("message [{}]", label));
    const std::size_t shown =
        message_lines == 0 ? text.size() : std::min(text.size(), message_lines);
    for (std::size_t i = 0; i < shown; ++i) {
      lines.push_back(i == 0 ? fmt::format("message [{}]: {}", label, text[i])
                             : fmt::format("  {}", text[i]));
    }
    if (shown < text.size()) lines.push_back(fmt::format("  … {} more lines", text.size() - shown));
    if (!check.message->explanation.empty()) {
      lines.push_back(fmt::format("registry: {}", check.message->explanation));
    }
  }
  for (const OutputResult& output : check.outputs) {
    for (std::string& line : describe_comparison(output.name, output.comparison)) {
      lines.push_back(std::move(line));
    }
  }
  if (check.first_divergence) {
    const DivergingNode& node = *check.first_divergence;
    lines.push_back(fmt::format("first diverging node: {} ({})", node.node, node.op));
    if (!node.explanation.empty()) lines.push_back(fmt::format("registry: {}", node.explanation));
    if (node.comparison) {
      for (std::string& line : describe_comparison(node.node, *node.comparison)) {
        lines.push_back(std::move(line));
      }
    }
  }
  if (check.expectation) {
    const ExpectationRecord& e = *check.expectation;
    lines.push_back(fmt::format("expected {} by {}: {} <{}>", verdict_names(e.verdicts), e.source,
                                e.reason, e.link));
  }
  if (check.attempts.size() > 1) {
    std::string attempts;
    for (Verdict v : check.attempts) {
      attempts += attempts.empty() ? "" : ", ";
      attempts += verdict_name(v);
    }
    lines.push_back("attempts: " + attempts);
  }
  return lines;
}

}  // namespace mbcc
