#include "capi/library.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace mbcc::capi {
namespace {

Error call_error(std::string_view function, std::string message) {
  Error e;
  e.source = std::string(kMxnetErrorSource);
  e.field = std::string(function);
  e.detail = std::move(message);
  return e;
}

Shape to_shape(const auto* dims, std::size_t ndim) { return Shape(dims, dims + ndim); }

std::size_t byte_count(DType dtype, uint64_t elements) {
  return static_cast<std::size_t>(elements) * dtype_info(dtype).size;
}

// A host buffer that a Tensor can view and keep alive.
struct HostBuffer {
  std::shared_ptr<std::vector<std::byte>> bytes;
  explicit HostBuffer(std::size_t size) : bytes(std::make_shared<std::vector<std::byte>>(size)) {}
  void* data() const { return bytes->data(); }
  Tensor tensor(DType dtype, Shape shape) const {
    return {dtype, std::move(shape), bytes, {bytes->data(), bytes->size()}};
  }
};

Result<std::vector<u32>> to_u32_shape(const Shape& shape) {
  std::vector<u32> dims;
  for (int64_t d : shape) {
    if (d < 0 || d > std::numeric_limits<u32>::max()) {
      Error e = Error::plain("", "a dim does not fit the C API's 32-bit shapes");
      e.found = shape_to_string(shape);
      return e;
    }
    dims.push_back(static_cast<u32>(d));
  }
  return dims;
}

// The shapes MXSymbolInferShape* wrote into thread-local storage, copied out. The legacy
// (unsigned) variant says "unknown" with 0, the numpy-aware ones with -1.
template <class Count, class Ndim, class Dim>
std::vector<std::optional<Shape>> copy_shapes(Count count, const Ndim* ndims, const Dim** dims) {
  constexpr bool kLegacy = std::is_unsigned_v<Ndim>;
  std::vector<std::optional<Shape>> shapes;
  for (Count i = 0; i < count; ++i) {
    const auto ndim = static_cast<int64_t>(ndims[i]);
    if (ndim < 0 || (kLegacy && ndim == 0)) {
      shapes.emplace_back();
      continue;
    }
    Shape shape = to_shape(dims[i], static_cast<std::size_t>(ndim));
    if (kLegacy) std::replace(shape.begin(), shape.end(), int64_t{0}, int64_t{-1});
    shapes.emplace_back(std::move(shape));
  }
  return shapes;
}

template <class Count, class IndPtr, class Ndim, class Dim>
int call_infer_shape(fn::InferShape<Count, IndPtr, Ndim, Dim> infer, MxHandle symbol,
                     std::span<const NamedShape> known, InferredShapes* out) {
  std::vector<const char*> keys;
  std::vector<IndPtr> ind_ptr = {0};
  std::vector<Dim> dims;
  for (const NamedShape& input : known) {
    keys.push_back(input.name.c_str());
    for (int64_t d : input.shape) dims.push_back(static_cast<Dim>(d));
    ind_ptr.push_back(static_cast<IndPtr>(dims.size()));
  }
  Count in_size = 0, out_size = 0, aux_size = 0;
  const Ndim *in_ndim = nullptr, *out_ndim = nullptr, *aux_ndim = nullptr;
  const Dim **in_data = nullptr, **out_data = nullptr, **aux_data = nullptr;
  int complete = 0;
  const int rc = infer(symbol, static_cast<u32>(keys.size()), keys.data(), ind_ptr.data(),
                       dims.data(), &in_size, &in_ndim, &in_data, &out_size, &out_ndim, &out_data,
                       &aux_size, &aux_ndim, &aux_data, &complete);
  if (rc != 0) return rc;
  out->arguments = copy_shapes(in_size, in_ndim, in_data);
  out->outputs = copy_shapes(out_size, out_ndim, out_data);
  out->auxiliary_states = copy_shapes(aux_size, aux_ndim, aux_data);
  out->complete = complete != 0;
  return 0;
}

}  // namespace

Owned& Owned::operator=(Owned&& other) noexcept {
  if (this != &other) {
    Owned old(std::move(*this));
    handle_ = std::exchange(other.handle_, nullptr);
    free_ = other.free_;
  }
  return *this;
}

Owned::~Owned() {
  if (handle_ != nullptr && free_ != nullptr) free_(handle_);
}

Result<std::unique_ptr<Library>> Library::open(const std::filesystem::path& path) {
  void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (dl == nullptr) {
    const char* why = ::dlerror();
    return Error::plain(path.string(), std::string("dlopen: ") + (why ? why : "failed"));
  }
  std::unique_ptr<Library> lib(new Library());
  lib->path_ = path;
  lib->dl_ = dl;
  if (!lib->exports("MXGetLastError")) {
    return Error::plain(path.string(), "does not export MXGetLastError: not a libmxnet.so");
  }
  int version = kVersionWithoutGetVersion;
  if (lib->exports("MXGetVersion")) {
    MBCC_TRY(lib->check(lib->get<fn::GetVersion>("MXGetVersion")(&version), "MXGetVersion"));
    lib->version_reported_ = true;
  }
  lib->plan_ = plan_for_version(version);
  // Up to 1.1 the legacy operators (FullyConnected, …) join the registry only when the op
  // names are listed, as Python's import and MXPredCreate do; graph loads fail until then.
  if (lib->exports("MXListAllOpNames")) {
    u32 count = 0;
    const char** names = nullptr;
    MBCC_TRY(lib->check(lib->get<fn::ListAllOpNames>("MXListAllOpNames")(&count, &names),
                        "MXListAllOpNames"));
  }
  return lib;
}

void* Library::find(std::string_view function) const {
  return ::dlsym(dl_, std::string(function).c_str());
}

template <class F>
F Library::get(std::string_view function) const {
  void* address = find(function);
  // The worker checks exports before it runs a path, so a missing function here is a bug.
  if (address == nullptr) throw std::logic_error(std::string(function) + " is not exported");
  return reinterpret_cast<F>(address);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

bool Library::exports(std::string_view function) const { return find(function) != nullptr; }

std::string_view Library::first_missing(std::span<const std::string_view> functions) const {
  for (std::string_view function : functions) {
    if (!exports(function)) return function;
  }
  return {};
}

std::string Library::last_error() const {
  const char* text = get<fn::GetLastError>("MXGetLastError")();
  return text == nullptr ? std::string() : std::string(text);
}

Status Library::check(int rc, std::string_view function) const {
  if (rc == 0) return Ok{};
  return call_error(function, last_error());
}

void Library::notify_shutdown() const {
  if (exports("MXNotifyShutdown")) get<fn::NotifyShutdown>("MXNotifyShutdown")();
}

Status Library::set_np_shape(int value) const {
  if (plan_.np_shape == NpShapeAbi::kNone) return Ok{};
  int previous = 0;
  return check(get<fn::SetIsNumpyShape>("MXSetIsNumpyShape")(value, &previous),
               "MXSetIsNumpyShape");
}

Owned Library::own_symbol(MxHandle symbol) const {
  return {symbol, get<fn::SymbolFree>("MXSymbolFree")};
}

Owned Library::own_array(MxHandle array) const {
  return {array, get<fn::NDArrayFree>("MXNDArrayFree")};
}

Result<std::vector<std::string>> Library::op_names() const {
  u32 count = 0;
  const char** names = nullptr;
  MBCC_TRY(check(get<fn::ListAllOpNames>("MXListAllOpNames")(&count, &names), "MXListAllOpNames"));
  return std::vector<std::string>(names, names + count);
}

Result<OpInfo> Library::op_info(const std::string& name) const {
  MxHandle op = nullptr;
  MBCC_TRY(check(get<fn::NNGetOpHandle>("NNGetOpHandle")(name.c_str(), &op), "NNGetOpHandle"));
  const char* real_name = nullptr;
  const char* description = nullptr;
  const char* key_var_num_args = nullptr;
  const char* return_type = nullptr;
  u32 count = 0;
  const char** names = nullptr;
  const char** types = nullptr;
  const char** descriptions = nullptr;
  MBCC_TRY(check(get<fn::SymbolGetAtomicSymbolInfo>("MXSymbolGetAtomicSymbolInfo")(
                     op, &real_name, &description, &count, &names, &types, &descriptions,
                     &key_var_num_args, &return_type),
                 "MXSymbolGetAtomicSymbolInfo"));
  OpInfo info;
  info.real_name = real_name == nullptr ? name : real_name;
  info.arg_names.assign(names, names + count);
  info.arg_types.assign(types, types + count);
  info.key_var_num_args = key_var_num_args == nullptr ? "" : key_var_num_args;
  return info;
}

Result<ParserProbe> Library::probe_parser(const std::string& name, const std::string& key,
                                          const std::string& value) const {
  MxHandle op = nullptr;
  MBCC_TRY(check(get<fn::NNGetOpHandle>("NNGetOpHandle")(name.c_str(), &op), "NNGetOpHandle"));
  const char* keys[] = {key.c_str()};
  const char* values[] = {value.c_str()};
  MxHandle symbol = nullptr;
  const int rc =
      get<fn::SymbolCreateAtomicSymbol>("MXSymbolCreateAtomicSymbol")(op, 1, keys, values, &symbol);
  if (rc != 0) return ParserProbe{false, last_error()};
  own_symbol(symbol);  // freed at once: only the refusal mattered
  return ParserProbe{true, ""};
}

Result<Owned> Library::symbol_from_file(const std::filesystem::path& file) const {
  MxHandle symbol = nullptr;
  MBCC_TRY(check(get<fn::SymbolCreateFromFile>("MXSymbolCreateFromFile")(file.c_str(), &symbol),
                 "MXSymbolCreateFromFile"));
  return own_symbol(symbol);
}

Result<std::vector<std::string>> Library::list_names(MxHandle symbol,
                                                     std::string_view function) const {
  u32 count = 0;
  const char** names = nullptr;
  MBCC_TRY(check(get<fn::SymbolList>(function)(symbol, &count, &names), function));
  return std::vector<std::string>(names, names + count);
}

Result<std::vector<std::string>> Library::list_arguments(MxHandle symbol) const {
  return list_names(symbol, "MXSymbolListArguments");
}

Result<std::vector<std::string>> Library::list_outputs(MxHandle symbol) const {
  return list_names(symbol, "MXSymbolListOutputs");
}

Result<std::vector<std::string>> Library::list_auxiliary_states(MxHandle symbol) const {
  return list_names(symbol, "MXSymbolListAuxiliaryStates");
}

Result<std::vector<std::string>> Library::list_inputs(MxHandle symbol) const {
  constexpr int kAllInputs = 0;
  u32 count = 0;
  const char** names = nullptr;
  MBCC_TRY(check(
      get<fn::NNSymbolListInputNames>("NNSymbolListInputNames")(symbol, kAllInputs, &count, &names),
      "NNSymbolListInputNames"));
  return std::vector<std::string>(names, names + count);
}

Result<Owned> Library::internals(MxHandle symbol) const {
  MxHandle out = nullptr;
  MBCC_TRY(check(get<fn::SymbolGetInternals>("MXSymbolGetInternals")(symbol, &out),
                 "MXSymbolGetInternals"));
  return own_symbol(out);
}

Result<Owned> Library::select_outputs(MxHandle symbol, std::span<const std::size_t> indices) const {
  std::vector<Owned> parts;
  std::vector<MxHandle> handles;
  for (std::size_t index : indices) {
    MxHandle part = nullptr;
    MBCC_TRY(
        check(get<fn::SymbolGetOutput>("MXSymbolGetOutput")(symbol, static_cast<u32>(index), &part),
              "MXSymbolGetOutput"));
    parts.push_back(own_symbol(part));
    handles.push_back(part);
  }
  MxHandle group = nullptr;
  MBCC_TRY(check(get<fn::SymbolCreateGroup>("MXSymbolCreateGroup")(static_cast<u32>(handles.size()),
                                                                   handles.data(), &group),
                 "MXSymbolCreateGroup"));
  return own_symbol(group);
}

Result<InferredShapes> Library::infer_shapes(MxHandle symbol,
                                             std::span<const NamedShape> known) const {
  InferredShapes shapes;
  int rc = 0;
  switch (plan_.infer_shape_abi) {
    case ShapeAbi::kUint32:
      rc = call_infer_shape(get<fn::InferShapeU32>(plan_.infer_shape), symbol, known, &shapes);
      break;
    case ShapeAbi::kInt:
      rc = call_infer_shape(get<fn::InferShapeInt>(plan_.infer_shape), symbol, known, &shapes);
      break;
    case ShapeAbi::kInt64:
      rc = call_infer_shape(get<fn::InferShapeInt64>(plan_.infer_shape), symbol, known, &shapes);
      break;
  }
  MBCC_TRY(check(rc, plan_.infer_shape));
  return shapes;
}

Result<std::vector<Owned>> Library::adopt_arrays(MxHandle* arrays, std::size_t count) const {
  std::vector<Owned> owned;
  owned.reserve(count);
  for (std::size_t i = 0; i < count; ++i) owned.push_back(own_array(arrays[i]));
  return owned;
}

Result<LoadedArrays> Library::load_arrays(const std::filesystem::path& file) const {
  // 2.0's npy reader writes neither count nor names: they must start out empty.
  u32 count = 0, name_count = 0;
  MxHandle* arrays = nullptr;
  const char** names = nullptr;
  MBCC_TRY(check(
      get<fn::NDArrayLoad>("MXNDArrayLoad")(file.c_str(), &count, &arrays, &name_count, &names),
      "MXNDArrayLoad"));
  LoadedArrays loaded;
  loaded.names.assign(names, names + name_count);
  auto adopted = adopt_arrays(arrays, count);
  if (!adopted) return adopted.error();
  loaded.arrays = std::move(adopted).value();
  return loaded;
}

Result<Owned> Library::create_array(const Shape& shape, DType dtype,
                                    std::span<const std::byte> bytes) const {
  auto dims = to_u32_shape(shape);
  if (!dims) return dims.error();
  MxHandle array = nullptr;
  MBCC_TRY(check(get<fn::NDArrayCreate>(plan_.create_ndarray)(
                     dims->data(), static_cast<u32>(dims->size()), kDevCpu, 0,
                     /*delay_alloc=*/0, static_cast<int>(dtype), &array),
                 plan_.create_ndarray));
  Owned owned = own_array(array);
  if (!bytes.empty()) {
    MBCC_TRY(check(get<fn::NDArraySyncCopyFromCPU>("MXNDArraySyncCopyFromCPU")(
                       array, bytes.data(), bytes.size() / dtype_info(dtype).size),
                   "MXNDArraySyncCopyFromCPU"));
  }
  return owned;
}

Result<Shape> Library::array_shape(MxHandle array) const {
  const std::string_view function = plan_.get_shape;
  switch (plan_.get_shape_abi) {
    case ShapeAbi::kUint32: {
      u32 ndim = 0;
      const u32* dims = nullptr;
      MBCC_TRY(check(get<fn::NDArrayGetShapeU32>(function)(array, &ndim, &dims), function));
      return to_shape(dims, ndim);
    }
    case ShapeAbi::kInt: {
      int ndim = 0;
      const int* dims = nullptr;
      MBCC_TRY(check(get<fn::NDArrayGetShapeInt>(function)(array, &ndim, &dims), function));
      if (ndim < 0) return call_error(function, "the array's shape is unknown (ndim -1)");
      return to_shape(dims, static_cast<std::size_t>(ndim));
    }
    case ShapeAbi::kInt64: {
      int ndim = 0;
      const int64_t* dims = nullptr;
      MBCC_TRY(check(get<fn::NDArrayGetShapeInt64>(function)(array, &ndim, &dims), function));
      if (ndim < 0) return call_error(function, "the array's shape is unknown (ndim -1)");
      return to_shape(dims, static_cast<std::size_t>(ndim));
    }
  }
  return call_error(function, "unknown shape ABI");
}

Result<DType> Library::array_dtype(MxHandle array) const {
  int flag = -1;
  MBCC_TRY(check(get<fn::NDArrayGetDType>("MXNDArrayGetDType")(array, &flag), "MXNDArrayGetDType"));
  auto dtype = dtype_from_flag(flag);
  if (!dtype) return call_error("MXNDArrayGetDType", "unknown dtype flag " + std::to_string(flag));
  return *dtype;
}

Result<Tensor> Library::copy_to_host(MxHandle array) const {
  auto shape = array_shape(array);
  if (!shape) return shape.error();
  auto dtype = array_dtype(array);
  if (!dtype) return dtype.error();
  auto count = element_count(*shape);
  if (!count) {
    return call_error(plan_.get_shape, "shape " + shape_to_string(*shape) + " has no size");
  }
  HostBuffer buffer(byte_count(*dtype, *count));
  MBCC_TRY(check(get<fn::NDArraySyncCopyToCPU>("MXNDArraySyncCopyToCPU")(
                     array, buffer.data(), static_cast<std::size_t>(*count)),
                 "MXNDArraySyncCopyToCPU"));
  return buffer.tensor(*dtype, std::move(shape).value());
}

Result<Owned> Library::bind(MxHandle symbol, std::span<const MxHandle> arguments,
                            std::span<const MxHandle> auxiliary_states) const {
  std::vector<MxHandle> args(arguments.begin(), arguments.end());
  std::vector<MxHandle> aux(auxiliary_states.begin(), auxiliary_states.end());
  std::vector<MxHandle> no_gradients(args.size(), nullptr);
  std::vector<u32> null_requests(args.size(), 0);  // kNullOp: inference only
  MxHandle executor = nullptr;
  MBCC_TRY(
      check(get<fn::ExecutorBind>("MXExecutorBind")(
                symbol, kDevCpu, 0, static_cast<u32>(args.size()), args.data(), no_gradients.data(),
                null_requests.data(), static_cast<u32>(aux.size()), aux.data(), &executor),
            "MXExecutorBind"));
  return Owned(executor, get<fn::ExecutorFree>("MXExecutorFree"));
}

Result<std::vector<Owned>> Library::forward(MxHandle executor) const {
  MBCC_TRY(check(get<fn::ExecutorForward>("MXExecutorForward")(executor, /*is_train=*/0),
                 "MXExecutorForward"));
  u32 count = 0;
  MxHandle* outputs = nullptr;
  MBCC_TRY(check(get<fn::ExecutorOutputs>("MXExecutorOutputs")(executor, &count, &outputs),
                 "MXExecutorOutputs"));
  return adopt_arrays(outputs, count);
}

Result<Owned> Library::create_cached_op(MxHandle symbol) const {
  MxHandle op = nullptr;
  int rc = 0;
  if (plan_.cached_op == CachedOpAbi::kV1) {
    rc = get<fn::CreateCachedOpV1>("MXCreateCachedOp")(symbol, &op);
  } else {
    rc = get<fn::CreateCachedOpV2>("MXCreateCachedOp")(symbol, 0, nullptr, nullptr, &op,
                                                       /*thread_safe=*/false);
  }
  MBCC_TRY(check(rc, "MXCreateCachedOp"));
  return Owned(op, get<fn::FreeCachedOp>("MXFreeCachedOp"));
}

Result<std::vector<Owned>> Library::invoke_cached_op(MxHandle op,
                                                     std::span<const MxHandle> inputs) const {
  std::vector<MxHandle> in(inputs.begin(), inputs.end());
  int count = 0;
  MxHandle* outputs = nullptr;  // null: MXNet allocates the outputs
  int rc = 0;
  if (plan_.cached_op == CachedOpAbi::kV1) {
    rc = get<fn::InvokeCachedOpV1>("MXInvokeCachedOp")(op, static_cast<int>(in.size()), in.data(),
                                                       &count, &outputs);
  } else {
    const int* storage_types = nullptr;
    rc = get<fn::InvokeCachedOpV2>("MXInvokeCachedOp")(
        op, static_cast<int>(in.size()), in.data(), kDevCpu, 0, &count, &outputs, &storage_types);
  }
  MBCC_TRY(check(rc, "MXInvokeCachedOp"));
  return adopt_arrays(outputs, static_cast<std::size_t>(count));
}

Result<Owned> Library::create_predictor(const std::string& symbol_json,
                                        std::span<const std::byte> param_bytes,
                                        std::span<const NamedShape> inputs) const {
  if (param_bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return call_error("MXPredCreate", "the params file is over 2 GiB, more than it can take");
  }
  std::vector<const char*> keys;
  std::vector<u32> ind_ptr = {0};
  std::vector<u32> dims;
  for (const NamedShape& input : inputs) {
    auto input_dims = to_u32_shape(input.shape);
    if (!input_dims) return input_dims.error();
    keys.push_back(input.name.c_str());
    dims.insert(dims.end(), input_dims->begin(), input_dims->end());
    ind_ptr.push_back(static_cast<u32>(dims.size()));
  }
  MxHandle predictor = nullptr;
  MBCC_TRY(check(get<fn::PredCreate>("MXPredCreate")(symbol_json.c_str(), param_bytes.data(),
                                                     static_cast<int>(param_bytes.size()), kDevCpu,
                                                     0, static_cast<u32>(keys.size()), keys.data(),
                                                     ind_ptr.data(), dims.data(), &predictor),
                 "MXPredCreate"));
  return Owned(predictor, get<fn::PredFree>("MXPredFree"));
}

Status Library::predictor_set_input(MxHandle predictor, const std::string& name,
                                    const Tensor& value) const {
  // The predict API takes float32 only; the caller checks the dtype.
  const auto* data = reinterpret_cast<const float*>(value.bytes().data());  // NOLINT
  return check(get<fn::PredSetInput>("MXPredSetInput")(predictor, name.c_str(), data,
                                                       static_cast<u32>(value.size())),
               "MXPredSetInput");
}

Status Library::predictor_forward(MxHandle predictor) const {
  return check(get<fn::PredForward>("MXPredForward")(predictor), "MXPredForward");
}

Result<Tensor> Library::predictor_output(MxHandle predictor, std::size_t index) const {
  const auto i = static_cast<u32>(index);
  u32* dims = nullptr;
  u32 ndim = 0;
  MBCC_TRY(check(get<fn::PredGetOutputShape>("MXPredGetOutputShape")(predictor, i, &dims, &ndim),
                 "MXPredGetOutputShape"));
  Shape shape = to_shape(dims, ndim);
  DType dtype = DType::kFloat32;  // before 1.6 every predictor output is float32
  if (exports("MXPredGetOutputType")) {
    // It writes out_dtype[index], not out_dtype[0]: give it index + 1 slots.
    std::vector<int> flags(index + 1, -1);
    MBCC_TRY(check(get<fn::PredGetOutputType>("MXPredGetOutputType")(predictor, i, flags.data()),
                   "MXPredGetOutputType"));
    auto found = dtype_from_flag(flags[index]);
    if (!found) {
      return call_error("MXPredGetOutputType",
                        "unknown dtype flag " + std::to_string(flags[index]));
    }
    dtype = *found;
  }
  auto count = element_count(shape);
  if (!count || *count > std::numeric_limits<u32>::max()) {
    return call_error("MXPredGetOutputShape",
                      "output shape " + shape_to_string(shape) + " does not fit MXPredGetOutput");
  }
  HostBuffer buffer(byte_count(dtype, *count));
  // MXPredGetOutput copies `size` elements of the output's own dtype through a float*.
  auto* data = reinterpret_cast<float*>(buffer.data());  // NOLINT
  MBCC_TRY(
      check(get<fn::PredGetOutput>("MXPredGetOutput")(predictor, i, data, static_cast<u32>(*count)),
            "MXPredGetOutput"));
  return buffer.tensor(dtype, std::move(shape));
}

}  // namespace mbcc::capi
