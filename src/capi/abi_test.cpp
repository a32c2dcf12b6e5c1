#include "capi/abi.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace mbcc::capi {
namespace {

bool needs(const AbiPlan& plan, LoadApi api, std::string_view function) {
  const auto names = required_functions(plan, api);
  return std::find(names.begin(), names.end(), function) != names.end();
}

TEST(PlanForVersion, LegacyReleasesUseUnsignedShapesAndNoNumpyFlag) {
  // 0.11 (no MXGetVersion), 0.12 and 1.4 call the same prototypes: 0.12's ABI changes
  // (SimpleBind, InvokeCachedOpEx) are in functions the worker does not call.
  for (int version : {kVersionWithoutGetVersion, 1201, 10000, 10401}) {
    const AbiPlan plan = plan_for_version(version);
    EXPECT_EQ(plan.get_shape, "MXNDArrayGetShape") << version;
    EXPECT_EQ(plan.get_shape_abi, ShapeAbi::kUint32) << version;
    EXPECT_EQ(plan.infer_shape, "MXSymbolInferShape") << version;
    EXPECT_EQ(plan.infer_shape_abi, ShapeAbi::kUint32) << version;
    EXPECT_EQ(plan.create_ndarray, "MXNDArrayCreateEx") << version;
    EXPECT_EQ(plan.cached_op, CachedOpAbi::kV1) << version;
    EXPECT_EQ(plan.np_shape, NpShapeAbi::kNone) << version;
    EXPECT_EQ(abi_generation(plan), "0.11-1.4") << version;
  }
}

TEST(PlanForVersion, OneFiveHasIntShapesAndABoolFlag) {
  for (int version : {10500, 10501}) {
    const AbiPlan plan = plan_for_version(version);
    EXPECT_EQ(plan.get_shape, "MXNDArrayGetShapeEx");
    EXPECT_EQ(plan.get_shape_abi, ShapeAbi::kInt);
    EXPECT_EQ(plan.infer_shape, "MXSymbolInferShapeEx");
    EXPECT_EQ(plan.infer_shape_abi, ShapeAbi::kInt);
    EXPECT_EQ(plan.create_ndarray, "MXNDArrayCreateEx");
    EXPECT_EQ(plan.cached_op, CachedOpAbi::kV1);
    EXPECT_EQ(plan.np_shape, NpShapeAbi::kBool);
    EXPECT_EQ(abi_generation(plan), "1.5");
  }
}

TEST(PlanForVersion, OneSixToOneNineUseTheEx64FormsAndATriStateFlag) {
  for (int version : {10600, 10700, 10800, 10901}) {
    const AbiPlan plan = plan_for_version(version);
    // GetShape64 / InferShape64 are declared in the 1.6 header but not defined.
    EXPECT_EQ(plan.get_shape, "MXNDArrayGetShapeEx64");
    EXPECT_EQ(plan.get_shape_abi, ShapeAbi::kInt64);
    EXPECT_EQ(plan.infer_shape, "MXSymbolInferShapeEx64");
    EXPECT_EQ(plan.infer_shape_abi, ShapeAbi::kInt64);
    EXPECT_EQ(plan.create_ndarray, "MXNDArrayCreateEx");
    EXPECT_EQ(plan.cached_op, CachedOpAbi::kV1);
    EXPECT_EQ(plan.np_shape, NpShapeAbi::kTriState);
    EXPECT_EQ(abi_generation(plan), "1.6-1.9");
  }
}

TEST(PlanForVersion, TwoZeroChangedTheAbiBehindTheOldNames) {
  // 20000 is both 2.0.0a0 and 2.0.0b1; later 2.x keep the 2.0 prototypes.
  for (int version : {20000, 20100}) {
    const AbiPlan plan = plan_for_version(version);
    EXPECT_EQ(plan.get_shape, "MXNDArrayGetShape64");
    EXPECT_EQ(plan.get_shape_abi, ShapeAbi::kInt64);
    EXPECT_EQ(plan.infer_shape, "MXSymbolInferShape64");
    EXPECT_EQ(plan.infer_shape_abi, ShapeAbi::kInt64);
    EXPECT_EQ(plan.create_ndarray, "MXNDArrayCreate");  // the Ex name is only a macro
    EXPECT_EQ(plan.cached_op, CachedOpAbi::kV2);
    EXPECT_EQ(plan.np_shape, NpShapeAbi::kTriState);
    EXPECT_EQ(abi_generation(plan), "2.0");
  }
}

TEST(RequiredFunctions, EachPathNamesTheVariantsOfItsPlan) {
  const AbiPlan legacy = plan_for_version(10401);
  const AbiPlan v16 = plan_for_version(10600);
  const AbiPlan v20 = plan_for_version(20000);
  EXPECT_TRUE(needs(legacy, LoadApi::kExecutor, "MXSymbolInferShape"));
  EXPECT_TRUE(needs(v16, LoadApi::kExecutor, "MXSymbolInferShapeEx64"));
  EXPECT_TRUE(needs(v20, LoadApi::kExecutor, "MXExecutorBind"));  // so 2.0 is UNSUPPORTED
  EXPECT_TRUE(needs(v20, LoadApi::kPredict, "MXPredCreate"));
  EXPECT_TRUE(needs(v20, LoadApi::kCachedOp, "MXNDArrayGetShape64"));
  EXPECT_TRUE(needs(v20, LoadApi::kCachedOp, "MXNDArrayCreate"));
  EXPECT_TRUE(needs(v20, LoadApi::kCachedOp, "NNSymbolListInputNames"));
  EXPECT_FALSE(needs(legacy, LoadApi::kCachedOp, "MXSetIsNumpyShape"));
  EXPECT_TRUE(needs(v16, LoadApi::kCachedOp, "MXSetIsNumpyShape"));
  EXPECT_FALSE(needs(legacy, LoadApi::kPredict, "MXNDArrayLoad"));  // it takes the bytes
}

TEST(NumpyShapePolicy, LoadsWithGlobalOnFromOneSixAndTriesBothOnOneFive) {
  EXPECT_TRUE(params_load_flags(NpShapeAbi::kNone).empty());
  EXPECT_EQ(params_load_flags(NpShapeAbi::kBool), (std::vector<int>{0, 1}));
  EXPECT_EQ(params_load_flags(NpShapeAbi::kTriState), (std::vector<int>{2}));
}

TEST(NumpyShapePolicy, PredictorTriesTheRunFlagFirst) {
  EXPECT_EQ(predictor_flags(NpShapeAbi::kNone, 0), (std::vector<int>{0}));
  EXPECT_EQ(predictor_flags(NpShapeAbi::kBool, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(predictor_flags(NpShapeAbi::kBool, 1), (std::vector<int>{1, 0}));
  EXPECT_EQ(predictor_flags(NpShapeAbi::kTriState, 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(predictor_flags(NpShapeAbi::kTriState, 1), (std::vector<int>{1, 2}));
}

TEST(NumpyShapePolicy, GraphsRunInTheModeTheyWereSavedIn) {
  EXPECT_EQ(run_flag(false), 0);
  EXPECT_EQ(run_flag(true), 1);
}

TEST(LoadApiNames, RoundTrip) {
  for (LoadApi api : kLoadApis) EXPECT_EQ(load_api_from_name(load_api_name(api)), api);
  EXPECT_FALSE(load_api_from_name("module-load-checkpoint"));
}

}  // namespace
}  // namespace mbcc::capi
