// The MXNet C ABI as mbcc calls it: handle and function-pointer types for every prototype the
// C API worker uses, and the choice of prototypes for an MXGetVersion value. The same name has
// different parameters across releases (MXNDArrayCreate, MXCreateCachedOp, MXInvokeCachedOp in
// 2.0; shape types in 1.5, 1.6, 2.0), so calling through the wrong one corrupts arguments.
// Spec: shared/docs/mxnet-api-evolution.md §1–§3; docs/releases.md for what real wheels export.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mbcc::capi {

using MxHandle = void*;  // NDArrayHandle, SymbolHandle, ExecutorHandle, CachedOpHandle, …

// 0.11.0 exports no MXGetVersion; the worker takes it for this value.
inline constexpr int kVersionWithoutGetVersion = 1100;

// The element type of shape data in GetShape / InferShape.
enum class ShapeAbi {
  kUint32,  // MXNDArrayGetShape, MXSymbolInferShape of 0.11–1.4 (legacy shapes)
  kInt,     // MXNDArrayGetShapeEx, MXSymbolInferShapeEx of 1.5 (numpy-aware)
  kInt64,   // *Ex64 of 1.6–1.9, *64 of 2.0 (numpy-aware, int64 dims, size_t counts)
};

// What MXSetIsNumpyShape takes.
enum class NpShapeAbi {
  kNone,      // before 1.5: no numpy shape semantics at all
  kBool,      // 1.5: 0 off, anything else on (thread-local)
  kTriState,  // 1.6+: 0 off, 1 thread-local on, 2 global on
};

enum class CachedOpAbi {
  kV1,  // MXCreateCachedOp(sym, &op); MXInvokeCachedOp(op, n, in, &nout, &out)
  kV2,  // 2.0: Create(sym, nflags, keys, vals, &op, thread_safe); Invoke adds device, stypes
};

// The prototypes to call on one library, chosen by its MXGetVersion.
struct AbiPlan {
  int version = 0;
  std::string_view get_shape;  // symbol name of the GetShape variant
  ShapeAbi get_shape_abi = ShapeAbi::kUint32;
  std::string_view infer_shape;  // symbol name of the InferShape variant
  ShapeAbi infer_shape_abi = ShapeAbi::kUint32;
  // (u32* shape, u32 ndim, dev_type, dev_id, delay_alloc, int dtype, out): MXNDArrayCreateEx
  // in 1.x; in 2.0 the plain name took these parameters and the Ex name became a macro.
  std::string_view create_ndarray;
  CachedOpAbi cached_op = CachedOpAbi::kV1;
  NpShapeAbi np_shape = NpShapeAbi::kNone;
};

AbiPlan plan_for_version(int version);

// The C API load paths of the worker.
enum class LoadApi {
  kPredict,   // "c-predict": MXPredCreate … MXPredGetOutput (1.x)
  kExecutor,  // "c-executor": MXSymbolInferShape, MXExecutorBind, MXExecutorForward (1.x)
  kCachedOp,  // "c-cachedop": MXCreateCachedOp, MXInvokeCachedOp (every release)
};
inline constexpr std::array<LoadApi, 3> kLoadApis = {LoadApi::kPredict, LoadApi::kExecutor,
                                                     LoadApi::kCachedOp};
std::string_view load_api_name(LoadApi api);
std::optional<LoadApi> load_api_from_name(std::string_view name);

// The functions `api` calls on a library of `plan`; a library that lacks one cannot run it.
std::vector<std::string_view> required_functions(const AbiPlan& plan, LoadApi api);
// What writing every internal output needs on top of the executor or CachedOp path.
std::vector<std::string_view> internals_functions();

// "0.11-1.4", "1.5", "1.6-1.9", "2.0": which row of plan_for_version a plan came from.
std::string_view abi_generation(const AbiPlan& plan);

// The numpy-shape values to load a params file with, tried in order until one works: a file's
// records are either legacy (need off, or "global on" from 1.6) or numpy-shape V3 (need on).
// Empty when the library has no flag to set.
std::vector<int> params_load_flags(NpShapeAbi abi);

// The values to create a predictor with, in order: it reads the params inside the same call,
// so the run flag comes first and the other record kind's value is the fallback.
std::vector<int> predictor_flags(NpShapeAbi abi, int run);

// The flag to bind and run with: on for a graph saved in numpy-shape mode (its JSON carries
// attrs.is_np_shape), else off, so that legacy graphs keep 0 as "unknown dim".
int run_flag(bool graph_is_np_shape);

// ---------------------------------------------------------------------------------------------
// Prototypes. u32 is mx_uint (unsigned int up to 1.5, uint32_t from 1.6: the same ABI).

using u32 = uint32_t;

namespace fn {
using GetLastError = const char* (*)();
using GetVersion = int (*)(int*);
using NotifyShutdown = int (*)();
using SetIsNumpyShape = int (*)(int, int*);
using ListAllOpNames = int (*)(u32*, const char***);

// The operator registry (registry part): an OpHandle is the AtomicSymbolCreator of its op.
using NNGetOpHandle = int (*)(const char*, MxHandle*);
// (creator, name, description, num_args, arg_names, arg_type_infos, arg_descriptions,
//  key_var_num_args, return_type)
using SymbolGetAtomicSymbolInfo = int (*)(MxHandle, const char**, const char**, u32*, const char***,
                                          const char***, const char***, const char**, const char**);
using SymbolCreateAtomicSymbol = int (*)(MxHandle, u32, const char**, const char**, MxHandle*);

using SymbolCreateFromFile = int (*)(const char*, MxHandle*);
using SymbolCreateFromJSON = int (*)(const char*, MxHandle*);
using SymbolFree = int (*)(MxHandle);
using SymbolList = int (*)(MxHandle, u32*, const char***);  // Arguments, Outputs, Aux
using SymbolGetInternals = int (*)(MxHandle, MxHandle*);
using SymbolGetOutput = int (*)(MxHandle, u32, MxHandle*);
using SymbolCreateGroup = int (*)(u32, MxHandle*, MxHandle*);
using NNSymbolListInputNames = int (*)(MxHandle, int, u32*, const char***);

using NDArrayLoad = int (*)(const char*, u32*, MxHandle**, u32*, const char***);
using NDArrayCreate = int (*)(const u32*, u32, int, int, int, int, MxHandle*);
using NDArrayFree = int (*)(MxHandle);
using NDArrayGetDType = int (*)(MxHandle, int*);
using NDArraySyncCopyToCPU = int (*)(MxHandle, void*, std::size_t);
using NDArraySyncCopyFromCPU = int (*)(MxHandle, const void*, std::size_t);
using NDArrayGetShapeU32 = int (*)(MxHandle, u32*, const u32**);
using NDArrayGetShapeInt = int (*)(MxHandle, int*, const int**);
using NDArrayGetShapeInt64 = int (*)(MxHandle, int*, const int64_t**);

// (sym, num_args, keys, arg_ind_ptr, arg_shape_data, in_size, in_ndim, in_data, out_size,
//  out_ndim, out_data, aux_size, aux_ndim, aux_data, complete)
template <class Count, class IndPtr, class Ndim, class Dim>
using InferShape = int (*)(MxHandle, u32, const char**, const IndPtr*, const Dim*, Count*,
                           const Ndim**, const Dim***, Count*, const Ndim**, const Dim***, Count*,
                           const Ndim**, const Dim***, int*);
using InferShapeU32 = InferShape<u32, u32, u32, u32>;
using InferShapeInt = InferShape<u32, u32, int, int>;
using InferShapeInt64 = InferShape<std::size_t, int64_t, int, int64_t>;

using ExecutorBind = int (*)(MxHandle, int, int, u32, MxHandle*, MxHandle*, u32*, u32, MxHandle*,
                             MxHandle*);
using ExecutorForward = int (*)(MxHandle, int);
using ExecutorOutputs = int (*)(MxHandle, u32*, MxHandle**);
using ExecutorFree = int (*)(MxHandle);

using CreateCachedOpV1 = int (*)(MxHandle, MxHandle*);
using CreateCachedOpV2 = int (*)(MxHandle, int, const char**, const char**, MxHandle*, bool);
using InvokeCachedOpV1 = int (*)(MxHandle, int, MxHandle*, int*, MxHandle**);
using InvokeCachedOpV2 = int (*)(MxHandle, int, MxHandle*, int, int, int*, MxHandle**, const int**);
using FreeCachedOp = int (*)(MxHandle);

using PredCreate = int (*)(const char*, const void*, int, int, int, u32, const char**, const u32*,
                           const u32*, MxHandle*);
using PredSetInput = int (*)(MxHandle, const char*, const float*, u32);
using PredForward = int (*)(MxHandle);
using PredGetOutputShape = int (*)(MxHandle, u32, u32**, u32*);
using PredGetOutputType = int (*)(MxHandle, u32, int*);
using PredGetOutput = int (*)(MxHandle, u32, float*, u32);
using PredFree = int (*)(MxHandle);
}  // namespace fn

inline constexpr int kDevCpu = 1;  // dev_type of Context::kCPU

}  // namespace mbcc::capi
