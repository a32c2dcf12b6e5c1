#include "corpus/add.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "corpus/json_reader.hpp"
#include "envs/envs.hpp"
#include "formats/array_file.hpp"
#include "formats/sniff.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kBlockDir = "block";

// Ops whose input 1 is a training label, which inference ignores but Module still binds.
constexpr std::array<std::string_view, 5> kLossOps = {"SoftmaxOutput", "LinearRegressionOutput",
                                                      "LogisticRegressionOutput",
                                                      "MAERegressionOutput", "SVMOutput"};
// How MXNet names what initialisers fill: a variable so named that no array holds is a missing
// parameter, not an input.
constexpr std::array<std::string_view, 8> kParamSuffixes = {
    "weight", "bias", "gamma", "beta", "moving_mean", "moving_var", "running_mean", "running_var"};

Error option_error(std::string_view option, std::string_view text, std::string_view allowed) {
  Error e;
  e.source = std::string(option);
  e.found = std::string(text);
  e.allowed = std::string(allowed);
  return e;
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "NAME=REST" -> {NAME, REST}
std::optional<std::pair<std::string, std::string>> split_name(std::string_view text) {
  std::size_t eq = text.find('=');
  if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

bool is_param_name(std::string_view name) {
  for (std::string_view suffix : kParamSuffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      char before = name[name.size() - suffix.size() - 1];
      if (before == '_' || before == '.') return true;
    }
  }
  return false;
}

std::string strip_arg_aux(const std::string& key) {
  if (key.starts_with("arg:") || key.starts_with("aux:")) return key.substr(4);
  return key;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// The first op node that reads variable `name`, and at which input.
struct Consumer {
  const Node* node = nullptr;
  std::size_t input = 0;
  std::string describe() const {
    return node == nullptr ? "no node" : "node " + node->name + " (" + node->op + ")";
  }
};

Consumer first_consumer(const Graph& graph, std::string_view name) {
  for (const Node& node : graph.nodes) {
    if (node.is_variable()) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Node& in = graph.nodes[node.inputs[i].node_id];
      if (in.is_variable() && in.name == name) return {&node, i};
    }
  }
  return {};
}

const Node* variable(const Graph& graph, std::string_view name) {
  for (const Node& node : graph.nodes) {
    if (node.is_variable() && node.name == name) return &node;
  }
  return nullptr;
}

std::string attr(const Node& node, const std::string& key) {
  auto it = node.attrs.find(key);
  return it == node.attrs.end() ? "" : it->second;
}

// What kind of file `path` is, from its first bytes: a parameters file is read once, by its
// reader, not a second time whole to be sniffed.
Result<FileKind> sniff_head(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::plain(path.string(), "cannot open");
  std::array<char, 4096> head{};
  in.read(head.data(), head.size());
  return sniff_file_kind(
      {reinterpret_cast<const std::byte*>(head.data()), static_cast<std::size_t>(in.gcount())});
}

// What a JSON file is: a graph, or something else named in the error.
Result<UserFile> recognise_json(const fs::path& path, const FileBytes& bytes,
                                std::optional<SymbolFile>& graph) {
  std::string_view text(reinterpret_cast<const char*>(bytes.bytes().data()), bytes.size);
  json value = json::parse(text, nullptr, false);
  if (value.is_object() && value.contains("nodes")) {
    Result<SymbolFile> parsed = parse_symbol_json(text, path.string());
    if (!parsed.ok()) return parsed.error();
    std::string kind = "symbol JSON, " + std::string(generation_name(parsed->generation));
    graph = std::move(*parsed);
    return UserFile{path, FileRole::kSymbol, kind};
  }
  if (value.is_object() && path.filename().string().ends_with("-model.json")) {
    return UserFile{path, FileRole::kModelJson, "Block.save model JSON"};
  }
  return Error::plain(path.string(),
                      "is JSON but neither a symbol graph (no \"nodes\") nor Block.save's "
                      "NAME-model.json");
}

}  // namespace

Result<InputOption> parse_input_option(std::string_view text) {
  constexpr std::string_view kAllowed = "NAME=D1,D2,...[:DTYPE], e.g. data=1,3,224,224:float32";
  auto parts = split_name(text);
  if (!parts) return option_error("--input", text, kAllowed);
  InputOption option;
  option.name = parts->first;
  std::string rest = parts->second;
  std::size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    std::string dtype = rest.substr(colon + 1);
    option.dtype = dtype_from_name(dtype);
    if (!option.dtype) {
      return option_error("--input " + option.name, dtype,
                          join_names(kDTypeTable, &DTypeInfo::name));
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) {
    Shape shape;
    std::string_view dims = rest;
    while (true) {
      std::size_t comma = dims.find(',');
      std::optional<int64_t> dim = parse_int(dims.substr(0, comma));
      if (!dim || *dim <= 0) return option_error("--input " + option.name, rest, kAllowed);
      shape.push_back(*dim);
      if (comma == std::string_view::npos) break;
      dims = dims.substr(comma + 1);
    }
    option.shape = std::move(shape);
  }
  return option;
}

Result<RangeOption> parse_range_option(std::string_view text) {
  constexpr std::string_view kAllowed = "NAME=LOW:HIGH with LOW < HIGH, e.g. tokens=0:1000";
  auto parts = split_name(text);
  if (!parts) return option_error("--input-range", text, kAllowed);
  std::size_t colon = parts->second.find(':');
  if (colon == std::string::npos) return option_error("--input-range", text, kAllowed);
  std::optional<int64_t> low = parse_int(std::string_view(parts->second).substr(0, colon));
  std::optional<int64_t> high = parse_int(std::string_view(parts->second).substr(colon + 1));
  if (!low || !high || *low >= *high) return option_error("--input-range", text, kAllowed);
  return RangeOption{parts->first, *low, *high};
}

Result<InputFileOption> parse_input_file_option(std::string_view text) {
  auto parts = split_name(text);
  if (!parts || parts->second.empty()) {
    return option_error("--input-file", text, "NAME=FILE (.npy, .npz or .params)");
  }
  return InputFileOption{parts->first, parts->second};
}

Result<UserModel> recognise_user_files(const std::vector<fs::path>& files, bool block) {
  UserModel model;
  std::optional<NDArrayList> params;
  for (const fs::path& path : files) {
    Result<FileKind> kind_read = sniff_head(path);
    if (!kind_read.ok()) return kind_read.error();
    FileKind kind = *kind_read;
    if (kind == FileKind::kJson) {
      Result<FileBytes> bytes = read_file(path);
      if (!bytes.ok()) return bytes.error();
      if (model.graph) {
        return Error::plain(path.string(),
                            "a second graph: give one NAME-symbol.json (the other is " +
                                model.graph_file.string() + ")");
      }
      Result<UserFile> file = recognise_json(path, *bytes, model.graph);
      if (!file.ok()) return file.error();
      if (file->role == FileRole::kSymbol) model.graph_file = path;
      if (file->role == FileRole::kModelJson) model.model_json = path;
      model.files.push_back(std::move(*file));
    } else if (kind == FileKind::kNDArrayList || kind == FileKind::kNpz) {
      if (params) {
        return Error::plain(path.string(), "a second parameters file: give one (the other is " +
                                               model.params_file.string() + ")");
      }
      Result<NDArrayList> list = read_array_file(path);
      if (!list.ok()) return list.error();
      if (list->names.size() != list->arrays.size()) {
        return Error::plain(path.string(), "holds a list of arrays without names, not parameters");
      }
      std::string what = kind == FileKind::kNpz ? "npz archive" : "NDArray list";
      if (kind == FileKind::kNDArrayList && !list->arrays.empty()) {
        what += " " + std::string(record_version_name(list->arrays.front().version));
      }
      model.files.push_back({path, FileRole::kParams, "parameters (" + what + ")"});
      model.params_file = path;
      params = std::move(*list);
    } else {
      return Error::plain(path.string(),
                          std::string(file_kind_name(kind)) +
                              ", not a graph (NAME-symbol.json) or a parameters file "
                              "(NAME-NNNN.params, .params, .npz)");
    }
  }
  if (!params) {
    return Error::plain(model.graph_file.empty() ? "mbcc add" : model.graph_file.string(),
                        "no parameters file given: add NAME-NNNN.params");
  }
  for (std::size_t i = 0; i < params->arrays.size(); ++i) {
    model.params.emplace_back(strip_arg_aux(params->names[i]), params->arrays[i].shape);
  }
  if (model.graph) {
    if (block) {
      return Error::plain(model.graph_file.string(),
                          "--block is for a Gluon parameters file alone; a graph needs no code");
    }
    model.np_mode = model.graph->is_np_shape;
    // HybridBlock.export and Module.save_checkpoint write the same two files; 1.x Gluon names
    // every op node <prefix>..._fwd and 2.0 always saves np-shape graphs, Module neither. The
    // load APIs of the two are the same.
    bool gluon = model.np_mode || std::any_of(model.graph->graph.nodes.begin(),
                                              model.graph->graph.nodes.end(), [](const Node& n) {
                                                return !n.is_variable() && n.name.ends_with("_fwd");
                                              });
    model.save_api = gluon ? "gluon-export" : "module-checkpoint";
  } else if (block) {
    model.save_api = model.model_json.empty() ? "gluon-save-parameters" : "gluon-block-save";
  } else if (!model.model_json.empty()) {
    return Error::plain(model.model_json.string(),
                        "Block.save's model JSON needs the code of its Block: give "
                        "--block MODULE:CALLABLE");
  } else {
    return Error::plain(model.params_file.string(),
                        "a parameters file alone needs the code of its Block: give "
                        "--block MODULE:CALLABLE, or the graph NAME-symbol.json beside it");
  }
  return model;
}

Result<ProducerChoice> choose_producer(const UserModel& model, std::string_view given) {
  if (!given.empty()) {
    const envs::ReleaseQuirks* row = envs::find_release(given);
    // A release mbcc has no quirks for is still tried as pip has it (envs::install_plan).
    if (row == nullptr && envs::release_version_number(given) >= 0) {
      return ProducerChoice{std::string(given), "--producer"};
    }
    if (row == nullptr) {
      std::vector<std::string> known;
      for (const envs::ReleaseQuirks& r : envs::release_table()) known.emplace_back(r.release);
      return option_error("--producer", given, join(known));
    }
    return ProducerChoice{std::string(row->release), "--producer"};
  }
  if (!model.graph) {
    return Error::plain(
        model.params_file.string(),
        "a Gluon parameters file records no MXNet version: give --producer VERSION");
  }
  if (!model.graph->version_recorded) {
    return Error::plain(model.graph_file.string(),
                        "the graph records no MXNet version (attrs.mxnet_version): give "
                        "--producer VERSION");
  }
  int recorded = model.graph->producer_version;
  std::vector<std::string> candidates;
  for (const envs::ReleaseQuirks& row : envs::release_table()) {
    if (envs::release_version_number(row.release) == recorded) candidates.emplace_back(row.release);
  }
  std::string number = std::to_string(recorded) + " (" + mxnet_version_string(recorded) + ")";
  if (candidates.empty()) {
    return Error::plain(model.graph_file.string(),
                        "the graph records MXNet " + number +
                            ", which is no release mbcc can install: give --producer VERSION");
  }
  if (candidates.size() > 1) {
    std::string options;
    for (const std::string& c : candidates) {
      options += (options.empty() ? "" : " or ") + std::string("--producer ") + c;
    }
    std::string all = candidates.size() == 2 ? candidates[0] + " and " + candidates[1] + " both"
                                             : join(candidates) + " all";
    return Error::plain(
        model.graph_file.string(),
        "the graph records MXNet " + number + ", which " + all + " record: give " + options);
  }
  return ProducerChoice{candidates.front(),
                        "the graph's mxnet_version " + std::to_string(recorded)};
}

Result<std::vector<InputPlan>> plan_inputs(const UserModel& model, const InputOptions& options) {
  std::map<std::string, Shape> params(model.params.begin(), model.params.end());
  std::vector<std::string> names;
  std::set<std::string> given;
  for (const InputOption& o : options.inputs) given.insert(o.name);
  for (const InputFileOption& o : options.files) given.insert(o.name);
  if (model.graph) {
    const Graph& graph = model.graph->graph;
    std::vector<std::string> arguments = list_arguments(graph);
    std::vector<std::string> aux = list_auxiliary_states(graph);
    std::set<std::string> variables(arguments.begin(), arguments.end());
    variables.insert(aux.begin(), aux.end());
    for (const auto& [name, shape] : model.params) {
      if (!variables.contains(name)) {
        return Error::plain(model.params_file.string(),
                            "array " + name + " is no variable of the graph " +
                                model.graph_file.filename().string() + " (a parameter it lacks)");
      }
    }
    for (const std::string& name : aux) {
      if (!params.contains(name)) {
        return Error::plain(model.params_file.string(),
                            "no array for " + name + ", the auxiliary state of " +
                                first_consumer(graph, name).describe() + " in " +
                                model.graph_file.filename().string());
      }
    }
    for (const std::string& name : arguments) {
      if (params.contains(name)) continue;
      if (is_param_name(name) && !given.contains(name)) {
        return Error::plain(model.params_file.string(),
                            "no array for " + name + ", the parameter of " +
                                first_consumer(graph, name).describe() + " in " +
                                model.graph_file.filename().string() +
                                " (an input of that name needs --input " + name + "=SHAPE)");
      }
      names.push_back(name);
    }
  } else {
    for (const InputOption& o : options.inputs) names.push_back(o.name);
    for (const InputFileOption& o : options.files) {
      if (std::find(names.begin(), names.end(), o.name) == names.end()) names.push_back(o.name);
    }
    if (names.empty()) {
      return Error::plain(
          "--block", "a Block's inputs are not in its files: give --input NAME=SHAPE for each");
    }
  }
  auto unknown = [&](std::string_view option,
                     const std::string& name) -> Result<std::vector<InputPlan>> {
    return option_error(option, name, "an input of the model: " + join(names));
  };
  for (const std::string& name : given) {
    if (std::find(names.begin(), names.end(), name) == names.end()) return unknown("--input", name);
  }
  for (const RangeOption& r : options.ranges) {
    if (std::find(names.begin(), names.end(), r.name) == names.end())
      return unknown("--input-range", r.name);
  }

  std::vector<InputPlan> plans;
  for (const std::string& name : names) {
    InputPlan plan;
    plan.name = name;
    Consumer consumer;
    if (model.graph) {
      const Graph& graph = model.graph->graph;
      consumer = first_consumer(graph, name);
      plan.consumer = consumer.describe();
      const Node* var = variable(graph, name);
      if (std::string flag = var ? attr(*var, "__dtype__") : ""; !flag.empty()) {
        if (std::optional<int64_t> f = parse_int(flag))
          plan.dtype = dtype_from_flag(*f).value_or(plan.dtype);
      }
      if (consumer.node != nullptr) {
        const Node& node = *consumer.node;
        bool loss = std::find(kLossOps.begin(), kLossOps.end(), node.op) != kLossOps.end();
        if (loss && consumer.input == 1) {
          plan.kind = "label";
          plan.range = std::pair<int64_t, int64_t>{0, 1};  // class 0: valid whatever the classes
        } else if (node.op == "Embedding" && consumer.input == 0) {
          plan.kind = "tokens";
          std::optional<int64_t> dim = parse_int(attr(node, "input_dim"));
          if (dim && *dim > 0) plan.range = std::pair<int64_t, int64_t>{0, *dim};
        } else if (node.op == "FullyConnected" && consumer.input == 0 && node.inputs.size() > 1 &&
                   attr(node, "flatten") != "False" && attr(node, "flatten") != "0") {
          // Flattening: the weight's second dimension is the input's size, the batch is free.
          auto weight = params.find(graph.nodes[node.inputs[1].node_id].name);
          if (weight != params.end() && weight->second.size() == 2) {
            plan.shape = Shape{1, weight->second[1]};
          }
        }
      }
    } else {
      plan.consumer = "the Block's forward";
    }
    for (const InputOption& o : options.inputs) {
      if (o.name != name) continue;
      if (o.shape) plan.shape = o.shape;
      if (o.dtype) plan.dtype = *o.dtype;
    }
    for (const RangeOption& r : options.ranges) {
      if (r.name != name) continue;
      plan.range = std::pair<int64_t, int64_t>{r.low, r.high};
      if (plan.kind == "float") plan.kind = "tokens";
    }
    for (const InputFileOption& o : options.files) {
      if (o.name != name) continue;
      Result<NDArrayList> list = read_array_file(o.file);
      if (!list.ok()) return list.error();
      std::optional<std::size_t> index;
      for (std::size_t i = 0; i < list->names.size(); ++i) {
        if (strip_arg_aux(list->names[i]) == name) index = i;
      }
      if (!index && list->arrays.size() == 1) index = 0;
      if (!index) {
        return Error::plain(o.file.string(), "holds no array named " + name + " (it holds " +
                                                 join(list->names) + ")");
      }
      plan.file = fs::absolute(o.file);
      plan.member = list->names.empty() ? "" : list->names[*index];
      plan.shape = list->arrays[*index].values.shape();
      plan.dtype = list->arrays[*index].values.dtype();
      plan.range.reset();
    }
    DTypeKind dkind = dtype_info(plan.dtype).kind;
    if (plan.file.empty() && !plan.range && dkind != DTypeKind::kFloat) {
      return option_error("--input-range", name,
                          name + "=LOW:HIGH: input " + name + " is " +
                              std::string(dtype_info(plan.dtype).name) + " and " + plan.consumer +
                              " gives no range of valid values");
    }
    if (!model.graph && !plan.shape) {
      return option_error("--input", name,
                          name + "=D1,D2,...: a Block's input shapes are not in its files");
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

namespace {

// The Python files of the Block's top-level package (or module) under --python-path.
Result<std::vector<fs::path>> block_sources(const BlockOption& block) {
  std::string module = block.callable.substr(0, block.callable.find(':'));
  std::string top = module.substr(0, module.find('.'));
  fs::path root = block.python_path.empty() ? fs::current_path() : block.python_path;
  std::error_code ec;
  std::vector<fs::path> sources;
  if (fs::is_directory(root / top, ec)) {
    for (fs::recursive_directory_iterator it(root / top, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".py") {
        sources.push_back(it->path().lexically_relative(root));
      }
    }
  } else if (fs::is_regular_file(root / (top + ".py"), ec)) {
    sources.push_back(top + ".py");
  }
  if (sources.empty()) {
    return Error::plain(root.string(), "holds no Python package or module " + top +
                                           " (from --block " + block.callable +
                                           "): give --python-path DIR");
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

// The call that wrote files of `save_api`, as the manifest names it.
std::string writer_of(std::string_view save_api) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kWriters = {{
      {"module-checkpoint", "Module.save_checkpoint"},
      {"gluon-export", "HybridBlock.export"},
      {"gluon-save-parameters", "Block.save_parameters"},
      {"gluon-block-save", "Block.save"},
  }};
  for (const auto& [api, writer] : kWriters) {
    if (api == save_api) return std::string(writer) + " (the user's files)";
  }
  return "the user's files";
}

json input_json(const InputPlan& p) {
  json entry = {{"name", p.name},     {"shape", nullptr},      {"dtype", dtype_info(p.dtype).name},
                {"kind", p.kind},     {"range", nullptr},      {"file", nullptr},
                {"member", p.member}, {"consumer", p.consumer}};
  if (p.shape) entry["shape"] = *p.shape;
  if (p.range) entry["range"] = {p.range->first, p.range->second};
  if (!p.file.empty()) entry["file"] = p.file.string();
  return entry;
}

Status copy_into(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (!ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return Error::plain(from.string(), "cannot copy into the bundle: " + ec.message());
  return Ok{};
}

}  // namespace

Result<AddResult> add_user_model(const AddOptions& options) {
  MBCC_TRY(check_layout_name(options.name, "--name"));
  if (options.block && options.block->callable.find(':') == std::string::npos) {
    return option_error("--block", options.block->callable,
                        "MODULE:CALLABLE, e.g. mynets.cnn:build");
  }
  json kwargs = json::parse(options.block ? options.block->kwargs : "{}", nullptr, false);
  if (!kwargs.is_object()) {
    return option_error("--kwargs", options.block->kwargs, "a JSON object, e.g. {\"classes\": 10}");
  }
  Result<UserModel> model = recognise_user_files(options.files, options.block.has_value());
  if (!model.ok()) return model.error();
  Result<ProducerChoice> producer = choose_producer(*model, options.producer);
  if (!producer.ok()) return producer.error();
  Result<std::vector<InputPlan>> inputs = plan_inputs(*model, options.inputs);
  if (!inputs.ok()) return inputs.error();
  std::vector<fs::path> sources;
  if (options.block) {
    Result<std::vector<fs::path>> found = block_sources(*options.block);
    if (!found.ok()) return found.error();
    sources = std::move(*found);
  }

  if (options.progress)
    options.progress("producer " + producer->release + " (" + producer->producer_from + ")");
  Result<envs::Env> env = envs::install(producer->release, options.env_options);
  if (!env.ok()) {
    Error e = env.error();
    e.detail = "the producer release " + producer->release + " cannot be installed" +
               (e.detail.empty() ? "" : ": " + e.detail);
    return e;
  }

  json spec = {{"name", options.name},
               {"save_api", model->save_api},
               {"model_kind", options.block ? "gluon" : "symbol"},
               {"writer", writer_of(model->save_api)},
               {"np_mode", model->np_mode},
               {"seed", options.seed},
               {"model_files", json::array()},
               {"inputs", json::array()}};
  json origin = {{"kind", "user"},
                 {"command", options.command},
                 {"file_kinds", json::object()},
                 {"producer_from", producer->producer_from}};
  for (const UserFile& f : model->files) {
    std::string path = "model/" + f.path.filename().string();
    spec["model_files"].push_back({{"path", path}, {"role", file_role_name(f.role)}});
    origin["file_kinds"][path] = f.kind;
  }
  for (const fs::path& source : sources) {
    spec["model_files"].push_back({{"path", std::string(kBlockDir) + "/" + source.generic_string()},
                                   {"role", file_role_name(FileRole::kBlockSource)}});
  }
  if (options.block) {
    origin["block"] = {
        {"callable", options.block->callable}, {"kwargs", kwargs}, {"path", kBlockDir}};
  }
  spec["origin"] = origin;
  for (const InputPlan& p : *inputs) spec["inputs"].push_back(input_json(p));

  GenerateOptions generate;
  generate.store = options.store;
  generate.force = options.force;
  generate.python_dir = options.python_dir;
  generate.progress = options.progress;
  ProbeJob job;
  job.prepare = [&](const fs::path& work,
                    const fs::path& probe_dir) -> Result<std::vector<std::string>> {
    fs::path bundle = probe_dir / options.name / model->save_api;
    for (const UserFile& f : model->files) {
      MBCC_TRY(copy_into(f.path, bundle / "model" / f.path.filename()));
    }
    fs::path root = options.block && !options.block->python_path.empty()
                        ? options.block->python_path
                        : fs::current_path();
    for (const fs::path& source : sources)
      MBCC_TRY(copy_into(root / source, bundle / kBlockDir / source));
    std::string text = spec.dump(1) + "\n";
    MBCC_TRY(write_file_atomic(work / "add-spec.json",
                               {reinterpret_cast<const std::byte*>(text.data()), text.size()}));
    return std::vector<std::string>{"add", "--spec", (work / "add-spec.json").string(), "--out",
                                    probe_dir.string()};
  };

  std::error_code ec;
  bool store_existed = fs::exists(options.store, ec);
  ReleaseReport report = probe_into_store(*env, generate, job);
  auto failed = [&](Error e) -> Result<AddResult> {
    if (!store_existed) fs::remove(options.store, ec);  // only if empty: nothing else was there
    return e;
  };
  if (report.error) return failed(*report.error);
  if (report.cases.size() != 1) {
    return failed(Error::plain(
        env->python.string(),
        "the probe reported " + std::to_string(report.cases.size()) + " cases for one model"));
  }
  const CaseReport& c = report.cases.front();
  BundleKey key{producer->release, options.name, model->save_api};
  if (case_outcome_info(c.outcome).is_problem || c.outcome == CaseOutcome::kFailed ||
      c.outcome == CaseOutcome::kSkipped) {
    return failed(Error::plain(key.to_string(),
                               std::string(case_outcome_info(c.outcome).name) + ": " + c.reason));
  }
  return AddResult{key, c.outcome, c.reason, report.probe_time};
}

}  // namespace mbcc::corpus
