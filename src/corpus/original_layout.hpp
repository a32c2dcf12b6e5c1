// The original MXNet nightly bucket layout (tests/nightly/model_backwards_compatibility_check in
// apache/mxnet), read-only: <version>/<model_name>/ holds the model files of one of four known
// models (<model_name>-symbol.json with <model_name>-NNNN.params, or <model_name>-params) and
// <model_name>-data and <model_name>-inference, dicts saved by mx.nd.save.
//
// The 2.0 branch's scripts write a variant, read here too: -data and -inference are npz (saved
// by mx.npx.savez), the version folder is what 2.0 calls itself ("2.0.0beta1" is 2.0.0b1,
// "2.0.0" is 2.0.0a0), and the Gluon parameters folder holds Block.save's
// <model_name>-params-model.json, whose parameters 2.0 wrote to MyModel-model.params in the
// producer's working directory: that folder is the bundle <release>/orig-lenet/gluon-block-save,
// never converted, with exactly that reason.
//
// Such a store has no manifests and no checksums, so it is never checked in place: each model
// folder becomes a bundle of a local view (the v1 layout), the model files as downloaded, the
// golden tensors converted to .npy by mbcc's own readers and writers, and a manifest whose
// sha256 are those of the downloaded bytes. A folder that cannot be converted (a file missing,
// a -data or -inference file mbcc's reader rejects) becomes a bundle holding only
// kUnconvertedName with the reason, which validation reports as ARTIFACT_CORRUPT.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "corpus/layout.hpp"
#include "store/store.hpp"

namespace mbcc::corpus {

// Top-level folder of the original bucket that holds training data, not models.
inline constexpr std::string_view kOriginalDataFolder = "mxnet-model-backwards-compatibility-data";

// One model folder of the original layout and the bundle it becomes.
struct OriginalFolder {
  BundleKey key;       // "1.2.1/orig-mlp/module-checkpoint"
  std::string folder;  // key prefix in the store: "1.2.1/module_checkpoint_api/"
  std::vector<store::ObjectInfo> objects;  // every object under it
};

struct OriginalListing {
  std::vector<OriginalFolder> folders;  // sorted by key
  std::vector<std::string> skipped;     // "<key>: why", for what is not a known model folder
};

// Every model folder of the store. Objects outside <version>/<model_name>/<file>, folders that
// are not one of the four models and a second folder of one bundle (2.0.0 beside 2.0.0a0) are
// listed in `skipped`; kOriginalDataFolder is left out.
Result<OriginalListing> list_original_layout(store::Store& store);

struct OriginalPull {
  std::vector<BundleKey> bundles;        // what the view holds, sorted
  std::vector<std::string> unconverted;  // "<key>: reason", bundles that will be ARTIFACT_CORRUPT
  store::TransferStats downloaded;
};

// Downloads `folders` of `store` and writes their bundles into `view` (an empty or missing
// folder); the manifests are "created" now. An error is the transfer's or the view's, never a
// file's content.
Result<OriginalPull> pull_original_layout(store::Store& store,
                                          const std::vector<OriginalFolder>& folders,
                                          const std::filesystem::path& view);

}  // namespace mbcc::corpus
