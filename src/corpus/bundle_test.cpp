#include "corpus/bundle.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/gzip.hpp"
#include "base/sha256.hpp"
#include "corpus/test_bundle.hpp"
#include "formats/sniff.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using testing::bytes_of;
using testing::read_bytes;
using testing::write_bytes;

class Bundle : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    manifest_ = testing::make_bundle(dir_);
  }

  Error invalid() {
    Result<Manifest> result = validate_bundle(dir_);
    EXPECT_FALSE(result.ok()) << "a broken bundle validated";
    return result.ok() ? Error{} : result.error();
  }

  // Replaces a file and records its new size and hash, so only its contents are wrong.
  void replace_listed(const std::string& path, std::span<const std::byte> bytes) {
    write_bytes(dir_ / path, bytes);
    testing::hash_files(dir_, manifest_);
    testing::write_manifest_file(dir_, manifest_);
  }

  Manifest manifest_;
};

TEST_F(Bundle, ValidBundleValidates) {
  Result<Manifest> result = validate_bundle(dir_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(*result, manifest_);
}

TEST_F(Bundle, FlippedByteIsAShaMismatchNamingTheFile) {
  fs::path golden = dir_ / "data/output_0.npy";
  std::vector<std::byte> bytes = read_bytes(golden);
  bytes.back() ^= std::byte{0x01};
  write_bytes(golden, bytes);
  Error e = invalid();
  EXPECT_EQ(e.source, golden.string());
  EXPECT_EQ(e.field, "sha256");
  EXPECT_EQ(e.found, sha256_hex(bytes));
  EXPECT_NE(e.message().find(manifest_.find_file("data/output_0.npy")->sha256), std::string::npos);
}

TEST_F(Bundle, TruncatedFileIsASizeMismatch) {
  fs::path params = dir_ / "model/fc-0000.params";
  std::vector<std::byte> bytes = read_bytes(params);
  bytes.resize(bytes.size() - 4);
  write_bytes(params, bytes);
  Error e = invalid();
  EXPECT_EQ(e.source, params.string());
  EXPECT_EQ(e.field, "size");
}

TEST_F(Bundle, MissingFile) {
  fs::remove(dir_ / "model/fc-symbol.json");
  Error e = invalid();
  EXPECT_EQ(e.source, (dir_ / "model/fc-symbol.json").string());
  EXPECT_EQ(e.field, "files");
}

TEST_F(Bundle, ExtraFile) {
  write_bytes(dir_ / "model/notes.txt", bytes_of("hello"));
  Error e = invalid();
  EXPECT_EQ(e.source, (dir_ / "model/notes.txt").string());
  EXPECT_EQ(e.found, "a file the manifest does not list");
}

TEST_F(Bundle, SymlinkIsRefused) {
  fs::create_symlink(dir_ / "data/input_0.npy", dir_ / "data/link.npy");
  EXPECT_EQ(invalid().source, (dir_ / "data/link.npy").string());
}

TEST_F(Bundle, MissingManifest) {
  fs::remove(dir_ / kManifestName);
  EXPECT_EQ(invalid().source, (dir_ / kManifestName).string());
}

TEST_F(Bundle, BadManifestField) {
  std::vector<std::byte> text = read_bytes(dir_ / kManifestName);
  std::string s(reinterpret_cast<const char*>(text.data()), text.size());
  s.replace(s.find("\"float32\""), 9, "\"float99\"");
  write_bytes(dir_ / kManifestName, bytes_of(s));
  Error e = invalid();
  EXPECT_EQ(e.source, (dir_ / kManifestName).string());
  EXPECT_EQ(e.location, "$.inputs[0].dtype");
}

// The hashes match but the readers refuse the contents: a bundle made wrong, not damaged.
TEST_F(Bundle, ParamsThatAreNotParams) {
  replace_listed("model/fc-0000.params", bytes_of("<html>503</html>"));
  Error e = invalid();
  EXPECT_EQ(e.source, (dir_ / "model/fc-0000.params").string());
  EXPECT_EQ(e.found, file_kind_name(FileKind::kHtml));
}

TEST_F(Bundle, SymbolThatDoesNotParse) {
  replace_listed("model/fc-symbol.json", bytes_of("{\"nodes\": 3}"));
  EXPECT_EQ(invalid().source, (dir_ / "model/fc-symbol.json").string());
}

TEST_F(Bundle, GoldenWithAnotherShape) {
  replace_listed("data/output_0.npy", serialize_npy(testing::float_tensor({2, 3}, 0.0F)));
  Error e = invalid();
  EXPECT_EQ(e.field, "shape");
  EXPECT_EQ(e.found, "(2, 3)");
  EXPECT_EQ(e.allowed, "(2, 2) (manifest)");
}

TEST_F(Bundle, GoldenThatIsNotNpy) {
  replace_listed("data/input_0.npy", bytes_of("not an npy file"));
  EXPECT_EQ(invalid().source, (dir_ / "data/input_0.npy").string());
}

TEST_F(Bundle, NpzParamsAndModelJsonAreRead) {
  NpzEntry entry;
  entry.name = "fc.weight";
  entry.array.shape = {2, 3};
  entry.array.values = testing::float_tensor({2, 3}, 0.0F);
  write_bytes(dir_ / "model/fc-0000.params", *serialize_npz({entry}));
  // Block.save's model JSON keeps graphs as strings; a broken one is found.
  nlohmann::json model_json = {{"net", {{"symbol", testing::fc_symbol_json()}}}};
  write_bytes(dir_ / "model/fc-model.json", bytes_of(model_json.dump()));
  manifest_.files.insert(manifest_.files.begin() + 3,
                         {"model/fc-model.json", FileRole::kModelJson, 0, ""});
  testing::hash_files(dir_, manifest_);
  testing::write_manifest_file(dir_, manifest_);
  Result<Manifest> result = validate_bundle(dir_);
  ASSERT_TRUE(result.ok()) << result.error().message();

  model_json["net"]["symbol"] = "{\"nodes\": []";
  replace_listed("model/fc-model.json", bytes_of(model_json.dump()));
  EXPECT_NE(invalid().source.find("fc-model.json"), std::string::npos);
}

// Schema 2: every internal output in one npz archive, one member each.
class ArchiveBundle : public Bundle {
 protected:
  void SetUp() override {
    Bundle::SetUp();
    manifest_.schema_version = 2;
    write_archive({member("003_fc_output", {2, 2}, 0.0F), member("004_relu_output", {2, 2}, 1.0F)});
    manifest_.internals.status = InternalsStatus::kPresent;
    manifest_.internals.reason.clear();
    manifest_.internals.symbol = "model/fc-symbol.json";
    manifest_.internals.outputs = {entry(3, "fc", "FullyConnected", "003_fc_output"),
                                   entry(4, "relu", "Activation", "004_relu_output")};
    manifest_.files.insert(manifest_.files.begin() + 2,
                           {"internals/internals.npz", FileRole::kInternalsArchive, 0, ""});
    testing::hash_files(dir_, manifest_);
    testing::write_manifest_file(dir_, manifest_);
  }

  static NpzEntry member(std::string name, Shape shape, float start) {
    NpzEntry e;
    e.name = std::move(name);
    e.array.shape = shape;
    e.array.values = testing::float_tensor(shape, start);
    return e;
  }

  static InternalEntry entry(int64_t index, std::string node, std::string op, std::string name) {
    InternalEntry e;
    e.index = index;
    e.node = node;
    e.op = std::move(op);
    e.name = node + "_output";
    e.tensor = {e.name, "internals/internals.npz", {2, 2}, DType::kFloat32, ""};
    e.member = std::move(name);
    return e;
  }

  void write_archive(const std::vector<NpzEntry>& members) {
    write_bytes(dir_ / "internals/internals.npz", *serialize_npz(members, /*compress=*/true));
  }
};

TEST_F(ArchiveBundle, ValidatesAndReadsEveryMember) {
  Result<Manifest> result = validate_bundle(dir_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(*result, manifest_);
  EXPECT_EQ(result->schema_version, 2);
  Result<std::vector<Tensor>> values = read_internal_values(dir_, *result);
  ASSERT_TRUE(values.ok()) << values.error().message();
  ASSERT_EQ(values->size(), 2U);
  EXPECT_EQ((*values)[1].shape(), (Shape{2, 2}));
  EXPECT_EQ((*values)[1].element_as_double(0), 1.0);  // the relu member, not the first one
}

TEST_F(ArchiveBundle, MissingMemberIsNamed) {
  write_archive({member("003_fc_output", {2, 2}, 0.0F)});
  replace_listed("internals/internals.npz", read_bytes(dir_ / "internals/internals.npz"));
  Error e = invalid();
  EXPECT_NE(e.message().find("004_relu_output"), std::string::npos) << e.message();
}

TEST_F(ArchiveBundle, MemberOfAnotherShapeOrAnUnnamedMemberIsRefused) {
  write_archive({member("003_fc_output", {2, 3}, 0.0F), member("004_relu_output", {2, 2}, 1.0F)});
  replace_listed("internals/internals.npz", read_bytes(dir_ / "internals/internals.npz"));
  EXPECT_NE(invalid().message().find("003_fc_output"), std::string::npos);

  write_archive({member("003_fc_output", {2, 2}, 0.0F), member("004_relu_output", {2, 2}, 1.0F),
                 member("005_extra", {1}, 0.0F)});
  replace_listed("internals/internals.npz", read_bytes(dir_ / "internals/internals.npz"));
  EXPECT_EQ(invalid().field, "members");
}

TEST_F(ArchiveBundle, SchemaOneManifestCannotNameAnArchive) {
  manifest_.schema_version = 1;
  testing::write_manifest_file(dir_, manifest_);
  Error e = invalid();
  EXPECT_NE(e.message().find("schema_version 1"), std::string::npos) << e.message();
}

// A store that keeps shared files: the bundle's tensors are in STORE/objects, not in its folder.
class SharedBundle : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    bundle_ = bundle_dir(dir_, {"1.9.1", "fc", "module-checkpoint"});
    manifest_ = testing::make_bundle(bundle_);
    for (BundleFile& f : manifest_.files) {
      if (f.role != FileRole::kOutput) continue;
      f.shared = true;
      fs::path object = shared_file_path(dir_, f.sha256);
      fs::create_directories(object.parent_path());
      fs::rename(bundle_ / f.path, object);
      object_ = object;
    }
    testing::write_manifest_file(bundle_, manifest_);
  }
  fs::path bundle_;
  fs::path object_;
  Manifest manifest_;
};

TEST_F(SharedBundle, ValidatesFromTheSharedFolder) {
  EXPECT_TRUE(has_shared_files(dir_));
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  const BundleFile* output = result->find_file("data/output_0.npy");
  ASSERT_NE(output, nullptr);
  EXPECT_TRUE(output->shared);
  EXPECT_EQ(locate_bundle_file(bundle_, *output)->path, object_);
  EXPECT_EQ(stored_file_key({"1.9.1", "fc", "module-checkpoint"}, *output),
            "objects/" + output->sha256.substr(0, 2) + "/" + output->sha256);
  // A view holds the file in the bundle's folder: that copy is the one read.
  fs::copy_file(object_, bundle_ / "data/output_0.npy");
  EXPECT_EQ(locate_bundle_file(bundle_, *output)->path, bundle_ / "data/output_0.npy");
  EXPECT_TRUE(validate_bundle(bundle_).ok());
}

TEST_F(SharedBundle, MissingSharedFileIsNamedWithBothPlaces) {
  fs::remove(object_);
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, (bundle_ / "data/output_0.npy").string());
  EXPECT_NE(result.error().message().find(object_.string()), std::string::npos)
      << result.error().message();
}

TEST_F(SharedBundle, AlteredSharedFileIsAShaMismatch) {
  std::vector<std::byte> bytes = read_bytes(object_);
  bytes.back() ^= std::byte{0x01};
  write_bytes(object_, bytes);
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "sha256");
}

TEST_F(SharedBundle, SchemaOneManifestCannotShareFiles) {
  manifest_.schema_version = 1;
  testing::write_manifest_file(bundle_, manifest_);
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("shared"), std::string::npos);
}

// A bundle of schema 1, none of its files marked shared, whose files a packed store keeps in its
// shared folder (gzip'd, or plain): its manifest is unchanged, and it is read from there.
class PackedBundle : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    bundle_ = bundle_dir(dir_, {"1.9.1", "fc", "module-checkpoint"});
    manifest_ = testing::make_bundle(bundle_);
    manifest_.schema_version = 1;
    testing::write_manifest_file(bundle_, manifest_);
    for (const BundleFile& f : manifest_.files) {
      const std::vector<std::byte> bytes = testing::read_bytes(bundle_ / f.path);
      // The graph stays plain, as a schema-2 shared file is kept: both forms are found.
      const bool gzipped = f.role != FileRole::kSymbol;
      const fs::path object = shared_file_path(dir_, f.sha256, gzipped);
      testing::write_bytes(
          object,
          gzipped ? gzip({reinterpret_cast<const char*>(bytes.data()), bytes.size()}) : bytes);
      fs::remove(bundle_ / f.path);
    }
  }
  const BundleFile& listed(const std::string& path) { return *manifest_.find_file(path); }
  fs::path bundle_;
  Manifest manifest_;
};

TEST_F(PackedBundle, ValidatesAndReadsItsFilesFromTheSharedFolder) {
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(*result, manifest_);
  const BundleFile& output = listed("data/output_0.npy");
  EXPECT_FALSE(output.shared);
  Result<FileLocation> at = locate_bundle_file(bundle_, output);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->path, shared_file_path(dir_, output.sha256, true));
  EXPECT_TRUE(at->gzipped);
  Result<FileBytes> bytes = read_bundle_file(bundle_, output);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  EXPECT_EQ(sha256_hex(bytes->bytes()), output.sha256);
  const BundleFile& graph = listed("model/fc-symbol.json");
  EXPECT_EQ(locate_bundle_file(bundle_, graph)->path, shared_file_path(dir_, graph.sha256));
  EXPECT_FALSE(locate_bundle_file(bundle_, graph)->gzipped);
}

TEST_F(PackedBundle, ACopyInTheBundlesFolderIsReadFirst) {
  const BundleFile& output = listed("data/output_0.npy");
  testing::write_bytes(bundle_ / output.path, serialize_npy(testing::float_tensor({2, 2}, 2.0F)));
  EXPECT_EQ(locate_bundle_file(bundle_, output)->path, bundle_ / output.path);
  EXPECT_TRUE(validate_bundle(bundle_).ok());
}

TEST_F(PackedBundle, ADamagedObjectIsAShaMismatchNamingIt) {
  const BundleFile& output = listed("data/output_0.npy");
  const fs::path object = shared_file_path(dir_, output.sha256, true);
  std::vector<std::byte> bytes = serialize_npy(testing::float_tensor({2, 2}, 2.0F));
  bytes.back() ^= std::byte{0x01};
  testing::write_bytes(object, gzip({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, object.string());
  EXPECT_EQ(result.error().field, "sha256");
  EXPECT_EQ(result.error().found, sha256_hex(bytes));
}

TEST_F(PackedBundle, AFileInNeitherPlaceIsNamedWithBothPlaces) {
  const BundleFile& params = listed("model/fc-0000.params");
  fs::remove(shared_file_path(dir_, params.sha256, true));
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, (bundle_ / params.path).string());
  EXPECT_EQ(result.error().field, "files");
  const std::string message = result.error().message();
  EXPECT_NE(message.find(shared_file_path(dir_, params.sha256, true).string()), std::string::npos)
      << message;
  EXPECT_NE(message.find(shared_file_path(dir_, params.sha256).string() + ")"), std::string::npos)
      << message;
  EXPECT_FALSE(read_bundle_file(bundle_, params).ok());
}

// Schema 3 in a store that keeps shared files: every file gzip'd in STORE/objects, the internals'
// entries in the index file, as `mbcc generate --share-files` writes them.
class CompressedBundle : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    bundle_ = bundle_dir(dir_, {"1.9.1", "fc", "module-checkpoint"});
    manifest_ = testing::make_bundle(bundle_);
    InternalEntry fc{3,
                     "fc_output",
                     "fc",
                     "FullyConnected",
                     0,
                     {"fc_output", "internals/internals.npz", {2, 2}, DType::kFloat32, ""},
                     "003_fc_output"};
    NpzEntry member;
    member.name = fc.member;
    member.array.shape = {2, 2};
    member.array.values = testing::float_tensor({2, 2}, 0.0F);
    testing::write_bytes(bundle_ / "internals/internals.npz", *serialize_npz({member}));
    testing::write_bytes(bundle_ / kInternalsIndexPath,
                         testing::bytes_of(write_internals_index({fc})));
    manifest_.internals = {InternalsStatus::kPresent,
                           "",
                           "model/fc-symbol.json",
                           std::string(kInternalsIndexPath),
                           {}};
    manifest_.files.push_back({std::string(kInternalsIndexPath), FileRole::kInternalsIndex, 0, ""});
    manifest_.files.push_back({"internals/internals.npz", FileRole::kInternalsArchive, 0, ""});
    std::sort(manifest_.files.begin(), manifest_.files.end(),
              [](const BundleFile& a, const BundleFile& b) { return a.path < b.path; });
    testing::hash_files(bundle_, manifest_);
    for (BundleFile& f : manifest_.files) {
      const std::vector<std::byte> bytes = testing::read_bytes(bundle_ / f.path);
      f.shared = f.compressed = true;
      const fs::path object = shared_file_path(dir_, f.sha256, true);
      fs::create_directories(object.parent_path());
      testing::write_bytes(object,
                           gzip({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
      fs::remove(bundle_ / f.path);
    }
    testing::write_manifest_file(bundle_, manifest_);
    expected_ = fc;
  }
  fs::path bundle_;
  Manifest manifest_;
  InternalEntry expected_;
};

TEST_F(CompressedBundle, ValidatesAndReadsItsInternalsFromTheSharedFolder) {
  std::vector<std::string> in_folder;
  for (const auto& entry : fs::recursive_directory_iterator(bundle_)) {
    if (entry.is_regular_file()) in_folder.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(in_folder, std::vector<std::string>{std::string(kManifestName)});
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->schema_version, 3);
  EXPECT_EQ(result->internals.outputs, std::vector<InternalEntry>{expected_});
  Result<std::vector<Tensor>> values = read_internal_values(bundle_, *result);
  ASSERT_TRUE(values.ok()) << values.error().message();
  EXPECT_EQ((*values)[0].element_as_double(1),
            testing::float_tensor({2, 2}, 0.0F).element_as_double(1));
  const BundleFile* graph = result->find_file("model/fc-symbol.json");
  EXPECT_EQ(stored_file_key({"1.9.1", "fc", "module-checkpoint"}, *graph),
            "objects/" + graph->sha256.substr(0, 2) + "/" + graph->sha256 + ".gz");
  Result<FileBytes> text = read_bundle_file(bundle_, *graph);
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(text->size, graph->size);
}

TEST_F(CompressedBundle, ADamagedObjectIsNamed) {
  const BundleFile* graph = manifest_.find_file("model/fc-symbol.json");
  const fs::path object = shared_file_path(dir_, graph->sha256, true);
  std::vector<std::byte> bytes = testing::read_bytes(object);
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(object, bytes);
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, object.string());
}

TEST_F(CompressedBundle, AnIndexEntryOutsideAnArchiveIsRefused) {
  InternalEntry stray = expected_;
  stray.tensor.file = "model/fc-symbol.json";
  const std::string index = write_internals_index({stray});
  BundleFile& listed = manifest_.files[static_cast<std::size_t>(
      std::find_if(manifest_.files.begin(), manifest_.files.end(),
                   [](const BundleFile& f) { return f.role == FileRole::kInternalsIndex; }) -
      manifest_.files.begin())];
  listed.size = index.size();
  listed.sha256 = sha256_hex(std::as_bytes(std::span(index)));
  const fs::path object = shared_file_path(dir_, listed.sha256, true);
  fs::create_directories(object.parent_path());
  testing::write_bytes(object, gzip(index));
  testing::write_manifest_file(bundle_, manifest_);
  Result<Manifest> result = validate_bundle(bundle_);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("internals-archive"), std::string::npos)
      << result.error().message();
}

TEST(SameFiles, ComparesFilesOnly) {
  Manifest a = testing::base_manifest();
  a.files = {{"data/output_0.npy", FileRole::kOutput, 10, std::string(64, 'a')}};
  Manifest b = a;
  b.producer.created = "2030-01-01T00:00:00Z";
  EXPECT_TRUE(same_files(a, b));
  b.files[0].sha256 = std::string(64, 'b');
  EXPECT_FALSE(same_files(a, b));
}

// The corpus shipped in the repository: every bundle passes the checks `mbcc check` makes.
TEST(ShippedCorpus, EveryBundleValidates) {
  fs::path store = fs::path(MBCC_SOURCE_DIR) / "corpus";
  Result<std::vector<BundleKey>> keys = list_bundles(store);
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  for (const BundleKey& key : *keys) {
    Result<Manifest> manifest = validate_bundle(bundle_dir(store, key));
    ASSERT_TRUE(manifest.ok()) << manifest.error().message();
    EXPECT_EQ(manifest->producer.version, key.producer);
    EXPECT_EQ(manifest->model, key.model);
    EXPECT_EQ(manifest->save_api, key.save_api);
  }
}

}  // namespace
}  // namespace mbcc::corpus
