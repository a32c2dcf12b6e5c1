#include "corpus/layout.hpp"

#include <gtest/gtest.h>

#include "corpus/test_bundle.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

TEST(Layout, Paths) {
  BundleKey key{"1.9.1", "lstm", "gluon-export"};
  EXPECT_EQ(bundle_dir("/s", key), fs::path("/s/v1/1.9.1/lstm/gluon-export"));
  EXPECT_EQ(release_dir("/s", "2.0.0b1"), fs::path("/s/v1/2.0.0b1"));
  EXPECT_EQ(key.to_string(), "1.9.1/lstm/gluon-export");
}

TEST(Layout, Names) {
  EXPECT_TRUE(check_layout_name("1.7.0.post2", "release").ok());
  EXPECT_TRUE(check_layout_name("gluon-save-parameters-np", "save API").ok());
  using std::string_view_literals::operator""sv;
  for (std::string_view bad : {""sv, ".tmp"sv, ".."sv, "a/b"sv, "a b"sv, "a\0b"sv}) {
    Status s = check_layout_name(bad, "model");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().source, "model");
  }
  EXPECT_FALSE(check_layout_name(std::string(65, 'a'), "model").ok());
}

class ListBundles : public testing::TempDir {};

TEST_F(ListBundles, FindsBundlesAndSkipsWorkInProgress) {
  auto touch_manifest = [&](const fs::path& dir) {
    testing::write_bytes(dir / kManifestName, testing::bytes_of("{}"));
  };
  touch_manifest(bundle_dir(dir_, {"1.9.1", "mlp", "module-checkpoint"}));
  touch_manifest(bundle_dir(dir_, {"0.11.0", "mlp", "module-checkpoint"}));
  touch_manifest(bundle_dir(dir_, {"1.9.1", "lstm", "gluon-export"}));
  fs::create_directories(bundle_dir(dir_, {"1.9.1", "lstm", "gluon-block-save"}));  // no manifest
  touch_manifest(dir_ / ".tmp-generate-1.9.1-abc/probe/mlp/module-checkpoint");
  touch_manifest(dir_ / "v1/1.9.1/.hidden/module-checkpoint");
  testing::write_bytes(dir_ / "v1/1.9.1" / kGenerationLogName, testing::bytes_of("{}"));

  Result<std::vector<BundleKey>> keys = list_bundles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  std::vector<BundleKey> expected = {{"0.11.0", "mlp", "module-checkpoint"},
                                     {"1.9.1", "lstm", "gluon-export"},
                                     {"1.9.1", "mlp", "module-checkpoint"}};
  EXPECT_EQ(*keys, expected);
}

TEST_F(ListBundles, EmptyStore) {
  Result<std::vector<BundleKey>> keys = list_bundles(dir_ / "nothing-here");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

}  // namespace
}  // namespace mbcc::corpus
