#include "base/locked_dir.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mbcc {
namespace {

namespace fs = std::filesystem;

class LockedDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_ = fs::temp_directory_path() / ("mbcc-locked-" + std::to_string(::getpid()));
    fs::remove_all(parent_);
  }
  void TearDown() override { fs::remove_all(parent_); }
  fs::path parent_;
};

TEST_F(LockedDirTest, GoesWithItsObjectAndIsLeftAloneWhileItLives) {
  fs::path path;
  {
    Result<LockedDir> dir = LockedDir::create(parent_, "mbcc-check");
    ASSERT_TRUE(dir.ok()) << dir.error().message();
    path = dir->path();
    EXPECT_TRUE(path.filename().string().starts_with("mbcc-check-"));
    std::ofstream(path / "output.npy") << "x";
    EXPECT_EQ(remove_abandoned_dirs(parent_, "mbcc-check"), 0U);  // its owner still runs
    EXPECT_TRUE(fs::exists(path / "output.npy"));
  }
  EXPECT_FALSE(fs::exists(path));
}

// A run killed with SIGKILL cannot clean up; the next run's sweep removes its folder, and only
// folders of its own prefix.
TEST_F(LockedDirTest, TheFolderOfAKilledOwnerIsRemovedByTheNextRun) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<LockedDir> dir = LockedDir::create(parent_, "mbcc-check");
    const char byte = dir.ok() ? 1 : 0;
    (void)!::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 1);
  fs::create_directories(parent_ / "other-XXXX");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::size_t left = 0;
  for (const auto& entry : fs::directory_iterator(parent_)) {
    left += entry.path().filename().string().starts_with("mbcc-check-") ? 1 : 0;
  }
  ASSERT_EQ(left, 1U) << "kill -9 leaves the folder";
  EXPECT_EQ(remove_abandoned_dirs(parent_, "mbcc-check"), 1U);
  EXPECT_TRUE(fs::exists(parent_ / "other-XXXX"));
  EXPECT_EQ(std::distance(fs::directory_iterator(parent_), fs::directory_iterator()), 1);
}

TEST_F(LockedDirTest, AKeptFolderStaysForTheUser) {
  fs::path path;
  {
    Result<LockedDir> dir = LockedDir::create(parent_, "mbcc-check");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    ASSERT_TRUE(dir->keep().ok());
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(remove_abandoned_dirs(parent_, "mbcc-check"), 0U);
  EXPECT_TRUE(fs::exists(path));
}

}  // namespace
}  // namespace mbcc
