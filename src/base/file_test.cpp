#include "base/file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace mbcc {
namespace {

namespace fs = std::filesystem;

class ReadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mbcc-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file whose every 8-byte word holds its own index, so a misplaced page shows.
  fs::path write_counting_file(const char* name, std::size_t words) {
    std::vector<std::uint64_t> values(words);
    for (std::size_t i = 0; i < words; ++i) values[i] = i;
    std::ofstream out(dir_ / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()),
              static_cast<std::streamsize>(words * sizeof(std::uint64_t)));
    return dir_ / name;
  }

  static void expect_counting(const FileBytes& file, std::size_t words) {
    ASSERT_EQ(file.size, words * sizeof(std::uint64_t));
    for (std::size_t i = 0; i < words; ++i) {
      std::uint64_t value = 0;
      std::memcpy(&value, file.bytes().data() + i * sizeof value, sizeof value);
      ASSERT_EQ(value, i) << "word " << i;
    }
  }

  fs::path dir_;
};

TEST_F(ReadFile, SmallFileIsReadWhole) {
  Result<FileBytes> file = read_file(write_counting_file("small", 1000));
  ASSERT_TRUE(file.ok()) << file.error().message();
  expect_counting(*file, 1000);
}

// Above 32 MiB the page tables are filled from several threads; an odd size checks the last part.
TEST_F(ReadFile, LargeFileIsReadWholeAcrossItsParts) {
  const std::size_t words = (std::size_t{49} << 20) / 8 + 3;
  Result<FileBytes> file = read_file(write_counting_file("large", words));
  ASSERT_TRUE(file.ok()) << file.error().message();
  expect_counting(*file, words);
}

TEST_F(ReadFile, EmptyFileHasNoBytes) {
  std::ofstream(dir_ / "empty").close();
  Result<FileBytes> file = read_file(dir_ / "empty");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->size, 0u);
}

TEST_F(ReadFile, MissingFileAndFolderAreNamed) {
  Result<FileBytes> missing = read_file(dir_ / "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().source, (dir_ / "nothing").string());
  EXPECT_NE(missing.error().message().find("cannot open"), std::string::npos);
  Result<FileBytes> folder = read_file(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.error().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace mbcc
