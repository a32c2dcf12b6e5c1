#include "registry/scan.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "formats/symbol_upgrade.hpp"

namespace mbcc::registry {
namespace {

constexpr int kFirstAttrsReader = 10000;  // 1.0.0: readers before take only "attr" and "param"

bool is_hidden_key(std::string_view key) {
  return key.size() >= 4 && key.starts_with("__") && key.ends_with("__");
}

class Scanner {
 public:
  explicit Scanner(const ScanTarget& target) : target_(target) {}

  void graph(const Graph& graph) {
    for (const Node& node : graph.nodes) {
      if (!node.is_variable()) this->node(node);
      for (const Graph& subgraph : node.subgraphs) this->graph(subgraph);
    }
  }

  void file_level(const std::string& detail) {
    add(FindingKind::kFormat, "", "", "", detail, nullptr);
  }

  std::vector<Finding> take() { return std::move(findings_); }

 private:
  const Change* change(const Node& node, std::string_view attribute) const {
    return target_.diff == nullptr ? nullptr : target_.diff->find(node.op, attribute);
  }

  void add(FindingKind kind, const std::string& node, const std::string& op,
           const std::string& attribute, std::string detail, const Change* change) {
    Finding finding{kind,
                    node,
                    op,
                    attribute,
                    target_.candidate->release,
                    target_.producer == nullptr ? "" : target_.producer->release,
                    std::move(detail),
                    std::nullopt};
    if (change != nullptr) finding.change = *change;
    findings_.push_back(std::move(finding));
  }

  void node(const Node& node) {
    const Registry& candidate = *target_.candidate;
    const Op* op = candidate.find(node.op);
    if (op == nullptr) {
      add(FindingKind::kOpMissing, node.name, node.op, "",
          candidate.release + " has no op or alias named " + node.op, change(node, ""));
      return;
    }
    const bool strict = op->parser == Parser::kStrict;
    for (const auto& [key, value] : node.attrs) {
      if (is_hidden_key(key) || key == op->key_var_num_args) continue;
      const Arg* arg = op->find_accepted(key);
      if (arg == nullptr) {
        if (op->parser == Parser::kUnknown) continue;  // free-form kwargs (Custom)
        add(strict ? FindingKind::kAttrRefused : FindingKind::kAttrIgnored, node.name, node.op, key,
            strict
                ? op->name + " in " + candidate.release + " has no argument " + key
                : op->name + " in " + candidate.release + " has no parser: " + key + " is ignored",
            change(node, key));
        continue;
      }
      if (strict && arg->type == "enum" &&
          std::find(arg->enum_values.begin(), arg->enum_values.end(),
                    canonical_value(*arg, value)) == arg->enum_values.end()) {
        add(FindingKind::kValueRefused, node.name, node.op, key,
            "'" + value + "' is not one of " + arg->type_string, change(node, key));
      }
    }
    if (strict) {
      for (const Arg& arg : op->accepted()) {
        if (arg.required && !node.attrs.contains(arg.name)) {
          add(FindingKind::kRequiredMissing, node.name, node.op, arg.name,
              arg.name + " is required in " + candidate.release + " and the node does not set it",
              change(node, arg.name));
        }
      }
    }
    defaults(node, *op);
  }

  // Unset attributes whose default differs between producer and candidate.
  void defaults(const Node& node, const Op& op) {
    if (target_.producer == nullptr) return;
    const Op* old_op = target_.producer->find(node.op);
    if (old_op == nullptr) return;
    for (const Arg& arg : op.accepted()) {
      if (!arg.default_value || node.attrs.contains(arg.name)) continue;
      const Arg* old_arg = old_op->find_accepted(arg.name);
      if (old_arg == nullptr || !old_arg->default_value) continue;
      if (canonical_value(*old_arg, *old_arg->default_value) ==
          canonical_value(arg, *arg.default_value)) {
        continue;
      }
      add(FindingKind::kDefaultChanged, node.name, node.op, arg.name,
          "unset; default '" + *old_arg->default_value + "' in " + target_.producer->release +
              ", '" + *arg.default_value + "' in " + target_.candidate->release,
          change(node, arg.name));
    }
  }

  const ScanTarget& target_;
  std::vector<Finding> findings_;
};

}  // namespace

std::string_view finding_kind_name(FindingKind kind) {
  switch (kind) {
    case FindingKind::kFormat:
      return "format";
    case FindingKind::kOpMissing:
      return "op_missing";
    case FindingKind::kAttrRefused:
      return "attribute_refused";
    case FindingKind::kValueRefused:
      return "value_refused";
    case FindingKind::kRequiredMissing:
      return "required_missing";
    case FindingKind::kAttrIgnored:
      return "attribute_ignored";
    case FindingKind::kDefaultChanged:
      return "default_changed";
  }
  return "format";
}

bool is_fatal(FindingKind kind) {
  return kind != FindingKind::kAttrIgnored && kind != FindingKind::kDefaultChanged;
}

std::vector<Finding> scan_graph(const SymbolFile& file, const ScanTarget& target) {
  Scanner scanner(target);
  const int version = target.candidate->mxnet_version;
  if (version < kFirstAttrsReader && (file.generation == Generation::kNnvmAttrs ||
                                      file.generation == Generation::kNnvmSubgraphs)) {
    scanner.file_level("the file's nodes use \"attrs\"; the JSON reader of " +
                       target.candidate->release + " knows only \"attr\" and \"param\"");
    return scanner.take();
  }
  const Loader loader{version, version >= kMxnetVersion200};
  scanner.graph(upgrade_symbol(file, loader).graph);
  return scanner.take();
}

}  // namespace mbcc::registry
