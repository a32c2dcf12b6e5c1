// For the corpus tests only: a small, valid bundle written with mbcc's own writers (a
// FullyConnected graph, its params, one golden input and output) and its manifest, in a fresh
// temporary folder that is removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "corpus/layout.hpp"
#include "corpus/manifest.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::corpus::testing {

inline Tensor float_tensor(Shape shape, float start) {
  std::vector<float> values(*element_count(shape));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = start + 0.25F * float(i);
  return Tensor::copy_of(DType::kFloat32, std::move(shape), std::as_bytes(std::span(values)));
}

inline std::vector<std::byte> bytes_of(std::string_view text) {
  auto data = std::as_bytes(std::span(text.data(), text.size()));
  return {data.begin(), data.end()};
}

inline void write_bytes(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  Result<FileBytes> file = read_file(path);
  EXPECT_TRUE(file.ok());
  if (!file.ok()) return {};
  return {file->bytes().begin(), file->bytes().end()};
}

// data -> FullyConnected(num_hidden=2) -> output, as MXNet 1.9.1 would write it.
inline std::string fc_symbol_json() {
  Graph graph;
  graph.nodes = {Node{"null", "data", {}, {}, {}, {}}, Node{"null", "fc_weight", {}, {}, {}, {}},
                 Node{"null", "fc_bias", {}, {}, {}, {}},
                 Node{"FullyConnected",
                      "fc",
                      {{"num_hidden", "2"}},
                      {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}},
                      {},
                      {}}};
  graph.heads = {{3, 0, 0}};
  return write_symbol_json(graph);
}

// A manifest for the files of make_bundle, without sizes and hashes.
inline Manifest base_manifest() {
  Manifest m;
  m.model = "fc";
  m.save_api = "module-checkpoint";
  m.model_info = {"symbol", std::nullopt, "Module.save_checkpoint", false, false};
  m.producer.version = "1.9.1";
  m.producer.requirement = "mxnet==1.9.1";
  m.producer.mxnet_version = "1.9.1";
  m.producer.mxget_version = 10901;
  m.producer.features = std::map<std::string, bool>{{"MKLDNN", true}, {"CUDA", false}};
  m.producer.python = "3.11.7";
  m.producer.numpy = "1.23.5";
  m.producer.platform = "Linux-x86_64";
  m.producer.machine = "x86_64";
  m.producer.probe_version = "0.1.0";
  m.producer.created = "2024-05-01T12:00:00Z";
  m.seeds = {{"seed", int64_t{7}}, {"params", std::string("crc32(seed/model/params)")}};
  m.env = {{"OMP_NUM_THREADS", "1"}};
  m.inputs = {{"data", "data/input_0.npy", {2, 3}, DType::kFloat32, "float"}};
  m.outputs = {{"output_0", "data/output_0.npy", {2, 2}, DType::kFloat32, ""}};
  m.load_apis = {"module-load-checkpoint", "c-predict"};
  m.import_input_names = {"data"};
  m.tolerance = Tolerance{1e-4, 1e-5};
  m.internals.status = InternalsStatus::kAbsent;
  m.internals.reason = "not computed in this test";
  m.self_check = {{"module-load-checkpoint", "ok", 0.0, ""}};
  return m;
}

// Sets the size and sha256 of every file of `m` from what is on disk under `dir`.
inline void hash_files(const std::filesystem::path& dir, Manifest& m) {
  for (BundleFile& f : m.files) {
    std::vector<std::byte> bytes = read_bytes(dir / f.path);
    f.size = bytes.size();
    f.sha256 = sha256_hex(bytes);
  }
}

inline void write_manifest_file(const std::filesystem::path& dir, const Manifest& m) {
  write_bytes(dir / kManifestName, bytes_of(write_manifest(m)));
}

// Writes a valid bundle into `dir` and returns its manifest.
inline Manifest make_bundle(const std::filesystem::path& dir) {
  NDArrayList params;
  params.names = {"arg:fc_weight", "arg:fc_bias"};
  for (auto [shape, start] : {std::pair<Shape, float>{{2, 3}, 0.5F}, {{2}, -1.0F}}) {
    NDArrayRecord record;
    record.shape = shape;
    record.values = float_tensor(shape, start);
    params.arrays.push_back(std::move(record));
  }
  write_bytes(dir / "model/fc-0000.params", *serialize_ndarray_list(params));
  write_bytes(dir / "model/fc-symbol.json", bytes_of(fc_symbol_json()));
  write_bytes(dir / "data/input_0.npy", serialize_npy(float_tensor({2, 3}, 1.0F)));
  write_bytes(dir / "data/output_0.npy", serialize_npy(float_tensor({2, 2}, 2.0F)));

  Manifest m = base_manifest();
  m.files = {{"data/input_0.npy", FileRole::kInput, 0, ""},
             {"data/output_0.npy", FileRole::kOutput, 0, ""},
             {"model/fc-0000.params", FileRole::kParams, 0, ""},
             {"model/fc-symbol.json", FileRole::kSymbol, 0, ""}};
  hash_files(dir, m);
  write_manifest_file(dir, m);
  return m;
}

// A fresh folder under the system's temporary folder, removed with the fixture.
class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mbcc-corpus-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

}  // namespace mbcc::corpus::testing
