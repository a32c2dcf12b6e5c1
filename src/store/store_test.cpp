#include "store/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "store/internal.hpp"

namespace mbcc::store {
namespace {

namespace fs = std::filesystem;
using namespace detail;

TEST(StoreS3Url, SplitsBucketAndPrefix) {
  EXPECT_TRUE(is_s3_url("s3://b"));
  EXPECT_FALSE(is_s3_url("/data/s3://x"));
  auto a = parse_s3_url("s3://mbcc-bundles/nightly/v1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bucket, "mbcc-bundles");
  EXPECT_EQ(a->prefix, "nightly/v1/");
  auto b = parse_s3_url("s3://mbcc-bundles");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prefix, "");
  EXPECT_EQ(parse_s3_url("s3://mbcc-bundles/x/")->prefix, "x/");
}

TEST(StoreS3Url, RefusesBadBucketsAndPrefixesWithTheReason) {
  for (const char* url : {"s3://", "s3://ab", "s3://Upper", "s3://under_score", "s3://-dash", "s3://b.c./",
                          "s3://bucket//x", "s3://bucket/a//b"}) {
    auto r = parse_s3_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().source, url);
    EXPECT_FALSE(r.error().allowed.empty()) << url;
  }
}

TEST(StoreEndpoint, IsPathStyleAndRefusesPathsAndUsers) {
  auto e = parse_endpoint("http://127.0.0.1:9000/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "127.0.0.1:9000");
  EXPECT_TRUE(e->path_style);
  EXPECT_TRUE(parse_endpoint("https://minio.example.org").ok());
  for (const char* bad : {"ftp://x", "127.0.0.1:9000", "http://", "http://u:p@host", "http://host/path"}) {
    auto r = parse_endpoint(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "S3 endpoint");
  }
}

TEST(StoreEndpoint, OptionThenEnvironmentThenAws) {
  std::map<std::string, std::string> vars;
  auto env = [&](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto aws = resolve_endpoint("", env, "eu-west-1", "bundles");
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(bucket_url(*aws, "bundles"), "https://bundles.s3.eu-west-1.amazonaws.com/");
  EXPECT_EQ(bucket_url(*resolve_endpoint("", env, "eu-west-1", "my.bundles"), "my.bundles"),
            "https://s3.eu-west-1.amazonaws.com/my.bundles");
  vars["AWS_ENDPOINT_URL"] = "http://general:1";
  EXPECT_EQ(bucket_url(*resolve_endpoint("", env, "r", "b1"), "b1"), "http://general:1/b1");
  vars["AWS_ENDPOINT_URL_S3"] = "http://s3only:2";
  EXPECT_EQ(bucket_url(*resolve_endpoint("", env, "r", "b1"), "b1"), "http://s3only:2/b1");
  EXPECT_EQ(bucket_url(*resolve_endpoint("https://option:3", env, "r", "b1"), "b1"), "https://option:3/b1");
  vars["AWS_ENDPOINT_URL_S3"] = "not a url";
  EXPECT_FALSE(resolve_endpoint("", env, "r", "b1").ok());
}

TEST(StoreEncodeKey, KeepsUnreservedAndSlashesAndEncodesTheRest) {
  EXPECT_EQ(encode_key("v1/1.9.1/mlp/module-checkpoint/manifest.json"), "v1/1.9.1/mlp/module-checkpoint/manifest.json");
  EXPECT_EQ(encode_key("a b+c=d~e_f-g"), "a%20b%2Bc%3Dd~e_f-g");
  EXPECT_EQ(encode_key("ü"), "%C3%BC");
  EXPECT_EQ(encode_query_value("a/b=c+d"), "a%2Fb%3Dc%2Bd");
}

TEST(StoreRedact, RemovesEverySecretEverywhere) {
  EXPECT_EQ(redact("key SECRET and SECRET, token TOK", {"SECRET", "TOK", ""}),
            "key [redacted] and [redacted], token [redacted]");
}

class StoreLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mbcc-local-store-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    auto store = open_store(root_.string(), {});
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreLocal, PutListReadGetExistsRemove) {
  EXPECT_EQ(store_->url(), root_.string());
  ASSERT_TRUE(store_->list("").ok());  // a store not created yet is empty
  EXPECT_TRUE(store_->list("")->empty());
  ASSERT_TRUE(store_->put_bytes("v1/b/manifest.json", "{}").ok());
  ASSERT_TRUE(store_->put_bytes("v1/a/x.npy", "0123456789").ok());
  fs::path src = root_ / "../src-file";
  std::ofstream(src) << "abc";
  ASSERT_TRUE(store_->put("v1/a b/=+.bin", src).ok());
  fs::remove(src);

  auto all = store_->list("v1/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, "v1/a b/=+.bin");
  EXPECT_EQ((*all)[1].key, "v1/a/x.npy");
  EXPECT_EQ((*all)[1].size, 10u);
  EXPECT_EQ(store_->list("v1/b")->size(), 1u);

  EXPECT_EQ(*store_->read("v1/b/manifest.json", 100), "{}");
  auto too_big = store_->read("v1/a/x.npy", 9);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().found, "10 bytes");

  std::vector<TransferProgress> seen;
  StoreOptions options;
  options.progress = [&](const TransferProgress& p) { seen.push_back(p); };
  auto with_progress = open_store(root_.string(), options);
  std::vector<GetRequest> gets{{"v1/a/x.npy", root_ / "../got/x.npy", 10}};
  auto stats = (*with_progress)->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->bytes, 10u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().objects_done, 1u);
  EXPECT_EQ(seen.back().bytes_done, 10u);
  fs::remove_all(root_ / "../got");

  std::vector<GetRequest> wrong{{"v1/a/x.npy", root_ / "../got/x.npy", 11}};
  auto mismatch = store_->get(wrong);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().found, "10");
  EXPECT_FALSE(fs::exists(root_ / "../got/x.npy"));  // nothing half-right is left at dest
  fs::remove_all(root_ / "../got");

  EXPECT_TRUE(*store_->exists("v1/a/x.npy"));
  ASSERT_TRUE(store_->remove("v1/a/x.npy").ok());
  EXPECT_FALSE(*store_->exists("v1/a/x.npy"));
}

TEST_F(StoreLocal, RefusesKeysThatLeaveTheRoot) {
  for (const char* key : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/"}) {
    auto r = store_->put_bytes(key, "x");
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.error().field, "key");
  }
}

}  // namespace
}  // namespace mbcc::store
