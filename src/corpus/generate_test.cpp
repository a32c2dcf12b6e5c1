// generate_in_env against a fake probe: a shell script standing in for the environment's
// Python, which copies a prepared bundle into --out and prints the probe's JSON lines.
#include "corpus/generate.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <nlohmann/json.hpp>

#include "corpus/bundle.hpp"
#include "corpus/test_bundle.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// probe.json as python/mbcc_probe writes it for the bundle of testing::make_bundle.
json probe_meta() {
  return {{"schema_version", 1},
          {"model", "fc"},
          {"model_kind", "symbol"},
          {"model_prefix", nullptr},
          {"save_api", "module-checkpoint"},
          {"writer", "Module.save_checkpoint"},
          {"producer",
           {{"mxnet_version", "1.9.1"},
            {"mxget_version", 10901},
            {"features", {{"MKLDNN", true}}},
            {"np_mode", false},
            {"python", "3.11.7"},
            {"numpy", "1.23.5"},
            {"platform", "Linux-x86_64"},
            {"machine", "x86_64"},
            {"probe_version", "0.1.0"},
            {"source_patches", json::array()}}},
          {"seeds", {{"seed", 7}, {"params", "crc32(seed/model/params)"}}},
          {"env", {{"OMP_NUM_THREADS", "1"}}},
          {"hybridized", false},
          {"np_mode", false},
          {"inputs",
           {{{"file", "data/input_0.npy"},
             {"name", "data"},
             {"shape", {2, 3}},
             {"dtype", "float32"},
             {"kind", "float"}}}},
          {"outputs",
           {{{"file", "data/output_0.npy"},
             {"name", "output_0"},
             {"shape", {2, 2}},
             {"dtype", "float32"}}}},
          {"model_files",
           {{{"path", "model/fc-symbol.json"}, {"role", "symbol"}},
            {{"path", "model/fc-0000.params"}, {"role", "params"}}}},
          {"load_apis", {"module-load-checkpoint", "c-predict"}},
          {"import_input_names", {"data"}},
          {"tolerance", json::object()},
          {"internals", {{"status", "absent"}, {"reason", "not in this test"}}},
          {"self_check",
           {{{"load_api", "module-load-checkpoint"}, {"status", "ok"}, {"max_abs_err", 0.0}}}}};
}

class Generate : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    fs::path bundle = dir_ / "template";
    testing::make_bundle(bundle);
    fs::remove(bundle / kManifestName);
    testing::write_bytes(bundle / "probe.json", testing::bytes_of(probe_meta().dump(1)));
    write_probe(R"(cp -r "$TEMPLATE" "$OUT/fc/module-checkpoint"
echo '{"model": "fc", "save_api": "module-checkpoint", "status": "ok", "dir": "fc/module-checkpoint"}'
echo '{"model": "fc", "save_api": "gluon-export", "status": "skipped", "reason": "no Gluon block", "dir": "fc/gluon-export"}'
)");
    env_.release = "1.9.1";
    env_.python = dir_ / "python";
    env_.requirement = "mxnet==1.9.1";
    env_.mxnet_version = "1.9.1";
    options_.store = dir_ / "store";
    options_.python_dir = dir_;
  }

  // The fake interpreter: `python -m mbcc_probe generate --out OUT …` runs `body` with $OUT
  // created and $TEMPLATE pointing at the prepared bundle.
  void write_probe(const std::string& body) {
    std::string script = "#!/bin/sh\nOUT=\"$5\"\nTEMPLATE=\"" + (dir_ / "template").string() +
                         "\"\nmkdir -p \"$OUT/fc\"\n" + body;
    testing::write_bytes(dir_ / "python", testing::bytes_of(script));
    fs::permissions(dir_ / "python", fs::perms::owner_all);
  }

  CaseReport only_bundle_case(const ReleaseReport& report) {
    EXPECT_FALSE(report.error) << report.error->message();
    EXPECT_EQ(report.cases.size(), 2U);
    return report.cases.empty() ? CaseReport{} : report.cases.front();
  }

  fs::path bundle() const {
    return bundle_dir(options_.store, {"1.9.1", "fc", "module-checkpoint"});
  }

  bool work_dirs_left() const {
    for (const auto& entry : fs::directory_iterator(options_.store)) {
      if (entry.path().filename().string().starts_with(".tmp-")) return true;
    }
    return false;
  }

  envs::Env env_;
  GenerateOptions options_;
};

TEST_F(Generate, PublishesAValidBundleAndLogsEveryCase) {
  ReleaseReport report = generate_in_env(env_, options_);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(only_bundle_case(report).outcome, CaseOutcome::kWritten);
  EXPECT_EQ(report.cases.at(1).outcome, CaseOutcome::kSkipped);
  EXPECT_EQ(report.cases.at(1).reason, "no Gluon block");

  Result<Manifest> manifest = validate_bundle(bundle());
  ASSERT_TRUE(manifest.ok()) << manifest.error().message();
  EXPECT_EQ(manifest->producer.version, "1.9.1");
  EXPECT_EQ(manifest->producer.requirement, "mxnet==1.9.1");
  EXPECT_TRUE(is_utc_timestamp(manifest->producer.created));
  EXPECT_EQ(manifest->find_file("probe.json")->role, FileRole::kProbe);
  EXPECT_FALSE(manifest->tolerance.has_value());  // the probe's {} means the defaults
  EXPECT_FALSE(work_dirs_left());

  Result<FileBytes> log = read_file(release_dir(options_.store, "1.9.1") / kGenerationLogName);
  ASSERT_TRUE(log.ok());
  json cases = json::parse(
      std::string_view(reinterpret_cast<const char*>(log->bytes().data()), log->size))["cases"];
  ASSERT_EQ(cases.size(), 2U);
  EXPECT_EQ(cases[0]["save_api"], "gluon-export");
  EXPECT_EQ(cases[0]["status"], "skipped");
  EXPECT_EQ(cases[0]["reason"], "no Gluon block");
  EXPECT_EQ(cases[1]["status"], "ok");
}

TEST_F(Generate, RelativeStoreIsTheCurrentDirectorys) {
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  options_.store = "store";
  ReleaseReport report = generate_in_env(env_, options_);
  fs::current_path(cwd);
  EXPECT_EQ(only_bundle_case(report).outcome, CaseOutcome::kWritten);
  EXPECT_TRUE(
      validate_bundle(bundle_dir(dir_ / "store", {"1.9.1", "fc", "module-checkpoint"})).ok());
}

TEST_F(Generate, SameFilesAgainAreKept) {
  generate_in_env(env_, options_);
  std::vector<std::byte> manifest = testing::read_bytes(bundle() / kManifestName);
  ReleaseReport again = generate_in_env(env_, options_);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(only_bundle_case(again).outcome, CaseOutcome::kUnchanged);
  EXPECT_EQ(testing::read_bytes(bundle() / kManifestName), manifest);
}

TEST_F(Generate, OtherFilesAreRefusedUnlessForced) {
  generate_in_env(env_, options_);
  // A valid bundle with a different golden output is there.
  testing::write_bytes(bundle() / "data/output_0.npy",
                       serialize_npy(testing::float_tensor({2, 2}, 9.0F)));
  Manifest changed = *read_manifest(bundle() / kManifestName);
  testing::hash_files(bundle(), changed);
  testing::write_manifest_file(bundle(), changed);
  std::vector<std::byte> kept = testing::read_bytes(bundle() / "data/output_0.npy");

  ReleaseReport refused = generate_in_env(env_, options_);
  EXPECT_FALSE(refused.ok());
  CaseReport c = only_bundle_case(refused);
  EXPECT_EQ(c.outcome, CaseOutcome::kRefused);
  EXPECT_NE(c.reason.find("data/output_0.npy differs"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("--force"), std::string::npos);
  EXPECT_EQ(testing::read_bytes(bundle() / "data/output_0.npy"), kept);

  options_.force = true;
  ReleaseReport forced = generate_in_env(env_, options_);
  EXPECT_TRUE(forced.ok());
  EXPECT_EQ(only_bundle_case(forced).outcome, CaseOutcome::kReplaced);
  EXPECT_NE(testing::read_bytes(bundle() / "data/output_0.npy"), kept);
  EXPECT_TRUE(validate_bundle(bundle()).ok());
  EXPECT_FALSE(work_dirs_left());
}

TEST_F(Generate, CorruptBundleIsRefused) {
  generate_in_env(env_, options_);
  fs::remove(bundle() / "model/fc-symbol.json");
  CaseReport c = only_bundle_case(generate_in_env(env_, options_));
  EXPECT_EQ(c.outcome, CaseOutcome::kRefused);
  EXPECT_NE(c.reason.find("is corrupt"), std::string::npos) << c.reason;
}

TEST_F(Generate, RemovesWorkFoldersOfDeadRunsOnly) {
  fs::path dead = options_.store / ".tmp-generate-1.9.1-dead00";
  fs::path alive = options_.store / ".tmp-generate-1.9.1-alive0";
  testing::write_bytes(dead / "probe/fc/module-checkpoint/half.npy", testing::bytes_of("x"));
  fs::create_directories(alive);
  int lock = ::open(alive.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);

  EXPECT_TRUE(generate_in_env(env_, options_).ok());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  ::close(lock);
}

TEST_F(Generate, ProbeFailureIsReportedWithItsStderr) {
  write_probe("echo 'ImportError: libgfortran.so.3: cannot open shared object file' >&2\nexit 2\n");
  ReleaseReport report = generate_in_env(env_, options_);
  ASSERT_TRUE(report.error.has_value());
  EXPECT_NE(report.error->message().find("exit status 2"), std::string::npos);
  EXPECT_NE(report.error->message().find("libgfortran.so.3"), std::string::npos);
  EXPECT_FALSE(fs::exists(release_dir(options_.store, "1.9.1") / kGenerationLogName));
}

TEST_F(Generate, FailedCaseIsLoggedAndIsNoProblem) {
  write_probe(
      R"(echo '{"model": "fc", "save_api": "gluon-export-np", "status": "failed", "reason": "build: Shape inconsistent", "dir": "fc/gluon-export-np"}')");
  ReleaseReport report = generate_in_env(env_, options_);
  EXPECT_TRUE(report.ok());
  ASSERT_EQ(report.cases.size(), 1U);
  EXPECT_EQ(report.cases[0].outcome, CaseOutcome::kFailed);
  EXPECT_EQ(report.cases[0].reason, "build: Shape inconsistent");
}

TEST_F(Generate, UndescribedFileIsRejected) {
  testing::write_bytes(dir_ / "template/model/stray.bin", testing::bytes_of("?"));
  CaseReport c = only_bundle_case(generate_in_env(env_, options_));
  EXPECT_EQ(c.outcome, CaseOutcome::kRejected);
  EXPECT_NE(c.reason.find("stray.bin"), std::string::npos) << c.reason;
  EXPECT_FALSE(fs::exists(bundle()));
}

TEST_F(Generate, WrongEnvironmentIsRejected) {
  env_.mxnet_version = "1.9.0";
  CaseReport c = only_bundle_case(generate_in_env(env_, options_));
  EXPECT_EQ(c.outcome, CaseOutcome::kRejected);
  EXPECT_NE(c.reason.find("mxnet_version"), std::string::npos) << c.reason;
}

TEST_F(Generate, GarbageOnStdoutIsAReleaseError) {
  write_probe("echo 'Traceback (most recent call last):'\n");
  ReleaseReport report = generate_in_env(env_, options_);
  ASSERT_TRUE(report.error.has_value());
  EXPECT_EQ(report.error->location, "$");
}

TEST(CaseOutcomes, ProblemsAreRefusedAndRejected) {
  for (const CaseOutcomeInfo& info : kCaseOutcomes) {
    EXPECT_EQ(info.is_problem,
              info.outcome == CaseOutcome::kRefused || info.outcome == CaseOutcome::kRejected)
        << info.name;
  }
}

}  // namespace
}  // namespace mbcc::corpus
