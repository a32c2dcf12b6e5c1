// The built mbcc-capi-worker against real MXNet releases. Each test makes a tiny checkpoint
// with a release's own Python (testdata/tiny_model.py) and runs it through the worker on a
// release's libmxnet.so. A release that is not installed is skipped, saying so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "capi/client.hpp"
#include "envs/envs.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"

namespace mbcc::capi {
namespace {

namespace fs = std::filesystem;

// One folder per test process, removed when it exits.
class ScratchRoot {
 public:
  ScratchRoot()
      : path_(fs::temp_directory_path() / ("mbcc-capi-test-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path scratch(const std::string& name) {
  static ScratchRoot root;
  fs::path dir = root.path() / name;
  fs::create_directories(dir);
  return dir;
}

// The worker is built beside this test binary (add_dependencies in CMakeLists.txt).
fs::path worker_path() {
  return fs::read_symlink("/proc/self/exe").parent_path() / "mbcc-capi-worker";
}

Result<WorkerClient> start_worker(const envs::Env& env, const std::string& log_name) {
  return WorkerClient::start(
      {worker_path(), env.libmxnet, env.library_path, scratch("logs") / (log_name + ".stderr")});
}

// tiny-symbol.json, tiny-0000.params, input_0.npy, expected_{0,1}.npy written by `producer`'s
// own Python; made once per producer and test process.
Result<fs::path> tiny_model(const envs::Env& producer) {
  static std::map<std::string, fs::path> made;
  if (auto it = made.find(producer.release); it != made.end()) return it->second;
  const fs::path dir = scratch("model-" + producer.release);
  const fs::path log = dir / "python.log";
  const std::string command = "'" + producer.python.string() +
                              "' '" MBCC_SOURCE_DIR "/src/capi/testdata/tiny_model.py' '" +
                              dir.string() + "' >'" + log.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe)
    auto text = read_file(log);
    return Error::plain(
        command, text ? std::string(reinterpret_cast<const char*>(text->bytes().data()),  // NOLINT
                                    text->size)
                      : "no log");
  }
  made[producer.release] = dir;
  return dir;
}

Json request(const fs::path& model_dir, std::string_view load_api, const fs::path& out_dir,
             bool internals = false) {
  return {{"id", std::string(load_api)},
          {"bundle_dir", model_dir.string()},
          {"symbol_file", "tiny-symbol.json"},
          {"params_file", "tiny-0000.params"},
          {"inputs", Json::array({{{"name", "data"}, {"file", "input_0.npy"}}})},
          {"load_api", std::string(load_api)},
          {"out_dir", out_dir.string()},
          {"internals", internals}};
}

Tensor load_npy(const fs::path& file) {
  auto tensor = read_npy(file);
  EXPECT_TRUE(tensor.ok()) << tensor.error().message();
  return tensor.ok() ? std::move(tensor).value() : Tensor();
}

// max |a - b| / (1 + |b|) over all elements: within 1e-6 means equal up to float32 rounding.
double relative_gap(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return INFINITY;
  double gap = 0;
  for (uint64_t i = 0; i < a.size(); ++i) {
    const double x = a.element_as_double(i);
    const double y = b.element_as_double(i);
    gap = std::max(gap, std::abs(x - y) / (1.0 + std::abs(y)));
  }
  return gap;
}

std::string message_of(const Json& answer) {
  return answer.contains("error") ? answer["error"].value("message", "") : "";
}

// Finds an installed environment or skips the test with the reason.
// NOLINTBEGIN(bugprone-macro-parentheses): `var` names a variable
#define MBCC_ENV_OR_SKIP(var, release)                                      \
  auto var##_found = envs::find(release);                                   \
  if (!var##_found)                                                         \
    GTEST_SKIP() << "MXNet " << (release)                                   \
                 << " is not installed: " << var##_found.error().message(); \
  const envs::Env& var = *var##_found
// NOLINTEND(bugprone-macro-parentheses)

#define MBCC_ASSERT_OK(result) ASSERT_TRUE((result).ok()) << (result).error().message()

// ---------------------------------------------------------------------------------------------
// Every path on the release that made the model.

class EveryPath : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPath, AgreesWithNumpyAndWithTheOtherPaths) {
  MBCC_ENV_OR_SKIP(env, GetParam());
  auto model = tiny_model(env);
  MBCC_ASSERT_OK(model);
  auto worker = start_worker(env, "every-path-" + env.release);
  MBCC_ASSERT_OK(worker);
  const bool is_2_0 = worker->hello()["mxnet_version"].get<int>() >= 20000;

  const std::vector<Tensor> expected = {load_npy(*model / "expected_0.npy"),
                                        load_npy(*model / "expected_1.npy")};
  std::vector<Tensor> first;  // the first path's outputs
  for (LoadApi api : kLoadApis) {
    const std::string name(load_api_name(api));
    SCOPED_TRACE(env.release + " " + name);
    const fs::path out = scratch("every-path-" + env.release) / name;
    auto answer = worker->call(request(*model, name, out));
    MBCC_ASSERT_OK(answer);
    if (is_2_0 && api != LoadApi::kCachedOp) {
      // 2.0 removed the predict and executor C APIs: a verdict, with the reason.
      EXPECT_EQ((*answer)["status"], "unsupported") << answer->dump();
      EXPECT_EQ((*answer)["error"]["kind"], "missing_function");
      EXPECT_EQ((*answer)["error"]["call"],
                api == LoadApi::kPredict ? "MXPredCreate" : "MXExecutorBind");
      EXPECT_FALSE(worker->hello()["functions"][name]["supported"].get<bool>());
      continue;
    }
    ASSERT_EQ((*answer)["status"], "ok") << answer->dump();
    EXPECT_EQ((*answer)["id"], name);
    const Json& outputs = (*answer)["outputs"];
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_EQ(outputs[0]["name"], "relu_output");
    EXPECT_EQ(outputs[1]["name"], "fc_output");
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      EXPECT_EQ(outputs[i]["shape"], Json::array({2, 4}));
      EXPECT_EQ(outputs[i]["dtype"], "float32");
      EXPECT_EQ(outputs[i]["file"], (out / ("output_" + std::to_string(i) + ".npy")).string());
      Tensor actual = load_npy(outputs[i]["file"].get<std::string>());
      EXPECT_LE(relative_gap(actual, expected[i]), 1e-6) << "output " << i;
      if (first.size() > i) {
        EXPECT_LE(relative_gap(actual, first[i]), 1e-6) << "output " << i << " between paths";
      } else {
        first.push_back(std::move(actual));
      }
    }
  }
  auto exit = worker->finish();
  MBCC_ASSERT_OK(exit);
  EXPECT_EQ(exit->describe(), "exit status 0");
}

// 0.12.x needs Env::library_path (a borrowed libgfortran.so.3) on LD_LIBRARY_PATH.
INSTANTIATE_TEST_SUITE_P(Releases, EveryPath,
                         ::testing::Values("0.11.0", "0.12.1", "1.3.1", "1.4.1", "1.5.1", "1.6.0",
                                           "1.9.1", "2.0.0b1"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// The hello line.

TEST(Hello, SaysTheVersionAndWhatRuns) {
  MBCC_ENV_OR_SKIP(env, "1.9.1");
  auto worker = start_worker(env, "hello-1.9.1");
  MBCC_ASSERT_OK(worker);
  const Json& hello = worker->hello();
  EXPECT_EQ(hello["hello"], "mbcc-capi-worker");
  EXPECT_EQ(hello["mxnet_version"], 10901);
  EXPECT_TRUE(hello["version_reported"].get<bool>());
  EXPECT_EQ(hello["abi"], "1.6-1.9");
  EXPECT_EQ(hello["library"], env.libmxnet.string());
  for (const char* path : {"c-predict", "c-executor", "c-cachedop", "internals"}) {
    EXPECT_TRUE(hello["functions"][path]["supported"].get<bool>()) << path;
  }
}

TEST(Hello, ZeroElevenHasNoMXGetVersion) {
  MBCC_ENV_OR_SKIP(env, "0.11.0");
  auto worker = start_worker(env, "hello-0.11.0");
  MBCC_ASSERT_OK(worker);
  EXPECT_EQ(worker->hello()["mxnet_version"], kVersionWithoutGetVersion);
  EXPECT_FALSE(worker->hello()["version_reported"].get<bool>());
  EXPECT_EQ(worker->hello()["abi"], "0.11-1.4");
}

TEST(Hello, NotALibraryIsSaidInTheHello) {
  auto worker = WorkerClient::start(
      {worker_path(), "/nonexistent/libmxnet.so", {}, scratch("logs") / "hello-missing.stderr"});
  MBCC_ASSERT_OK(worker);
  EXPECT_EQ(worker->hello()["error"]["kind"], "dlopen");
  auto exit = worker->finish();
  MBCC_ASSERT_OK(exit);
  EXPECT_EQ(exit->code, 1);
}

// A stand-in libmxnet.so that prints to stdout when it is loaded and when asked its version,
// built with the system C compiler: what a library prints must never reach the answers.
TEST(Hello, WhatTheLibraryPrintsGoesToStderr) {
  const fs::path dir = scratch("noisy");
  const std::string source = R"(#include <stdio.h>
__attribute__((constructor)) static void on_load(void) { printf("noise on load\n"); }
const char* MXGetLastError(void) { return "noisy"; }
int MXGetVersion(int* out) { printf("noise in MXGetVersion\n"); fflush(stdout); *out = 10901; return 0; }
)";
  ASSERT_TRUE(write_file_atomic(dir / "noisy.c", std::as_bytes(std::span(source))).ok());
  const std::string compile = "cc -shared -fPIC -o '" + (dir / "libnoisy.so").string() + "' '" +
                              (dir / "noisy.c").string() + "' 2>/dev/null";
  if (std::system(compile.c_str()) != 0) GTEST_SKIP() << "no C compiler: " << compile;  // NOLINT

  const fs::path log = dir / "worker.stderr";
  auto worker = WorkerClient::start({worker_path(), dir / "libnoisy.so", {}, log});
  MBCC_ASSERT_OK(worker);  // the first line parsed as a hello
  EXPECT_EQ(worker->hello()["mxnet_version"], 10901);
  EXPECT_FALSE(worker->hello()["functions"]["c-cachedop"]["supported"].get<bool>());
  auto answer = worker->call(request(dir, "c-cachedop", dir / "out"));
  MBCC_ASSERT_OK(answer);
  EXPECT_EQ((*answer)["status"], "unsupported");
  auto exit = worker->finish();
  MBCC_ASSERT_OK(exit);
  EXPECT_EQ(exit->describe(), "exit status 0");
  auto text = read_file(log);
  MBCC_ASSERT_OK(text);
  const std::string printed(reinterpret_cast<const char*>(text->bytes().data()),  // NOLINT
                            text->size);
  EXPECT_NE(printed.find("noise on load"), std::string::npos);
  EXPECT_NE(printed.find("noise in MXGetVersion"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Internal outputs, for localising drift.

TEST(Internals, EveryNonVariableNodeOutputIsWritten) {
  for (const char* release : {"1.4.1", "1.9.1", "2.0.0b1"}) {
    auto env = envs::find(release);
    if (!env) continue;  // covered by the other releases of the list
    SCOPED_TRACE(release);
    auto model = tiny_model(*env);
    MBCC_ASSERT_OK(model);
    auto worker = start_worker(*env, std::string("internals-") + release);
    MBCC_ASSERT_OK(worker);
    for (const char* api : {"c-executor", "c-cachedop"}) {
      if (!worker->hello()["functions"][api]["supported"].get<bool>()) continue;
      SCOPED_TRACE(api);
      const fs::path out = scratch(std::string("internals-") + release) / api;
      auto answer = worker->call(request(*model, api, out, /*internals=*/true));
      MBCC_ASSERT_OK(answer);
      ASSERT_EQ((*answer)["status"], "ok") << answer->dump();
      ASSERT_FALSE(answer->contains("internals_error")) << answer->dump();
      const Json& internals = (*answer)["internals"];
      ASSERT_EQ(internals.size(), 3u) << answer->dump();
      // get_internals() order: data, fc_weight, fc_bias, fc, bn_gamma, bn_beta,
      // bn_moving_mean, bn_moving_var, bn, relu; the probe names files the same way.
      EXPECT_EQ(internals[0]["name"], "fc_output");
      EXPECT_EQ(internals[0]["index"], 3);
      EXPECT_EQ(internals[1]["name"], "bn_output");
      EXPECT_EQ(internals[2]["name"], "relu_output");
      EXPECT_EQ(internals[2]["file"], (out / "internals" / "009_relu_output.npy").string());
      EXPECT_LE(relative_gap(load_npy(internals[2]["file"].get<std::string>()),
                             load_npy((*answer)["outputs"][0]["file"].get<std::string>())),
                1e-6);
    }
  }
}

TEST(Internals, AreWrittenWhereFusionWouldStopTheBind) {
  MBCC_ENV_OR_SKIP(env, "1.9.1");
  auto model = tiny_model(env);
  MBCC_ASSERT_OK(model);
  auto worker = start_worker(env, "internals-convbn");
  MBCC_ASSERT_OK(worker);
  Json r = request(*model, "c-executor", scratch("internals-convbn"), /*internals=*/true);
  r["symbol_file"] = "convbn-symbol.json";
  r["params_file"] = "convbn-0000.params";
  r["inputs"][0]["file"] = "convbn_input.npy";
  auto answer = worker->call(r);
  MBCC_ASSERT_OK(answer);
  ASSERT_EQ((*answer)["status"], "ok") << answer->dump();
  EXPECT_FALSE(answer->contains("internals_error")) << answer->dump();
  EXPECT_EQ((*answer)["internals"].size(), 3u);
}

TEST(Internals, ThePredictPathSaysItHasNone) {
  MBCC_ENV_OR_SKIP(env, "1.9.1");
  auto model = tiny_model(env);
  MBCC_ASSERT_OK(model);
  auto worker = start_worker(env, "internals-predict");
  MBCC_ASSERT_OK(worker);
  auto answer = worker->call(request(*model, "c-predict", scratch("predict-internals"), true));
  MBCC_ASSERT_OK(answer);
  EXPECT_EQ((*answer)["status"], "ok");
  EXPECT_EQ((*answer)["internals_error"]["kind"], "unsupported");
}

// ---------------------------------------------------------------------------------------------
// Failures are answers, with MXNet's own message.

class Failures : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = envs::find("1.9.1");
    if (!env) GTEST_SKIP() << "MXNet 1.9.1 is not installed: " << env.error().message();
    auto model = tiny_model(*env);
    MBCC_ASSERT_OK(model);
    model_ = *model;
    auto worker =
        start_worker(*env, std::string("failures-") +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    MBCC_ASSERT_OK(worker);
    worker_.emplace(std::move(worker).value());
  }

  Json call(const Json& request) {
    auto answer = worker_->call(request);
    EXPECT_TRUE(answer.ok()) << answer.error().message();
    return answer.ok() ? *answer : Json();
  }

  // A copy of the model whose params file `edit` changed (written with mbcc's own writer).
  fs::path edited_model(const std::string& name, void (*edit)(NDArrayList&)) {
    fs::path dir = scratch("edited-" + name);
    for (const char* file : {"tiny-symbol.json", "input_0.npy"}) {
      fs::copy_file(model_ / file, dir / file, fs::copy_options::overwrite_existing);
    }
    auto list = read_ndarray_list(model_ / "tiny-0000.params");
    EXPECT_TRUE(list.ok()) << list.error().message();
    edit(*list);
    auto bytes = serialize_ndarray_list(*list);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message();
    EXPECT_TRUE(write_file_atomic(dir / "tiny-0000.params", *bytes).ok());
    return dir;
  }

  fs::path model_;
  std::optional<WorkerClient> worker_;
};

void drop_bn_gamma(NDArrayList& list) {
  auto it = std::find(list.names.begin(), list.names.end(), "arg:bn_gamma");
  const auto index = it - list.names.begin();
  list.names.erase(it);
  list.arrays.erase(list.arrays.begin() + index);
}

void add_unused_key(NDArrayList& list) {
  list.names.emplace_back("arg:not_in_graph");
  list.arrays.push_back(list.arrays.front());
}

void shrink_fc_bias(NDArrayList& list) {
  auto it = std::find(list.names.begin(), list.names.end(), "arg:fc_bias");
  NDArrayRecord& bias = list.arrays[it - list.names.begin()];
  bias.shape = {3};
  bias.values = Tensor::copy_of(DType::kFloat32, {3}, bias.values.bytes().first(12));
}

TEST_F(Failures, MissingSymbolFileIsALoadFailWithMXNetsMessage) {
  for (const char* api : {"c-predict", "c-executor", "c-cachedop"}) {
    Json r = request(model_, api, scratch("missing-symbol"));
    r["symbol_file"] = "absent-symbol.json";
    const Json answer = call(r);
    EXPECT_EQ(answer["status"], "load_fail") << api;
    EXPECT_EQ(answer["error"]["kind"], "symbol");
    EXPECT_EQ(answer["error"]["call"], "MXSymbolCreateFromFile");
    EXPECT_NE(message_of(answer).find("absent-symbol.json"), std::string::npos) << answer.dump();
  }
}

TEST_F(Failures, MissingParamsFileIsALoadFail) {
  for (const char* api : {"c-executor", "c-cachedop"}) {
    Json r = request(model_, api, scratch("missing-params"));
    r["params_file"] = "absent-0000.params";
    const Json answer = call(r);
    EXPECT_EQ(answer["status"], "load_fail") << api;
    EXPECT_EQ(answer["error"]["kind"], "params");
    EXPECT_EQ(answer["error"]["call"], "MXNDArrayLoad");
    EXPECT_NE(message_of(answer).find("absent-0000.params"), std::string::npos) << answer.dump();
  }
  // The predict API takes the params as bytes, so mbcc reads the file and says why not.
  Json r = request(model_, "c-predict", scratch("missing-params"));
  r["params_file"] = "absent-0000.params";
  const Json answer = call(r);
  EXPECT_EQ(answer["status"], "load_fail");
  EXPECT_EQ(answer["error"]["kind"], "params");
  EXPECT_EQ(answer["error"]["call"], "");
}

TEST_F(Failures, AParameterMissingFromTheFileIsNamed) {
  const fs::path model = edited_model("no-gamma", drop_bn_gamma);
  for (const char* api : {"c-executor", "c-cachedop"}) {
    const Json answer = call(request(model, api, scratch("no-gamma")));
    EXPECT_EQ(answer["status"], "load_fail") << api;
    EXPECT_EQ(answer["error"]["kind"], "param_missing");
    EXPECT_NE(message_of(answer).find("bn_gamma"), std::string::npos) << answer.dump();
  }
  // The predict API leaves a missing parameter uninitialised and says nothing (api doc §2).
  EXPECT_EQ(call(request(model, "c-predict", scratch("no-gamma")))["status"], "ok");
}

TEST_F(Failures, AParameterOfTheWrongShapeIsNamed) {
  const fs::path model = edited_model("short-bias", shrink_fc_bias);
  const Json answer = call(request(model, "c-executor", scratch("short-bias")));
  EXPECT_EQ(answer["status"], "load_fail");
  EXPECT_EQ(answer["error"]["kind"], "param_shape");
  EXPECT_NE(message_of(answer).find("fc_bias"), std::string::npos) << answer.dump();
  EXPECT_NE(call(request(model, "c-cachedop", scratch("short-bias")))["status"], "ok");
}

TEST_F(Failures, UnusedParamsKeysAreWarnings) {
  const fs::path model = edited_model("extra-key", add_unused_key);
  const Json answer = call(request(model, "c-cachedop", scratch("extra-key")));
  EXPECT_EQ(answer["status"], "ok") << answer.dump();
  ASSERT_EQ(answer["warnings"].size(), 1u);
  EXPECT_NE(answer["warnings"][0].get<std::string>().find("arg:not_in_graph"), std::string::npos);
}

TEST_F(Failures, AnInputTheGraphDoesNotHaveIsALoadFail) {
  for (const char* api : {"c-predict", "c-executor", "c-cachedop"}) {
    Json r = request(model_, api, scratch("renamed-input"));
    r["inputs"][0]["name"] = "data0";
    const Json answer = call(r);
    EXPECT_EQ(answer["status"], "load_fail") << api;
    EXPECT_EQ(answer["error"]["kind"], "input_name");
    EXPECT_NE(message_of(answer).find("data0"), std::string::npos);
  }
}

TEST_F(Failures, ABadRequestIsAnErrorAndTheWorkerGoesOn) {
  EXPECT_EQ(call({{"id", 1}, {"load_api", "c-cachedop"}})["status"], "error");
  Json no_input = request(model_, "c-cachedop", scratch("bad-request"));
  no_input["inputs"][0]["file"] = "absent.npy";
  const Json answer = call(no_input);
  EXPECT_EQ(answer["status"], "error");
  EXPECT_EQ(answer["error"]["kind"], "input");
  EXPECT_EQ(call(request(model_, "c-cachedop", scratch("bad-request")))["status"], "ok");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints of one release on another: the numpy-shape flag policy at work.

TEST(CrossRelease, TwoZeroReadsAOneNineCheckpoint) {
  MBCC_ENV_OR_SKIP(producer, "1.9.1");
  MBCC_ENV_OR_SKIP(candidate, "2.0.0b1");
  auto model = tiny_model(producer);
  MBCC_ASSERT_OK(model);
  auto worker = start_worker(candidate, "cross-1.9.1-on-2.0.0b1");
  MBCC_ASSERT_OK(worker);
  // V2 records, which a 2.0 library reads with the flag "global on" (2) or off.
  auto answer = worker->call(request(*model, "c-cachedop", scratch("cross-2.0")));
  MBCC_ASSERT_OK(answer);
  ASSERT_EQ((*answer)["status"], "ok") << answer->dump();
  EXPECT_LE(relative_gap(load_npy((*answer)["outputs"][0]["file"].get<std::string>()),
                         load_npy(*model / "expected_0.npy")),
            1e-6);
}

TEST(CrossRelease, OneFiveAndOneSixReadATwoZeroCheckpoint) {
  MBCC_ENV_OR_SKIP(producer, "2.0.0b1");
  auto model = tiny_model(producer);  // V3 records and a graph marked is_np_shape
  MBCC_ASSERT_OK(model);
  for (const char* release : {"1.5.1", "1.6.0"}) {
    auto candidate = envs::find(release);
    if (!candidate) continue;
    auto worker = start_worker(*candidate, std::string("cross-2.0.0b1-on-") + release);
    MBCC_ASSERT_OK(worker);
    for (LoadApi api : kLoadApis) {
      const std::string name(load_api_name(api));
      SCOPED_TRACE(std::string(release) + " " + name);
      auto answer = worker->call(request(*model, name, scratch("cross-1.x") / release / name));
      MBCC_ASSERT_OK(answer);
      ASSERT_EQ((*answer)["status"], "ok") << answer->dump();
      EXPECT_LE(relative_gap(load_npy((*answer)["outputs"][0]["file"].get<std::string>()),
                             load_npy(*model / "expected_0.npy")),
                1e-6);
    }
  }
}

TEST(CrossRelease, OneFourDiesOnNumpyShapeRecords) {
  // api doc §3 says 0.12-1.4 misread V3 records "then fail"; the real 1.4.1 lets a
  // std::bad_alloc out through the C API and aborts (under AddressSanitizer the huge
  // allocation itself ends it), so the pool sees a CRASH. A dead worker is an error of the call.
  MBCC_ENV_OR_SKIP(producer, "2.0.0b1");
  MBCC_ENV_OR_SKIP(candidate, "1.4.1");
  auto model = tiny_model(producer);
  MBCC_ASSERT_OK(model);
  auto worker = start_worker(candidate, "cross-2.0.0b1-on-1.4.1");
  MBCC_ASSERT_OK(worker);
  auto answer = worker->call(request(*model, "c-cachedop", scratch("cross-1.4")));
  ASSERT_FALSE(answer.ok()) << answer->dump();
  EXPECT_NE(answer.error().message().find("the worker ended while reading an answer"),
            std::string::npos)
      << answer.error().message();
}

}  // namespace
}  // namespace mbcc::capi
