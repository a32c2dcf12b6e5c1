#include "capi/load_paths.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "base/file.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::capi {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<NamedShape> input_shapes(const std::vector<NamedTensor>& inputs) {
  std::vector<NamedShape> shapes;
  shapes.reserve(inputs.size());
  for (const NamedTensor& input : inputs) shapes.push_back({input.name, input.tensor.shape()});
  return shapes;
}

PathRun failed(PathRun run, AnswerStatus status, std::string kind, const Error& error) {
  run.failure = std::make_pair(status, to_failure(std::move(kind), error));
  return run;
}

Error own_error(std::string message) { return Error::plain("", std::move(message)); }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool is_known(const std::optional<Shape>& shape) {
  return shape && std::none_of(shape->begin(), shape->end(), [](int64_t d) { return d < 0; });
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Graphs saved in numpy-shape mode (1.6+) say so in attrs.is_np_shape. The bundle was checked
// with mbcc's reader before the check ran, so an unreadable file here just means "legacy".
bool graph_is_np_shape(const fs::path& symbol_file) {
  auto file = read_symbol_json(symbol_file);
  return file.ok() && file->is_np_shape;
}

// Sets the numpy-shape flag for one scope and puts `after` back at its end, so a failed load
// cannot leak its flag into the next step or request.
class NpShapeScope {
 public:
  NpShapeScope(const Library& library, int value, int after) : library_(library), after_(after) {
    set_status_ = library_.set_np_shape(value);
  }
  ~NpShapeScope() { (void)library_.set_np_shape(after_); }
  NpShapeScope(const NpShapeScope&) = delete;
  NpShapeScope& operator=(const NpShapeScope&) = delete;
  const Status& status() const { return set_status_; }

 private:
  const Library& library_;
  int after_;
  Status set_status_ = Ok{};
};

// MXNDArrayLoad with each flag value of the policy until one works; the first error is kept,
// since the later attempts only exist for the other record kind.
Result<LoadedArrays> load_params(const Library& library, const fs::path& file, int run) {
  const std::vector<int> flags = params_load_flags(library.plan().np_shape);
  if (flags.empty()) return library.load_arrays(file);
  std::optional<Error> first_error;
  for (int flag : flags) {
    NpShapeScope scope(library, flag, run);
    if (!scope.status()) return scope.status().error();
    auto loaded = library.load_arrays(file);
    if (loaded) return loaded;
    if (!first_error) first_error = loaded.error();
  }
  return *first_error;
}

// The params by graph name: `arg:`/`aux:` keys go to their side, unprefixed keys to both.
struct Params {
  LoadedArrays loaded;
  std::map<std::string, MxHandle> arguments;
  std::map<std::string, MxHandle> auxiliary_states;
  std::vector<std::string> keys;  // as written, for warnings about keys that match nothing
};

Result<Params> split_params(LoadedArrays loaded) {
  if (loaded.names.size() != loaded.arrays.size()) {
    return own_error("the params file holds " + std::to_string(loaded.arrays.size()) +
                     " arrays without names (a list save); parameters are matched by name");
  }
  Params params;
  for (std::size_t i = 0; i < loaded.arrays.size(); ++i) {
    const std::string& key = loaded.names[i];
    MxHandle array = loaded.arrays[i].get();
    const std::string_view prefix = std::string_view(key).substr(0, 4);
    if (prefix == "arg:") {
      params.arguments[key.substr(4)] = array;
    } else if (prefix == "aux:") {
      params.auxiliary_states[key.substr(4)] = array;
    } else {
      params.arguments[key] = array;
      params.auxiliary_states[key] = array;
    }
    params.keys.push_back(key);
  }
  params.loaded = std::move(loaded);
  return params;
}

std::vector<std::string> unused_key_warnings(const Params& params,
                                             const std::vector<std::string>& arguments,
                                             const std::vector<std::string>& auxiliary_states) {
  std::vector<std::string> warnings;
  for (const std::string& key : params.keys) {
    const std::string_view prefix = std::string_view(key).substr(0, 4);
    const bool used = prefix == "arg:" ? contains(arguments, key.substr(4))
                      : prefix == "aux:"
                          ? contains(auxiliary_states, key.substr(4))
                          : contains(arguments, key) || contains(auxiliary_states, key);
    if (!used) warnings.push_back("params key '" + key + "' matches no input of the graph");
  }
  return warnings;
}

// Everything a graph can be fed with: the request's inputs as MXNet arrays, then the params.
struct Values {
  std::map<std::string, Owned> inputs;
  const Params* params = nullptr;

  Result<MxHandle> find(const std::string& name, bool is_auxiliary_state) const {
    if (auto it = inputs.find(name); it != inputs.end()) return it->second.get();
    const auto& side = is_auxiliary_state ? params->auxiliary_states : params->arguments;
    if (auto it = side.find(name); it != side.end()) return it->second;
    return own_error(std::string("no value for ") +
                     (is_auxiliary_state ? "auxiliary state '" : "argument '") + name +
                     "': it is neither a request input nor in the params file");
  }
};

struct Loaded {
  Owned symbol;
  Params params;
};

Result<Values> input_arrays(const Library& library, const std::vector<NamedTensor>& inputs,
                            const Params& params) {
  Values values;
  values.params = &params;
  for (const NamedTensor& input : inputs) {
    auto array =
        library.create_array(input.tensor.shape(), input.tensor.dtype(), input.tensor.bytes());
    if (!array) return array.error();
    values.inputs[input.name] = std::move(array).value();
  }
  return values;
}

Result<std::vector<NamedTensor>> read_outputs(const Library& library,
                                              const std::vector<Owned>& arrays,
                                              const std::vector<std::string>& names) {
  if (arrays.size() != names.size()) {
    return own_error(std::to_string(arrays.size()) + " outputs for " +
                     std::to_string(names.size()) + " output names");
  }
  std::vector<NamedTensor> outputs;
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    auto tensor = library.copy_to_host(arrays[i].get());
    if (!tensor) return tensor.error();
    outputs.push_back({names[i], std::move(tensor).value()});
  }
  return outputs;
}

// A graph to run for internals: every output of get_internals() except the variables, whose
// values are inputs or params already. `indices` are positions in get_internals().
struct InternalsGraph {
  Owned symbol;
  std::size_t count = 0;  // outputs of get_internals(), variables included
  std::vector<std::string> names;
  std::vector<std::size_t> indices;
};

Result<InternalsGraph> internals_graph(const Library& library, MxHandle symbol) {
  auto internals = library.internals(symbol);
  if (!internals) return internals.error();
  auto names = library.list_outputs(internals->get());
  if (!names) return names.error();
  auto arguments = library.list_arguments(internals->get());
  if (!arguments) return arguments.error();
  auto auxiliary_states = library.list_auxiliary_states(internals->get());
  if (!auxiliary_states) return auxiliary_states.error();
  InternalsGraph graph;
  graph.count = names->size();
  for (std::size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    if (contains(*arguments, name) || contains(*auxiliary_states, name)) continue;
    graph.names.push_back(name);
    graph.indices.push_back(i);
  }
  auto selected = library.select_outputs(internals->get(), graph.indices);
  if (!selected) return selected.error();
  graph.symbol = std::move(selected).value();
  return graph;
}

// Runs `symbol` once on `values` and returns its outputs; the executor and CachedOp paths
// differ only here.
using RunGraph = std::function<Result<std::vector<Owned>>(MxHandle symbol, const Values&)>;

Result<std::vector<Owned>> run_executor(const Library& library, MxHandle symbol,
                                        const Values& values) {
  auto argument_names = library.list_arguments(symbol);
  if (!argument_names) return argument_names.error();
  auto auxiliary_names = library.list_auxiliary_states(symbol);
  if (!auxiliary_names) return auxiliary_names.error();
  std::vector<MxHandle> arguments, auxiliary_states;
  for (const std::string& name : *argument_names) {
    auto value = values.find(name, false);
    if (!value) return value.error();
    arguments.push_back(*value);
  }
  for (const std::string& name : *auxiliary_names) {
    auto value = values.find(name, true);
    if (!value) return value.error();
    auxiliary_states.push_back(*value);
  }
  auto executor = library.bind(symbol, arguments, auxiliary_states);
  if (!executor) return executor.error();
  return library.forward(executor->get());
}

Result<std::vector<Owned>> run_cached_op(const Library& library, MxHandle symbol,
                                         const Values& values) {
  auto input_names = library.list_inputs(symbol);
  if (!input_names) return input_names.error();
  auto auxiliary_names = library.list_auxiliary_states(symbol);
  if (!auxiliary_names) return auxiliary_names.error();
  std::vector<MxHandle> inputs;
  for (const std::string& name : *input_names) {
    auto value = values.find(name, contains(*auxiliary_names, name));
    if (!value) return value.error();
    inputs.push_back(*value);
  }
  auto op = library.create_cached_op(symbol);
  if (!op) return op.error();
  return library.invoke_cached_op(op->get(), inputs);
}

// Per-node values with subgraph fusion off where the release can turn it off (1.6+): with
// MKLDNN fusion on, 1.9.1 cannot even bind get_internals() of Convolution -> BatchNorm
// ("arg_names.size() == in_args_map.size()").
class UnfusedScope {
 public:
  explicit UnfusedScope(const Library& library) : active_(library.version() >= 10600) {
    if (!active_) return;
    if (const char* old = std::getenv("MXNET_SUBGRAPH_BACKEND")) old_ = old;  // NOLINT
    ::setenv("MXNET_SUBGRAPH_BACKEND", "NONE", 1);
  }
  ~UnfusedScope() {
    if (!active_) return;
    if (old_) {
      ::setenv("MXNET_SUBGRAPH_BACKEND", old_->c_str(), 1);
    } else {
      ::unsetenv("MXNET_SUBGRAPH_BACKEND");
    }
  }
  UnfusedScope(const UnfusedScope&) = delete;
  UnfusedScope& operator=(const UnfusedScope&) = delete;

 private:
  bool active_;
  std::optional<std::string> old_;
};

void add_internals(const Library& library, MxHandle symbol, const Values& values,
                   const RunGraph& run_graph, PathRun& run) {
  if (auto missing = library.first_missing(internals_functions()); !missing.empty()) {
    run.internals_error = Failure{"unsupported", std::string(missing),
                                  "this libmxnet.so does not export " + std::string(missing)};
    return;
  }
  auto graph = internals_graph(library, symbol);
  if (!graph) {
    run.internals_error = to_failure("internals", graph.error());
    return;
  }
  UnfusedScope unfused(library);
  auto arrays = run_graph(graph->symbol.get(), values);
  if (!arrays) {
    run.internals_error = to_failure("internals", arrays.error());
    return;
  }
  auto outputs = read_outputs(library, *arrays, graph->names);
  if (!outputs) {
    run.internals_error = to_failure("internals", outputs.error());
    return;
  }
  for (std::size_t i = 0; i < outputs->size(); ++i) {
    (*outputs)[i].index = static_cast<int>(graph->indices[i]);
  }
  run.internals = std::move(outputs).value();
  run.internals_count = graph->count;
}

// Symbol and params, as the executor and CachedOp paths load them.
PathRun load_graph(const Library& library, const Request& request, int flag, Loaded& loaded) {
  PathRun run;
  const auto start = Clock::now();
  auto symbol = library.symbol_from_file(request.symbol_file);
  if (!symbol) return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", symbol.error());
  loaded.symbol = std::move(symbol).value();
  auto arrays = load_params(library, request.params_file, flag);
  if (!arrays) return failed(std::move(run), AnswerStatus::kLoadFail, "params", arrays.error());
  auto params = split_params(std::move(arrays).value());
  if (!params) return failed(std::move(run), AnswerStatus::kLoadFail, "params", params.error());
  loaded.params = std::move(params).value();
  run.load_ms = ms_since(start);
  return run;
}

// The request's inputs that the graph does not have: a renamed input is a load failure.
std::optional<Error> unknown_inputs(const std::vector<NamedTensor>& inputs,
                                    const std::vector<std::string>& graph_inputs) {
  std::vector<std::string> unknown;
  for (const NamedTensor& input : inputs) {
    if (!contains(graph_inputs, input.name)) unknown.push_back(input.name);
  }
  if (unknown.empty()) return std::nullopt;
  return own_error("the graph has no input named " + joined(unknown) +
                   " (its inputs: " + joined(graph_inputs) + ")");
}

// Shape inference from the input shapes, as Module's bind does before anything runs.
Result<InferredShapes> infer_from_inputs(const Library& library, MxHandle symbol,
                                         const std::vector<NamedTensor>& inputs,
                                         const std::vector<std::string>& argument_names) {
  auto shapes = library.infer_shapes(symbol, input_shapes(inputs));
  if (!shapes) return shapes.error();
  if (shapes->complete) return shapes;
  std::vector<std::string> unknown;
  for (std::size_t i = 0; i < shapes->arguments.size() && i < argument_names.size(); ++i) {
    if (!is_known(shapes->arguments[i])) unknown.push_back(argument_names[i]);
  }
  return own_error("shape inference from the input shapes is incomplete; unknown: " +
                   joined(unknown));
}

// Each param against the inferred shapes, as Module's set_params would: a param of the wrong
// shape is named here rather than deep inside bind.
std::optional<Error> check_param_shapes(const Library& library, const InferredShapes& shapes,
                                        const Values& values,
                                        const std::vector<std::string>& argument_names,
                                        const std::vector<std::string>& auxiliary_names) {
  auto check = [&](const std::vector<std::string>& names,
                   const std::vector<std::optional<Shape>>& expected,
                   bool auxiliary) -> std::optional<Error> {
    for (std::size_t i = 0; i < names.size() && i < expected.size(); ++i) {
      if (values.inputs.count(names[i]) != 0) continue;
      auto value = values.find(names[i], auxiliary);
      if (!value) return value.error();
      auto shape = library.array_shape(*value);
      if (!shape) return shape.error();
      if (expected[i] && *shape != *expected[i]) {
        Error e = own_error("parameter '" + names[i] + "' has the wrong shape");
        e.found = shape_to_string(*shape);
        e.allowed = shape_to_string(*expected[i]) + " (inferred from the inputs)";
        return e;
      }
    }
    return std::nullopt;
  };
  if (auto error = check(argument_names, shapes.arguments, false)) return error;
  return check(auxiliary_names, shapes.auxiliary_states, true);
}

PathRun run_graph_path(const Library& library, const Request& request,
                       const std::vector<NamedTensor>& inputs, int flag) {
  Loaded loaded;
  PathRun run = load_graph(library, request, flag, loaded);
  if (run.failure) return run;
  const auto start = Clock::now();
  const MxHandle symbol = loaded.symbol.get();
  const bool executor = request.load_api == LoadApi::kExecutor;

  auto auxiliary_names = library.list_auxiliary_states(symbol);
  if (!auxiliary_names)
    return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", auxiliary_names.error());
  auto graph_inputs = executor ? library.list_arguments(symbol) : library.list_inputs(symbol);
  if (!graph_inputs)
    return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", graph_inputs.error());
  std::vector<std::string> argument_names;
  for (const std::string& name : *graph_inputs) {
    if (!contains(*auxiliary_names, name)) argument_names.push_back(name);
  }
  if (auto error = unknown_inputs(inputs, argument_names)) {
    return failed(std::move(run), AnswerStatus::kLoadFail, "input_name", *error);
  }
  run.warnings = unused_key_warnings(loaded.params, argument_names, *auxiliary_names);

  auto values = input_arrays(library, inputs, loaded.params);
  if (!values) return failed(std::move(run), AnswerStatus::kRunFail, "input", values.error());
  // A value missing for a graph input is the params file's fault: check before running.
  for (const std::string& name : *graph_inputs) {
    auto value = values->find(name, contains(*auxiliary_names, name));
    if (!value)
      return failed(std::move(run), AnswerStatus::kLoadFail, "param_missing", value.error());
  }
  if (executor) {
    auto shapes = infer_from_inputs(library, symbol, inputs, argument_names);
    if (!shapes)
      return failed(std::move(run), AnswerStatus::kRunFail, "infer_shape", shapes.error());
    if (auto error =
            check_param_shapes(library, *shapes, *values, argument_names, *auxiliary_names)) {
      return failed(std::move(run), AnswerStatus::kLoadFail, "param_shape", *error);
    }
  }

  const RunGraph run_graph = [&library, executor](MxHandle graph, const Values& feed) {
    return executor ? run_executor(library, graph, feed) : run_cached_op(library, graph, feed);
  };
  auto arrays = run_graph(symbol, *values);
  if (!arrays) return failed(std::move(run), AnswerStatus::kRunFail, "forward", arrays.error());
  auto names = library.list_outputs(symbol);
  if (!names) return failed(std::move(run), AnswerStatus::kRunFail, "output", names.error());
  auto outputs = read_outputs(library, *arrays, *names);
  if (!outputs) return failed(std::move(run), AnswerStatus::kRunFail, "output", outputs.error());
  run.outputs = std::move(outputs).value();
  run.run_ms = ms_since(start);
  if (request.internals) add_internals(library, symbol, *values, run_graph, run);
  return run;
}

PathRun run_predict(const Library& library, const Request& request,
                    const std::vector<NamedTensor>& inputs, int flag) {
  PathRun run;
  const auto start = Clock::now();
  // The symbol is loaded on its own first for MXNet's message on a bad file and the names of
  // the outputs, which the predict API does not give.
  auto symbol = library.symbol_from_file(request.symbol_file);
  if (!symbol) return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", symbol.error());
  auto names = library.list_outputs(symbol->get());
  if (!names) return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", names.error());
  auto arguments = library.list_arguments(symbol->get());
  if (!arguments) {
    return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", arguments.error());
  }
  if (auto error = unknown_inputs(inputs, *arguments)) {
    return failed(std::move(run), AnswerStatus::kLoadFail, "input_name", *error);
  }
  auto json = read_file(request.symbol_file);
  if (!json) return failed(std::move(run), AnswerStatus::kLoadFail, "symbol", json.error());
  // MXPredCreate takes the params as bytes: reading the file is mbcc's part.
  auto params = read_file(request.params_file);
  if (!params) return failed(std::move(run), AnswerStatus::kLoadFail, "params", params.error());

  const std::vector<NamedShape> shapes = input_shapes(inputs);
  const auto* text = reinterpret_cast<const char*>(json->bytes().data());  // NOLINT
  const std::string symbol_json(text, json->size);
  std::optional<Error> first_error;
  Owned predictor;
  for (int value : predictor_flags(library.plan().np_shape, flag)) {
    NpShapeScope scope(library, value, flag);
    auto created = library.create_predictor(symbol_json, params->bytes(), shapes);
    if (created) {
      predictor = std::move(created).value();
      break;
    }
    if (!first_error) first_error = created.error();
  }
  if (predictor.get() == nullptr) {
    return failed(std::move(run), AnswerStatus::kLoadFail, "predictor", *first_error);
  }
  run.load_ms = ms_since(start);

  const auto run_start = Clock::now();
  for (const NamedTensor& input : inputs) {
    auto set = library.predictor_set_input(predictor.get(), input.name, input.tensor);
    if (!set) return failed(std::move(run), AnswerStatus::kRunFail, "input", set.error());
  }
  auto forward = library.predictor_forward(predictor.get());
  if (!forward) return failed(std::move(run), AnswerStatus::kRunFail, "forward", forward.error());
  for (std::size_t i = 0; i < names->size(); ++i) {
    auto output = library.predictor_output(predictor.get(), i);
    if (!output) return failed(std::move(run), AnswerStatus::kRunFail, "output", output.error());
    run.outputs.push_back({(*names)[i], std::move(output).value()});
  }
  run.run_ms = ms_since(run_start);
  if (request.internals) {
    run.internals_error =
        Failure{"unsupported", "", "internals are written by c-executor and c-cachedop only"};
  }
  return run;
}

}  // namespace

Failure to_failure(std::string kind, const Error& error) {
  if (error.source == kMxnetErrorSource) return {std::move(kind), error.field, error.detail};
  return {std::move(kind), "", error.message()};
}

PathRun run_load_api(const Library& library, const Request& request,
                     const std::vector<NamedTensor>& inputs) {
  const int flag = run_flag(graph_is_np_shape(request.symbol_file));
  // Every request starts from the C default (off) and leaves it there.
  NpShapeScope scope(library, flag, 0);
  if (!scope.status()) {
    PathRun run;
    return failed(std::move(run), AnswerStatus::kRunFail, "np_shape", scope.status().error());
  }
  return request.load_api == LoadApi::kPredict ? run_predict(library, request, inputs, flag)
                                               : run_graph_path(library, request, inputs, flag);
}

}  // namespace mbcc::capi
