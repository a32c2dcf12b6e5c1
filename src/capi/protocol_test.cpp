#include "capi/protocol.hpp"

#include <gtest/gtest.h>

namespace mbcc::capi {
namespace {

TEST(ParseRequest, TakesRelativePathsFromTheBundle) {
  Json id;
  auto request = parse_request(
      R"({"id": 12, "bundle_dir": "/b", "symbol_file": "model/m-symbol.json",
          "params_file": "/abs/m-0000.params", "load_api": "c-executor", "out_dir": "/o",
          "inputs": [{"name": "data", "file": "data/input_0.npy"}], "internals": true})",
      &id);
  ASSERT_TRUE(request.ok()) << request.error().message();
  EXPECT_EQ(id, 12);
  EXPECT_EQ(request->id, 12);
  EXPECT_EQ(request->symbol_file, "/b/model/m-symbol.json");
  EXPECT_EQ(request->params_file, "/abs/m-0000.params");
  EXPECT_EQ(request->load_api, LoadApi::kExecutor);
  EXPECT_EQ(request->out_dir, "/o");
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].name, "data");
  EXPECT_EQ(request->inputs[0].file, "/b/data/input_0.npy");
  EXPECT_TRUE(request->internals);
}

TEST(ParseRequest, InternalsDefaultOffAndBundleDirIsOptional) {
  Json id;
  auto request = parse_request(
      R"({"id": "x", "symbol_file": "/s.json", "params_file": "/p.params",
          "load_api": "c-cachedop", "out_dir": "/o", "inputs": []})",
      &id);
  ASSERT_TRUE(request.ok()) << request.error().message();
  EXPECT_FALSE(request->internals);
  EXPECT_EQ(request->symbol_file, "/s.json");
  EXPECT_TRUE(request->inputs.empty());
}

TEST(ParseRequest, NamesWhatIsWrongAndKeepsTheId) {
  Json id;
  auto bad_api = parse_request(
      R"({"id": 3, "symbol_file": "s", "params_file": "p", "load_api": "c-module",
          "out_dir": "/o", "inputs": []})",
      &id);
  ASSERT_FALSE(bad_api.ok());
  EXPECT_EQ(id, 3);
  EXPECT_EQ(bad_api.error().field, "load_api");
  EXPECT_EQ(bad_api.error().found, "c-module");

  auto no_inputs = parse_request(
      R"({"id": 4, "symbol_file": "s", "params_file": "p", "load_api": "c-predict",
          "out_dir": "/o"})",
      &id);
  ASSERT_FALSE(no_inputs.ok());
  EXPECT_EQ(no_inputs.error().field, "inputs");

  auto no_symbol = parse_request(R"({"id": 5, "params_file": "p"})", &id);
  ASSERT_FALSE(no_symbol.ok());
  EXPECT_EQ(no_symbol.error().field, "symbol_file");

  EXPECT_FALSE(parse_request("not json", &id).ok());
  EXPECT_FALSE(parse_request("[1, 2]", &id).ok());
}

TEST(AnswerLine, OkAnswerListsOutputsAndTimings) {
  Answer answer;
  answer.id = "case-1";
  answer.outputs.push_back({"relu_output", "/o/output_0.npy", {2, 4}, DType::kFloat32});
  answer.internals.push_back(
      {"fc_output", "/o/internals/003_fc_output.npy", {2, 4}, DType::kFloat16, 3});
  answer.load_ms = 1.23456;
  answer.run_ms = 2;
  const Json line = Json::parse(answer_line(answer));
  EXPECT_EQ(line.begin().key(), "id");
  EXPECT_EQ(line["status"], "ok");
  EXPECT_EQ(line["outputs"][0]["name"], "relu_output");
  EXPECT_EQ(line["outputs"][0]["file"], "/o/output_0.npy");
  EXPECT_EQ(line["outputs"][0]["shape"], Json::array({2, 4}));
  EXPECT_EQ(line["outputs"][0]["dtype"], "float32");
  EXPECT_FALSE(line["outputs"][0].contains("index"));
  EXPECT_EQ(line["internals"][0]["index"], 3);
  EXPECT_EQ(line["internals"][0]["dtype"], "float16");
  EXPECT_DOUBLE_EQ(line["timings"]["load_ms"].get<double>(), 1.235);
  EXPECT_FALSE(line.contains("error"));
}

TEST(AnswerLine, FailureCarriesTheCallAndTheMessageAsIs) {
  Answer answer;
  answer.id = nullptr;
  answer.status = AnswerStatus::kLoadFail;
  answer.error = Failure{"params", "MXNDArrayLoad", "Check failed: \xff raw\nline two"};
  const std::string text = answer_line(answer);
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line, whatever the message holds
  const Json line = Json::parse(text);
  EXPECT_EQ(line["status"], "load_fail");
  EXPECT_EQ(line["error"]["kind"], "params");
  EXPECT_EQ(line["error"]["call"], "MXNDArrayLoad");
  EXPECT_NE(line["error"]["message"].get<std::string>().find("line two"), std::string::npos);
  EXPECT_TRUE(line["outputs"].empty());
}

TEST(StatusNames, AreTheProtocolWords) {
  EXPECT_EQ(status_name(AnswerStatus::kOk), "ok");
  EXPECT_EQ(status_name(AnswerStatus::kUnsupported), "unsupported");
  EXPECT_EQ(status_name(AnswerStatus::kLoadFail), "load_fail");
  EXPECT_EQ(status_name(AnswerStatus::kRunFail), "run_fail");
  EXPECT_EQ(status_name(AnswerStatus::kError), "error");
}

}  // namespace
}  // namespace mbcc::capi
