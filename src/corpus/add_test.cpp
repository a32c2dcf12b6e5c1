// What `mbcc add` decides in C++ before any MXNet runs: the options, which save API the files
// came from, the producer from the graph's version, and the inputs planned from graph + params.
#include "corpus/add.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "formats/ndarray_file.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

// data -> fc1 (FullyConnected, weight 16x20) -> SoftmaxOutput with a label; tokens (int32) ->
// Embedding(input_dim 50); `version` as attrs.mxnet_version, or none when 0.
std::string graph_json(int version) {
  std::string attrs =
      version == 0 ? "{}" : R"({"mxnet_version": ["int", )" + std::to_string(version) + "]}";
  return R"({"nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "null", "name": "fc1_weight", "attrs": {"num_hidden": "16"}, "inputs": []},
    {"op": "null", "name": "fc1_bias", "attrs": {"num_hidden": "16"}, "inputs": []},
    {"op": "FullyConnected", "name": "fc1", "attrs": {"num_hidden": "16"}, "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
    {"op": "null", "name": "tokens", "attrs": {"__dtype__": "4"}, "inputs": []},
    {"op": "null", "name": "emb_weight", "attrs": {"input_dim": "50", "output_dim": "16"}, "inputs": []},
    {"op": "Embedding", "name": "emb", "attrs": {"input_dim": "50", "output_dim": "16"}, "inputs": [[4, 0, 0], [5, 0, 0]]},
    {"op": "elemwise_add", "name": "sum", "inputs": [[3, 0, 0], [6, 0, 0]]},
    {"op": "null", "name": "softmax_label", "inputs": []},
    {"op": "SoftmaxOutput", "name": "softmax", "inputs": [[7, 0, 0], [8, 0, 0]]}
  ], "arg_nodes": [0, 1, 2, 4, 5, 8], "heads": [[9, 0, 0]], "attrs": )" +
         attrs + "}";
}

class AddFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mbcc-add-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_graph(int version) {
    fs::path path = dir_ / "net-symbol.json";
    std::ofstream(path) << graph_json(version);
    return path;
  }
  // A params file with arg:NAME for each (name, shape).
  fs::path write_params(const std::vector<std::pair<std::string, Shape>>& arrays) {
    NDArrayList list;
    for (const auto& [name, shape] : arrays) {
      NDArrayRecord record;
      record.shape = shape;
      std::size_t count = 1;
      for (int64_t d : shape) count *= static_cast<std::size_t>(d);
      std::vector<std::byte> zeros(count * 4);
      record.values = Tensor::copy_of(DType::kFloat32, shape, zeros);
      list.arrays.push_back(std::move(record));
      list.names.push_back("arg:" + name);
    }
    fs::path path = dir_ / "net-0000.params";
    std::vector<std::byte> bytes = serialize_ndarray_list(list).value();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  fs::path good_params() {
    return write_params({{"fc1_weight", {16, 20}}, {"fc1_bias", {16}}, {"emb_weight", {50, 16}}});
  }
  UserModel recognise(int version, const fs::path& params) {
    Result<UserModel> model = recognise_user_files({write_graph(version), params}, false);
    EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message());
    return model.ok() ? *model : UserModel{};
  }

  fs::path dir_;
};

TEST(AddOptions, InputShapesAndDtypes) {
  InputOption full = parse_input_option("data=1,3,224,224:float16").value();
  EXPECT_EQ(full.name, "data");
  EXPECT_EQ(full.shape, (Shape{1, 3, 224, 224}));
  EXPECT_EQ(full.dtype, DType::kFloat16);
  InputOption dtype_only = parse_input_option("ids=:int32").value();
  EXPECT_FALSE(dtype_only.shape);
  EXPECT_EQ(dtype_only.dtype, DType::kInt32);
  EXPECT_FALSE(parse_input_option("data").ok());
  EXPECT_FALSE(parse_input_option("data=1,0").ok());
  EXPECT_FALSE(parse_input_option("data=1,x").ok());
  EXPECT_NE(parse_input_option("data=1:complex").error().message().find("float32"),
            std::string::npos);
  RangeOption range = parse_range_option("ids=2:9").value();
  EXPECT_EQ(range.low, 2);
  EXPECT_EQ(range.high, 9);
  EXPECT_FALSE(parse_range_option("ids=9:2").ok());
  EXPECT_FALSE(parse_input_file_option("ids=").ok());
}

TEST_F(AddFiles, AModuleGraphAndItsParamsAreACheckpoint) {
  UserModel model = recognise(10401, good_params());
  EXPECT_EQ(model.save_api, "module-checkpoint");
  ASSERT_EQ(model.files.size(), 2u);
  EXPECT_EQ(model.files[1].kind, "parameters (NDArray list V2)");
  EXPECT_EQ(model.params.front().first, "fc1_weight");  // arg: taken off
}

TEST_F(AddFiles, TheProducerIsTheReleaseTheGraphRecords) {
  ProducerChoice choice = choose_producer(recognise(10401, good_params()), "").value();
  EXPECT_EQ(choice.release, "1.4.1");
  EXPECT_EQ(choice.producer_from, "the graph's mxnet_version 10401");
  EXPECT_EQ(choose_producer(recognise(10401, good_params()), "1.9.1").value().release, "1.9.1");
}

TEST_F(AddFiles, AVersionTwoReleasesShareAsksForOneOfThem) {
  Result<ProducerChoice> choice = choose_producer(recognise(20000, good_params()), "");
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(
      choice.error().message().find(
          "MXNet 20000 (2.0.0), which 2.0.0a0 and 2.0.0b1 both record: give --producer 2.0.0a0 "
          "or --producer 2.0.0b1"),
      std::string::npos)
      << choice.error().message();
  EXPECT_EQ(choose_producer(recognise(20000, good_params()), "2.0.0.beta1").value().release,
            "2.0.0b1");
}

TEST_F(AddFiles, NoRecordedVersionOrAnUnknownOneAsksForTheProducer) {
  EXPECT_NE(
      choose_producer(recognise(0, good_params()), "").error().message().find("give --producer"),
      std::string::npos);
  EXPECT_NE(choose_producer(recognise(10302, good_params()), "").error().message().find("1.3.2"),
            std::string::npos);
}

TEST_F(AddFiles, InputsAreTheVariablesTheParamsDoNotHold) {
  UserModel model = recognise(10401, good_params());
  std::vector<InputPlan> inputs = plan_inputs(model, {}).value();
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].name, "data");
  EXPECT_EQ(inputs[0].shape, (Shape{1, 20}));  // fc1's weight is 16x20: a batch of 1
  EXPECT_EQ(inputs[0].kind, "float");
  EXPECT_EQ(inputs[1].name, "tokens");
  EXPECT_EQ(inputs[1].dtype, DType::kInt32);  // the variable's __dtype__
  EXPECT_EQ(inputs[1].kind, "tokens");
  EXPECT_EQ(inputs[1].range, (std::pair<int64_t, int64_t>{0, 50}));  // emb's input_dim
  EXPECT_FALSE(inputs[1].shape);  // left to the release's infer_shape
  EXPECT_EQ(inputs[1].consumer, "node emb (Embedding)");
  EXPECT_EQ(inputs[2].name, "softmax_label");
  EXPECT_EQ(inputs[2].kind, "label");

  InputOptions options;
  options.inputs = {parse_input_option("tokens=2,5:int64").value()};
  options.ranges = {parse_range_option("tokens=3:7").value()};
  inputs = plan_inputs(model, options).value();
  EXPECT_EQ(inputs[1].shape, (Shape{2, 5}));
  EXPECT_EQ(inputs[1].dtype, DType::kInt64);
  EXPECT_EQ(inputs[1].range, (std::pair<int64_t, int64_t>{3, 7}));
}

TEST_F(AddFiles, AMissingOrExtraArrayIsNamed) {
  UserModel missing =
      recognise(10401, write_params({{"fc1_weight", {16, 20}}, {"emb_weight", {50, 16}}}));
  Result<std::vector<InputPlan>> plan = plan_inputs(missing, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find(
                "no array for fc1_bias, the parameter of node fc1 (FullyConnected)"),
            std::string::npos)
      << plan.error().message();
  UserModel extra = recognise(10401, write_params({{"fc1_weight", {16, 20}},
                                                   {"fc1_bias", {16}},
                                                   {"emb_weight", {50, 16}},
                                                   {"fc9_weight", {2}}}));
  plan = plan_inputs(extra, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(
      plan.error().message().find("array fc9_weight is no variable of the graph net-symbol.json"),
      std::string::npos);
}

TEST_F(AddFiles, AnOptionNamingNoInputOrAnIntegerWithoutRangeIsRefused) {
  UserModel model = recognise(10401, good_params());
  InputOptions options;
  options.inputs = {parse_input_option("dat=1,20").value()};
  EXPECT_NE(plan_inputs(model, options)
                .error()
                .message()
                .find("an input of the model: data, tokens, softmax_label"),
            std::string::npos);
  options.inputs = {parse_input_option("data=1,20:int32").value()};
  EXPECT_NE(plan_inputs(model, options).error().message().find("--input-range"), std::string::npos);
}

TEST_F(AddFiles, WhatIsNotAModelFileIsNamed) {
  fs::path page = dir_ / "page.params";
  std::ofstream(page) << "<html><body>Not Found</body></html>";
  Result<UserModel> model = recognise_user_files({write_graph(10401), page}, false);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.error().message().find("page.params: HTML page, not a graph"), std::string::npos)
      << model.error().message();
  EXPECT_NE(recognise_user_files({good_params()}, false)
                .error()
                .message()
                .find("--block MODULE:CALLABLE"),
            std::string::npos);
  EXPECT_EQ(recognise_user_files({good_params()}, true).value().save_api, "gluon-save-parameters");
}

TEST_F(AddFiles, BlockSaveFilesNeedTheirBlock) {
  fs::path model_json = dir_ / "tiny-model.json";
  std::ofstream(model_json) << R"({"tiny0": {"hybridized": false, "params": {}}})";
  EXPECT_NE(
      recognise_user_files({model_json, good_params()}, false).error().message().find("--block"),
      std::string::npos);
  UserModel model = recognise_user_files({model_json, good_params()}, true).value();
  EXPECT_EQ(model.save_api, "gluon-block-save");
  EXPECT_EQ(model.files[0].role, FileRole::kModelJson);
  fs::path other = dir_ / "other.json";
  std::ofstream(other) << R"({"a": 1})";
  EXPECT_NE(recognise_user_files({other, good_params()}, true)
                .error()
                .message()
                .find("neither a symbol graph"),
            std::string::npos);
}

}  // namespace
}  // namespace mbcc::corpus
