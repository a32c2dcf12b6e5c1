#include "runners/protocol.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace mbcc::runners {
namespace {

constexpr const char* kOkAnswer =
    R"({"id":7,"status":"ok","outputs":[{"name":"fc_output","file":"/o/output_0.npy",)"
    R"("shape":[2,4],"dtype":"float32"}],"timings":{"load_ms":3.5,"run_ms":0.25}})";

// kOkAnswer with `from` replaced by `to`.
std::string ok_answer_with(const std::string& from, const std::string& to) {
  std::string line = kOkAnswer;
  const std::size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return line.replace(at, from.size(), to);
}

TEST(RequestLine, CarriesTheCheckAndOnlyTheFieldsThatAreSet) {
  Request request;
  request.bundle_dir = "/store/v1/1.9.1/mlp/module-checkpoint";
  request.load_api = "module-load-checkpoint";
  request.inputs = {{"data", "data/input_0.npy"}};
  request.out_dir = "/tmp/out";
  const Json line = Json::parse(request_line(request, 12));
  EXPECT_EQ(line["id"], 12);
  EXPECT_EQ(line["bundle_dir"], "/store/v1/1.9.1/mlp/module-checkpoint");
  EXPECT_EQ(line["load_api"], "module-load-checkpoint");
  EXPECT_EQ(line["inputs"], Json::parse(R"([{"name":"data","file":"data/input_0.npy"}])"));
  EXPECT_EQ(line["out_dir"], "/tmp/out");
  EXPECT_EQ(line["internals"], false);
  EXPECT_FALSE(line.contains("symbol_file"));

  request.symbol_file = "model/mlp-symbol.json";
  request.params_file = "model/mlp-0000.params";
  request.internals = true;
  const Json capi = Json::parse(request_line(request, 13));
  EXPECT_EQ(capi["symbol_file"], "model/mlp-symbol.json");
  EXPECT_EQ(capi["params_file"], "model/mlp-0000.params");
  EXPECT_EQ(capi["internals"], true);
}

TEST(ParseAnswer, ReadsAnOkAnswer) {
  auto answer = parse_answer(kOkAnswer, 7);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, AnswerStatus::kOk);
  ASSERT_EQ(answer->outputs.size(), 1u);
  EXPECT_EQ(answer->outputs[0].name, "fc_output");
  EXPECT_EQ(answer->outputs[0].file, "/o/output_0.npy");
  EXPECT_EQ(answer->outputs[0].shape, (Shape{2, 4}));
  EXPECT_EQ(answer->outputs[0].dtype, DType::kFloat32);
  EXPECT_FALSE(answer->error);
  EXPECT_DOUBLE_EQ(answer->timings.load_ms, 3.5);
  EXPECT_DOUBLE_EQ(answer->timings.run_ms, 0.25);
}

TEST(ParseAnswer, ReadsFailuresInternalsAndWarnings) {
  const std::string line =
      R"({"id":1,"status":"load_fail","outputs":[],)"
      R"("internals":[{"index":3,"name":"fc1_output","file":"/o/internals/003_fc1.npy",)"
      R"("shape":[],"dtype":"float64"}],"internals_error":{"kind":"bind","message":"m"},)"
      R"("error":{"kind":"params","call":"MXNDArrayLoad","message":"Invalid NDArray file"},)"
      R"("warnings":["w1"],"timings":{"load_ms":0,"run_ms":0}})";
  auto answer = parse_answer(line, 1);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, AnswerStatus::kLoadFail);
  ASSERT_TRUE(answer->error);
  EXPECT_EQ(answer->error->kind, "params");
  EXPECT_EQ(answer->error->call, "MXNDArrayLoad");
  EXPECT_EQ(answer->error->message, "Invalid NDArray file");
  ASSERT_EQ(answer->internals.size(), 1u);
  EXPECT_EQ(answer->internals[0].index, 3);
  EXPECT_TRUE(answer->internals[0].shape.empty());
  ASSERT_TRUE(answer->internals_error);
  EXPECT_EQ(answer->internals_error->call, "");
  EXPECT_EQ(answer->warnings, std::vector<std::string>{"w1"});
}

TEST(AnswerLine, IsReadBackAsItWas) {
  const std::string line =
      R"({"id":1,"status":"load_fail","outputs":[{"name":"o","file":"o.npy","shape":[1],)"
      R"("dtype":"int64"}],"internals":[{"index":3,"name":"fc1_output","file":"i/003.npy",)"
      R"("shape":[],"dtype":"float64"}],"internals_error":{"kind":"bind","message":"m"},)"
      R"("error":{"kind":"params","call":"MXNDArrayLoad","message":"Invalid \u00e9"},)"
      R"("warnings":["w1"],"timings":{"load_ms":0.5,"run_ms":2}})";
  auto answer = parse_answer(line, 1);
  ASSERT_TRUE(answer) << answer.error().message();
  auto again = parse_answer(answer_line(*answer, 9), 9);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->status, answer->status);
  ASSERT_EQ(again->outputs.size(), 1U);
  EXPECT_EQ(again->outputs[0].file, "o.npy");
  EXPECT_EQ(again->outputs[0].dtype, DType::kInt64);
  EXPECT_EQ(again->outputs[0].shape, (Shape{1}));
  ASSERT_EQ(again->internals.size(), 1U);
  EXPECT_EQ(again->internals[0].index, 3);
  EXPECT_EQ(again->internals[0].name, "fc1_output");
  EXPECT_TRUE(again->internals[0].shape.empty());
  EXPECT_EQ(again->error->message, answer->error->message);
  EXPECT_EQ(again->error->call, "MXNDArrayLoad");
  EXPECT_EQ(again->internals_error->kind, "bind");
  EXPECT_EQ(again->internals_error->call, "");
  EXPECT_EQ(again->warnings, answer->warnings);
  EXPECT_DOUBLE_EQ(again->timings.load_ms, 0.5);
  EXPECT_DOUBLE_EQ(again->timings.run_ms, 2);
  auto ok = parse_answer(kOkAnswer, 7);
  ASSERT_TRUE(ok);
  auto ok_again = parse_answer(answer_line(*ok, 7), 7);
  ASSERT_TRUE(ok_again) << ok_again.error().message();
  EXPECT_FALSE(ok_again->error);
  EXPECT_TRUE(ok_again->internals.empty());
}

TEST(ParseAnswer, NamesEveryStatus) {
  for (AnswerStatus status : {AnswerStatus::kUnsupported, AnswerStatus::kLoadFail,
                              AnswerStatus::kRunFail, AnswerStatus::kError}) {
    const std::string line = R"({"id":2,"status":")" + std::string(answer_status_name(status)) +
                             R"(","outputs":[],"error":{"kind":"k","message":"m"},)"
                             R"("timings":{"load_ms":1,"run_ms":1}})";
    auto answer = parse_answer(line, 2);
    ASSERT_TRUE(answer) << line << ": " << answer.error().message();
    EXPECT_EQ(answer->status, status);
  }
}

struct Garbage {
  std::string what;  // names the case in test names
  std::string line;
  std::string location;  // where the error points
};

void PrintTo(const Garbage& garbage, std::ostream* out) { *out << garbage.what; }

class ParseAnswerGarbage : public testing::TestWithParam<Garbage> {};

TEST_P(ParseAnswerGarbage, IsRefusedWithWhere) {
  auto answer = parse_answer(GetParam().line, 7);
  ASSERT_FALSE(answer) << GetParam().line;
  EXPECT_EQ(answer.error().location, GetParam().location) << answer.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Strict, ParseAnswerGarbage,
    testing::Values(
        Garbage{"not JSON", "Loading symbol saved by previous version v1.9.1", ""},
        Garbage{"half a line", R"({"id":7,"status":"ok")", ""}, Garbage{"an array", "[1,2]", "$"},
        Garbage{"another id", ok_answer_with(R"("id":7)", R"("id":8)"), "$.id"},
        Garbage{"an id as text", ok_answer_with(R"("id":7)", R"("id":"7")"), "$.id"},
        Garbage{"an unknown status", ok_answer_with(R"("status":"ok")", R"("status":"fine")"),
                "$.status"},
        Garbage{"an unknown member",
                ok_answer_with(R"("status":"ok")", R"("status":"ok","extra":1)"), "$.extra"},
        Garbage{"no error for a failure",
                ok_answer_with(R"("status":"ok")", R"("status":"run_fail")"), "$.error"},
        Garbage{"an error for ok",
                ok_answer_with(R"("timings")", R"("error":{"kind":"k","message":"m"},"timings")"),
                "$.error"},
        Garbage{"an unknown dtype", ok_answer_with(R"("float32")", R"("float33")"),
                "$.outputs[0].dtype"},
        Garbage{"a negative size", ok_answer_with("[2,4]", "[2,-4]"), "$.outputs[0].shape[1]"},
        Garbage{"an empty file name", ok_answer_with(R"("/o/output_0.npy")", R"("")"),
                "$.outputs[0].file"},
        Garbage{"no output name", ok_answer_with(R"("name":"fc_output",)", ""),
                "$.outputs[0].name"},
        Garbage{"negative time", ok_answer_with(R"("run_ms":0.25)", R"("run_ms":-1)"),
                "$.timings.run_ms"},
        Garbage{"no timings", ok_answer_with(R"(,"timings":{"load_ms":3.5,"run_ms":0.25})", ""),
                "$.timings"}));

TEST(ParseHello, KeepsTheWholeHello) {
  auto hello = parse_hello(R"({"hello":"python","mxnet_version":"1.9.1","load_apis":["a"]})");
  ASSERT_TRUE(hello) << hello.error().message();
  EXPECT_FALSE(hello->refusal);
  EXPECT_EQ(hello->document["mxnet_version"], "1.9.1");
}

TEST(ParseHello, ReadsARefusal) {
  auto hello = parse_hello(R"({"hello":"python","error":{"kind":"import","message":"no mxnet"}})");
  ASSERT_TRUE(hello) << hello.error().message();
  ASSERT_TRUE(hello->refusal);
  EXPECT_EQ(hello->refusal->kind, "import");
  EXPECT_EQ(hello->refusal->message, "no mxnet");
}

TEST(ParseHello, RefusesWhatIsNotAHello) {
  EXPECT_FALSE(parse_hello("[mxnet] starting"));
  EXPECT_FALSE(parse_hello(R"({"id":1})"));
  EXPECT_FALSE(parse_hello(R"({"hello":3})"));
  EXPECT_FALSE(parse_hello(R"({"hello":"python","error":"no"})"));
}

}  // namespace
}  // namespace mbcc::runners
