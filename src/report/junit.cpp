#include "report/junit.hpp"

#include <algorithm>
#include <map>
#include <span>

#include <fmt/format.h>

#include "base/file.hpp"
#include "report/describe.hpp"

namespace mbcc {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence of a character XML allows at `i`, or 0.
std::size_t xml_char_length(std::string_view s, std::size_t i) {
  auto byte = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto continuation = [&](std::size_t k, unsigned char lo, unsigned char hi) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return lead >= 0x20 || lead == '\t' || lead == '\n' || lead == '\r' ? 1 : 0;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char lo = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = lead == 0xED ? 0x9F : 0xBF;  // no UTF-16 surrogates
    if (!continuation(i + 1, lo, hi) || !continuation(i + 2, 0x80, 0xBF)) return 0;
    const bool nonchar = lead == 0xEF && byte(i + 1) == 0xBF && byte(i + 2) >= 0xBE;  // U+FFFE/F
    return nonchar ? 0 : 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char lo = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(i + 1, lo, hi) && continuation(i + 2, 0x80, 0xBF) &&
                   continuation(i + 3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

// Escapes markup (always `>` too, so no text can close a CDATA section the way "]]>" would), and
// replaces what XML 1.0 cannot carry (control characters, invalid UTF-8) with U+FFFD.
// Attributes also keep their line breaks, which parsers would otherwise turn into spaces.
std::string escape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t length = xml_char_length(s, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    switch (s[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\'':
        out += attribute ? "&apos;" : "'";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      default:
        out.append(s.substr(i, length));
    }
    i += length;
  }
  return out;
}
std::string text(std::string_view s) { return escape(s, false); }
std::string attr(std::string_view s) { return escape(s, true); }

std::string dots_to_underscores(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// One <testcase>. `outcome` is empty for a pass, else "failure", "error" or "skipped".
struct Case {
  std::string classname{};
  std::string name{};
  double seconds = 0;
  std::string_view outcome{};
  std::string_view type{};  // the verdict, for failures and errors
  std::string message{};    // one line
  std::string body{};       // the whole description
  std::string system_out{};
};

// One <testsuite>, counted as its cases are added.
struct Suite {
  std::string name{};
  std::string cases{};
  int tests = 0;
  int failures = 0;
  int errors = 0;
  int skipped = 0;
  double seconds = 0;

  void add(const Case& c) {
    ++tests;
    seconds += c.seconds;
    cases += fmt::format(R"(    <testcase classname="{}" name="{}" time="{:.3f}")",
                         attr(c.classname), attr(c.name), c.seconds);
    if (c.outcome.empty() && c.system_out.empty()) {
      cases += "/>\n";
      return;
    }
    cases += ">\n";
    if (c.outcome == "skipped") {
      ++skipped;
      cases += fmt::format("      <skipped message=\"{}\"/>\n", attr(c.message));
    } else if (!c.outcome.empty()) {
      ++(c.outcome == "error" ? errors : failures);
      cases += fmt::format("      <{} type=\"{}\" message=\"{}\">{}</{}>\n", c.outcome,
                           attr(c.type), attr(c.message), text(c.body), c.outcome);
    }
    if (!c.system_out.empty()) {
      cases += fmt::format("      <system-out>{}</system-out>\n", text(c.system_out));
    }
    cases += "    </testcase>\n";
  }

  std::string xml() const {
    return fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{:.3f}\">\n{}  </testsuite>\n",
        attr(name), tests, failures, errors, skipped, seconds, cases);
  }
};

Case case_of(const CheckResult& check, ForwardPolicy forward) {
  const std::vector<std::string> lines = describe_check(check, 0);
  const VerdictInfo& info = verdict_info(check.verdict);
  Case c{.classname = junit_classname(check.key),
         .name = junit_name(check.key),
         .seconds = check.timings.total_ms() / 1000};
  const std::string summary =
      fmt::format("{}: {}", info.name, lines.empty() ? info.meaning : lines.front());
  // A forward failure that does not fail the run passes, its story in <system-out>, so the CI's
  // count of failures agrees with the exit code.
  if (is_failure(check.verdict) && !fails_run(check, forward)) {
    c.system_out = "forward: a file newer than the candidate, which no release promised to read\n" +
                   join_lines(lines);
    return c;
  }
  switch (check.verdict) {
    case Verdict::kPass:
      break;
    case Verdict::kXFail:
      c.system_out = join_lines(lines);
      break;
    case Verdict::kUnsupported:
    case Verdict::kSkipped:
      c.outcome = "skipped";
      c.message = summary;
      break;
    default:
      // ARTIFACT_CORRUPT is the store's fault, not the candidate's: an error, not a failure.
      c.outcome = check.verdict == Verdict::kArtifactCorrupt ? "error" : "failure";
      c.type = info.name;
      c.message = summary;
      c.body = join_lines(lines);
  }
  return c;
}

}  // namespace

std::string junit_classname(const CheckKey& key) {
  return fmt::format("{}.{}.{}", dots_to_underscores(key.producer), dots_to_underscores(key.model),
                     dots_to_underscores(key.save_api));
}

std::string junit_name(const CheckKey& key) {
  return fmt::format("{}@{}", key.load_api, key.candidate);
}

std::string junit_xml(const RunResult& result) {
  // A suite per candidate, in the run's order, then any candidate only the checks name.
  std::vector<Suite> suites;
  std::map<std::string, std::size_t> suite_of;
  auto suite_for = [&](const std::string& candidate) -> Suite& {
    auto [it, added] = suite_of.emplace(candidate, suites.size());
    if (added) suites.push_back(Suite{.name = "mbcc@" + candidate});
    return suites[it->second];
  };
  for (const std::string& candidate : result.run.candidates) suite_for(candidate);
  for (const CheckResult& check : result.checks)
    suite_for(check.key.candidate).add(case_of(check, result.run.forward));

  if (!result.expired_expectations.empty()) {
    Suite& expired = suites.emplace_back(Suite{.name = "mbcc expectations"});
    for (const ExpectationRecord& e : result.expired_expectations) {
      const std::string message =
          fmt::format("expired {}: {}", e.expires ? format_date(*e.expires) : "", e.reason);
      expired.add({.classname = "expectations",
                   .name = e.source,
                   .outcome = "failure",
                   .type = "EXPIRED_EXPECTATION",
                   .message = message,
                   .body = fmt::format("{}\n{}\n", message, e.link)});
    }
  }
  if (!result.run_errors.empty()) {
    Suite& run = suites.emplace_back(Suite{.name = "mbcc run"});
    for (std::size_t i = 0; i < result.run_errors.size(); ++i) {
      run.add({.classname = "run",
               .name = fmt::format("run error {}", i + 1),
               .outcome = "error",
               .type = "RUN_ERROR",
               .message = result.run_errors[i],
               .body = result.run_errors[i]});
    }
  }

  Suite total;
  std::string body;
  for (const Suite& suite : suites) {
    total.tests += suite.tests;
    total.failures += suite.failures;
    total.errors += suite.errors;
    total.skipped += suite.skipped;
    total.seconds += suite.seconds;
    body += suite.xml();
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"mbcc\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n{}</testsuites>\n",
      total.tests, total.failures, total.errors, total.skipped, total.seconds, body);
}

Status write_junit_xml(const std::filesystem::path& path, const RunResult& result) {
  const std::string xml = junit_xml(result);
  return write_file_atomic(path, std::as_bytes(std::span(xml)));
}

}  // namespace mbcc
