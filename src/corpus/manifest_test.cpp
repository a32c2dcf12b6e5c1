#include "corpus/manifest.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "corpus/test_bundle.hpp"

namespace mbcc::corpus {
namespace {

using nlohmann::json;

// A complete, valid manifest as JSON, for tests that break one field of it: schema 2, which lists
// the internals' entries itself.
json valid_manifest_json() {
  Manifest m = testing::base_manifest();
  m.schema_version = 2;
  const std::string sha(64, 'a');
  m.files = {{"data/input_0.npy", FileRole::kInput, 224, sha},
             {"data/output_0.npy", FileRole::kOutput, 144, sha},
             {"internals/003_fc_output.npy", FileRole::kInternal, 144, sha},
             {"model/fc-0000.params", FileRole::kParams, 100, sha},
             {"model/fc-symbol.json", FileRole::kSymbol, 500, sha}};
  m.internals.status = InternalsStatus::kPresent;
  m.internals.reason.clear();
  m.internals.symbol = "model/fc-symbol.json";
  m.internals.outputs = {{3,
                          "fc_output",
                          "fc",
                          "FullyConnected",
                          0,
                          {"fc_output", "internals/003_fc_output.npy", {2, 2}, DType::kFloat32, ""},
                          ""}};
  return json::parse(write_manifest(m));
}

Error rejected(const json& manifest) {
  Result<Manifest> parsed = parse_manifest(manifest.dump(), "manifest.json");
  EXPECT_FALSE(parsed.ok()) << "accepted: " << manifest.dump(1);
  return parsed.ok() ? Error{} : parsed.error();
}

TEST(Manifest, WritesAndReadsBack) {
  json text = valid_manifest_json();
  Result<Manifest> parsed = parse_manifest(text.dump(), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->model, "fc");
  EXPECT_EQ(parsed->producer.mxget_version, 10901);
  EXPECT_EQ(parsed->internals.outputs.at(0).node, "fc");
  EXPECT_EQ(parsed->tolerance->rtol, 1e-4);
  // Writing what was read gives the same bytes: a manifest has one spelling.
  EXPECT_EQ(write_manifest(*parsed), write_manifest(*parse_manifest(write_manifest(*parsed), "m")));
  EXPECT_EQ(json::parse(write_manifest(*parsed)), text);
}

TEST(Manifest, OptionalFieldsMayBeNullOrAbsent) {
  json text = valid_manifest_json();
  text["producer"]["mxget_version"] = nullptr;  // 0.11 has no MXGetVersion
  text["producer"]["features"] = nullptr;       // Features() is 1.5+
  text.erase("tolerance");
  Result<Manifest> parsed = parse_manifest(text.dump(), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_FALSE(parsed->producer.mxget_version.has_value());
  EXPECT_FALSE(parsed->producer.features.has_value());
  EXPECT_FALSE(parsed->tolerance.has_value());
}

TEST(Manifest, NotJson) {
  Result<Manifest> parsed = parse_manifest("{\"schema_version\": ", "m.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().source, "m.json");
  EXPECT_EQ(parsed.error().location, "$");
}

TEST(Manifest, RefusesAnotherSchemaVersion) {
  json text = valid_manifest_json();
  text["schema_version"] = 4;
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.schema_version");
  EXPECT_EQ(e.found, "4");
  EXPECT_EQ(e.allowed, "an integer in [1, 3]");
}

TEST(Manifest, ReadsVersionOneAsItIs) {
  json text = valid_manifest_json();
  text["schema_version"] = 1;
  Result<Manifest> parsed = parse_manifest(text.dump(), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->schema_version, 1);
  EXPECT_EQ(json::parse(write_manifest(*parsed)), text);  // written back as version 1
}

// Schema 2: internals as members of one archive, and files kept in the store's shared folder.
TEST(Manifest, ArchiveMembersAndSharedFilesRoundTrip) {
  json text = valid_manifest_json();
  text["files"][2] = {{"path", "internals/internals.npz"},
                      {"role", "internals-archive"},
                      {"size", 144},
                      {"sha256", std::string(64, 'a')},
                      {"shared", true}};
  json& internal = text["internals"]["outputs"][0];
  internal["file"] = "internals/internals.npz";
  internal["member"] = "003_fc_output";
  json second = internal;
  second["index"] = 4;
  second["member"] = "004_fc_output";
  text["internals"]["outputs"].push_back(second);
  Result<Manifest> parsed = parse_manifest(text.dump(), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->find_file("internals/internals.npz")->shared);
  EXPECT_EQ(parsed->internals.outputs[1].member, "004_fc_output");
  EXPECT_EQ(json::parse(write_manifest(*parsed)), text);

  second["member"] = "003_fc_output";  // two entries naming one member
  text["internals"]["outputs"][1] = second;
  EXPECT_EQ(rejected(text).location, "$.internals.outputs[1].member");
}

// Schema 3: the internals' entries in a file of role internals-index, and shared files gzip'd.
json schema_three_json() {
  json text = valid_manifest_json();
  text["schema_version"] = 3;
  text["files"][2] = {{"path", "internals/index.json"},
                      {"role", "internals-index"},
                      {"size", 300},
                      {"sha256", std::string(64, 'b')},
                      {"shared", true},
                      {"compressed", true}};
  text["files"].insert(text["files"].begin() + 3, json{{"path", "internals/internals.npz"},
                                                       {"role", "internals-archive"},
                                                       {"size", 144},
                                                       {"sha256", std::string(64, 'a')},
                                                       {"shared", true},
                                                       {"compressed", true}});
  text["internals"].erase("outputs");
  text["internals"]["index"] = "internals/index.json";
  return text;
}

TEST(Manifest, SchemaThreeNamesItsInternalsIndexAndCompressedFiles) {
  json text = schema_three_json();
  Result<Manifest> parsed = parse_manifest(text.dump(), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->internals.index, "internals/index.json");
  EXPECT_TRUE(parsed->internals.outputs.empty());  // validate_bundle reads them
  EXPECT_TRUE(parsed->find_file("internals/internals.npz")->compressed);
  EXPECT_EQ(json::parse(write_manifest(*parsed)), text);

  json inline_entries = text;
  inline_entries["internals"]["outputs"] = json::array();
  EXPECT_EQ(rejected(inline_entries).location, "$.internals.outputs");
  json no_index = text;
  no_index["internals"].erase("index");
  EXPECT_EQ(rejected(no_index).location, "$.internals.index");
  json not_an_index = text;
  not_an_index["internals"]["index"] = "model/fc-symbol.json";
  EXPECT_EQ(rejected(not_an_index).location, "$.internals.index");
  json compressed_in_place = text;
  compressed_in_place["files"][2].erase("shared");
  EXPECT_EQ(rejected(compressed_in_place).location, "$.files[2].compressed");
}

TEST(Manifest, CompressedFilesAreRefusedBeforeSchemaThree) {
  json text = valid_manifest_json();
  text["files"][0]["shared"] = true;
  text["files"][0]["compressed"] = true;
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.files[0].compressed");
  EXPECT_EQ(e.allowed, "absent before schema_version 3");
}

TEST(Manifest, InternalsIndexRoundTripsAndNeedsArchiveMembers) {
  InternalEntry e{3,
                  "fc_output",
                  "fc",
                  "FullyConnected",
                  0,
                  {"fc_output", "internals/internals.npz", {2, 2}, DType::kFloat32, ""},
                  "003_fc_output"};
  const std::string text = write_internals_index({e});
  Result<std::vector<InternalEntry>> read = parse_internals_index(text, "index.json");
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(*read, std::vector<InternalEntry>{e});
  e.member.clear();
  Result<std::vector<InternalEntry>> loose = parse_internals_index(write_internals_index({e}), "i");
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message().find("members of an internals archive"), std::string::npos);
}

TEST(Manifest, MemberOfAFileThatIsNotAnArchiveIsRefused) {
  json text = valid_manifest_json();
  text["internals"]["outputs"][0]["member"] = "003_fc_output";
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.internals.outputs[0].file");
  EXPECT_NE(e.allowed.find("internals-archive"), std::string::npos);
}

TEST(Manifest, RefusesUnknownAndMissingFields) {
  json text = valid_manifest_json();
  text["producer"]["build"] = "debug";
  EXPECT_EQ(rejected(text).location, "$.producer.build");

  text = valid_manifest_json();
  text["case"].erase("save_api");
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.case.save_api");
  EXPECT_EQ(e.found, "nothing (required)");
}

TEST(Manifest, ChecksFileEntries) {
  json text = valid_manifest_json();
  text["files"][1]["sha256"] = "ABC";
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.files[1].sha256");
  EXPECT_EQ(e.allowed, "64 lowercase hex digits");

  text = valid_manifest_json();
  text["files"][3]["path"] = "../fc-0000.params";
  EXPECT_EQ(rejected(text).location, "$.files[3].path");

  text = valid_manifest_json();
  text["files"][3]["size"] = -1;
  EXPECT_EQ(rejected(text).location, "$.files[3].size");

  text = valid_manifest_json();
  text["files"][0]["role"] = "weights";
  EXPECT_EQ(rejected(text).location, "$.files[0].role");

  text = valid_manifest_json();
  std::swap(text["files"][0], text["files"][1]);  // out of order
  EXPECT_EQ(rejected(text).location, "$.files[1].path");
}

TEST(Manifest, ChecksTensorEntries) {
  json text = valid_manifest_json();
  text["inputs"][0]["dtype"] = "float128";
  EXPECT_EQ(rejected(text).location, "$.inputs[0].dtype");

  text = valid_manifest_json();
  text["outputs"][0]["shape"] = {2, -2};
  EXPECT_EQ(rejected(text).location, "$.outputs[0].shape[1]");

  text = valid_manifest_json();
  text["inputs"][0]["kind"] = "image";
  EXPECT_EQ(rejected(text).location, "$.inputs[0].kind");
}

TEST(Manifest, TensorEntriesMustNameFilesOfTheirRole) {
  json text = valid_manifest_json();
  text["outputs"][0]["file"] = "data/input_0.npy";  // listed, but as an input
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.outputs[0].file");
  EXPECT_EQ(e.allowed, "a file of role output");

  text = valid_manifest_json();
  text["inputs"][0]["file"] = "data/other.npy";
  EXPECT_EQ(rejected(text).allowed, "a path listed in $.files");

  // A golden file that no entry describes.
  text = valid_manifest_json();
  text["internals"] = {{"status", "absent"}, {"reason", "no graph"}};
  EXPECT_EQ(rejected(text).location, "$.files[2].path");

  text = valid_manifest_json();
  text["internals"]["symbol"] = "model/fc-0000.params";
  EXPECT_EQ(rejected(text).location, "$.internals.symbol");
}

TEST(Manifest, ChecksProducerFields) {
  json text = valid_manifest_json();
  text["producer"]["created"] = "2024-05-01 12:00:00";
  Error e = rejected(text);
  EXPECT_EQ(e.location, "$.producer.created");

  text = valid_manifest_json();
  text["producer"]["version"] = "../1.9.1";
  EXPECT_EQ(rejected(text).location, "$.producer.version");

  text = valid_manifest_json();
  text["producer"]["features"]["CUDA"] = "no";
  EXPECT_EQ(rejected(text).location, "$.producer.features.CUDA");
}

TEST(Manifest, NeedsALoadApiAndAnOutput) {
  json text = valid_manifest_json();
  text["load_apis"] = json::array();
  EXPECT_EQ(rejected(text).location, "$.load_apis");

  text = valid_manifest_json();
  text["load_apis"] = {"c-predict", "c-predict"};
  EXPECT_EQ(rejected(text).location, "$.load_apis[1]");
}

TEST(Manifest, Timestamps) {
  EXPECT_TRUE(is_utc_timestamp("2024-05-01T12:00:00Z"));
  EXPECT_FALSE(is_utc_timestamp("2024-05-01T12:00:00+00:00"));
  EXPECT_FALSE(is_utc_timestamp("2024-5-01T12:00:00Z"));
}

TEST(FileRoles, NamesRoundTrip) {
  for (const FileRoleInfo& info : kFileRoles) {
    EXPECT_EQ(file_role_from_name(info.name), info.role);
    EXPECT_EQ(file_role_name(info.role), info.name);
  }
  EXPECT_FALSE(file_role_from_name("weights").has_value());
}

}  // namespace
}  // namespace mbcc::corpus
