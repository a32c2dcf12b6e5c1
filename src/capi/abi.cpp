#include "capi/abi.hpp"

namespace mbcc::capi {

AbiPlan plan_for_version(int version) {
  AbiPlan plan;
  plan.version = version;
  plan.create_ndarray = "MXNDArrayCreateEx";
  if (version < 10500) {
    plan.get_shape = "MXNDArrayGetShape";
    plan.get_shape_abi = ShapeAbi::kUint32;
    plan.infer_shape = "MXSymbolInferShape";
    plan.infer_shape_abi = ShapeAbi::kUint32;
  } else if (version < 10600) {
    plan.get_shape = "MXNDArrayGetShapeEx";
    plan.get_shape_abi = ShapeAbi::kInt;
    plan.infer_shape = "MXSymbolInferShapeEx";
    plan.infer_shape_abi = ShapeAbi::kInt;
    plan.np_shape = NpShapeAbi::kBool;
  } else if (version < 20000) {
    // GetShape64/InferShape64 are declared in 1.6 but not defined: the Ex64 forms are.
    plan.get_shape = "MXNDArrayGetShapeEx64";
    plan.get_shape_abi = ShapeAbi::kInt64;
    plan.infer_shape = "MXSymbolInferShapeEx64";
    plan.infer_shape_abi = ShapeAbi::kInt64;
    plan.np_shape = NpShapeAbi::kTriState;
  } else {
    plan.get_shape = "MXNDArrayGetShape64";
    plan.get_shape_abi = ShapeAbi::kInt64;
    plan.infer_shape = "MXSymbolInferShape64";
    plan.infer_shape_abi = ShapeAbi::kInt64;
    plan.create_ndarray = "MXNDArrayCreate";
    plan.cached_op = CachedOpAbi::kV2;
    plan.np_shape = NpShapeAbi::kTriState;
  }
  return plan;
}

std::string_view abi_generation(const AbiPlan& plan) {
  if (plan.cached_op == CachedOpAbi::kV2) return "2.0";
  switch (plan.np_shape) {
    case NpShapeAbi::kNone:
      return "0.11-1.4";
    case NpShapeAbi::kBool:
      return "1.5";
    case NpShapeAbi::kTriState:
      return "1.6-1.9";
  }
  return "?";
}

std::string_view load_api_name(LoadApi api) {
  switch (api) {
    case LoadApi::kPredict:
      return "c-predict";
    case LoadApi::kExecutor:
      return "c-executor";
    case LoadApi::kCachedOp:
      return "c-cachedop";
  }
  return "?";
}

std::optional<LoadApi> load_api_from_name(std::string_view name) {
  for (LoadApi api : kLoadApis) {
    if (load_api_name(api) == name) return api;
  }
  return std::nullopt;
}

std::vector<std::string_view> required_functions(const AbiPlan& plan, LoadApi api) {
  std::vector<std::string_view> names = {
      "MXGetLastError", "MXSymbolCreateFromFile", "MXSymbolFree",           "MXSymbolListOutputs",
      "MXNDArrayFree",  "MXNDArrayGetDType",      "MXNDArraySyncCopyToCPU", plan.get_shape,
  };
  if (plan.np_shape != NpShapeAbi::kNone) names.emplace_back("MXSetIsNumpyShape");
  std::vector<std::string_view> own;
  switch (api) {
    case LoadApi::kPredict:
      own = {"MXSymbolListArguments", "MXPredCreate",    "MXPredSetInput", "MXPredForward",
             "MXPredGetOutputShape",  "MXPredGetOutput", "MXPredFree"};
      break;
    case LoadApi::kExecutor:
      own = {"MXNDArrayLoad",  "MXSymbolListArguments", "MXSymbolListAuxiliaryStates",
             plan.infer_shape, plan.create_ndarray,     "MXNDArraySyncCopyFromCPU",
             "MXExecutorBind", "MXExecutorForward",     "MXExecutorOutputs",
             "MXExecutorFree"};
      break;
    case LoadApi::kCachedOp:
      own = {"MXNDArrayLoad",
             "NNSymbolListInputNames",
             "MXSymbolListAuxiliaryStates",
             plan.create_ndarray,
             "MXNDArraySyncCopyFromCPU",
             "MXCreateCachedOp",
             "MXInvokeCachedOp",
             "MXFreeCachedOp"};
      break;
  }
  names.insert(names.end(), own.begin(), own.end());
  return names;
}

std::vector<std::string_view> internals_functions() {
  return {"MXSymbolGetInternals", "MXSymbolGetOutput", "MXSymbolCreateGroup",
          "MXSymbolListArguments", "MXSymbolListAuxiliaryStates"};
}

std::vector<int> params_load_flags(NpShapeAbi abi) {
  switch (abi) {
    case NpShapeAbi::kNone:
      return {};
    case NpShapeAbi::kBool:
      return {0, 1};
    case NpShapeAbi::kTriState:
      return {2};  // "global on" reads legacy and V3 records alike
  }
  return {};
}

std::vector<int> predictor_flags(NpShapeAbi abi, int run) {
  switch (abi) {
    case NpShapeAbi::kNone:
      return {run};
    case NpShapeAbi::kBool:
      return {run, run == 0 ? 1 : 0};
    case NpShapeAbi::kTriState:
      return {run, 2};
  }
  return {run};
}

int run_flag(bool graph_is_np_shape) { return graph_is_np_shape ? 1 : 0; }

}  // namespace mbcc::capi
