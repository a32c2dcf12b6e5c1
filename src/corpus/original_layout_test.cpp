#include "corpus/original_layout.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/sha256.hpp"
#include "corpus/bundle.hpp"
#include "corpus/test_bundle.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using testing::bytes_of;
using testing::float_tensor;
using testing::read_bytes;
using testing::write_bytes;

constexpr std::string_view kMlp = "1.2.1/module_checkpoint_api/";
constexpr std::string_view kLenet = "1.9.1/lenet_gluon_save_params_api/";
const BundleKey kMlpKey{"1.2.1", "orig-mlp", "module-checkpoint"};
const BundleKey kLenetKey{"1.9.1", "orig-lenet", "gluon-save-params"};

// What mx.nd.save of a dict writes (V2 records).
std::vector<std::byte> nd_dict(const std::vector<std::pair<std::string, Tensor>>& arrays) {
  NDArrayList list;
  for (const auto& [name, tensor] : arrays) {
    NDArrayRecord record;
    record.shape = tensor.shape();
    record.values = tensor;
    list.arrays.push_back(record);
    list.names.push_back(name);
  }
  Result<std::vector<std::byte>> bytes = serialize_ndarray_list(list);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::vector<std::byte>{};
}

// What mx.npx.savez of a dict writes: an npz archive of .npy members.
std::vector<std::byte> npz_dict(const std::vector<std::pair<std::string, Tensor>>& arrays) {
  std::vector<NpzEntry> entries;
  for (const auto& [name, tensor] : arrays) {
    NpzEntry entry;
    entry.name = name;
    entry.array.shape = tensor.shape();
    entry.array.values = tensor;
    entries.push_back(entry);
  }
  Result<std::vector<std::byte>> bytes = serialize_npz(entries);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::vector<std::byte>{};
}

// A store as the original nightly job left it: two model folders of two releases, its data
// folder, a folder of a model it never had, and a stray file.
class OriginalLayout : public testing::TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    root_ = dir_ / "bucket";
    view_ = dir_ / "view";
    const std::string mlp(kMlp), lenet(kLenet);
    write_bytes(root_ / (mlp + "module_checkpoint_api-symbol.json"),
                bytes_of(testing::fc_symbol_json()));
    write_bytes(root_ / (mlp + "module_checkpoint_api-0001.params"),
                nd_dict({{"arg:fc_weight", float_tensor({2, 1}, 0.5F)},
                         {"arg:fc_bias", float_tensor({2}, 0.0F)}}));
    write_bytes(
        root_ / (mlp + "module_checkpoint_api-data"),
        nd_dict({{"data", float_tensor({20, 1}, -1.0F)}, {"labels", float_tensor({20}, 0.0F)}}));
    write_bytes(root_ / (mlp + "module_checkpoint_api-inference"),
                nd_dict({{"inference", float_tensor({20, 2}, 0.125F)}}));
    write_bytes(root_ / (lenet + "lenet_gluon_save_params_api-params"),
                nd_dict({{"conv0_weight", float_tensor({2, 1, 5, 5}, 0.0F)}}));
    write_bytes(root_ / (lenet + "lenet_gluon_save_params_api-data"),
                nd_dict({{"data", float_tensor({20, 1, 30, 30}, 0.0F)}}));
    write_bytes(root_ / (lenet + "lenet_gluon_save_params_api-inference"),
                nd_dict({{"inference", float_tensor({20, 2}, 0.0F)}}));
    write_bytes(root_ / std::string(kOriginalDataFolder) / "train-data", bytes_of("x"));
    write_bytes(root_ / "1.2.1/resnet_api/resnet_api-params", bytes_of("x"));
    write_bytes(root_ / "README", bytes_of("x"));
  }

  std::unique_ptr<store::Store> open() {
    auto store = store::open_store(root_.string(), {});
    EXPECT_TRUE(store.ok());
    return std::move(store).value();
  }

  // Lists and pulls every folder; the view then holds the bundles.
  OriginalPull pull() {
    auto store = open();
    Result<OriginalListing> listing = list_original_layout(*store);
    EXPECT_TRUE(listing.ok()) << listing.error().message();
    Result<OriginalPull> pulled = pull_original_layout(*store, listing->folders, view_);
    EXPECT_TRUE(pulled.ok()) << pulled.error().message();
    return pulled.ok() ? *pulled : OriginalPull{};
  }

  fs::path root_, view_;
};

TEST_F(OriginalLayout, ListsTheModelFoldersAndSaysWhatItSkips) {
  auto store = open();
  Result<OriginalListing> listing = list_original_layout(*store);
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  ASSERT_EQ(listing->folders.size(), 2u);
  EXPECT_EQ(listing->folders[0].key, kMlpKey);
  EXPECT_EQ(listing->folders[0].folder, kMlp);
  EXPECT_EQ(listing->folders[0].objects.size(), 4u);
  EXPECT_EQ(listing->folders[1].key, kLenetKey);
  ASSERT_EQ(listing->skipped.size(), 2u);
  EXPECT_EQ(listing->skipped[0].rfind("1.2.1/resnet_api/: not a model of the original layout", 0),
            0u)
      << listing->skipped[0];
  EXPECT_EQ(listing->skipped[1].rfind("README: ", 0), 0u) << listing->skipped[1];
}

TEST_F(OriginalLayout, EachFolderBecomesABundleThatValidates) {
  OriginalPull pulled = pull();
  EXPECT_EQ(pulled.bundles, (std::vector<BundleKey>{kMlpKey, kLenetKey}));
  EXPECT_TRUE(pulled.unconverted.empty());
  EXPECT_EQ(pulled.downloaded.objects, 7u);
  Result<std::vector<BundleKey>> listed = list_bundles(view_);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, pulled.bundles);
  EXPECT_FALSE(fs::exists(view_ / ".original"));

  Result<Manifest> mlp = validate_bundle(bundle_dir(view_, kMlpKey));
  ASSERT_TRUE(mlp.ok()) << mlp.error().message();
  EXPECT_EQ(mlp->producer.version, "1.2.1");
  EXPECT_NE(mlp->producer.python.find("original MXNet nightly layout"), std::string::npos);
  EXPECT_EQ(mlp->load_apis, (std::vector<std::string>{"module-load-checkpoint", "gluon-imports",
                                                      "c-predict", "c-executor", "c-cachedop"}));
  EXPECT_EQ(mlp->import_input_names, (std::vector<std::string>{"data", "softmax_label"}));
  ASSERT_EQ(mlp->inputs.size(), 2u);
  EXPECT_EQ(mlp->inputs[1].kind, "label");
  EXPECT_EQ(mlp->inputs[1].shape, (Shape{20}));
  ASSERT_EQ(mlp->outputs.size(), 1u);
  EXPECT_EQ(mlp->outputs[0].shape, (Shape{20, 2}));

  // the model files are the store's bytes; the goldens are its arrays, as .npy
  const std::string params = "model/module_checkpoint_api-0001.params";
  ASSERT_NE(mlp->find_file(params), nullptr);
  EXPECT_EQ(
      mlp->find_file(params)->sha256,
      sha256_hex(read_bytes(root_ / std::string(kMlp) / "module_checkpoint_api-0001.params")));
  Result<Tensor> golden = read_npy(bundle_dir(view_, kMlpKey) / "data/output_0.npy");
  ASSERT_TRUE(golden.ok());
  const Tensor expected = float_tensor({20, 2}, 0.125F);
  EXPECT_TRUE(std::ranges::equal(golden->bytes(), expected.bytes()));

  // what the probe's loaders read
  const std::vector<std::byte> probe_bytes = read_bytes(bundle_dir(view_, kMlpKey) / "probe.json");
  const nlohmann::json probe = nlohmann::json::parse(
      std::string(reinterpret_cast<const char*>(probe_bytes.data()), probe_bytes.size()));
  EXPECT_EQ(probe["model"], "orig-mlp");
  EXPECT_EQ(probe["model_files"][0]["path"], "model/module_checkpoint_api-symbol.json");
  EXPECT_EQ(probe["model_files"][1]["path"], params);

  Result<Manifest> lenet = validate_bundle(bundle_dir(view_, kLenetKey));
  ASSERT_TRUE(lenet.ok()) << lenet.error().message();
  EXPECT_EQ(lenet->model_info.writer, "Block.save_params");
  EXPECT_EQ(lenet->import_input_names, (std::vector<std::string>{"data"}));
}

TEST_F(OriginalLayout, ATruncatedInferenceFileIsACorruptBundleWithTheReadersError) {
  const fs::path inference = root_ / std::string(kMlp) / "module_checkpoint_api-inference";
  std::vector<std::byte> bytes = read_bytes(inference);
  bytes.resize(bytes.size() - 9);
  write_bytes(inference, bytes);
  const std::string source =
      root_.string() + "/" + std::string(kMlp) + "module_checkpoint_api-inference";
  Result<NDArrayList> direct = parse_ndarray_list(bytes, nullptr, source);
  ASSERT_FALSE(direct.ok());

  OriginalPull pulled = pull();
  EXPECT_EQ(pulled.bundles, (std::vector<BundleKey>{kMlpKey, kLenetKey}));
  ASSERT_EQ(pulled.unconverted.size(), 1u);
  Result<std::vector<BundleKey>> listed = list_bundles(view_);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, pulled.bundles);

  Result<Manifest> mlp = validate_bundle(bundle_dir(view_, kMlpKey));
  ASSERT_FALSE(mlp.ok());
  EXPECT_NE(mlp.error().message().find(direct.error().message()), std::string::npos)
      << mlp.error().message() << "\nshould hold\n"
      << direct.error().message();
  EXPECT_TRUE(validate_bundle(bundle_dir(view_, kLenetKey)).ok());
}

TEST_F(OriginalLayout, AMissingFileOrArrayIsACorruptBundleSayingWhich) {
  fs::remove(root_ / std::string(kMlp) / "module_checkpoint_api-data");
  write_bytes(root_ / std::string(kLenet) / "lenet_gluon_save_params_api-inference",
              nd_dict({{"output", float_tensor({20, 2}, 0.0F)}}));
  OriginalPull pulled = pull();
  ASSERT_EQ(pulled.unconverted.size(), 2u);

  Result<Manifest> mlp = validate_bundle(bundle_dir(view_, kMlpKey));
  ASSERT_FALSE(mlp.ok());
  EXPECT_NE(mlp.error().message().find("module_checkpoint_api-data: missing"), std::string::npos)
      << mlp.error().message();
  Result<Manifest> lenet = validate_bundle(bundle_dir(view_, kLenetKey));
  ASSERT_FALSE(lenet.ok());
  const std::string message = lenet.error().message();
  EXPECT_NE(message.find("lenet_gluon_save_params_api-inference: names: found \"output\", "
                         "allowed a dict with the array \"inference\""),
            std::string::npos)
      << message;
}

TEST_F(OriginalLayout, TwoCheckpointsOrAnUnreadableParamsFileAreCorruptBundles) {
  write_bytes(root_ / std::string(kMlp) / "module_checkpoint_api-0002.params",
              read_bytes(root_ / std::string(kMlp) / "module_checkpoint_api-0001.params"));
  write_bytes(root_ / std::string(kLenet) / "lenet_gluon_save_params_api-params",
              bytes_of("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>"));
  OriginalPull pulled = pull();
  EXPECT_EQ(pulled.unconverted.size(), 1u);  // the params file is read by validation

  Result<Manifest> mlp = validate_bundle(bundle_dir(view_, kMlpKey));
  ASSERT_FALSE(mlp.ok());
  EXPECT_NE(
      mlp.error().message().find("2 files named module_checkpoint_api-NNNN.params (one expected)"),
      std::string::npos)
      << mlp.error().message();
  Result<Manifest> lenet = validate_bundle(bundle_dir(view_, kLenetKey));
  ASSERT_FALSE(lenet.ok());
  EXPECT_EQ(lenet.error().source,
            (bundle_dir(view_, kLenetKey) / "model/lenet_gluon_save_params_api-params").string());
  EXPECT_EQ(lenet.error().field, "params") << lenet.error().message();
}

// A store as the 2.0 branch's nightly job leaves it: npz goldens, version folders named as 2.0
// names itself, and Block.save's JSON without its parameters in the Gluon parameters folder.
class OriginalLayout20 : public OriginalLayout {
 protected:
  static constexpr std::string_view kHybrid = "2.0.0beta1/lenet_gluon_hybrid_export_api/";
  static constexpr std::string_view kBlockSave = "2.0.0beta1/lenet_gluon_save_params_api/";
  static constexpr std::string_view kAlphaLstm = "2.0.0/lstm_gluon_save_parameters_api/";

  void SetUp() override {
    TempDir::SetUp();
    root_ = dir_ / "bucket";
    view_ = dir_ / "view";
    const std::string hybrid(kHybrid), block_save(kBlockSave), lstm(kAlphaLstm);
    write_bytes(root_ / (hybrid + "lenet_gluon_hybrid_export_api-symbol.json"),
                bytes_of(testing::fc_symbol_json()));
    write_bytes(root_ / (hybrid + "lenet_gluon_hybrid_export_api-0000.params"),
                npz_dict({{"fc_weight", float_tensor({2, 1}, 0.5F)},
                          {"fc_bias", float_tensor({2}, 0.0F)}}));
    write_bytes(root_ / (hybrid + "lenet_gluon_hybrid_export_api-data"),
                npz_dict({{"data", float_tensor({20, 1}, -1.0F)}}));
    write_bytes(root_ / (hybrid + "lenet_gluon_hybrid_export_api-inference"),
                npz_dict({{"inference", float_tensor({20, 2}, 0.125F)}}));
    write_bytes(root_ / (block_save + "lenet_gluon_save_params_api-params-model.json"),
                bytes_of(R"({"net0": {"params": {}, "hybridized": false}})"));
    write_bytes(root_ / (block_save + "lenet_gluon_save_params_api-data"),
                npz_dict({{"data", float_tensor({20, 1, 30, 30}, 0.0F)}}));
    write_bytes(root_ / (block_save + "lenet_gluon_save_params_api-inference"),
                npz_dict({{"inference", float_tensor({16000, 2}, 0.0F)}}));
    write_bytes(root_ / (lstm + "lstm_gluon_save_parameters_api-params"),
                nd_dict({{"model.0.weight", float_tensor({30, 10}, 0.0F)}}));
    write_bytes(root_ / (lstm + "lstm_gluon_save_parameters_api-data"),
                nd_dict({{"data", float_tensor({10, 30}, 0.0F)}}));
    write_bytes(root_ / (lstm + "lstm_gluon_save_parameters_api-inference"),
                nd_dict({{"inference", float_tensor({10, 2}, 0.0F)}}));
  }

  std::string where(std::string_view folder) const {
    return root_.string() + "/" + std::string(folder);
  }
};

const BundleKey kHybridKey{"2.0.0b1", "orig-lenet-hybrid", "gluon-export"};
const BundleKey kBlockSaveKey{"2.0.0b1", "orig-lenet", "gluon-block-save"};
const BundleKey kAlphaLstmKey{"2.0.0a0", "orig-lstm", "gluon-save-parameters"};

TEST_F(OriginalLayout20, VersionFoldersNameTheReleasesAndBlockSaveIsItsOwnSaveApi) {
  auto store = open();
  Result<OriginalListing> listing = list_original_layout(*store);
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  ASSERT_EQ(listing->folders.size(), 3u);
  EXPECT_EQ(listing->folders[0].key, kAlphaLstmKey);
  EXPECT_EQ(listing->folders[0].folder, kAlphaLstm);
  EXPECT_EQ(listing->folders[1].key, kBlockSaveKey);
  EXPECT_EQ(listing->folders[2].key, kHybridKey);
  EXPECT_EQ(listing->folders[2].folder, kHybrid);
  EXPECT_TRUE(listing->skipped.empty()) << listing->skipped[0];
}

TEST_F(OriginalLayout20, NpzGoldensAreConvertedAndTheProducerIsTheRelease) {
  OriginalPull pulled = pull();
  EXPECT_EQ(pulled.bundles, (std::vector<BundleKey>{kAlphaLstmKey, kBlockSaveKey, kHybridKey}));
  ASSERT_EQ(pulled.unconverted.size(), 1u);  // the Block.save folder

  Result<Manifest> hybrid = validate_bundle(bundle_dir(view_, kHybridKey));
  ASSERT_TRUE(hybrid.ok()) << hybrid.error().message();
  EXPECT_EQ(hybrid->producer.version, "2.0.0b1");
  EXPECT_EQ(hybrid->producer.requirement, "mxnet==2.0.0b1");
  EXPECT_EQ(hybrid->producer.mxnet_version, "2.0.0beta1");
  ASSERT_EQ(hybrid->inputs.size(), 1u);
  EXPECT_EQ(hybrid->inputs[0].shape, (Shape{20, 1}));
  Result<Tensor> golden = read_npy(bundle_dir(view_, kHybridKey) / "data/output_0.npy");
  ASSERT_TRUE(golden.ok());
  const Tensor expected = float_tensor({20, 2}, 0.125F);
  EXPECT_TRUE(std::ranges::equal(golden->bytes(), expected.bytes()));
  const std::string params = "model/lenet_gluon_hybrid_export_api-0000.params";
  ASSERT_NE(hybrid->find_file(params), nullptr);  // the npz as downloaded
  EXPECT_EQ(hybrid->find_file(params)->sha256,
            sha256_hex(read_bytes(root_ / std::string(kHybrid) /
                                  "lenet_gluon_hybrid_export_api-0000.params")));

  Result<Manifest> alpha = validate_bundle(bundle_dir(view_, kAlphaLstmKey));
  ASSERT_TRUE(alpha.ok()) << alpha.error().message();
  EXPECT_EQ(alpha->producer.version, "2.0.0a0");
  EXPECT_EQ(alpha->producer.mxnet_version, "2.0.0");
}

TEST_F(OriginalLayout20, TheBlockSaveFolderSaysWhichParametersAreMissingAndWhy) {
  const std::string explanation =
      where(kBlockSave) +
      "lenet_gluon_save_params_api-params-model.json: Block.save's model JSON without its "
      "parameters: MXNet 2.0's Block.save writes them to a hard-coded MyModel-model.params in "
      "the producer's working directory, not beside the JSON, so the 2.0 branch's nightly job "
      "never put them in this folder";
  OriginalPull pulled = pull();
  ASSERT_EQ(pulled.unconverted.size(), 1u);
  EXPECT_EQ(pulled.unconverted[0], "2.0.0b1/orig-lenet/gluon-block-save: " + explanation);
  Result<Manifest> block_save = validate_bundle(bundle_dir(view_, kBlockSaveKey));
  ASSERT_FALSE(block_save.ok());
  EXPECT_EQ(block_save.error().message(), "not converted from the store's layout: " + explanation);
}

TEST_F(OriginalLayout20, ASecondFolderOfOneReleaseIsSkippedNamingTheFirst) {
  // 2.0.0a0 calls itself 2.0.0: a folder named by its release name is the same bundle
  const std::string copy = "2.0.0a0/lstm_gluon_save_parameters_api/";
  for (const char* file : {"-params", "-data", "-inference"}) {
    const std::string name = std::string("lstm_gluon_save_parameters_api") + file;
    write_bytes(root_ / copy / name, read_bytes(root_ / std::string(kAlphaLstm) / name));
  }
  auto store = open();
  Result<OriginalListing> listing = list_original_layout(*store);
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  ASSERT_EQ(listing->folders.size(), 3u);
  EXPECT_EQ(listing->folders[0].folder, kAlphaLstm);
  EXPECT_EQ(listing->skipped,
            (std::vector<std::string>{copy + ": the same bundle as " + std::string(kAlphaLstm) +
                                      " (2.0.0a0/orig-lstm/gluon-save-parameters)"}));
}

TEST_F(OriginalLayout20, BlockSaveJsonBesideAParamsFileIsAStrayFileOfA1xFolder) {
  write_bytes(root_ / std::string(kBlockSave) / "lenet_gluon_save_params_api-params",
              nd_dict({{"conv0_weight", float_tensor({2, 1, 5, 5}, 0.0F)}}));
  auto store = open();
  Result<OriginalListing> listing = list_original_layout(*store);
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  EXPECT_EQ(listing->folders[1].key, (BundleKey{"2.0.0b1", "orig-lenet", "gluon-save-params"}));
  EXPECT_EQ(listing->skipped,
            (std::vector<std::string>{std::string(kBlockSave) +
                                      "lenet_gluon_save_params_api-params-model.json: not a file "
                                      "of the original layout"}));
}

}  // namespace
}  // namespace mbcc::corpus
