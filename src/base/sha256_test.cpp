#include "base/sha256.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string_view>

namespace mbcc {
namespace {

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(bytes_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256File, HashesTheFileAndNamesAMissingOne) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("mbcc-sha256-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "abc", std::ios::binary) << "abc";
  Result<std::string> hash = sha256_file(dir / "abc");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, sha256_hex(bytes_of("abc")));
  Result<std::string> missing = sha256_file(dir / "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().source, (dir / "nothing").string());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mbcc
