#include "report/terminal.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "report/describe.hpp"

namespace mbcc {
namespace {

constexpr std::size_t kMessageLines = 3;
constexpr std::string_view kNoCheck = "..";

std::string_view without_leading_zeros(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? digits.substr(digits.size() - 1) : digits.substr(first);
}

// Orders "1.10.0" after "1.9.1": runs of digits compare as numbers, the rest as text.
bool natural_less(std::string_view a, std::string_view b) {
  constexpr std::string_view kDigits = "0123456789";
  auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (!a.empty() && !b.empty()) {
    if (is_digit(a.front()) && is_digit(b.front())) {
      const std::size_t a_end = std::min(a.find_first_not_of(kDigits), a.size());
      const std::size_t b_end = std::min(b.find_first_not_of(kDigits), b.size());
      const std::string_view a_number = without_leading_zeros(a.substr(0, a_end));
      const std::string_view b_number = without_leading_zeros(b.substr(0, b_end));
      if (a_number.size() != b_number.size()) return a_number.size() < b_number.size();
      if (a_number != b_number) return a_number < b_number;
      a.remove_prefix(a_end);
      b.remove_prefix(b_end);
    } else {
      if (a.front() != b.front()) return a.front() < b.front();
      a.remove_prefix(1);
      b.remove_prefix(1);
    }
  }
  return a.size() < b.size();
}

struct NaturalLess {
  bool operator()(const std::string& a, const std::string& b) const { return natural_less(a, b); }
};

// Candidate first, so each candidate's checks are together, then in matrix order.
bool key_less(const CheckKey& a, const CheckKey& b) {
  const std::array<std::pair<const std::string&, const std::string&>, 5> parts{{
      {a.candidate, b.candidate},
      {a.producer, b.producer},
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
  std::set<std::string, NaturalLess> producers;
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

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
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
  for (auto first = sorted.begin(); first != sorted.end();) {
    auto last = std::find_if(first, sorted.end(), [&](const CheckResult* c) {
      return c->key.candidate != (*first)->key.candidate;
    });
    out += "\n";
    render_matrix(out, (*first)->key.candidate, {first, last}, paint, used, any_blank);
    first = last;
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
               [](const CheckResult* c) { return is_failure(c->verdict); });
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

  const VerdictCounts counts = count_verdicts(result.checks);
  std::string tally;
  for (const VerdictInfo& info : kVerdictTable) {
    if (const uint64_t n = counts[static_cast<std::size_t>(info.verdict)]; n > 0) {
      tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", n, info.name);
    }
  }
  out += fmt::format("\n{}{}{}\n", plural(result.checks.size(), "check"), tally.empty() ? "" : ": ",
                     tally);
  switch (const int code = exit_code(result)) {
    case kExitClean:
      out += fmt::format("exit {}: nothing unexpected\n", code);
      break;
    case kExitFailures: {
      std::string why = plural(failures.size(), "failing check");
      if (!result.expired_expectations.empty()) {
        why += ", " + plural(result.expired_expectations.size(), "expired expectation");
      }
      out += fmt::format("exit {}: {}\n", code, why);
      break;
    }
    default:
      out += fmt::format("exit {}: the run could not be done\n", code);
  }
  return out;
}

bool colour_on_stdout() {
  return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace mbcc
