#include "registry/dump.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "base/file.hpp"
#include "base/gzip.hpp"
#include "base/locked_dir.hpp"

namespace mbcc::registry {
namespace {

namespace fs = std::filesystem;

Registry small_registry() {
  Registry registry;
  registry.release = "1.9.1";
  registry.mxnet_version = 10901;
  Op pooling;
  pooling.name = "Pooling";
  pooling.inputs = {"data"};
  pooling.parser = Parser::kStrict;
  for (const char* text : {"Shape(tuple), optional, default=[]",
                           "{'avg', 'lp', 'max', 'sum'},optional, default='max'"}) {
    pooling.args.push_back(parse_type_string(text).arg);
  }
  pooling.args[0].name = "kernel";
  pooling.args[1].name = "pool_type";
  registry.ops["Pooling"] = pooling;
  Op softmax;
  softmax.name = "SoftmaxOutput";
  softmax.aliases = {"Softmax"};
  softmax.parser = Parser::kStrict;
  softmax.parser_fields = std::vector<Arg>{pooling.args[0]};
  registry.ops["SoftmaxOutput"] = softmax;
  registry.alias_of["Softmax"] = "SoftmaxOutput";
  Op custom;
  custom.name = "Custom";
  custom.parser = Parser::kUnknown;
  custom.probe_message = "Required parameter op_type of string is not presented";
  registry.ops["Custom"] = custom;
  return registry;
}

class DumpFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = LockedDir::create(fs::temp_directory_path(), "registry-test");
    ASSERT_TRUE(made.ok());
    folder_.emplace(std::move(made).value());
    dir_ = folder_->path();
    ASSERT_TRUE(write_dump(dir_, small_registry()).ok());
  }
  std::optional<LockedDir> folder_;  // removed with the fixture
  fs::path dir_;
};

TEST(Gzip, RoundTripsAndRejectsTruncation) {
  const std::string text(100000, 'x');
  std::vector<std::byte> packed = gzip(text);
  EXPECT_LT(packed.size(), text.size() / 10);
  auto unpacked = gunzip(packed, "t");
  ASSERT_TRUE(unpacked.ok());
  EXPECT_EQ(*unpacked, text);
  packed.resize(packed.size() - 3);
  auto truncated = gunzip(packed, "t.gz");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message().find("not a complete gzip stream"), std::string::npos);
}

TEST(Gzip, EnforcesItsLimit) {
  auto big = gunzip(gzip(std::string(1000, 'x')), "t.gz", 100);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("limit"), std::string::npos);
}

TEST_F(DumpFiles, RoundTrip) {
  auto read = read_dump(dir_, "1.9.1");
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(*read, small_registry());
  auto listed = dumped_releases(dir_);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{"1.9.1"});
}

TEST_F(DumpFiles, AlteredDumpIsAnError) {
  const fs::path path = dump_path(dir_, "1.9.1");
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20);
    file.put('\x7f');
  }
  auto read = read_dump(dir_, "1.9.1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().field, "sha256");
  EXPECT_NE(read.error().message().find("altered or truncated"), std::string::npos);
  EXPECT_NE(read.error().message().find(path.string()), std::string::npos);
}

TEST_F(DumpFiles, TruncatedDumpIsAnError) {
  const fs::path path = dump_path(dir_, "1.9.1");
  fs::resize_file(path, fs::file_size(path) / 2);
  auto read = read_dump(dir_, "1.9.1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().field, "sha256");
}

TEST_F(DumpFiles, UnlistedReleaseIsAnError) {
  auto read = read_dump(dir_, "1.4.1");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message().find("no registry dump of 1.4.1"), std::string::npos);
}

TEST_F(DumpFiles, MalformedChecksumListIsAnError) {
  std::ofstream(dir_ / kChecksumFile, std::ios::app) << "not a checksum line\n";
  auto read = read_dump(dir_, "1.9.1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().location, "line 2");
}

TEST(DumpJson, RejectsAnotherSchema) {
  auto wrong = registry_from_json(nlohmann::json{{"format", "other"}}, "x.json");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().location, "$.format");
  nlohmann::json json = registry_to_json(small_registry());
  json["ops"][1]["args"][0].erase("default");  // neither required nor a default
  auto broken = registry_from_json(json, "x.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().location, "$.ops[1]");
}

}  // namespace
}  // namespace mbcc::registry
