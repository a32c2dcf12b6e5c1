#include "formats/sniff.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mbcc {
namespace {

FileKind sniff(const std::string& text) {
  return sniff_file_kind({reinterpret_cast<const std::byte*>(text.data()), text.size()});
}

TEST(SniffFileKind, RecognisesMXNetAndNumPyFiles) {
  EXPECT_EQ(sniff(std::string("\x12\x01\0\0\0\0\0\0\0\0\0\0", 12)), FileKind::kNDArrayList);
  EXPECT_EQ(sniff(std::string("\x12\x01\0", 3)), FileKind::kNDArrayList);  // truncated
  EXPECT_EQ(sniff("\x93NUMPY\x01\x00"), FileKind::kNpy);
  EXPECT_EQ(sniff("PK\x03\x04rest"), FileKind::kNpz);
  EXPECT_EQ(sniff("  {\"nodes\": []}"), FileKind::kJson);
}

TEST(SniffFileKind, NamesWhatIsNotAnMXNetFile) {
  EXPECT_EQ(sniff(""), FileKind::kEmpty);
  EXPECT_EQ(sniff("\n<!DOCTYPE html><html>"), FileKind::kHtml);
  EXPECT_EQ(sniff("<html><body>404</body></html>"), FileKind::kHtml);
  EXPECT_EQ(sniff("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>"),
            FileKind::kXml);
  EXPECT_EQ(sniff("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n"),
            FileKind::kGitLfsPointer);
  EXPECT_EQ(sniff("just some notes\n"), FileKind::kText);
  EXPECT_EQ(sniff(std::string("\x01\x02\x03\xff", 4)), FileKind::kUnknown);
}

}  // namespace
}  // namespace mbcc
