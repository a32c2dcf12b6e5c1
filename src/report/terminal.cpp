#include "report/terminal.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "check/transitions.hpp"
#include "report/describe.hpp"

namespace mbcc {
namespace {

constexpr std::size_t kMessageLines = 3;
constexpr std::string_view kNoCheck = "..";
// More candidates than this get the release matrix instead of one matrix each.
constexpr std::size_t kMatricesShown = 3;

// Candidate first, so each candidate's checks are together, then in matrix order.
bool key_less(const CheckKey& a, const CheckKey& b) {
  if (a.candidate != b.candidate) return release_name_less(a.candidate, b.candidate);
  if (a.producer != b.producer) return release_name_less(a.producer, b.producer);
  const std::array<std::pair<const std::string&, const std::string&>, 3> parts{{
      {a.model, b.model},
      {a.save_api, b.save_api},
      {a.load_api, b.load_api},
  }};
  for (const auto& [x, y] : parts) {
    if (x != y) return natural_less(x, y);
  }
  return false;
}

class Painter {
 public:
  explicit Painter(bool colour) : colour_(colour) {}

  std::string verdict(Verdict v, std::string_view text) const {
    if (!colour_) return std::string(text);
    const char* ansi = is_failure(v) ? "\x1b[1;31m" : v == Verdict::kPass ? "\x1b[32m" : "\x1b[33m";
    return fmt::format("{}{}\x1b[0m", ansi, text);
  }
  std::string code(Verdict v) const { return verdict(v, verdict_info(v).code); }

 private:
  bool colour_;
};

// Trailing blanks would make golden files fragile and copy-pastes ugly.
std::string trim_right(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

std::string pad(const std::string& shown, std::size_t visible, std::size_t width) {
  return shown + std::string(width > visible ? width - visible : 0, ' ');
}

// One candidate's matrix: producers down, cases (model/save API) across, and in each cell one
// code per load API of the case.
void render_matrix(std::string& out, const std::string& candidate,
                   std::span<const CheckResult* const> checks, const Painter& paint,
                   std::set<Verdict>& used, bool& any_blank) {
  using Case = std::pair<std::string, std::string>;
  std::set<std::string, ReleaseNameLess> producers;
  std::map<Case, std::set<std::string, NaturalLess>> load_apis;
  std::map<std::tuple<std::string, Case, std::string>, Verdict> cell;
  for (const CheckResult* c : checks) {
    const Case case_key{c->key.model, c->key.save_api};
    producers.insert(c->key.producer);
    load_apis[case_key].insert(c->key.load_api);
    cell[{c->key.producer, case_key, c->key.load_api}] = c->verdict;
    used.insert(c->verdict);
  }

  out += fmt::format("candidate {}\n", candidate);
  std::size_t first_width = std::string_view("producer").size();
  for (const std::string& p : producers) first_width = std::max(first_width, p.size());
  std::vector<std::size_t> widths;
  std::string header = "  " + pad("producer", 8, first_width);
  std::size_t number = 0;
  for (const auto& [case_key, apis] : load_apis) {
    const std::string label = std::to_string(++number);
    widths.push_back(std::max(label.size(), apis.size() * 3 - 1));
    header += "  " + pad(label, label.size(), widths.back());
  }
  out += trim_right(header) + "\n";

  for (const std::string& producer : producers) {
    std::string row = "  " + pad(producer, producer.size(), first_width);
    std::size_t column = 0;
    for (const auto& [case_key, apis] : load_apis) {
      std::string shown;
      std::size_t visible = 0;
      for (const std::string& api : apis) {
        if (visible > 0) {
          shown += ' ';
          ++visible;
        }
        auto it = cell.find({producer, case_key, api});
        if (it == cell.end()) {
          shown += kNoCheck;
          any_blank = true;
        } else {
          shown += paint.code(it->second);
        }
        visible += 2;
      }
      row += "  " + pad(shown, visible, widths[column++]);
    }
    out += trim_right(row) + "\n";
  }

  number = 0;
  for (const auto& [case_key, apis] : load_apis) {
    std::string list;
    for (const std::string& api : apis) list += (list.empty() ? "" : " ") + api;
    out += fmt::format("  {:>{}}  {}/{}: {}\n", ++number, std::to_string(load_apis.size()).size(),
                       case_key.first, case_key.second, list);
  }
}

// The release matrix: producers down, candidates across in release order, each cell the worst
// verdict of the pair's backward and same-release checks; "fw" a pair of forward checks only.
void render_overview(std::string& out, const RunResult& result, const Painter& paint,
                     std::set<Verdict>& used, bool& any_blank) {
  const ReleaseOverview overview = release_overview(result);
  out += "release matrix: the worst verdict of each producer (down) on each candidate (across)\n";
  std::size_t first_width = std::string_view("producer").size();
  for (const std::string& p : overview.producers) first_width = std::max(first_width, p.size());
  std::string header = "  " + pad("producer", 8, first_width);
  for (std::size_t c = 0; c < overview.candidates.size(); ++c) {
    header += fmt::format(" {:>2}", c + 1);
  }
  out += trim_right(header) + "\n";
  for (std::size_t p = 0; p < overview.producers.size(); ++p) {
    std::string row = "  " + pad(overview.producers[p], overview.producers[p].size(), first_width);
    for (std::size_t c = 0; c < overview.candidates.size(); ++c) {
      const PairCell& cell = overview.cell(p, c);
      if (cell.worst) {
        row += " " + paint.code(*cell.worst);
        used.insert(*cell.worst);
      } else if (cell.forward_checks > 0) {
        row += " fw";
      } else {
        row += " " + std::string(kNoCheck);
        any_blank = true;
      }
    }
    out += trim_right(row) + "\n";
  }
  for (std::size_t c = 0; c < overview.candidates.size(); ++c) {
    out += fmt::format("  {:>2}  {}\n", c + 1, overview.candidates[c]);
  }
}

// Forward failures, one line per producer: files newer than the candidate, which no release
// promised to read, so they are not listed one by one.
void render_forward_failures(std::string& out, std::span<const CheckResult* const> checks,
                             ForwardPolicy forward) {
  std::map<std::string, std::set<std::string, ReleaseNameLess>, ReleaseNameLess> candidates_of;
  std::map<std::string, std::size_t> failures_of;
  std::size_t total = 0;
  for (const CheckResult* c : checks) {
    if (c->direction != Direction::kForward || !is_failure(c->verdict)) continue;
    candidates_of[c->key.producer].insert(c->key.candidate);
    ++failures_of[c->key.producer];
    ++total;
  }
  if (total == 0) return;
  out += fmt::format(
      "\nforward failures: {} (files newer than the candidate, which no release promised to "
      "read; {})\n",
      total,
      forward == ForwardPolicy::kFail ? "--forward fail: they fail the run"
                                      : "they do not fail the run");
  for (const auto& [producer, candidates] : candidates_of) {
    const std::string on = candidates.size() == 1
                               ? *candidates.begin()
                               : fmt::format("{} candidates, {} to {}", candidates.size(),
                                             *candidates.begin(), *candidates.rbegin());
    out += fmt::format("  files of {} read by {}: {}\n", producer, on,
                       plural(failures_of[producer], "failure"));
  }
}

// Where cases broke: per release, how many cases and load APIs stopped passing there, and how
// many passed again.
void render_transitions(std::string& out, const RunResult& result) {
  if (result.run.candidates.size() < 2) return;
  const std::vector<Transition> transitions = find_transitions(result);
  const std::vector<std::string> order = candidates_in_release_order(result.run);
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_release;  // broke, passes
  for (const Transition& t : transitions) {
    auto& [broke, fixed] = per_release[t.to_candidate];
    ++(t.broke() ? broke : fixed);
  }
  if (per_release.empty()) {
    out += "\nno case changed between passing and failing across the candidates\n";
    return;
  }
  out += "\n";
  for (const std::string& release : order) {
    auto it = per_release.find(release);
    if (it == per_release.end()) continue;
    const auto [broke, fixed] = it->second;
    if (broke > 0)
      out += fmt::format("introduced in release {}: {}\n", release, plural(broke, "case"));
    if (fixed > 0)
      out += fmt::format("passes from release {}: {}\n", release, plural(fixed, "case"));
  }
}

}  // namespace

std::string terminal_summary(const RunResult& result, bool colour) {
  const Painter paint(colour);
  std::vector<const CheckResult*> sorted;
  for (const CheckResult& c : result.checks) sorted.push_back(&c);
  std::stable_sort(sorted.begin(), sorted.end(), [](const CheckResult* a, const CheckResult* b) {
    return key_less(a->key, b->key);
  });

  std::string out =
      fmt::format("mbcc {}: {} from {}, {} to {}\n", result.run.mbcc_version,
                  plural(result.checks.size(), "check"), result.run.store,
                  format_utc_time(result.run.started_at), format_utc_time(result.run.finished_at));
  if (!result.run.expectations.empty()) {
    out += fmt::format("expectations: {}\n", result.run.expectations);
  }

  std::set<Verdict> used;
  bool any_blank = false;
  if (result.run.candidates.size() > kMatricesShown) {
    out += "\n";
    render_overview(out, result, paint, used, any_blank);
  } else {
    for (auto first = sorted.begin(); first != sorted.end();) {
      auto last = std::find_if(first, sorted.end(), [&](const CheckResult* c) {
        return c->key.candidate != (*first)->key.candidate;
      });
      out += "\n";
      render_matrix(out, (*first)->key.candidate, {first, last}, paint, used, any_blank);
      first = last;
    }
  }
  if (!used.empty()) {
    std::string legend;
    for (Verdict v : used) {
      legend += fmt::format("{}{} {}", legend.empty() ? "" : ", ", paint.code(v), verdict_name(v));
    }
    if (any_blank) legend += fmt::format(", {} no check", kNoCheck);
    out += fmt::format("\ncodes: {}\n", legend);
  }

  std::vector<const CheckResult*> failures;
  std::copy_if(sorted.begin(), sorted.end(), std::back_inserter(failures),
               [&result](const CheckResult* c) { return fails_run(*c, result.run.forward); });
  if (!failures.empty()) {
    out += fmt::format("\nfailures: {}\n", failures.size());
    for (const CheckResult* c : failures) {
      out += fmt::format("  {} {}\n", paint.verdict(c->verdict, verdict_name(c->verdict)),
                         check_title(c->key));
      for (const std::string& line : describe_check(*c, kMessageLines)) {
        out += fmt::format("    {}\n", line);
      }
    }
  }
  render_forward_failures(out, sorted, result.run.forward);
  if (!result.expired_expectations.empty()) {
    out += fmt::format("\nexpired expectations: {}\n", result.expired_expectations.size());
    for (const ExpectationRecord& e : result.expired_expectations) {
      out += fmt::format("  {} expired {}: {} <{}>\n", e.source,
                         e.expires ? format_date(*e.expires) : "", e.reason, e.link);
    }
  }
  if (!result.run_errors.empty()) {
    out += fmt::format("\nrun errors: {}\n", result.run_errors.size());
    for (const std::string& e : result.run_errors) out += fmt::format("  {}\n", e);
  }

  render_transitions(out, result);
  const SummaryLines summary = summary_lines(result);
  out += fmt::format("\n{}\n{}\n", summary.counts, summary.exit);
  return out;
}

bool colour_on_stdout() {
  return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace mbcc
