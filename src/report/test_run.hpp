// A small synthetic run for the report tests: two candidates, every kind of entry a report
// shows (pass, drift with a diverging node, expected failure, load failure whose message holds
// markup, unsupported, corrupt artifact), one expired expectation.
#pragma once

#include <cstring>
#include <limits>
#include <vector>

#include "check/check_result.hpp"
#include "tensor/compare.hpp"

namespace mbcc {

inline Tensor test_tensor(const std::vector<float>& values) {
  std::vector<std::byte> raw(values.size() * sizeof(float));
  std::memcpy(raw.data(), values.data(), raw.size());
  return Tensor::copy_of(DType::kFloat32, {1, static_cast<int64_t>(values.size())}, raw);
}

inline CheckResult test_check(const char* producer, const char* model, const char* save_api,
                              const char* load_api, const char* candidate, Verdict verdict) {
  CheckResult c;
  c.key = {producer, model, save_api, load_api, candidate};
  c.verdict = verdict;
  c.raw_verdict = verdict;
  c.attempts = {verdict};
  c.timings = {120.5, 30.25, 4};
  return c;
}

inline RunResult test_run() {
  using std::chrono::day;
  using std::chrono::month;
  using std::chrono::year;
  RunResult r;
  r.run.mbcc_version = "0.1.0";
  r.run.candidates = {"1.9.1", "2.0.0"};
  r.run.candidate_releases = {"1.9.1", "2.0.0"};
  r.run.store = "corpus";
  r.run.expectations = "corpus/expectations.toml";
  r.run.cpu_vendors = {"AuthenticAMD"};
  r.run.started_at = std::chrono::sys_days(year{2025} / 6 / 1) + std::chrono::hours(2);
  r.run.finished_at = r.run.started_at + std::chrono::seconds(314);

  CheckResult pass =
      test_check("1.5.1", "lenet", "gluon-export", "gluon-imports", "1.9.1", Verdict::kPass);
  pass.outputs.push_back(
      {"output_0", compare(test_tensor({1, 2, 3.00001F}), test_tensor({1, 2, 3}))});
  pass.bundle = {{"producer_build", {{"mkldnn", true}}}, {"seeds", {{"weights", 7}}}};
  r.checks.push_back(pass);

  CheckResult drift =
      test_check("1.5.1", "lenet", "gluon-export", "c-predict", "1.9.1", Verdict::kNumericDrift);
  drift.outputs.push_back({"output_0", compare(test_tensor({1, 2.5F, 3}), test_tensor({1, 2, 3}))});
  drift.first_divergence = DivergingNode{
      "conv1_fwd", "Convolution",
      compare(test_tensor({0.5F, std::numeric_limits<float>::infinity()}), test_tensor({0.5F, 1})),
      "relies on a changed default: Convolution.workspace unset; default '512' in 1.5.1, '1024' "
      "in 1.9.1"};
  r.checks.push_back(drift);

  CheckResult xfail = test_check("1.2.0", "lenet", "gluon-save-params", "gluon-load-params",
                                 "1.9.1", Verdict::kXFail);
  xfail.raw_verdict = Verdict::kLoadFail;
  xfail.attempts = {Verdict::kLoadFail};
  const std::string missing =
      "AssertionError: Parameter 'conv0_weight' is missing in file 'lenet.params', which "
      "contains parameters: '0.weight', '0.bias'.";
  xfail.message = CandidateMessage{missing, classify_message(missing), ""};
  xfail.expectation = ExpectationRecord{{Verdict::kLoadFail},
                                        "1.2.0 wrote structural names",
                                        "https://github.com/apache/mxnet/issues/11091",
                                        std::nullopt,
                                        "corpus/expectations.toml:4",
                                        {"AuthenticAMD"},
                                        {"!avx512_vnni"}};
  r.checks.push_back(xfail);

  CheckResult load_fail = test_check("1.10.0", "mlp", "module-checkpoint", "module-load-checkpoint",
                                     "1.9.1", Verdict::kLoadFail);
  const std::string markup =
      "MXNetError: Failed loading Op <script>alert(\"x\")</script> of type Soft]]>Max & co\n"
      "Stack trace:\n  [bt] (0) libmxnet.so\n  [bt] (1) libmxnet.so\n  [bt] (2) libmxnet.so";
  load_fail.message = CandidateMessage{markup, classify_message(markup), ""};
  r.checks.push_back(load_fail);

  CheckResult unsupported =
      test_check("1.2.0", "mlp", "module-checkpoint", "c-predict", "1.9.1", Verdict::kUnsupported);
  unsupported.detail = "the bundle has no symbol file for the predict API";
  r.checks.push_back(unsupported);

  CheckResult corrupt = test_check("1.5.1", "lenet", "gluon-export", "gluon-imports", "2.0.0",
                                   Verdict::kArtifactCorrupt);
  corrupt.detail = "data/output_0.npy: sha256 does not match the manifest";
  r.checks.push_back(corrupt);

  r.expired_expectations.push_back(ExpectationRecord{{Verdict::kRunFail, Verdict::kCrash},
                                                     "1.4.1 grouped convolution",
                                                     "https://github.com/apache/mxnet/issues/15337",
                                                     year{2025} / month{5} / day{31},
                                                     "corpus/expectations.toml:20"});
  return r;
}

}  // namespace mbcc
