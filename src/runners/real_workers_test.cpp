// The pool driving the real workers in installed MXNet releases: the Python worker
// (python/mbcc_probe/worker.py) and the C API worker (mbcc-capi-worker, built beside this test).
// Their lines must pass the pool's strict parser, their outputs must be the goldens, and a
// release that aborts on a file must become a Crash while the run goes on. Bundles are made by
// the probe in the producer's environment; a release or worker that is missing is skipped,
// saying so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "envs/envs.hpp"
#include "formats/npy.hpp"
#include "runners/pool.hpp"
#include "runners/worker_commands.hpp"

namespace mbcc::runners {
namespace {

namespace fs = std::filesystem;

const fs::path kProbeParent = fs::path(MBCC_SOURCE_DIR) / "python";

// One folder per test process, removed when it exits.
const fs::path& scratch() {
  struct Root {
    fs::path path = fs::temp_directory_path() / ("mbcc-runners-py-" + std::to_string(::getpid()));
    Root() { fs::create_directories(path); }
    Root(const Root&) = delete;
    Root& operator=(const Root&) = delete;
    ~Root() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Root root;
  return root.path;
}

// The mlp module-checkpoint bundle written by `producer`'s probe, made once per test process.
Result<fs::path> mlp_bundle(const envs::Env& producer) {
  static std::map<std::string, fs::path> made;
  if (auto it = made.find(producer.release); it != made.end()) return it->second;
  const fs::path out = scratch() / ("bundles-" + producer.release);
  const fs::path log = scratch() / ("generate-" + producer.release + ".log");
  const std::string command = "PYTHONPATH='" + kProbeParent.string() + "' '" +
                              producer.python.string() + "' -m mbcc_probe generate --out '" +
                              out.string() + "' --model mlp --save-api module-checkpoint >'" +
                              log.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe)
    return Error::plain(command, "failed; see " + log.string());
  }
  made[producer.release] = out / "mlp" / "module-checkpoint";
  return made[producer.release];
}

Request ask(const fs::path& bundle, const std::string& load_api, const std::string& out) {
  Request request;
  request.bundle_dir = bundle;
  request.load_api = load_api;
  request.inputs = {{"data", "data/input_0.npy"}};
  request.out_dir = scratch() / out;
  request.internals = true;
  return request;
}

// Whether the file holds the same values as the golden, up to float32 rounding.
void expect_golden(const fs::path& file, const fs::path& golden) {
  auto actual = read_npy(file);
  auto expected = read_npy(golden);
  ASSERT_TRUE(actual) << actual.error().message();
  ASSERT_TRUE(expected) << expected.error().message();
  ASSERT_EQ(actual->shape(), expected->shape());
  ASSERT_EQ(actual->dtype(), expected->dtype());
  for (uint64_t i = 0; i < actual->size(); ++i) {
    const double a = actual->element_as_double(i);
    const double e = expected->element_as_double(i);
    ASSERT_LE(std::abs(a - e), 1e-6 + 1e-5 * std::abs(e)) << file << " element " << i;
  }
}

struct Installed {
  std::vector<envs::Env> envs;
  std::string missing;
};

Installed installed(const std::vector<std::string>& releases) {
  Installed out;
  for (const std::string& release : releases) {
    auto env = envs::find(release);
    if (env) {
      out.envs.push_back(std::move(env).value());
    } else {
      out.missing += (out.missing.empty() ? "" : ", ") + release;
    }
  }
  return out;
}

TEST(PythonRunner, ReadsBundlesOfBothGenerationsThroughThePool) {
  const Installed found = installed({"1.9.1", "2.0.0b1"});
  if (!found.missing.empty()) GTEST_SKIP() << "not installed (mbcc env install): " << found.missing;
  std::vector<fs::path> bundles;
  for (const envs::Env& producer : found.envs) {
    auto bundle = mlp_bundle(producer);
    ASSERT_TRUE(bundle) << bundle.error().message();
    bundles.push_back(*bundle);
  }

  for (const envs::Env& candidate : found.envs) {
    SCOPED_TRACE("candidate " + candidate.release);
    PoolOptions options;
    options.workers = 2;
    Pool pool(python_worker_command(candidate.python, kProbeParent), options);
    std::vector<Request> requests;
    for (std::size_t b = 0; b < bundles.size(); ++b) {
      const fs::path& bundle = bundles[b];
      const std::string name = candidate.release + "-from-" + found.envs[b].release;
      requests.push_back(ask(bundle, "module-load-checkpoint", name + "-module"));
      requests.push_back(ask(bundle, "gluon-imports", name + "-imports"));
      requests.push_back(ask(bundle, "gluon-load-parameters", name + "-not-applicable"));
    }
    const std::vector<CheckRun> runs = pool.run(requests);
    ASSERT_TRUE(pool.hello());
    EXPECT_EQ((*pool.hello())["hello"], "python");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      SCOPED_TRACE(requests[i].bundle_dir.string() + " " + requests[i].load_api);
      ASSERT_TRUE(std::holds_alternative<Answer>(runs[i].outcome)) << runs[i].outcome.index();
      const auto& answer = std::get<Answer>(runs[i].outcome);
      if (requests[i].load_api == "gluon-load-parameters") {
        EXPECT_EQ(answer.status, AnswerStatus::kUnsupported);
        continue;
      }
      ASSERT_EQ(answer.status, AnswerStatus::kOk) << (answer.error ? answer.error->message : "");
      ASSERT_EQ(answer.outputs.size(), 1u);
      expect_golden(answer.outputs[0].file, requests[i].bundle_dir / "data" / "output_0.npy");
      EXPECT_FALSE(answer.internals.empty());
      EXPECT_FALSE(answer.internals_error);
    }
  }
}

// 1.3.1 dies in MXNet's own code (std::bad_alloc, then abort) on 2.0.0b1's np-shape (V3)
// params: a Crash with MXNet's last words, a fresh worker, and the next check still answered.
TEST(PythonRunner, AReleaseThatAbortsIsACrashAndTheRunGoesOn) {
  const Installed found = installed({"1.3.1", "2.0.0b1"});
  if (!found.missing.empty()) GTEST_SKIP() << "not installed (mbcc env install): " << found.missing;
  const envs::Env& old_release = found.envs[0];
  auto new_bundle = mlp_bundle(found.envs[1]);
  ASSERT_TRUE(new_bundle) << new_bundle.error().message();
  auto old_bundle = mlp_bundle(old_release);
  ASSERT_TRUE(old_bundle) << old_bundle.error().message();

  Pool pool(python_worker_command(old_release.python, kProbeParent), PoolOptions{});
  const std::vector<Request> requests = {ask(*new_bundle, "module-load-checkpoint", "abort"),
                                         ask(*old_bundle, "module-load-checkpoint", "after")};
  const std::vector<CheckRun> runs = pool.run(requests);
  ASSERT_TRUE(std::holds_alternative<Crash>(runs[0].outcome)) << runs[0].outcome.index();
  const auto& crash = std::get<Crash>(runs[0].outcome);
  EXPECT_EQ(crash.signal, SIGABRT);
  EXPECT_NE(crash.stderr_tail.find("std::bad_alloc"), std::string::npos) << crash.stderr_tail;
  ASSERT_TRUE(std::holds_alternative<Answer>(runs[1].outcome)) << runs[1].outcome.index();
  EXPECT_EQ(std::get<Answer>(runs[1].outcome).status, AnswerStatus::kOk);
}

TEST(CapiRunner, ReadsABundleThroughEveryCPath) {
  const fs::path worker = fs::read_symlink("/proc/self/exe").parent_path() / "mbcc-capi-worker";
  if (!fs::exists(worker)) GTEST_SKIP() << "not built: " << worker;
  const Installed found = installed({"1.9.1"});
  if (!found.missing.empty()) GTEST_SKIP() << "not installed (mbcc env install): " << found.missing;
  const envs::Env& release = found.envs[0];
  auto bundle = mlp_bundle(release);
  ASSERT_TRUE(bundle) << bundle.error().message();

  PoolOptions options;
  options.workers = 2;
  Pool pool(capi_worker_command(worker, release.libmxnet, release.library_path), options);
  std::vector<Request> requests;
  for (const std::string load_api : {"c-predict", "c-executor", "c-cachedop"}) {
    Request request = ask(*bundle, load_api, "capi-" + load_api);
    request.symbol_file = "model/mlp-symbol.json";
    request.params_file = "model/mlp-0000.params";
    requests.push_back(std::move(request));
  }
  const std::vector<CheckRun> runs = pool.run(requests);
  ASSERT_TRUE(pool.hello());
  EXPECT_EQ((*pool.hello())["hello"], "mbcc-capi-worker");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    SCOPED_TRACE(requests[i].load_api);
    ASSERT_TRUE(std::holds_alternative<Answer>(runs[i].outcome)) << runs[i].outcome.index();
    const auto& answer = std::get<Answer>(runs[i].outcome);
    ASSERT_EQ(answer.status, AnswerStatus::kOk) << (answer.error ? answer.error->message : "");
    ASSERT_EQ(answer.outputs.size(), 1u);
    expect_golden(answer.outputs[0].file, *bundle / "data" / "output_0.npy");
  }
}

}  // namespace
}  // namespace mbcc::runners
