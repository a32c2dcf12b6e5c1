#include "check/run_cache.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "corpus/test_bundle.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

std::string text_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string held_text(const runners::WrittenTensor& tensor) {
  const std::span<const std::byte> bytes = tensor.held->bytes();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class RunCacheTest : public corpus::testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    request_.bundle_dir = dir_ / "store" / "v1" / "1.5.1" / "mlp" / "module-checkpoint";
    request_.load_api = "module-load-checkpoint";
    request_.out_dir = dir_ / "work" / "first";
    fs::create_directories(request_.out_dir / "internals");
    std::ofstream(request_.out_dir / "output_0.npy", std::ios::binary) << "the output";
    std::ofstream(request_.out_dir / "internals" / "000_fc1.npy", std::ios::binary) << "a node";
    answer_.outputs = {{"output_0",
                        request_.out_dir / "output_0.npy",
                        {2, 3},
                        DType::kFloat32,
                        std::nullopt,
                        std::nullopt}};
    answer_.internals = {{"fc1_output",
                          request_.out_dir / "internals" / "000_fc1.npy",
                          {2},
                          DType::kFloat64,
                          0,
                          std::nullopt}};
    answer_.internals_error =
        runners::Failure{"internals", "", "cannot read " + request_.bundle_dir.string() + "/x"};
    answer_.warnings = {"wrote " + request_.out_dir.string() + "/output_0.npy"};
    answer_.timings = {3.5, 1.25};
  }

  // The same check in another run: other folders.
  runners::Request later() const {
    runners::Request request = request_;
    request.bundle_dir = dir_ / "view-2" / "v1" / "1.5.1" / "mlp" / "module-checkpoint";
    request.out_dir = dir_ / "work" / "second";
    return request;
  }

  RunCache cache() const { return RunCache(dir_ / "run-cache", std::uint64_t{1} << 30); }
  // The answer kept for `key`, as a later run finds it.
  std::optional<runners::Answer> found_answer(const std::string& key, std::string& warning) const {
    std::optional<runners::Outcome> found = cache().find(key, later(), warning);
    if (!found) return std::nullopt;
    const auto* answer = std::get_if<runners::Answer>(&*found);
    EXPECT_NE(answer, nullptr) << "not an answer";
    return answer != nullptr ? std::optional(*answer) : std::nullopt;
  }
  static std::string entry_name(const std::string& key) {
    return sha256_hex(std::as_bytes(std::span(key.data(), key.size())));
  }

  const std::string key_ =
      run_cache_key(std::string(64, 'c'), std::string(64, 'm'), "module-load-checkpoint", false);
  runners::Request request_;
  runners::Answer answer_;
};

TEST(RunCacheKey, NamesEveryInput) {
  const std::string key = run_cache_key("w", "m", "gluon-imports", true);
  EXPECT_EQ(key, "mbcc-run-cache 2\nworker w\nmanifest m\nload_api gluon-imports\ninternals yes\n");
  EXPECT_NE(run_cache_key("w", "m", "gluon-imports", false), key);
}

TEST(RunCacheKeepable, WhatTheCandidateDecidedNotMbccsFault) {
  runners::Answer answer;
  for (runners::AnswerStatus status :
       {runners::AnswerStatus::kOk, runners::AnswerStatus::kUnsupported,
        runners::AnswerStatus::kLoadFail, runners::AnswerStatus::kRunFail}) {
    answer.status = status;
    EXPECT_TRUE(keepable(answer));
  }
  answer.status = runners::AnswerStatus::kError;
  EXPECT_FALSE(keepable(answer));
  // A fault of the worker's own code on its input is kept; a kill from outside, an exit or a
  // timeout is not.
  for (int signal : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
    EXPECT_TRUE(keepable(runners::Crash{signal, -1, "", ""})) << signal;
  }
  EXPECT_FALSE(keepable(runners::Crash{SIGKILL, -1, "", ""}));
  EXPECT_FALSE(keepable(runners::Crash{SIGTERM, -1, "", ""}));
  EXPECT_FALSE(keepable(runners::Crash{0, 3, "", ""}));
  EXPECT_FALSE(keepable(runners::Timeout{}));
}

TEST_F(RunCacheTest, ACrashIsKeptWithItsStderrNamingTheNewFolders) {
  const runners::Crash crash{SIGABRT, -1, "a half-written answer",
                             "terminate called after throwing an instance of 'dmlc::Error'\n"
                             "  what():  cannot read " +
                                 request_.bundle_dir.string() + "/model/mlp-0000.params\n"};
  ASSERT_TRUE(cache().keep(key_, crash, request_).ok());
  std::string warning;
  std::optional<runners::Outcome> found = cache().find(key_, later(), warning);
  EXPECT_EQ(warning, "");
  ASSERT_TRUE(found);
  const auto* kept = std::get_if<runners::Crash>(&*found);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->signal, SIGABRT);
  EXPECT_EQ(kept->exit_code, -1);
  EXPECT_EQ(kept->detail, "a half-written answer");
  EXPECT_EQ(kept->stderr_tail,
            "terminate called after throwing an instance of 'dmlc::Error'\n"
            "  what():  cannot read " +
                later().bundle_dir.string() + "/model/mlp-0000.params\n");
}

TEST_F(RunCacheTest, AKeptAnswerComesBackWithItsFilesInMemoryNamedInTheNewFolder) {
  ASSERT_TRUE(cache().keep(key_, answer_, request_).ok());
  const runners::Request request = later();
  std::string warning;
  std::optional<runners::Answer> found = found_answer(key_, warning);
  ASSERT_TRUE(found);
  EXPECT_EQ(warning, "");
  EXPECT_EQ(found->status, runners::AnswerStatus::kOk);
  ASSERT_EQ(found->outputs.size(), 1U);
  EXPECT_EQ(found->outputs[0].file, request.out_dir / "output_0.npy");
  EXPECT_EQ(found->outputs[0].shape, (Shape{2, 3}));
  ASSERT_TRUE(found->outputs[0].held);
  EXPECT_EQ(held_text(found->outputs[0]), "the output");
  EXPECT_FALSE(fs::exists(request.out_dir));  // nothing is written
  ASSERT_EQ(found->internals.size(), 1U);
  EXPECT_EQ(found->internals[0].file, request.out_dir / "internals" / "000_fc1.npy");
  EXPECT_EQ(found->internals[0].index, 0);
  EXPECT_EQ(found->internals[0].dtype, DType::kFloat64);
  EXPECT_EQ(held_text(found->internals[0]), "a node");
  // The candidate's messages name this run's folders, not the first's.
  ASSERT_TRUE(found->internals_error);
  EXPECT_EQ(found->internals_error->message, "cannot read " + request.bundle_dir.string() + "/x");
  EXPECT_EQ(found->warnings,
            std::vector<std::string>{"wrote " + request.out_dir.string() + "/output_0.npy"});
  EXPECT_DOUBLE_EQ(found->timings.load_ms, 3.5);
  EXPECT_DOUBLE_EQ(found->timings.run_ms, 1.25);
}

TEST_F(RunCacheTest, AnotherKeyIsAMissWithoutAWarning) {
  ASSERT_TRUE(cache().keep(key_, answer_, request_).ok());
  std::string warning;
  EXPECT_FALSE(cache().find(
      run_cache_key(std::string(64, 'c'), std::string(64, 'm'), "module-load-checkpoint", true),
      later(), warning));
  EXPECT_EQ(warning, "");
}

TEST_F(RunCacheTest, AFailureIsKeptWithItsMessage) {
  runners::Answer failed;
  failed.status = runners::AnswerStatus::kLoadFail;
  failed.error = runners::Failure{
      "load", "mx.model.load_checkpoint",
      "Invalid NDArray file format in " + request_.bundle_dir.string() + "/model/mlp-0000.params"};
  ASSERT_TRUE(cache().keep(key_, failed, request_).ok());
  std::string warning;
  std::optional<runners::Answer> found = found_answer(key_, warning);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->status, runners::AnswerStatus::kLoadFail);
  ASSERT_TRUE(found->error);
  EXPECT_EQ(found->error->call, "mx.model.load_checkpoint");
  EXPECT_EQ(found->error->message, "Invalid NDArray file format in " + later().bundle_dir.string() +
                                       "/model/mlp-0000.params");
  EXPECT_TRUE(found->outputs.empty());
}

TEST_F(RunCacheTest, ADamagedEntryIsAMissThatSaysWhy) {
  ASSERT_TRUE(cache().keep(key_, answer_, request_).ok());
  const fs::path entry = dir_ / "run-cache" / entry_name(key_);
  ASSERT_TRUE(fs::is_regular_file(entry));
  const std::string whole = text_of(entry);
  struct Damage {
    const char* name;
    std::string bytes;
  };
  std::string flipped = whole;
  flipped[flipped.size() - 3] ^= 1;
  for (const Damage& damage :
       {Damage{"truncated", whole.substr(0, whole.size() - 4)}, Damage{"a flipped bit", flipped},
        Damage{"empty", ""}, Damage{"another format", "mbcc-run-cache 3 " + whole.substr(17)}}) {
    std::ofstream(entry, std::ios::binary | std::ios::trunc) << damage.bytes;
    std::string warning;
    EXPECT_FALSE(cache().find(key_, later(), warning)) << damage.name;
    EXPECT_NE(warning.find("a damaged entry of the run cache"), std::string::npos)
        << damage.name << ": " << warning;
    EXPECT_NE(warning.find(entry.string()), std::string::npos) << warning;
  }
}

TEST_F(RunCacheTest, AnEntryUnderAnotherKeysNameIsAMiss) {
  ASSERT_TRUE(cache().keep(key_, answer_, request_).ok());
  const std::string other = run_cache_key("x", "y", "z", false);
  const fs::path entries = dir_ / "run-cache";
  fs::copy_file(entries / entry_name(key_), entries / entry_name(other));
  std::string warning;
  EXPECT_FALSE(cache().find(other, later(), warning));
  EXPECT_NE(warning.find("it holds another key"), std::string::npos) << warning;
}

TEST_F(RunCacheTest, OutputsOutsideTheRequestsFolderAreNotKept) {
  answer_.outputs[0].file = dir_ / "elsewhere.npy";
  std::ofstream(answer_.outputs[0].file) << "x";
  EXPECT_FALSE(cache().keep(key_, answer_, request_).ok());
  std::string warning;
  EXPECT_FALSE(cache().find(key_, later(), warning));
}

TEST_F(RunCacheTest, TrimmingEvictsTheLeastRecentlyUsedAndWhatKilledWritersLeft) {
  ASSERT_TRUE(cache().keep(key_, answer_, request_).ok());
  const std::string other = run_cache_key("x", "y", "z", false);
  ASSERT_TRUE(cache().keep(other, answer_, request_).ok());
  // A writer killed before its rename (pid 2^22+1 is beyond Linux's pid_max) left this.
  const fs::path abandoned = dir_ / "run-cache" / (std::string(64, 'a') + ".tmp.4194305");
  std::ofstream(abandoned) << "half";
  std::string warning;
  ASSERT_TRUE(cache().find(key_, later(), warning));  // just used
  const RunCache sized(dir_ / "run-cache", fs::file_size(dir_ / "run-cache" / entry_name(key_)));
  ASSERT_TRUE(sized.trim().ok());
  EXPECT_TRUE(cache().find(key_, later(), warning));
  EXPECT_FALSE(cache().find(other, later(), warning));
  EXPECT_FALSE(fs::exists(abandoned));
  ASSERT_TRUE(RunCache(dir_ / "run-cache", 1).trim().ok());  // room for no entry
  EXPECT_FALSE(cache().find(key_, later(), warning));
  EXPECT_EQ(warning, "");
}

}  // namespace
}  // namespace mbcc
