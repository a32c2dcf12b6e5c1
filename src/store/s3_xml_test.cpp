#include <gtest/gtest.h>

#include "store/internal.hpp"

namespace mbcc::store::detail {
namespace {

TEST(StoreListPage, ReadsKeysSizesAndTheContinuationToken) {
  auto page = parse_list_page(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>abc+/=</NextContinuationToken>
  <Contents><Key>p/a &amp; b</Key><Size>12</Size><ETag>"x"</ETag></Contents>
  <Contents><Key>p/c</Key><Size>18446744073709551615</Size></Contents>
</ListBucketResult>)", "s3://b/p/");
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a & b");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[1].size, 18446744073709551615ull);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "abc+/=");
}

TEST(StoreListPage, RefusesHostileAndMalformedBodies) {
  auto expect_error = [](std::string_view xml, std::string_view field) {
    auto page = parse_list_page(xml, "s3://b/");
    ASSERT_FALSE(page.ok()) << xml;
    EXPECT_EQ(page.error().source, "s3://b/");
    EXPECT_NE(page.error().message().find(field), std::string::npos) << page.error().message();
  };
  expect_error("<ListBucketResult><IsTruncated>false", "XML body");  // cut short
  expect_error("<Other/>", "ListBucketResult");
  expect_error("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", "IsTruncated");
  // A truncated page with no token would make the caller loop for ever.
  expect_error("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "NextContinuationToken");
  expect_error("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>-1</Size>"
               "</Contents></ListBucketResult>", "Contents[0].Size");
  expect_error("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>99999999999999999999999"
               "</Size></Contents></ListBucketResult>", "Contents[0].Size");
  expect_error("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>"
               "</ListBucketResult>", "Contents[0].Key");
  expect_error("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>" + std::string(1025, 'k') +
                   "</Key><Size>1</Size></Contents></ListBucketResult>", "Contents[0].Key");
  // Oversized bodies are refused before parsing.
  expect_error(std::string(kMaxXmlBytes + 1, ' '), "XML body");
  // Entity tricks: a DTD is not processed, so nothing expands and the unknown entity is an error
  // or stays literal text, never a file's contents.
  auto page = parse_list_page(R"(<!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">]>
<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&x;&a;</Key><Size>1</Size></Contents></ListBucketResult>)",
                              "s3://b/");
  if (page.ok()) {
    ASSERT_EQ(page->objects.size(), 1u);
    EXPECT_EQ(page->objects[0].key.find("root:"), std::string::npos);
    EXPECT_EQ(page->objects[0].key.find("aaaaaaaaaa"), std::string::npos);
  }
}

TEST(StoreListPage, CapsTheObjectsOfOnePage) {
  std::string xml = "<ListBucketResult><IsTruncated>false</IsTruncated>";
  for (int i = 0; i < 10001; ++i) xml += "<Contents><Key>k</Key><Size>1</Size></Contents>";
  xml += "</ListBucketResult>";
  auto page = parse_list_page(xml, "s3://b/");
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message().find("more than 10000"), std::string::npos);
}

TEST(StoreErrorBody, ReadsCodeAndMessageAndSurvivesGarbage) {
  S3ErrorBody body = parse_error_body(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key\x01 does not exist</Message></Error>");
  EXPECT_EQ(body.code, "NoSuchKey");
  EXPECT_EQ(body.message, "The key? does not exist");  // control bytes never reach a terminal
  EXPECT_EQ(parse_error_body("<html>proxy error</html>").code, "");
  EXPECT_EQ(parse_error_body("\xff\xfe<<<").code, "");
  EXPECT_EQ(parse_error_body("<Error><Code>" + std::string(1000, 'C') + "</Code></Error>").code.size(), 64u);
}

TEST(StoreUploadId, IsReadOrTheReplyIsNamed) {
  auto id = parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u-1"
                            "</UploadId></InitiateMultipartUploadResult>", "s3://b/k");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "u-1");
  auto missing = parse_upload_id("<InitiateMultipartUploadResult/>", "s3://b/k");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().source, "s3://b/k");
  EXPECT_EQ(missing.error().field, "UploadId");
}

}  // namespace
}  // namespace mbcc::store::detail
