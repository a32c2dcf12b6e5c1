#include "formats/op_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <unordered_map>

namespace mbcc {
namespace {

using Names = std::vector<std::string>;

// Counts taken from attributes (num_args, num_outputs) above this are treated as malformed:
// no real graph comes near it, and it bounds what a hostile file can make mbcc allocate.
constexpr uint32_t kMaxCount = 4096;

// Reads the attributes an op's rules depend on the way dmlc::Parameter parses them, and keeps
// the first problem (missing required value, malformed value) instead of failing.
class AttrReader {
 public:
  explicit AttrReader(const AttrMap& attrs) : attrs_(attrs) {}

  const std::string& problem() const { return problem_; }

  // dmlc bool: "true"/"false" in any case, or "1"/"0".
  bool flag(const std::string& key, bool fallback) {
    const std::string* value = find(key);
    if (value == nullptr) return fallback;
    std::string lower = *value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true" || lower == "1") return true;
    if (lower == "false" || lower == "0") return false;
    fail(key, *value, "True or False");
    return fallback;
  }

  // A count such as num_args; required when `fallback` is empty.
  uint32_t count(const std::string& key, std::optional<uint32_t> fallback, uint32_t min = 0) {
    const std::string* value = find(key);
    if (value == nullptr) {
      if (!fallback) fail(key, "", "a value (the attribute is required)");
      return fallback.value_or(min);
    }
    std::string_view text = trim(*value);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    uint32_t parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || parsed < min ||
        parsed > kMaxCount) {
      fail(key, *value, "an integer in " + std::to_string(min) + ".." + std::to_string(kMaxCount));
      return min;
    }
    return parsed;
  }

  // A dmlc enum: the exact spelling of one of `allowed`; required when `fallback` is empty.
  std::string_view choice(const std::string& key, std::initializer_list<std::string_view> allowed,
                          std::optional<std::string_view> fallback) {
    const std::string* value = find(key);
    if (value == nullptr) {
      if (!fallback) fail(key, "", "a value (the attribute is required)");
      return fallback.value_or(*allowed.begin());
    }
    for (std::string_view option : allowed) {
      if (*value == option) return option;
    }
    std::string list;
    for (std::string_view option : allowed)
      list += (list.empty() ? "" : ", ") + std::string(option);
    fail(key, *value, "one of " + list);
    return fallback.value_or(*allowed.begin());
  }

  // The number of elements of a tuple attribute such as "(0, 3, 5)" or "[2]"; required.
  uint32_t tuple_size(const std::string& key) {
    const std::string* value = find(key);
    if (value == nullptr) {
      fail(key, "", "a tuple (the attribute is required)");
      return 0;
    }
    std::string_view text = trim(*value);
    if (text.size() < 2 || !((text.front() == '(' && text.back() == ')') ||
                             (text.front() == '[' && text.back() == ']'))) {
      fail(key, *value, "a tuple such as (0, 3)");
      return 0;
    }
    text = trim(text.substr(1, text.size() - 2));
    uint32_t elements = 0;
    while (!text.empty()) {
      size_t comma = text.find(',');
      if (!trim(text.substr(0, comma)).empty()) ++elements;
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    if (elements > kMaxCount)
      fail(key, *value, "at most " + std::to_string(kMaxCount) + " elements");
    return std::min(elements, kMaxCount);
  }

 private:
  static std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
      text.remove_suffix(1);
    }
    return text;
  }

  const std::string* find(const std::string& key) const {
    auto it = attrs_.find(key);
    return it == attrs_.end() ? nullptr : &it->second;
  }

  void fail(const std::string& key, const std::string& value, const std::string& expected) {
    if (!problem_.empty()) return;
    problem_ = "attribute " + key + (value.empty() ? " missing" : " = '" + value + "'") +
               ", expected " + expected;
  }

  const AttrMap& attrs_;
  std::string problem_;
};

Names numbered(std::string_view prefix, uint32_t count) {
  Names names;
  names.reserve(count);
  for (uint32_t i = 0; i < count; ++i) names.push_back(std::string(prefix) + std::to_string(i));
  return names;
}

Names default_output_names(uint32_t count) {
  Names names;
  names.reserve(count);
  for (uint32_t i = 0; i < count; ++i) names.push_back(default_output_name(i, count));
  return names;
}

// A signature with these inputs (nullopt: no FListInputNames) and named outputs, of which the
// first `visible` are visible (0: all).
OpSignature make(std::optional<Names> inputs, Names outputs = {"output"}, uint32_t visible = 0) {
  OpSignature sig;
  sig.input_names = std::move(inputs);
  sig.num_outputs = static_cast<uint32_t>(outputs.size());
  sig.max_num_outputs = sig.num_outputs;
  sig.num_visible_outputs = visible == 0 ? sig.num_outputs : visible;
  sig.output_names = std::move(outputs);
  return sig;
}

// Inputs 3 and 4 (moving_mean, moving_var) are aux states, initialised to zero and one.
OpSignature batch_norm(Names outputs, uint32_t visible) {
  OpSignature sig = make(Names{"data", "gamma", "beta", "moving_mean", "moving_var"},
                         std::move(outputs), visible);
  sig.mutable_inputs = {3, 4};
  sig.init_hints = {{3, R"(["zero", {}])"}, {4, R"(["one", {}])"}};
  return sig;
}

Names with_bias(bool no_bias) {
  return no_bias ? Names{"data", "weight"} : Names{"data", "weight", "bias"};
}

Names with_sequence_length(AttrReader& a) {
  return a.flag("use_sequence_length", false) ? Names{"data", "sequence_length"} : Names{"data"};
}

// Control-flow ops list their graph inputs among the input names, then data0, data1, ...
OpSignature control_flow(AttrReader& a, Names graph_inputs) {
  auto graphs = static_cast<uint32_t>(graph_inputs.size());
  uint32_t num_args = a.count("num_args", std::nullopt, graphs);
  Names inputs = std::move(graph_inputs);
  for (std::string& name : numbered("data", num_args - graphs)) inputs.push_back(std::move(name));
  return make(std::move(inputs), default_output_names(a.count("num_outputs", std::nullopt, 1)));
}

using Rule = OpSignature (*)(AttrReader&);

OpSignature unnamed_input(AttrReader&) { return make(std::nullopt); }
OpSignature data_input(AttrReader&) { return make(Names{"data"}); }
OpSignature a_input(AttrReader&) { return make(Names{"a"}); }
OpSignature x_input(AttrReader&) { return make(Names{"x"}); }
OpSignature lhs_rhs(AttrReader&) { return make(Names{"lhs", "rhs"}); }
OpSignature data_label(AttrReader&) { return make(Names{"data", "label"}); }
OpSignature numbered_args(AttrReader& a) {
  return make(numbered("arg", a.count("num_args", std::nullopt, 1)));
}

struct OpEntry {
  std::string_view name;
  Rule rule;
};

// Ops by canonical name. Where 1.9.1 and 2.0 differ in something visible here, the comment
// says which one the entry follows.
const auto kOps = std::to_array<OpEntry>({
    // Layers.
    {"FullyConnected", [](AttrReader& a) { return make(with_bias(a.flag("no_bias", false))); }},
    {"Convolution", [](AttrReader& a) { return make(with_bias(a.flag("no_bias", false))); }},
    {"Deconvolution", [](AttrReader& a) { return make(with_bias(a.flag("no_bias", true))); }},
    {"Pooling",
     [](AttrReader& a) {
       OpSignature sig = make(Names{"data"}, {"output", "workspace"}, 1);
       // oneDNN builds add a hidden workspace output to non-average pooling.
       sig.num_outputs = 1;
       sig.max_num_outputs =
           a.choice("pool_type", {"max", "avg", "sum", "lp"}, "max") == "avg" ? 1 : 2;
       return sig;
     }},
    {"Activation", unnamed_input},
    {"LeakyReLU",
     [](AttrReader& a) {
       std::string_view act =
           a.choice("act_type", {"rrelu", "leaky", "prelu", "elu", "selu", "gelu"}, "leaky");
       OpSignature sig = make(act == "prelu" ? Names{"data", "gamma"} : Names{"data"},
                              act == "rrelu" ? Names{"output", "mask"} : Names{"output"});
       sig.init_hints = {{1, R"(["Constant", {"value": 0.25}])"}};
       return sig;
     }},
    {"BatchNorm",
     [](AttrReader& a) {
       return batch_norm({"output", "mean", "var"}, a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"BatchNorm_v1",  // 1.x only
     [](AttrReader& a) {
       return batch_norm({"output", "mean", "var"}, a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"CuDNNBatchNorm",
     [](AttrReader&) {
       return batch_norm({"output", "mean", "var"}, 1);
     }},
    {"_contrib_SyncBatchNorm",
     [](AttrReader& a) {
       return batch_norm({"output", "mean", "var"}, a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"_contrib_BatchNormWithReLU",
     [](AttrReader& a) {
       return batch_norm({"output", "mean", "var", "workspace"},
                         a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"LayerNorm",
     [](AttrReader& a) {
       return make(Names{"data", "gamma", "beta"}, {"output", "mean", "std"},
                   a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"GroupNorm",
     [](AttrReader& a) {
       return make(Names{"data", "gamma", "beta"}, {"output", "mean", "std"},
                   a.flag("output_mean_var", false) ? 3 : 1);
     }},
    {"InstanceNorm",  // output names as in 1.x; 2.0 names only "output", the one visible
     [](AttrReader&) {
       return make(Names{"data", "gamma", "beta"}, {"output", "mean", "var"}, 1);
     }},
    {"IdentityAttachKLSparseReg",
     [](AttrReader&) {
       OpSignature sig = make(Names{"data", "moving_avg"});
       sig.mutable_inputs = {1};
       sig.init_hints = {{1, R"(["zero", {}])"}};
       return sig;
     }},
    {"Dropout",
     [](AttrReader&) {
       return make(Names{"data"}, {"output", "mask"}, 1);
     }},
    {"LRN",
     [](AttrReader&) {
       return make(Names{"data"}, {"output", "tmp_norm"}, 1);
     }},
    {"Embedding",
     [](AttrReader&) {
       return make(Names{"data", "weight"});
     }},
    {"RNN",
     [](AttrReader& a) {
       bool lstm =
           a.choice("mode", {"rnn_relu", "rnn_tanh", "lstm", "gru"}, std::nullopt) == "lstm";
       Names inputs{"data", "parameters", "state"};
       if (lstm) inputs.emplace_back("state_cell");
       if (a.flag("use_sequence_length", false)) inputs.emplace_back("sequence_length");
       Names outputs{"output"};
       if (a.flag("state_outputs", false)) {
         outputs.emplace_back("state_output");
         if (lstm) outputs.emplace_back("statecell_output");
       }
       return make(std::move(inputs), std::move(outputs));
     }},
    {"UpSampling",
     [](AttrReader& a) {
       bool nearest = a.choice("sample_type", {"nearest", "bilinear"}, std::nullopt) == "nearest";
       OpSignature sig = make(nearest ? numbered("arg", a.count("num_args", std::nullopt, 1))
                                      : Names{"data", "weight"});
       sig.init_hints = {{1, R"(["bilinear", {}])"}};
       return sig;
     }},
    {"Pad", data_input},
    {"Crop", numbered_args},
    {"SwapAxis", data_input},
    {"SequenceLast", [](AttrReader& a) { return make(with_sequence_length(a)); }},
    {"SequenceReverse", [](AttrReader& a) { return make(with_sequence_length(a)); }},
    {"SequenceMask", [](AttrReader& a) { return make(with_sequence_length(a)); }},
    // Heads and losses.
    {"SoftmaxOutput", data_label},
    {"LinearRegressionOutput", data_label},
    {"LogisticRegressionOutput", data_label},
    {"MAERegressionOutput", data_label},
    {"MakeLoss", data_input},
    {"make_loss", [](AttrReader&) { return make(std::nullopt, {"loss"}); }},
    {"softmax",
     [](AttrReader& a) {
       return make(a.flag("use_length", false) ? Names{"data", "length"} : Names{"data"});
     }},
    {"log_softmax", data_input},
    {"masked_softmax",
     [](AttrReader&) {
       return make(Names{"data", "mask"});
     }},  // 2.0
    {"SoftmaxActivation", unnamed_input},
    // Joining and splitting.
    {"Concat", numbered_args},
    {"_rnn_param_concat", numbered_args},
    {"add_n", numbered_args},
    {"stack", numbered_args},
    {"SliceChannel",
     [](AttrReader& a) {
       // Legacy op: its outputs are numbered even when there is only one.
       return make(Names{"data"}, numbered("output", a.count("num_outputs", std::nullopt, 1)));
     }},
    {"_split_v2",
     [](AttrReader& a) {
       uint32_t sections = a.count("sections", 0);
       uint32_t outputs = sections > 0 ? sections : a.tuple_size("indices");
       return make(Names{"data"}, default_output_names(std::max(outputs, 1u)));
     }},
    // Control flow, with the body graphs in "subgraphs".
    {"_foreach", [](AttrReader& a) { return control_flow(a, {"fn"}); }},
    {"_while_loop",
     [](AttrReader& a) {
       return control_flow(a, {"cond", "func"});
     }},
    {"_cond",
     [](AttrReader& a) {
       return control_flow(a, {"cond", "then_branch", "else_branch"});
     }},
    // Shape, copy and creation.
    {"Flatten", unnamed_input},
    {"Reshape", unnamed_input},
    {"slice", unnamed_input},
    {"slice_axis", unnamed_input},
    {"transpose", unnamed_input},
    {"expand_dims", unnamed_input},
    {"clip", unnamed_input},
    {"Cast", unnamed_input},
    {"_copy", unnamed_input},
    {"BlockGrad", unnamed_input},
    {"zeros_like", unnamed_input},
    {"ones_like", unnamed_input},
    {"_zeros", unnamed_input},
    {"_ones", unnamed_input},
    {"_full", unnamed_input},
    {"_arange", unnamed_input},
    {"take", [](AttrReader&) { return make(Names{"a", "indices"}); }},
    {"one_hot", [](AttrReader&) { return make(Names{"indices"}); }},
    // Arithmetic and reductions.
    {"elemwise_add", lhs_rhs},
    {"elemwise_sub", lhs_rhs},
    {"elemwise_mul", lhs_rhs},
    {"elemwise_div", lhs_rhs},
    {"broadcast_add", lhs_rhs},
    {"broadcast_sub", lhs_rhs},
    {"broadcast_mul", lhs_rhs},
    {"broadcast_div", lhs_rhs},
    {"_plus_scalar", unnamed_input},
    {"_minus_scalar", unnamed_input},
    {"_rminus_scalar", unnamed_input},
    {"_mul_scalar", unnamed_input},
    {"_div_scalar", unnamed_input},
    {"_rdiv_scalar", unnamed_input},
    {"_power_scalar", unnamed_input},
    {"mean", unnamed_input},
    {"sum", unnamed_input},
    {"argmax", unnamed_input},
    {"argmin", unnamed_input},
    {"tanh", unnamed_input},
    {"sigmoid", unnamed_input},
    {"relu", unnamed_input},
    // 2.0 numpy ops (Gluon 2.0 records these by deferred compute).
    {"_npi_add", lhs_rhs},
    {"_npi_subtract", lhs_rhs},
    {"_npi_multiply", lhs_rhs},
    {"_npi_true_divide", lhs_rhs},
    {"_npi_power", lhs_rhs},
    {"_npi_add_scalar", unnamed_input},
    {"_npi_subtract_scalar", unnamed_input},
    {"_npi_rsubtract_scalar", unnamed_input},
    {"_npi_multiply_scalar", unnamed_input},
    {"_npi_true_divide_scalar", unnamed_input},
    {"_npi_rtrue_divide_scalar", unnamed_input},
    {"_npi_power_scalar", unnamed_input},
    {"_npi_tanh", x_input},
    {"_npi_exp", x_input},
    {"_npi_log", x_input},
    {"_npi_sqrt", x_input},
    {"_npi_square", x_input},
    {"_npi_negative", x_input},
    {"_npi_absolute", x_input},
    {"_npx_relu", unnamed_input},
    {"_npx_sigmoid", unnamed_input},
    {"_npi_copy", a_input},
    {"_npi_transpose", a_input},
    {"_npi_mean", a_input},
    {"_npi_sum", a_input},
    {"_npi_max", a_input},
    {"_npi_min", a_input},
    {"_npi_squeeze", a_input},
    {"_npi_full_like", a_input},
    {"_npx_reshape", a_input},
    {"_np_reshape", a_input},
    {"_npi_pad", data_input},
    {"_npi_argmax", unnamed_input},
    {"_npi_argmin", unnamed_input},
    {"_npi_zeros", unnamed_input},
    {"_npi_ones", unnamed_input},
    {"_npi_full", unnamed_input},
    {"_npi_arange", unnamed_input},
    {"_npi_where", [](AttrReader&) { return make(Names{"condition", "x", "y"}); }},
    {"_npi_matmul", [](AttrReader&) { return make(Names{"a", "b"}, {"out"}); }},
    {"_npi_dot", [](AttrReader&) { return make(Names{"a", "b"}); }},
});

struct Alias {
  std::string_view alias;
  std::string_view canonical;
};

// Registered aliases (add_alias) in 1.9.1 or 2.0. A graph names an op by its canonical name,
// but every alias loads too.
constexpr auto kAliases = std::to_array<Alias>({
    {"_npx_fully_connected", "FullyConnected"},
    {"_npx_convolution", "Convolution"},
    {"_npx_deconvolution", "Deconvolution"},
    {"_npx_pooling", "Pooling"},
    {"_npx_activation", "Activation"},
    {"_npx_leaky_relu", "LeakyReLU"},
    {"_npx_batch_norm", "BatchNorm"},
    {"_npx_sync_batch_norm", "_contrib_SyncBatchNorm"},
    {"_npx_layer_norm", "LayerNorm"},
    {"_npx_group_norm", "GroupNorm"},
    {"_npx_instance_norm", "InstanceNorm"},
    {"_npx_dropout", "Dropout"},
    {"_npx_embedding", "Embedding"},
    {"_npx_rnn", "RNN"},
    {"_npi_rnn_param_concat", "_rnn_param_concat"},
    {"pad", "Pad"},
    {"_npx_pad", "Pad"},
    {"swapaxes", "SwapAxis"},
    {"_npi_swapaxes", "SwapAxis"},
    {"_npx_sequence_last", "SequenceLast"},
    {"_npx_sequence_reverse", "SequenceReverse"},
    {"_npx_sequence_mask", "SequenceMask"},
    {"Softmax", "SoftmaxOutput"},
    {"_npx_softmax", "softmax"},
    {"_npx_log_softmax", "log_softmax"},
    {"_npx_masked_softmax", "masked_softmax"},
    {"concat", "Concat"},
    {"_npi_concatenate", "Concat"},
    {"ElementWiseSum", "add_n"},
    {"_npx_add_n", "add_n"},
    {"_npi_stack", "stack"},
    {"split", "SliceChannel"},
    {"_npx_slice_channel", "SliceChannel"},
    {"_npi_split", "_split_v2"},
    {"_npi_array_split", "_split_v2"},
    {"flatten", "Flatten"},
    {"_npx_batch_flatten", "Flatten"},
    {"reshape", "Reshape"},
    {"_npi_reshape", "_npx_reshape"},
    {"crop", "slice"},
    {"_npi_slice", "slice"},
    {"_npx_slice", "slice"},
    {"_npi_expand_dims", "expand_dims"},
    {"_npi_clip", "clip"},
    {"cast", "Cast"},
    {"_npi_cast", "Cast"},
    {"_npx_cast", "Cast"},
    {"identity", "_copy"},
    {"stop_gradient", "BlockGrad"},
    {"_npx_stop_gradient", "BlockGrad"},
    {"_npi_take", "take"},
    {"_npx_one_hot", "one_hot"},
    {"_add", "elemwise_add"},
    {"_plus", "elemwise_add"},
    {"_Plus", "elemwise_add"},
    {"_sub", "elemwise_sub"},
    {"_minus", "elemwise_sub"},
    {"_Minus", "elemwise_sub"},
    {"_mul", "elemwise_mul"},
    {"_Mul", "elemwise_mul"},
    {"_div", "elemwise_div"},
    {"_Div", "elemwise_div"},
    {"broadcast_plus", "broadcast_add"},
    {"broadcast_minus", "broadcast_sub"},
    {"_PlusScalar", "_plus_scalar"},
    {"_MinusScalar", "_minus_scalar"},
    {"_RMinusScalar", "_rminus_scalar"},
    {"_MulScalar", "_mul_scalar"},
    {"_DivScalar", "_div_scalar"},
    {"_RDivScalar", "_rdiv_scalar"},
    {"_PowerScalar", "_power_scalar"},
    {"sum_axis", "sum"},
    {"_npi_amax", "_npi_max"},
});

const std::unordered_map<std::string_view, const OpEntry*>& ops_by_name() {
  static const std::unordered_map<std::string_view, const OpEntry*> table = [] {
    std::unordered_map<std::string_view, const OpEntry*> map;
    for (const OpEntry& entry : kOps) map.emplace(entry.name, &entry);
    for (const Alias& alias : kAliases) map.emplace(alias.alias, map.at(alias.canonical));
    return map;
  }();
  return table;
}

const OpEntry* find_op(std::string_view op) {
  const auto& table = ops_by_name();
  auto it = table.find(op);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace

OpLookup lookup_op(std::string_view op, const AttrMap& attrs) {
  OpLookup lookup;
  const OpEntry* entry = find_op(op);
  if (entry == nullptr) {
    lookup.signature = make(std::nullopt);
    lookup.problem = "op " + std::string(op) + " unknown to mbcc: aux/output names may be wrong";
    return lookup;
  }
  lookup.canonical_name = entry->name;
  AttrReader reader(attrs);
  lookup.signature = entry->rule(reader);
  if (!reader.problem().empty()) {
    lookup.signature = make(std::nullopt);
    lookup.problem = "op " + std::string(op) + ": " + reader.problem() +
                     "; assuming no aux inputs and one output";
  }
  return lookup;
}

std::optional<std::string_view> canonical_op_name(std::string_view op) {
  const OpEntry* entry = find_op(op);
  if (entry == nullptr) return std::nullopt;
  return entry->name;
}

std::string default_output_name(uint32_t index, uint32_t num_outputs) {
  return num_outputs == 1 ? "output" : "output" + std::to_string(index);
}

std::vector<std::string_view> known_ops() {
  std::vector<std::string_view> names;
  names.reserve(kOps.size());
  for (const OpEntry& entry : kOps) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace mbcc
