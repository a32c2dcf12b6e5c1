#include "corpus/pack.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "base/gzip.hpp"
#include "base/sha256.hpp"
#include "corpus/bundle.hpp"
#include "corpus/test_bundle.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;

// The store's apparent size as `du -sb` measures it.
std::uintmax_t du_bytes(const fs::path& dir) {
  const std::string command = "du -sb '" + dir.string() + "'";
  FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) return 0;
  unsigned long long bytes = 0;
  if (std::fscanf(out, "%llu", &bytes) != 1) bytes = 0;
  ::pclose(out);
  return bytes;
}

const BundleKey kFirst{"1.9.1", "fc", "module-checkpoint"};
const BundleKey kSecond{"1.8.0", "fc", "module-checkpoint"};  // the same files, byte for byte

// A local store of two schema-1 bundles that keep their files in their own folders.
class Pack : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    for (const BundleKey& key : {kFirst, kSecond}) {
      Manifest m = testing::make_bundle(bundle_dir(dir_, key));
      m.schema_version = 1;
      m.producer.version = key.producer;
      testing::write_manifest_file(bundle_dir(dir_, key), m);
      manifest_text_[key.producer] = read_bytes(bundle_dir(dir_, key) / kManifestName);
      manifest_ = m;
    }
  }

  PackReport pack() {
    Result<PackReport> report = pack_store(dir_);
    EXPECT_TRUE(report.ok()) << report.error().message();
    return report.ok() ? *report : PackReport{};
  }

  // The regular files and folders in a bundle's folder.
  std::vector<std::string> entries(const BundleKey& key) {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(bundle_dir(dir_, key))) {
      found.push_back(entry.path().lexically_relative(bundle_dir(dir_, key)).string());
    }
    return found;
  }

  void expect_unchanged_and_valid() {
    for (const BundleKey& key : {kFirst, kSecond}) {
      EXPECT_EQ(read_bytes(bundle_dir(dir_, key) / kManifestName), manifest_text_[key.producer]);
      Result<Manifest> valid = validate_bundle(bundle_dir(dir_, key));
      EXPECT_TRUE(valid.ok()) << valid.error().message();
    }
  }

  std::map<std::string, std::vector<std::byte>> manifest_text_;
  Manifest manifest_;
};

TEST_F(Pack, MovesEveryFileIntoTheSharedFolderOnceAndKeepsTheManifests) {
  const PackReport report = pack();
  EXPECT_EQ(report.bundles, 2U);
  EXPECT_EQ(report.bundles_packed, 2U);
  EXPECT_EQ(report.files_moved, 8U);
  EXPECT_EQ(report.objects_written, 4U);  // the second bundle's files are the first's
  EXPECT_EQ(report.folders_removed, 4U);  // model/ and data/ of each
  EXPECT_EQ(report.bytes_after, du_bytes(dir_));
  for (const BundleKey& key : {kFirst, kSecond}) {
    EXPECT_EQ(entries(key), std::vector<std::string>{std::string(kManifestName)});
  }
  expect_unchanged_and_valid();
  for (const BundleFile& f : manifest_.files) {
    const fs::path object = shared_file_path(dir_, f.sha256, /*compressed=*/true);
    Result<std::string> text = gunzip(read_bytes(object), object.string());
    ASSERT_TRUE(text.ok()) << text.error().message();
    EXPECT_EQ(sha256_hex(std::as_bytes(std::span(text->data(), text->size()))), f.sha256);
  }
  // Nothing of the work folder is left.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".")) << entry.path();
  }
}

TEST_F(Pack, ASecondRunChangesNothing) {
  const std::uintmax_t unpacked = du_bytes(dir_);
  const PackReport first = pack();
  EXPECT_EQ(first.bytes_before, unpacked);
  const PackReport second = pack();
  EXPECT_EQ(second.bundles, 2U);
  EXPECT_EQ(second.bundles_packed, 0U);
  EXPECT_EQ(second.files_moved, 0U);
  EXPECT_EQ(second.objects_written, 0U);
  EXPECT_EQ(second.bytes_before, first.bytes_after);
  EXPECT_EQ(second.bytes_after, first.bytes_after);
  expect_unchanged_and_valid();
}

// A pack killed between writing an object and removing the bundle's copy, and another killed
// with its work folder left: the bundles validate, and the next run finishes without writing
// the object again.
TEST_F(Pack, AKilledRunLeavesValidBundlesAndTheNextFinishesIt) {
  const BundleFile& graph = *manifest_.find_file("model/fc-symbol.json");
  const std::vector<std::byte> bytes = read_bytes(bundle_dir(dir_, kFirst) / graph.path);
  testing::write_bytes(shared_file_path(dir_, graph.sha256, true),
                       gzip({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
  testing::write_bytes(dir_ / ".tmp-pack-abc123" / (graph.sha256 + ".gz"), bytes);
  expect_unchanged_and_valid();
  const PackReport report = pack();
  EXPECT_EQ(report.files_moved, 8U);
  EXPECT_EQ(report.objects_written, 3U);
  EXPECT_FALSE(fs::exists(dir_ / ".tmp-pack-abc123"));
  expect_unchanged_and_valid();
}

TEST_F(Pack, APlainObjectOfTheSameContentDoes) {
  const BundleFile& output = *manifest_.find_file("data/output_0.npy");
  fs::create_directories(shared_file_path(dir_, output.sha256).parent_path());
  fs::copy_file(bundle_dir(dir_, kFirst) / output.path, shared_file_path(dir_, output.sha256));
  EXPECT_EQ(pack().objects_written, 3U);
  EXPECT_FALSE(fs::exists(shared_file_path(dir_, output.sha256, true)));
  expect_unchanged_and_valid();
}

TEST_F(Pack, ABundleThatDoesNotValidateIsLeftAsItIs) {
  const fs::path golden = bundle_dir(dir_, kSecond) / "data/output_0.npy";
  std::vector<std::byte> bytes = read_bytes(golden);
  bytes.back() ^= std::byte{0x01};
  testing::write_bytes(golden, bytes);
  const PackReport report = pack();
  ASSERT_EQ(report.refused.size(), 1U);
  EXPECT_NE(report.refused[0].find(kSecond.to_string()), std::string::npos) << report.refused[0];
  EXPECT_NE(report.refused[0].find("sha256"), std::string::npos) << report.refused[0];
  EXPECT_EQ(report.bundles_packed, 1U);
  EXPECT_EQ(read_bytes(golden), bytes);
  EXPECT_EQ(entries(kSecond).size(), 7U);  // manifest, 4 files, 2 folders
}

TEST_F(Pack, AnObjectWithOtherContentUnderTheNameIsAnErrorAndTheCopyStays) {
  const BundleFile& params = *manifest_.find_file("model/fc-0000.params");
  testing::write_bytes(shared_file_path(dir_, params.sha256, true), gzip("other bytes"));
  Result<PackReport> report = pack_store(dir_);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("other content"), std::string::npos)
      << report.error().message();
  EXPECT_TRUE(fs::exists(bundle_dir(dir_, kFirst) / params.path));
}

TEST_F(Pack, RefusesWhatIsNotALocalStore) {
  for (const fs::path& store : {dir_ / "v1" / "1.9.1", dir_ / "missing", fs::path("s3://b/p")}) {
    Result<PackReport> report = pack_store(store);
    ASSERT_FALSE(report.ok()) << store;
    EXPECT_NE(report.error().message().find("not a local store"), std::string::npos)
        << report.error().message();
  }
  expect_unchanged_and_valid();
  EXPECT_TRUE(fs::exists(bundle_dir(dir_, kFirst) / "model/fc-symbol.json"));
}

}  // namespace
}  // namespace mbcc::corpus
