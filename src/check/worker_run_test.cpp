// run_checks end to end with a scripted worker: a python3 script (standard library only) that
// answers each load API with what the test prepared, so every answer-to-verdict mapping and the
// localisation of a drift are pinned without MXNet. python/tests/test_check.py drives the same
// paths through `mbcc check` with real releases and misbehaving candidates.
#include "check/run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/run_cache.hpp"
#include "corpus/bundle.hpp"
#include "corpus/test_bundle.hpp"
#include "formats/npy.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

// Answers a request with answers[load_api] (JSON from argv[1]), its files copied into the
// request's folder as a worker writes them; internals only when asked for; status "crash" is
// killed (SIGKILL), "abort" aborts (SIGABRT).
constexpr const char* kScriptedWorker = R"(import json, os, shutil, signal, sys
answers = json.load(open(sys.argv[1]))
print(json.dumps({"hello": "python", "load_apis": sorted(answers)}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    answer = dict(json.loads(json.dumps(answers[request["load_api"]])), id=request["id"])
    if answer["status"] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if answer["status"] == "abort":
        sys.stderr.write("aborting on " + request["bundle_dir"] + "\n")
        sys.stderr.flush()
        os.abort()
    if not request["internals"]:
        answer.pop("internals", None)
    os.makedirs(request["out_dir"], exist_ok=True)
    for kind in ("outputs", "internals"):
        for n, tensor in enumerate(answer.get(kind, [])):
            copy = os.path.join(request["out_dir"], "%s_%d.npy" % (kind, n))
            shutil.copy(tensor["file"], copy)
            tensor["file"] = copy
    answer["timings"] = {"load_ms": 2.5, "run_ms": 1.5}
    print(json.dumps(answer), flush=True)
)";

// One tensor of the bundle, shifted by 0.5 everywhere, written to `file`.
nlohmann::json shifted(const fs::path& golden, const fs::path& file) {
  Result<Tensor> tensor = read_npy(golden);
  EXPECT_TRUE(tensor.ok());
  std::vector<float> values(tensor->size());
  std::memcpy(values.data(), tensor->bytes().data(), tensor->bytes().size());
  for (float& v : values) v += 0.5F;
  EXPECT_TRUE(write_npy(file, Tensor::copy_of(DType::kFloat32, tensor->shape(),
                                              std::as_bytes(std::span(values))))
                  .ok());
  return {{"file", file.string()}, {"shape", tensor->shape()}, {"dtype", "float32"}};
}

nlohmann::json as_is(const fs::path& golden) {
  Result<Tensor> tensor = read_npy(golden);
  EXPECT_TRUE(tensor.ok());
  return {{"file", golden.string()}, {"shape", tensor->shape()}, {"dtype", "float32"}};
}

nlohmann::json failed(const char* status, const char* message) {
  return {{"status", status},
          {"outputs", nlohmann::json::array()},
          {"error", {{"kind", "load"}, {"call", "MXPredCreate"}, {"message", message}}}};
}

class WorkerRunTest : public corpus::testing::TempDir {
 protected:
  // A real bundle with internals (lenet-hybrid exported by 1.5.1), and a worker that answers
  // module-load-checkpoint with the goldens, gluon-imports with everything from the pooling
  // node on shifted, and each c-* API with a different failure.
  void SetUp() override {
    TempDir::SetUp();
    const corpus::BundleKey key{"1.5.1", "lenet-hybrid", "gluon-export"};
    bundle_ = corpus::bundle_dir(dir_ / "store", key);
    // Every file where its manifest puts it, wherever the corpus keeps it (packed: objects/).
    const fs::path shipped = corpus::bundle_dir(fs::path(MBCC_SOURCE_DIR) / "corpus", key);
    fs::create_directories(bundle_);
    fs::copy_file(shipped / "manifest.json", bundle_ / "manifest.json");
    Result<corpus::Manifest> manifest = corpus::read_manifest(bundle_ / "manifest.json");
    ASSERT_TRUE(manifest.ok()) << manifest.error().message();
    for (const corpus::BundleFile& file : manifest->files) {
      Result<FileBytes> bytes = corpus::read_bundle_file(shipped, file);
      ASSERT_TRUE(bytes.ok()) << bytes.error().message();
      corpus::testing::write_bytes(bundle_ / file.path, bytes->bytes());
    }

    const fs::path golden = bundle_ / manifest->outputs[0].file;
    nlohmann::json answers;
    answers["module-load-checkpoint"] = {{"status", "ok"}, {"outputs", {as_is(golden)}}};
    answers["module-load-checkpoint"]["outputs"][0]["name"] = "output_0";
    nlohmann::json drift = {{"status", "ok"},
                            {"outputs", {shifted(golden, dir_ / "output_0.npy")}},
                            {"internals", nlohmann::json::array()}};
    drift["outputs"][0]["name"] = "output_0";
    bool diverged = false;
    for (const corpus::InternalEntry& entry : manifest->internals.outputs) {
      diverged = diverged || entry.op == "Pooling";
      const fs::path file = bundle_ / entry.tensor.file;
      nlohmann::json internal =
          diverged ? shifted(file, dir_ / (entry.name + ".npy")) : as_is(file);
      internal["index"] = entry.index;
      internal["name"] = entry.name;
      drift["internals"].push_back(internal);
    }
    answers["gluon-imports"] = drift;
    answers["c-predict"] = failed("error", "input data: cannot read it");
    answers["c-executor"] = failed("load_fail", "Cannot find argument 'layout', Possible ...");
    answers["c-cachedop"] = failed("unsupported", "this libmxnet.so does not export X");

    std::ofstream(dir_ / "answers.json") << answers.dump();
    std::ofstream(dir_ / "worker.py") << kScriptedWorker;
    const runners::WorkerCommand command{
        "python",
        {"/usr/bin/python3", (dir_ / "worker.py").string(), (dir_ / "answers.json").string()},
        {}};
    options_.store = dir_ / "store";
    options_.candidates = {{"9.9.9", {command, ""}, {command, ""}, "9.9.9"}};
    options_.work_dir = dir_ / "work";
    options_.today = year{2025} / month{6} / day{1};
    fs::create_directories(options_.work_dir);
  }

  const CheckResult& find(const RunResult& result, const std::string& load_api) {
    for (const CheckResult& check : result.checks) {
      if (check.key.load_api == load_api) return check;
    }
    ADD_FAILURE() << "no check for " << load_api;
    return result.checks.front();
  }

  fs::path bundle_;
  RunOptions options_;
};

TEST_F(WorkerRunTest, EachAnswerBecomesItsVerdict) {
  const RunResult result = run_checks(options_);
  ASSERT_EQ(result.checks.size(), 5U);

  const CheckResult& pass = find(result, "module-load-checkpoint");
  EXPECT_EQ(pass.verdict, Verdict::kPass);
  ASSERT_EQ(pass.outputs.size(), 1U);
  EXPECT_EQ(pass.outputs[0].comparison.outcome, CompareOutcome::kMatch);
  EXPECT_EQ(pass.timings.load_ms, 2.5);
  EXPECT_EQ(pass.timings.run_ms, 1.5);
  EXPECT_EQ(pass.bundle["producer"]["version"], "1.5.1");
  ASSERT_FALSE(pass.bundle["files"].empty());
  EXPECT_EQ(pass.bundle["files"][0]["sha256"].get<std::string>().size(), 64U);

  const CheckResult& load_fail = find(result, "c-executor");
  EXPECT_EQ(load_fail.verdict, Verdict::kLoadFail);
  ASSERT_TRUE(load_fail.message);
  EXPECT_EQ(load_fail.message->kind.kind, MessageKind::kOperatorArgument);
  EXPECT_EQ(load_fail.message->kind.subject, "layout");

  const CheckResult& unsupported = find(result, "c-cachedop");
  EXPECT_EQ(unsupported.verdict, Verdict::kUnsupported);
  EXPECT_EQ(unsupported.detail, "this libmxnet.so does not export X");

  // The worker could not serve the request: mbcc's fault, so a run error besides the verdict.
  const CheckResult& error = find(result, "c-predict");
  EXPECT_EQ(error.verdict, Verdict::kRunFail);
  EXPECT_NE(error.detail.find("mbcc's fault"), std::string::npos) << error.detail;
  ASSERT_EQ(result.run_errors.size(), 1U);
  EXPECT_NE(result.run_errors[0].find("c-predict @ 9.9.9"), std::string::npos);
  EXPECT_EQ(exit_code(result), kExitRunFailed);
}

TEST_F(WorkerRunTest, ADriftIsLocalisedToTheFirstNodeOutOfTolerance) {
  const RunResult result = run_checks(options_);
  const CheckResult& drift = find(result, "gluon-imports");
  EXPECT_EQ(drift.verdict, Verdict::kNumericDrift);
  ASSERT_TRUE(drift.first_divergence);
  EXPECT_EQ(drift.first_divergence->node, "lenethybrid_pool0_fwd");
  EXPECT_EQ(drift.first_divergence->op, "Pooling");
  ASSERT_TRUE(drift.first_divergence->comparison);
  EXPECT_NEAR(drift.first_divergence->comparison->stats.abs_error.max, 0.5, 1e-6);
}

TEST_F(WorkerRunTest, InternalsAreMatchedByPositionThenByName) {
  // The candidate names the pooling output otherwise (as 2.0 renames RNN outputs) and shifts
  // every position by one, except the first convolution's, which it only renames: that one has
  // no counterpart, the pooling one is found by name.
  nlohmann::json answers = nlohmann::json::parse(std::ifstream(dir_ / "answers.json"));
  for (nlohmann::json& internal : answers["gluon-imports"]["internals"]) {
    if (internal["name"] == "lenethybrid_conv0_fwd_output") {
      internal["name"] = "conv0_renamed";
    } else {
      internal["index"] = internal["index"].get<int>() + 1;
    }
  }
  std::ofstream(dir_ / "answers.json") << answers.dump();
  const RunResult result = run_checks(options_);
  const CheckResult& drift = find(result, "gluon-imports");
  ASSERT_TRUE(drift.first_divergence);
  EXPECT_EQ(drift.first_divergence->node, "lenethybrid_pool0_fwd");
  EXPECT_NE(drift.detail.find("1 earlier internal outputs have no counterpart"), std::string::npos)
      << drift.detail;

  // Same position, same node, another name: matched by position.
  for (nlohmann::json& internal : answers["gluon-imports"]["internals"]) {
    if (internal["name"] == "conv0_renamed") continue;
    internal["index"] = internal["index"].get<int>() - 1;
    if (internal["name"] == "lenethybrid_pool0_fwd_output") {
      internal["name"] = "lenethybrid_pool0_fwd_state_output";
    }
  }
  std::ofstream(dir_ / "answers.json") << answers.dump();
  const RunResult renamed = run_checks(options_);
  ASSERT_TRUE(find(renamed, "gluon-imports").first_divergence);
  EXPECT_EQ(find(renamed, "gluon-imports").first_divergence->node, "lenethybrid_pool0_fwd");
}

TEST_F(WorkerRunTest, RepeatedAttemptsThatAgreeKeepTheirVerdict) {
  options_.repeat = 3;
  const RunResult result = run_checks(options_);
  const CheckResult& pass = find(result, "module-load-checkpoint");
  EXPECT_EQ(pass.attempts, (std::vector<Verdict>{Verdict::kPass, Verdict::kPass, Verdict::kPass}));
  EXPECT_EQ(pass.verdict, Verdict::kPass);
}

TEST_F(WorkerRunTest, ExpectationsTurnAKnownDriftIntoXFailAndAStaleOneIntoXPass) {
  Result<Expectations> expectations = parse_expectations(R"(schema = 1
[[expect]]
load_api = "gluon-imports"
verdict = "NUMERIC_DRIFT"
reason = "known drift"
link = "https://example.org/1"

[[expect]]
load_api = "module-load-checkpoint"
verdict = "LOAD_FAIL"
reason = "was broken once"
link = "https://example.org/2"

[[expect]]
load_api = "c-executor"
verdict = "LOAD_FAIL"
reason = "long gone"
link = "https://example.org/3"
expires = 2020-01-01
)",
                                                         "expectations.toml");
  ASSERT_TRUE(expectations.ok()) << expectations.error().message();
  options_.expectations = *expectations;
  const RunResult result = run_checks(options_);
  EXPECT_EQ(find(result, "gluon-imports").verdict, Verdict::kXFail);
  EXPECT_EQ(find(result, "gluon-imports").raw_verdict, Verdict::kNumericDrift);
  EXPECT_EQ(find(result, "module-load-checkpoint").verdict, Verdict::kXPass);
  EXPECT_EQ(find(result, "c-executor").verdict, Verdict::kLoadFail);  // its entry expired
  ASSERT_EQ(result.expired_expectations.size(), 1U);
  EXPECT_EQ(result.expired_expectations[0].reason, "long gone");
}

TEST_F(WorkerRunTest, ACorruptBundleNeverReachesTheWorker) {
  std::ofstream(bundle_ / "data" / "output_0.npy", std::ios::app) << "x";
  const RunResult result = run_checks(options_);
  ASSERT_EQ(result.checks.size(), 5U);
  for (const CheckResult& check : result.checks) {
    EXPECT_EQ(check.verdict, Verdict::kArtifactCorrupt);
    EXPECT_EQ(check.timings, Timings{});  // no worker ran it
  }
  EXPECT_FALSE(fs::exists(options_.work_dir / "candidate-0"));
}

TEST_F(WorkerRunTest, ACandidateWhoseWorkerNeverStartsIsARunError) {
  options_.candidates[0].python.command->argv = {"/nonexistent/python"};
  options_.filters.load_api.patterns = {"gluon-*", "module-*"};
  const RunResult result = run_checks(options_);
  ASSERT_EQ(result.checks.size(), 2U);
  for (const CheckResult& check : result.checks) EXPECT_EQ(check.verdict, Verdict::kCrash);
  ASSERT_EQ(result.run_errors.size(), 1U);
  EXPECT_NE(result.run_errors[0].find("no python worker started"), std::string::npos);
}

// What a second run must find again: verdicts, the statistics of every output, the first
// diverging node, and what explains a failure.
void expect_same_findings(const RunResult& first, const RunResult& second) {
  ASSERT_EQ(first.checks.size(), second.checks.size());
  for (std::size_t i = 0; i < first.checks.size(); ++i) {
    const CheckResult& a = first.checks[i];
    const CheckResult& b = second.checks[i];
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.verdict, b.verdict) << a.key.load_api;
    EXPECT_EQ(a.raw_verdict, b.raw_verdict) << a.key.load_api;
    EXPECT_EQ(a.outputs, b.outputs) << a.key.load_api;
    EXPECT_EQ(a.first_divergence, b.first_divergence) << a.key.load_api;
    EXPECT_EQ(a.message, b.message) << a.key.load_api;
    EXPECT_EQ(a.detail, b.detail) << a.key.load_api;
  }
}

TEST_F(WorkerRunTest, TheRunCacheServesWhatTheCandidateDecidedAndRunsTheRest) {
  // The worker's own files: a probe on its PYTHONPATH, as mbcc's is.
  fs::create_directories(dir_ / "probe" / "mbcc_probe");
  std::ofstream(dir_ / "probe" / "mbcc_probe" / "worker.py") << "# the probe\n";
  for (runners::WorkerCommand* command :
       {&*options_.candidates[0].python.command, &*options_.candidates[0].capi.command}) {
    command->env = {"PYTHONPATH=" + (dir_ / "probe").string()};
  }
  const RunCache cache(dir_ / "run-cache", std::uint64_t{1} << 30);
  options_.cache = &cache;
  std::vector<std::string> lines;
  options_.progress = [&lines](std::string_view line) { lines.emplace_back(line); };
  auto from_cache = [](const RunResult& result) {
    std::vector<std::string> served;
    for (const CheckResult& c : result.checks) {
      if (c.from_cache) served.push_back(c.key.load_api);
    }
    return served;
  };

  const RunResult first = run_checks(options_);
  EXPECT_TRUE(from_cache(first).empty());
  // Kept: what the candidate decided; not the answer with status error, which is mbcc's fault.
  const std::vector<std::string> kept = {"module-load-checkpoint", "gluon-imports", "c-executor",
                                         "c-cachedop"};
  const RunResult second = run_checks(options_);
  std::vector<std::string> served = from_cache(second);
  std::sort(served.begin(), served.end());
  std::vector<std::string> expected = kept;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(served, expected);
  expect_same_findings(first, second);
  EXPECT_EQ(second.run_errors, first.run_errors);  // c-predict ran again, and failed again
  ASSERT_TRUE(find(second, "gluon-imports").first_divergence);  // its internals came kept too

  // Tolerances are applied afresh: the kept drift passes under a wide tolerance.
  options_.tolerance.atol = 1.0;
  const RunResult tolerant = run_checks(options_);
  EXPECT_EQ(find(tolerant, "gluon-imports").verdict, Verdict::kPass);
  EXPECT_TRUE(find(tolerant, "gluon-imports").from_cache);
  options_.tolerance.atol.reset();

  // Served outputs are compared in memory, never written; --keep-outputs writes them where
  // the worker wrote them.
  auto written_outputs = [this] {
    std::size_t count = 0;
    for (const auto& entry : fs::recursive_directory_iterator(options_.work_dir)) {
      count += entry.path().filename() == "outputs_0.npy" ? 1 : 0;
    }
    return count;
  };
  fs::remove_all(options_.work_dir);
  fs::create_directories(options_.work_dir);
  options_.keep_outputs = true;
  const RunResult kept_outputs = run_checks(options_);
  EXPECT_EQ(from_cache(kept_outputs).size(), kept.size());
  EXPECT_GE(written_outputs(), 2U);  // module-load-checkpoint's and gluon-imports'
  options_.keep_outputs = false;

  // --repeat runs every attempt.
  options_.repeat = 2;
  EXPECT_TRUE(from_cache(run_checks(options_)).empty());
  options_.repeat = 1;

  // A damaged entry is a miss with a warning, and is kept anew.
  std::size_t damaged = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_ / "run-cache")) {
    if (!entry.is_regular_file() || entry.path().filename().string().size() != 64) continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(entry.file_size() - 1));
    file.put('!');
    ++damaged;
  }
  EXPECT_GE(damaged, kept.size());
  lines.clear();
  const RunResult repaired = run_checks(options_);
  EXPECT_TRUE(from_cache(repaired).empty());
  expect_same_findings(first, repaired);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("a damaged entry of the run cache") != std::string::npos;
  }));
  EXPECT_EQ(from_cache(run_checks(options_)).size(), kept.size());

  // One byte of the worker's files changed: another candidate, so everything runs again.
  std::ofstream(dir_ / "probe" / "mbcc_probe" / "worker.py") << "# the probf\n";
  EXPECT_TRUE(from_cache(run_checks(options_)).empty());

  // A worker killed from outside is never kept: it may die of something besides its input. One
  // that aborts on its input is, and says the same, naming this run's bundle folder.
  nlohmann::json answers = nlohmann::json::parse(std::ifstream(dir_ / "answers.json"));
  answers["c-cachedop"] = {{"status", "crash"}};
  answers["c-executor"] = {{"status", "abort"}};
  std::ofstream(dir_ / "answers.json") << answers.dump();
  std::ofstream(dir_ / "probe" / "mbcc_probe" / "worker.py") << "# the probg\n";
  const RunResult crashed = run_checks(options_);
  EXPECT_EQ(find(crashed, "c-cachedop").verdict, Verdict::kCrash);
  EXPECT_EQ(find(crashed, "c-executor").verdict, Verdict::kCrash);
  EXPECT_NE(find(crashed, "c-executor").detail.find("killed by SIGABRT"), std::string::npos);
  const RunResult again = run_checks(options_);
  EXPECT_EQ(find(again, "c-cachedop").verdict, Verdict::kCrash);
  EXPECT_FALSE(find(again, "c-cachedop").from_cache);
  EXPECT_EQ(find(again, "c-executor").verdict, Verdict::kCrash);
  EXPECT_TRUE(find(again, "c-executor").from_cache);
  EXPECT_EQ(find(again, "c-executor").detail, find(crashed, "c-executor").detail);
  EXPECT_TRUE(find(again, "module-load-checkpoint").from_cache);
}

TEST(ToleranceOverride, ParsesPatternAndMembers) {
  Result<ToleranceOverride> both = parse_tolerance_override("lstm/*:rtol=1e-4,atol=2e-6");
  ASSERT_TRUE(both.ok()) << both.error().message();
  EXPECT_EQ(both->pattern, "lstm/*");
  EXPECT_EQ(both->rtol, 1e-4);
  EXPECT_EQ(both->atol, 2e-6);
  Result<ToleranceOverride> one = parse_tolerance_override("*/output_1:atol=0.5");
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->rtol);
  for (const char* bad :
       {"lstm", "lstm/*:", "lstm/*:rtol", "lstm/*:eps=1", "x:rtol=-1", "x:rtol=1e-4x", ":rtol=1"}) {
    EXPECT_FALSE(parse_tolerance_override(bad).ok()) << bad;
  }
}

TEST(ToleranceFor, DefaultsThenManifestThenCommandLineThenOverridesInOrder) {
  const Tolerance defaults = default_tolerance(DType::kFloat32);
  EXPECT_EQ(tolerance_for(DType::kFloat32, std::nullopt, "lstm", "output_0", {}), defaults);

  const corpus::Tolerance manifest{1e-3, std::nullopt};
  EXPECT_EQ(tolerance_for(DType::kFloat32, manifest, "lstm", "output_0", {}),
            (Tolerance{1e-3, defaults.atol}));

  ToleranceRules rules{std::nullopt, 1e-5, {}};
  EXPECT_EQ(tolerance_for(DType::kFloat32, manifest, "lstm", "output_0", rules),
            (Tolerance{1e-3, 1e-5}));

  rules.overrides = {{"lstm/*", 0.1, std::nullopt}, {"*/output_1", 0.2, 0.3}};
  EXPECT_EQ(tolerance_for(DType::kFloat32, manifest, "lstm", "output_0", rules),
            (Tolerance{0.1, 1e-5}));
  EXPECT_EQ(tolerance_for(DType::kFloat32, manifest, "lstm", "output_1", rules),
            (Tolerance{0.2, 0.3}));
  EXPECT_EQ(tolerance_for(DType::kFloat32, manifest, "mlp", "output_0", rules),
            (Tolerance{1e-3, 1e-5}));
  // Integers match exactly whatever is asked.
  EXPECT_EQ(tolerance_for(DType::kInt32, manifest, "lstm", "output_0", rules), (Tolerance{0, 0}));
}

}  // namespace
}  // namespace mbcc
