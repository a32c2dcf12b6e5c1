#include "envs/envs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "base/scoped_env.hpp"
#include "envs/internal.hpp"

namespace mbcc::envs {
namespace {

namespace fs = std::filesystem;

// A fresh folder under the build's temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("mbcc-envs-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has_arg(const Step& step, std::string_view arg) {
  return std::find(step.args.begin(), step.args.end(), arg) != step.args.end();
}


// A plan that installs nothing: each step runs a line of Python in the new venv.
InstallPlan fake_plan(const std::string& release, std::vector<std::string> python_lines) {
  InstallPlan plan;
  plan.release = release;
  plan.requirement = "fake==" + release;
  for (auto& line : python_lines) plan.steps.push_back(Step{"fake step", {"-c", line}});
  plan.verify = Step{"verify",
                     {"-c", "print('mxnet_version=fake-" + release +
                                "'); print('numpy_version=0'); "
                                "print('libmxnet=lib/libmxnet.so')"}};
  return plan;
}

Options fast_options(const fs::path& root) {
  Options o;
  o.root = root;
  o.venv_flags = {"--without-pip"};  // a venv in well under a second
  o.step_timeout = std::chrono::seconds(120);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The quirks table and the plans built from it.

TEST(ReleaseTable, IsSortedUniqueAndPinsTheRelease) {
  auto table = release_table();
  ASSERT_FALSE(table.empty());
  std::set<std::string_view> seen;
  for (const ReleaseQuirks& row : table) {
    EXPECT_TRUE(seen.insert(row.release).second) << row.release;
    EXPECT_TRUE(row.pip_version.starts_with(row.release)) << row.release;
    EXPECT_FALSE(row.note.empty()) << row.release;
    EXPECT_TRUE(validate_version(row.release).ok()) << row.release;
  }
  for (std::string_view r : {"1.0.0", "1.2.1", "1.5.1", "1.9.1", "2.0.0b1"}) {
    EXPECT_NE(find_release(r), nullptr) << r;
  }
}

TEST(InstallPlan, PlainReleasePinsNumpyInOneStep) {
  auto plan = install_plan("1.9.1");
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_TRUE(plan->known);
  EXPECT_EQ(plan->release, "1.9.1");
  EXPECT_EQ(plan->requirement, "mxnet==1.9.1");
  ASSERT_EQ(plan->steps.size(), 1U);
  EXPECT_TRUE(has_arg(plan->steps[0], "mxnet==1.9.1"));
  EXPECT_TRUE(has_arg(plan->steps[0], "numpy==1.23.5"));
  EXPECT_TRUE(has_arg(plan->steps[0], "--only-binary=:all:"));
  EXPECT_FALSE(has_arg(plan->steps[0], "--no-deps"));
  EXPECT_TRUE(plan->library_path.empty());
  EXPECT_FALSE(plan->verify.args.empty());
}

TEST(InstallPlan, PostBuildsStandInForMissingOrBrokenPlainOnes) {
  EXPECT_EQ(install_plan("1.7.0")->requirement, "mxnet==1.7.0.post2");
  EXPECT_EQ(install_plan("1.8.0")->requirement, "mxnet==1.8.0.post0");
  EXPECT_EQ(install_plan("1.0.0")->requirement, "mxnet==1.0.0.post4");
}

TEST(InstallPlan, PinnedOldReleasesGoInWithoutDepsThenGetModernOnes) {
  auto plan = install_plan("1.4.1");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->steps.size(), 2U);
  EXPECT_TRUE(has_arg(plan->steps[0], "--no-deps"));
  EXPECT_TRUE(has_arg(plan->steps[0], "mxnet==1.4.1"));
  EXPECT_FALSE(has_arg(plan->steps[0], "numpy==1.23.5"));
  EXPECT_FALSE(has_arg(plan->steps[1], "--no-deps"));
  EXPECT_TRUE(has_arg(plan->steps[1], "numpy==1.23.5"));
  EXPECT_TRUE(has_arg(plan->steps[1], "requests>=2.20,<3"));
}

TEST(InstallPlan, Release12PatchesTheDataLoader) {
  auto plan = install_plan("1.2.1");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->steps.size(), 3U);
  EXPECT_NE(plan->steps[2].what.find("dataloader"), std::string::npos);
  EXPECT_EQ(install_plan("1.3.0")->steps.size(), 2U);
}

TEST(InstallPlan, Release012BorrowsGfortranAndSetsTheLibraryPath) {
  auto plan = install_plan("0.12.1");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->library_path, "lib/mbcc-libs");
  EXPECT_NE(plan->steps.back().what.find("libgfortran.so.3"), std::string::npos);
  EXPECT_TRUE(install_plan("0.11.0")->library_path.empty());
}

TEST(InstallPlan, AliasesUseTheTableName) {
  auto plan = install_plan("2.0.0.beta1");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->release, "2.0.0b1");
  EXPECT_EQ(plan->requirement, "mxnet==2.0.0b1");
}

TEST(InstallPlan, UnknownVersionGetsAPlainPlan) {
  auto plan = install_plan("1.9.2");
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->known);
  EXPECT_EQ(plan->requirement, "mxnet==1.9.2");
  ASSERT_EQ(plan->steps.size(), 1U);
  EXPECT_TRUE(has_arg(plan->steps[0], "numpy==1.23.5"));
}

TEST(InstallPlan, RejectsVersionsThatAreNotSafeFolderNames) {
  for (std::string_view bad :
       {"", "../1.9.1", "1.9.1/..", "1..9", "a1.0", "1.9 1", "1.9;rm", "1.9.1\n"}) {
    auto plan = install_plan(bad);
    ASSERT_FALSE(plan.ok()) << bad;
    EXPECT_NE(plan.error().message().find("MXNet release"), std::string::npos);
  }
  EXPECT_FALSE(install_plan(std::string(65, '1')).ok());
}

// ---------------------------------------------------------------------------------------------
// Where environments live.

TEST(CacheDir, PrefersMbccThenXdgThenHome) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv mbcc("MBCC_CACHE_DIR", "/tmp/mbcc-cache");
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg");
    EXPECT_EQ(*cache_dir(), fs::path("/tmp/mbcc-cache"));
    EXPECT_EQ(*envs_dir(), fs::path("/tmp/mbcc-cache/mbcc/envs"));
  }
  {
    ScopedEnv mbcc("MBCC_CACHE_DIR", "");  // empty counts as unset
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg");
    EXPECT_EQ(*cache_dir(), fs::path("/tmp/xdg"));
  }
  {
    ScopedEnv mbcc("MBCC_CACHE_DIR", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(*envs_dir(), fs::path("/home/someone/.cache/mbcc/envs"));
  }
}

TEST(CacheDir, NoVariableAtAllIsAnError) {
  ScopedEnv home("HOME", nullptr);
  ScopedEnv mbcc("MBCC_CACHE_DIR", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  EXPECT_FALSE(cache_dir().ok());
  EXPECT_FALSE(envs_dir().ok());
}

TEST(CacheDir, InstallUsesItWhenNoRootIsGiven) {
  TempDir dir;
  ScopedEnv mbcc("MBCC_CACHE_DIR", dir.path().c_str());
  Options o = fast_options({});
  o.plan = fake_plan("9.9.9", {});
  auto env = install("9.9.9", o);
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ(env->dir, dir.path() / "mbcc" / "envs" / "9.9.9");
  EXPECT_EQ(*path("9.9.9"), env->dir);
}

// ---------------------------------------------------------------------------------------------
// install, list, find, remove (with fake plans: no network, no MXNet).

TEST(Install, WritesTheMarkerAndReadsItBack) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.plan = fake_plan("1.2.3", {"print('hello')"});
  std::vector<std::string> lines;
  o.progress = [&](std::string_view l) { lines.emplace_back(l); };
  auto env = install("1.2.3", o);
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ(env->release, "1.2.3");
  EXPECT_EQ(env->dir, dir.path() / "1.2.3");
  EXPECT_EQ(env->python, dir.path() / "1.2.3" / "bin" / "python");
  EXPECT_TRUE(fs::exists(env->python));
  EXPECT_EQ(env->mxnet_version, "fake-1.2.3");
  EXPECT_EQ(env->requirement, "fake==1.2.3");
  EXPECT_EQ(env->libmxnet, dir.path() / "1.2.3" / "lib" / "libmxnet.so");
  EXPECT_TRUE(env->library_path.empty());
  EXPECT_FALSE(env->created.empty());
  EXPECT_TRUE(fs::exists(env->dir / kMarkerName));
  EXPECT_EQ(lines.size(), 3U);  // venv, the step, verify
  // Nothing is left beside it but the lock file.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "1.2.3" || name == ".1.2.3.lock") << name;
  }
  // venv wrote the temp folder's path into its scripts; they now name the final one.
  std::string activate = slurp(env->dir / "bin" / "activate");
  EXPECT_NE(activate.find(env->dir.string()), std::string::npos);
  EXPECT_EQ(activate.find(".tmp-"), std::string::npos);
}

TEST(Install, IsIdempotent) {
  TempDir dir;
  fs::path counter = dir.path() / "runs";
  Options o = fast_options(dir.path() / "envs");
  o.plan = fake_plan("1.0.0", {"open(r'" + counter.string() + "', 'a').write('x')"});
  ASSERT_TRUE(install("1.0.0", o).ok());
  ASSERT_TRUE(install("1.0.0", o).ok());
  EXPECT_EQ(slurp(counter), "x");
}

TEST(Install, ConcurrentInstallsOfOneReleaseBuildItOnce) {
  TempDir dir;
  fs::path counter = dir.path() / "runs";
  Options o = fast_options(dir.path() / "envs");
  // Slow enough that the others surely arrive while the first one builds.
  o.plan = fake_plan(
      "1.5.1", {"import time; time.sleep(1.0); open(r'" + counter.string() + "', 'a').write('x')"});
  constexpr int kThreads = 4;
  std::vector<std::optional<Result<Env>>> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i].emplace(install("1.5.1", o)); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r->ok()) << r->error().message();
    EXPECT_EQ((*r)->dir, dir.path() / "envs" / "1.5.1");
  }
  EXPECT_EQ(slurp(counter), "x");
  auto all = list(o);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1U);
}

TEST(Install, ConcurrentInstallsFromSeparateProcesses) {
  TempDir dir;
  fs::path counter = dir.path() / "runs";
  Options o = fast_options(dir.path() / "envs");
  o.plan = fake_plan(
      "1.6.0", {"import time; time.sleep(1.0); open(r'" + counter.string() + "', 'a').write('x')"});
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto env = install("1.6.0", o);
      ::_exit(env.ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(slurp(counter), "x");
  EXPECT_TRUE(find("1.6.0", o).ok());
}

TEST(Install, ReplacesAStaleFolderWithoutMarker) {
  TempDir dir;
  Options o = fast_options(dir.path());
  fs::create_directories(dir.path() / "1.3.0" / "junk");
  std::ofstream(dir.path() / "1.3.0" / "junk" / "file") << "half an install";
  EXPECT_FALSE(find("1.3.0", o).ok());
  o.plan = fake_plan("1.3.0", {});
  auto env = install("1.3.0", o);
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_FALSE(fs::exists(dir.path() / "1.3.0" / "junk"));
  EXPECT_TRUE(fs::exists(dir.path() / "1.3.0" / kMarkerName));
}

TEST(Install, RemovesLeftoversOfAKilledInstall) {
  TempDir dir;
  Options o = fast_options(dir.path());
  fs::create_directories(dir.path() / ".1.4.0.tmp-999999-0" / "bin");
  std::ofstream(dir.path() / ".1.4.0.tmp-999999-0.log") << "old";
  o.plan = fake_plan("1.4.0", {});
  ASSERT_TRUE(install("1.4.0", o).ok());
  EXPECT_FALSE(fs::exists(dir.path() / ".1.4.0.tmp-999999-0"));
  EXPECT_FALSE(fs::exists(dir.path() / ".1.4.0.tmp-999999-0.log"));
}

TEST(Install, FailingStepNamesItselfAndKeepsItsStderr) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.plan = fake_plan("1.1.0", {"import sys; print('line one', file=sys.stderr); "
                               "print('the real reason', file=sys.stderr); sys.exit(3)"});
  o.plan->steps[0].what = "pip install something";
  auto env = install("1.1.0", o);
  ASSERT_FALSE(env.ok());
  const Error& e = env.error();
  EXPECT_EQ(e.field, "pip install something");
  EXPECT_EQ(e.found, "exit status 3");
  EXPECT_NE(e.detail.find("line one\nthe real reason"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find(".1.1.0.failed.log"), std::string::npos) << e.detail;
  EXPECT_FALSE(fs::exists(dir.path() / "1.1.0"));
  EXPECT_TRUE(fs::exists(dir.path() / ".1.1.0.failed.log"));
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  // A later success removes the failure log.
  o.plan = fake_plan("1.1.0", {});
  ASSERT_TRUE(install("1.1.0", o).ok());
  EXPECT_FALSE(fs::exists(dir.path() / ".1.1.0.failed.log"));
}

TEST(Install, VerifyFailureIsAnError) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.plan = fake_plan("1.2.0", {});
  o.plan->verify = Step{"import mxnet", {"-c", "import mxnet_that_is_not_there"}};
  auto env = install("1.2.0", o);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().field, "import mxnet");
  EXPECT_NE(env.error().detail.find("ModuleNotFoundError"), std::string::npos);
}

TEST(Install, StepTimeoutKillsTheStep) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.plan = fake_plan("1.2.2", {"import time; time.sleep(60)"});
  o.step_timeout = std::chrono::seconds(1);
  auto t0 = std::chrono::steady_clock::now();
  auto env = install("1.2.2", o);
  ASSERT_FALSE(env.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_NE(env.error().found.find("no end after 1 s"), std::string::npos) << env.error().message();
}

TEST(Install, LibraryPathIsRecordedButNotForcedOnTheSteps) {
  TempDir dir;
  ScopedEnv ld("LD_LIBRARY_PATH", nullptr);
  Options o = fast_options(dir.path());
  o.plan = fake_plan("0.12.1", {"import os; assert 'LD_LIBRARY_PATH' not in os.environ"});
  o.plan->library_path = "lib/mbcc-libs";
  auto env = install("0.12.1", o);
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ(env->library_path, dir.path() / "0.12.1" / "lib" / "mbcc-libs");
}

TEST(Envs, ListFindPathPythonRemove) {
  TempDir dir;
  Options o = fast_options(dir.path());
  auto empty = list(o);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  for (const char* r : {"1.9.1", "1.10.0", "2.0.0b1"}) {
    o.plan = fake_plan(r, {});
    ASSERT_TRUE(install(r, o).ok());
  }
  fs::create_directories(dir.path() / "not-an-env");
  auto all = list(o);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].release, "1.10.0");
  EXPECT_EQ((*all)[2].release, "2.0.0b1");

  EXPECT_EQ(*path("2.0.0.beta1", o), dir.path() / "2.0.0b1");  // alias
  EXPECT_EQ(*python("1.9.1", o), dir.path() / "1.9.1" / "bin" / "python");
  auto missing = find("1.8.0", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("install it first"), std::string::npos);
  EXPECT_FALSE(python("../etc", o).ok());

  ASSERT_TRUE(remove("1.9.1", o).ok());
  EXPECT_FALSE(find("1.9.1", o).ok());
  EXPECT_FALSE(fs::exists(dir.path() / "1.9.1"));
  EXPECT_TRUE(remove("1.9.1", o).ok());  // already gone is fine
  EXPECT_EQ(list(o)->size(), 2U);
}

TEST(Envs, AnEnvWhoseInterpreterIsGoneIsNotComplete) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.plan = fake_plan("1.7.0", {});
  auto env = install("1.7.0", o);
  ASSERT_TRUE(env.ok());
  fs::remove(env->python);
  EXPECT_FALSE(find("1.7.0", o).ok());
  EXPECT_TRUE(install("1.7.0", o).ok());  // rebuilt
  EXPECT_TRUE(find("1.7.0", o).ok());
}

// ---------------------------------------------------------------------------------------------
// The process helpers.

TEST(FileTail, KeepsTheLastLines) {
  TempDir dir;
  fs::path f = dir.path() / "f";
  std::ofstream(f) << "a\nb\nc\nd\n";
  EXPECT_EQ(detail::file_tail(f, 2, 1000), "c\nd");
  EXPECT_EQ(detail::file_tail(f, 10, 1000), "a\nb\nc\nd");
  EXPECT_EQ(detail::file_tail(f, 10, 4), "c\nd");
  EXPECT_EQ(detail::file_tail(dir.path() / "none", 2, 100), "");
}

TEST(Run, MissingProgramIsAnError) {
  TempDir dir;
  auto r = detail::run({"/nonexistent/program"}, dir.path() / "o", dir.path() / "e", {},
                       std::chrono::seconds(5));
  // posix_spawnp reports a missing file either as a spawn error or as exit status 127.
  EXPECT_TRUE(!r.ok() || r->code == 127);
}

// ---------------------------------------------------------------------------------------------
// The real thing: pip's own message for a release that does not exist (needs the package index).

TEST(InstallReal, NonexistentReleaseCarriesPipsMessage) {
  TempDir dir;
  Options o;
  o.root = dir.path();
  auto env = install("0.0.0.9", o);
  ASSERT_FALSE(env.ok());
  const Error& e = env.error();
  EXPECT_NE(e.field.find("mxnet==0.0.0.9"), std::string::npos) << e.message();
  EXPECT_NE(e.detail.find("No matching distribution found for mxnet==0.0.0.9"), std::string::npos)
      << e.message();
  EXPECT_FALSE(fs::exists(dir.path() / "0.0.0.9"));
}

TEST(ReleaseVersionNumber, IsWhatGraphsRecord) {
  EXPECT_EQ(release_version_number("1.4.1"), 10401);
  EXPECT_EQ(release_version_number("0.12.0"), 1200);
  EXPECT_EQ(release_version_number("1.7.0.post2"), 10700);
  EXPECT_EQ(release_version_number("2.0.0a0"), release_version_number("2.0.0b1"));
  EXPECT_EQ(release_version_number("2.0.0b1"), 20000);
  EXPECT_EQ(release_version_number("1.9"), -1);
  EXPECT_EQ(release_version_number("latest"), -1);
}

}  // namespace
}  // namespace mbcc::envs
