#include "report/terminal.hpp"

#include <gtest/gtest.h>

#include "report/test_run.hpp"

namespace mbcc {
namespace {

// The whole summary of the test run, as a person reads it: producers in version order (1.10.0
// last), one code per load API in each case's cell, failures with their statistics.
constexpr std::string_view kGolden =
    R"(mbcc 0.1.0: 6 checks from corpus, 2025-06-01T02:00:00Z to 2025-06-01T02:05:14Z
expectations: corpus/expectations.toml

candidate 1.9.1
  producer  1      2   3
  1.2.0     .. ..  xf  un ..
  1.5.1     ND ok  ..  .. ..
  1.10.0    .. ..  ..  .. LF
  1  lenet/gluon-export: c-predict gluon-imports
  2  lenet/gluon-save-params: gluon-load-params
  3  mlp/module-checkpoint: c-predict module-load-checkpoint

candidate 2.0.0
  producer  1
  1.5.1     AC
  1  lenet/gluon-export: gluon-imports

codes: ok PASS, xf XFAIL, un UNSUPPORTED, AC ARTIFACT_CORRUPT, LF LOAD_FAIL, ND NUMERIC_DRIFT, .. no check

failures: 3
  NUMERIC_DRIFT 1.5.1 lenet/gluon-export -> c-predict @ 1.9.1
    output_0: 1 of 3 elements (33.3%) outside rtol 0.0001 atol 1e-05
    abs error max 0.5 mean 0.167 p99 0.5; rel error max 0.25 mean 0.0833 p99 0.25
    worst at (0, 1): actual 2.5 (0x40200000), golden 2 (0x40000000)
    first diverging node: conv1_fwd (Convolution)
    registry: relies on a changed default: Convolution.workspace unset; default '512' in 1.5.1, '1024' in 1.9.1
    conv1_fwd: 1 of 2 elements (50%) outside rtol 0.0001 atol 1e-05, 1 NaN or Inf where the golden is finite
    abs error max 0 mean 0 p99 0; rel error max 0 mean 0 p99 0
    worst at (0, 1): actual Inf (0x7f800000), golden 1 (0x3f800000)
  LOAD_FAIL 1.10.0 mlp/module-checkpoint -> module-load-checkpoint @ 1.9.1
    message [missing_operator Soft]: MXNetError: Failed loading Op <script>alert("x")</script> of type Soft]]>Max & co
      Stack trace:
        [bt] (0) libmxnet.so
      … 2 more lines
  ARTIFACT_CORRUPT 1.5.1 lenet/gluon-export -> gluon-imports @ 2.0.0
    data/output_0.npy: sha256 does not match the manifest

expired expectations: 1
  corpus/expectations.toml:20 expired 2025-05-31: 1.4.1 grouped convolution <https://github.com/apache/mxnet/issues/15337>

no case changed between passing and failing across the candidates

6 checks: 1 PASS, 1 XFAIL, 1 UNSUPPORTED, 1 ARTIFACT_CORRUPT, 1 LOAD_FAIL, 1 NUMERIC_DRIFT
exit 1: 3 failing checks, 1 expired expectation
)";

TEST(TerminalSummary, MatchesTheGolden) { EXPECT_EQ(terminal_summary(test_run(), false), kGolden); }

TEST(TerminalSummary, ColourOnlyWhenAsked) {
  const std::string plain = terminal_summary(test_run(), false);
  const std::string coloured = terminal_summary(test_run(), true);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(coloured.find("\x1b[1;31mND\x1b[0m"), std::string::npos);
  EXPECT_NE(coloured.find("\x1b[32mok\x1b[0m"), std::string::npos);
}

TEST(TerminalSummary, ColumnsStayAlignedWithColour) {
  // Colour codes take no room on screen: with them stripped, the text is the plain summary.
  std::string coloured = terminal_summary(test_run(), true);
  for (std::size_t at; (at = coloured.find('\x1b')) != std::string::npos;) {
    coloured.erase(at, coloured.find('m', at) - at + 1);
  }
  EXPECT_EQ(coloured, kGolden);
}

TEST(TerminalSummary, CleanRunSaysSo) {
  RunResult run;
  run.run.mbcc_version = "0.1.0";
  run.run.store = "corpus";
  const std::string out = terminal_summary(run, false);
  EXPECT_NE(out.find("0 checks\nexit 0: nothing unexpected\n"), std::string::npos);
  run.run_errors = {"no candidate could be installed"};
  EXPECT_NE(terminal_summary(run, false).find("exit 2: the run could not be done\n"),
            std::string::npos);
}

}  // namespace
}  // namespace mbcc

namespace mbcc {
namespace {

// Past three candidates the terminal shows the release matrix, forward failures one line per
// pair, and where cases broke.
TEST(TerminalSummary, AReleaseMatrixShowsTheOverviewAndWhereCasesBroke) {
  RunResult r;
  r.run.mbcc_version = "0.1.0";
  r.run.store = "corpus";
  r.run.candidates = {"1.4.1", "1.9.1", "2.0.0a0", "2.0.0b1"};
  r.run.candidate_releases = r.run.candidates;
  auto add = [&r](const char* producer, const char* candidate, Verdict v) {
    CheckResult c;
    c.key = {producer, "mlp", "module-checkpoint", "module-load-checkpoint", candidate};
    c.verdict = c.raw_verdict = v;
    c.attempts = {v};
    c.direction = direction_of(producer, candidate);
    r.checks.push_back(c);
  };
  for (const char* candidate : {"1.4.1", "1.9.1", "2.0.0a0", "2.0.0b1"}) {
    add("1.2.1", candidate,
        std::string_view(candidate).starts_with("2.") ? Verdict::kUnsupported : Verdict::kPass);
  }
  add("2.0.0b1", "1.4.1", Verdict::kLoadFail);
  add("2.0.0b1", "1.9.1", Verdict::kLoadFail);
  add("2.0.0b1", "2.0.0b1", Verdict::kUnsupported);
  const std::string out = terminal_summary(r, false);
  EXPECT_NE(out.find("release matrix: the worst verdict of each producer (down) on each "
                     "candidate (across)\n"
                     "  producer  1  2  3  4\n"
                     "  1.2.1    ok ok un un\n"
                     "  2.0.0b1  fw fw .. un\n"
                     "   1  1.4.1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("forward failures: 2 (files newer than the candidate"), std::string::npos);
  EXPECT_NE(out.find("  files of 2.0.0b1 read by 2 candidates, 1.4.1 to 1.9.1: 2 failures\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("introduced in release 2.0.0a0: 1 case\n"), std::string::npos);
  EXPECT_EQ(out.find("failures: 2\n"), std::string::npos);  // none fails the run
  EXPECT_NE(out.find("exit 0: nothing unexpected (2 failures of files newer than their "
                     "candidate"),
            std::string::npos);
}

}  // namespace
}  // namespace mbcc
