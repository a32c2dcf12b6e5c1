#include "corpus/sha256.hpp"

#include <gtest/gtest.h>

#include "corpus/test_bundle.hpp"

namespace mbcc::corpus {
namespace {

using testing::bytes_of;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(bytes_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

class Sha256File : public testing::TempDir {};

TEST_F(Sha256File, HashesTheFileAndNamesAMissingOne) {
  testing::write_bytes(dir_ / "abc", bytes_of("abc"));
  Result<std::string> hash = sha256_file(dir_ / "abc");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, sha256_hex(bytes_of("abc")));
  Result<std::string> missing = sha256_file(dir_ / "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().source, (dir_ / "nothing").string());
}

}  // namespace
}  // namespace mbcc::corpus
