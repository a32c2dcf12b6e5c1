// Library: one libmxnet.so loaded into this process through dlopen (never dlclose'd: engine
// threads and OpenMP state do not survive an unload), its functions resolved with dlsym by the
// AbiPlan of its MXGetVersion. Each operation here has one signature whatever the release, so
// the load paths never see a prototype. A failed MXNet call is an Error whose `field` is the
// MXNet function and whose `detail` is MXGetLastError's text, unchanged.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "capi/abi.hpp"
#include "tensor/tensor.hpp"

namespace mbcc::capi {

// Error::source of a failed MXNet call (field: the function, detail: MXGetLastError's text).
inline constexpr std::string_view kMxnetErrorSource = "libmxnet";

// An MXNet handle and the function that frees it.
class Owned {
 public:
  using Free = int (*)(MxHandle);
  Owned() = default;
  Owned(MxHandle handle, Free free) : handle_(handle), free_(free) {}
  Owned(Owned&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), free_(other.free_) {}
  Owned& operator=(Owned&& other) noexcept;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned();
  MxHandle get() const { return handle_; }

 private:
  MxHandle handle_ = nullptr;
  Free free_ = nullptr;
};

// Arrays as MXNDArrayLoad returns them: names are empty for a file saved as a list.
struct LoadedArrays {
  std::vector<Owned> arrays;
  std::vector<std::string> names;
};

// MXSymbolInferShape's answer, in ListArguments / ListOutputs / ListAuxiliaryStates order:
// nullopt where nothing is known, -1 for an unknown dim (the legacy variant's 0 included).
struct InferredShapes {
  std::vector<std::optional<Shape>> arguments;
  std::vector<std::optional<Shape>> outputs;
  std::vector<std::optional<Shape>> auxiliary_states;
  bool complete = false;
};

// One registry entry as MXSymbolGetAtomicSymbolInfo reports it (for an alias: its real op).
struct OpInfo {
  std::string real_name;
  std::vector<std::string> arg_names;
  std::vector<std::string> arg_types;  // dmlc type strings: "int, optional, default='1'"
  std::string key_var_num_args;        // "" when the op has no variadic-count key
};

// What MXSymbolCreateAtomicSymbol did with one key its op cannot know.
struct ParserProbe {
  bool accepted = false;  // true: the op has no parameter parser, it takes any key
  std::string message;    // MXGetLastError's text when it refused
};

struct NamedShape {
  std::string name;
  Shape shape;
};

class Library {
 public:
  // dlopen(RTLD_NOW | RTLD_LOCAL), then MXGetVersion. Fails when the file cannot be loaded or
  // does not export MXGetLastError (then it is not MXNet).
  static Result<std::unique_ptr<Library>> open(const std::filesystem::path& path);
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const AbiPlan& plan() const { return plan_; }
  int version() const { return plan_.version; }
  bool version_reported() const { return version_reported_; }  // false: no MXGetVersion
  bool exports(std::string_view function) const;
  // The first of `functions` this library does not export, or "" when it exports them all.
  std::string_view first_missing(std::span<const std::string_view> functions) const;

  std::string last_error() const;
  void notify_shutdown() const;

  // No-op on releases without numpy shape semantics.
  Status set_np_shape(int value) const;

  // Every registered op name, aliases included, copied out of MXNet's thread-local buffer.
  Result<std::vector<std::string>> op_names() const;
  Result<OpInfo> op_info(const std::string& name) const;
  // Creates op `name` with the single attribute key=value, which its parser (if any) refuses.
  Result<ParserProbe> probe_parser(const std::string& name, const std::string& key,
                                   const std::string& value) const;

  Result<Owned> symbol_from_file(const std::filesystem::path& file) const;
  Result<std::vector<std::string>> list_arguments(MxHandle symbol) const;
  Result<std::vector<std::string>> list_outputs(MxHandle symbol) const;
  Result<std::vector<std::string>> list_auxiliary_states(MxHandle symbol) const;
  // Every graph input in the order CachedOp takes them (NNSymbolListInputNames, option 0).
  Result<std::vector<std::string>> list_inputs(MxHandle symbol) const;
  Result<Owned> internals(MxHandle symbol) const;
  // A symbol of outputs `indices` of `symbol`, in that order.
  Result<Owned> select_outputs(MxHandle symbol, std::span<const std::size_t> indices) const;
  Result<InferredShapes> infer_shapes(MxHandle symbol, std::span<const NamedShape> known) const;

  Result<LoadedArrays> load_arrays(const std::filesystem::path& file) const;
  // A CPU array of `shape` and `dtype`, holding a copy of `bytes` when they are given.
  Result<Owned> create_array(const Shape& shape, DType dtype,
                             std::span<const std::byte> bytes = {}) const;
  Result<Shape> array_shape(MxHandle array) const;
  Result<DType> array_dtype(MxHandle array) const;
  Result<Tensor> copy_to_host(MxHandle array) const;

  Result<Owned> bind(MxHandle symbol, std::span<const MxHandle> arguments,
                     std::span<const MxHandle> auxiliary_states) const;
  // Forward in inference mode; the outputs are fresh handles.
  Result<std::vector<Owned>> forward(MxHandle executor) const;

  Result<Owned> create_cached_op(MxHandle symbol) const;
  // Inputs in list_inputs order; on CPU, with MXNet allocating the outputs.
  Result<std::vector<Owned>> invoke_cached_op(MxHandle op, std::span<const MxHandle> inputs) const;

  // The predict API: one call loads the params from `param_bytes` and binds.
  Result<Owned> create_predictor(const std::string& symbol_json,
                                 std::span<const std::byte> param_bytes,
                                 std::span<const NamedShape> inputs) const;
  Status predictor_set_input(MxHandle predictor, const std::string& name,
                             const Tensor& value) const;
  Status predictor_forward(MxHandle predictor) const;
  Result<Tensor> predictor_output(MxHandle predictor, std::size_t index) const;

 private:
  Library() = default;
  void* find(std::string_view function) const;
  template <class F>
  F get(std::string_view function) const;
  Status check(int rc, std::string_view function) const;
  Result<std::vector<std::string>> list_names(MxHandle symbol, std::string_view function) const;
  Result<std::vector<Owned>> adopt_arrays(MxHandle* arrays, std::size_t count) const;
  Owned own_symbol(MxHandle symbol) const;
  Owned own_array(MxHandle array) const;

  std::filesystem::path path_;
  void* dl_ = nullptr;
  AbiPlan plan_;
  bool version_reported_ = false;
};

}  // namespace mbcc::capi
