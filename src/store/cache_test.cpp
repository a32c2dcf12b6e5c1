#include "store/cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/sha256.hpp"

namespace mbcc::store {
namespace {

namespace fs = std::filesystem;

std::string sha_of(std::string_view text) { return sha256_hex(std::as_bytes(std::span(text.data(), text.size()))); }

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class StoreCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mbcc-cache-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    store_ = open_store((dir_ / "store").string(), {}).value();
    ASSERT_TRUE(store_->put_bytes("a", "alpha").ok());
    ASSERT_TRUE(store_->put_bytes("b", "bravo!").ok());
    ASSERT_TRUE(store_->put_bytes("c", "charlie").ok());
  }
  void TearDown() override {
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(dir_, ec)) fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreCache, DownloadsVerifiesThenHits) {
  Cache cache(dir_ / "cache", 1 << 20);
  std::vector<CacheRequest> wanted{{"a", sha_of("alpha"), 5}, {"b", sha_of("bravo!"), 6}, {"a", sha_of("alpha"), 5}};
  auto first = cache.fetch(*store_, wanted);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_EQ(first->paths.size(), 3u);
  EXPECT_EQ(first->hits, 0u);
  EXPECT_EQ(first->downloaded.objects, 2u);  // the same content twice is fetched once
  EXPECT_EQ(first->paths[0], dir_ / "cache" / sha_of("alpha"));
  EXPECT_EQ(slurp(first->paths[1]), "bravo!");
  EXPECT_EQ(fs::status(first->paths[0]).permissions() & fs::perms::owner_write, fs::perms::none);

  auto second = cache.fetch(*store_, wanted);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->hits, 3u);
  EXPECT_EQ(second->downloaded.objects, 0u);
}

TEST_F(StoreCache, AMismatchNamesKeyExpectedAndFoundAndKeepsNothing) {
  Cache cache(dir_ / "cache", 1 << 20);
  std::string wrong = sha_of("not alpha");
  std::vector<CacheRequest> wanted{{"a", wrong, 5}};
  auto r = cache.fetch(*store_, wanted);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().source.find(" a"), std::string::npos);
  EXPECT_EQ(r.error().field, "sha256");
  EXPECT_EQ(r.error().allowed, wrong);
  EXPECT_EQ(r.error().found, sha_of("alpha"));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / wrong));
  EXPECT_TRUE(fs::is_empty(dir_ / "cache" / "incoming"));

  std::vector<CacheRequest> bad_size{{"a", sha_of("alpha"), 4}};
  auto s = cache.fetch(*store_, bad_size);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "size");
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_of("alpha")));

  std::vector<CacheRequest> not_hex{{"a", "ABC", 5}};
  auto h = cache.fetch(*store_, not_hex);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().field, "sha256");
}

TEST_F(StoreCache, AnEntryOfTheWrongSizeIsFetchedAgain) {
  Cache cache(dir_ / "cache", 1 << 20);
  fs::create_directories(dir_ / "cache");
  std::ofstream(dir_ / "cache" / sha_of("alpha")) << "alp";  // damaged on disk
  std::vector<CacheRequest> wanted{{"a", sha_of("alpha"), 5}};
  auto r = cache.fetch(*store_, wanted);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->hits, 0u);
  EXPECT_EQ(slurp(r->paths[0]), "alpha");
}

TEST_F(StoreCache, TrimEvictsTheLeastRecentlyUsed) {
  Cache cache(dir_ / "cache", 8);  // room for charlie (7 bytes) only
  std::vector<CacheRequest> a{{"a", sha_of("alpha"), 5}}, b{{"b", sha_of("bravo!"), 6}}, c{{"c", sha_of("charlie"), 7}};
  ASSERT_TRUE(cache.fetch(*store_, a).ok());
  ASSERT_TRUE(cache.fetch(*store_, b).ok());
  ASSERT_TRUE(cache.fetch(*store_, c).ok());
  // Make the order unambiguous whatever the file system's time resolution: b oldest, then c, a.
  auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir_ / "cache" / sha_of("bravo!"), now - std::chrono::hours(3));
  fs::last_write_time(dir_ / "cache" / sha_of("charlie"), now - std::chrono::hours(2));
  fs::last_write_time(dir_ / "cache" / sha_of("alpha"), now - std::chrono::hours(1));
  ASSERT_TRUE(cache.fetch(*store_, c).ok());  // a hit: c becomes the newest
  ASSERT_TRUE(cache.trim().ok());
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_of("bravo!")));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_of("alpha")));
  EXPECT_TRUE(fs::exists(dir_ / "cache" / sha_of("charlie")));
}

TEST(StoreCacheDefaultDir, FollowsTheCacheFolder) {
  const char* old = std::getenv("MBCC_CACHE_DIR");
  std::string saved = old ? old : "";
  ::setenv("MBCC_CACHE_DIR", "/tmp/mbcc-x", 1);
  auto dir = Cache::default_dir();
  if (old) ::setenv("MBCC_CACHE_DIR", saved.c_str(), 1); else ::unsetenv("MBCC_CACHE_DIR");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, fs::path("/tmp/mbcc-x/mbcc/store-cache"));
}

}  // namespace
}  // namespace mbcc::store
