#include "registry/diff.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <stdexcept>
#include <utility>

namespace mbcc::registry {
namespace {

using enum ChangeKind;
using enum Effect;

// The judgement rules, in the spirit of PyTorch's schema check and TensorFlow's op history:
// a change is judged by what it does to a file that stores each node's op name and only the
// attributes its author set (MXNet writes no defaults and has no upgrader after 0.9.5).
constexpr std::array kRules = {
    Rule{kOpAdded, "op_added", kOk, kBreaks, "A does not know the op"},
    Rule{kOpRemoved, "op_removed", kBreaks, kOk, "B does not know the op"},
    Rule{kAliasAdded, "alias_added", kOk, kBreaks, "A does not know the name"},
    Rule{kAliasRemoved, "alias_removed", kBreaks, kOk, "B does not know the name"},
    Rule{kAliasRetargeted, "alias_retargeted", kReview, kReview,
         "the name leads to another op, parsed by another schema"},
    Rule{kArgAddedRequired, "arg_added_required", kBreaks, kBreaks,
         "A's files lack it; B's files set it and A refuses it"},
    Rule{kArgAddedOptional, "arg_added_optional", kOk, kBreaksIfSet,
         "A's parser refuses it where B's files set it"},
    Rule{kArgRemovedRequired, "arg_removed_required", kBreaks, kBreaks,
         "A's files set it and B refuses it; B's files lack it and A requires it"},
    Rule{kArgRemovedOptional, "arg_removed_optional", kBreaksIfSet, kOk,
         "B's parser refuses it where A's files set it"},
    Rule{kArgBecameRequired, "arg_became_required", kBreaksIfUnset, kOk,
         "A's files that relied on the default lack it"},
    Rule{kArgBecameOptional, "arg_became_optional", kOk, kBreaksIfUnset,
         "B's files that rely on the new default lack it"},
    Rule{kArgRetyped, "arg_retyped", kReview, kReview, "a value may parse differently"},
    Rule{kEnumValuesAdded, "enum_values_added", kOk, kBreaksIfSet,
         "A refuses the new values where B's files use them"},
    Rule{kEnumValuesRemoved, "enum_values_removed", kBreaksIfSet, kOk,
         "B refuses the old values where A's files use them"},
    Rule{kDefaultChanged, "default_changed", kSilent, kSilent,
         "files that leave it unset compute with the other release's default"},
    Rule{kInputsChanged, "inputs_changed", kReview, kReview, "the op's documented inputs differ"},
    Rule{kVariadicKeyChanged, "variadic_key_changed", kReview, kReview,
         "the key that counts the inputs differs"},
    Rule{kParserAdded, "parser_added", kBreaksIfSet, kOk,
         "B refuses keys A ignored, where A's files set them"},
    Rule{kParserRemoved, "parser_removed", kOk, kBreaksIfSet,
         "A refuses keys B ignores, where B's files set them"},
};
static_assert(kRules.size() == static_cast<std::size_t>(kParserRemoved) + 1,
              "one rule per ChangeKind");

std::string default_text(const Arg& arg) {
  return arg.required ? "required" : "default '" + arg.default_value.value_or("") + "'";
}

void diff_args(const Op& a, const Op& b, const std::string& op, const std::string& op_in_b,
               std::vector<Change>& out) {
  auto add = [&](ChangeKind kind, const std::string& attribute, std::string before,
                 std::string after, std::vector<std::string> values = {}) {
    out.push_back(
        {kind, op, op_in_b, attribute, std::move(before), std::move(after), std::move(values)});
  };
  for (const Arg& old_arg : a.accepted()) {
    const Arg* new_arg = b.find_accepted(old_arg.name);
    if (new_arg == nullptr) {
      add(old_arg.required ? kArgRemovedRequired : kArgRemovedOptional, old_arg.name,
          old_arg.type_string, "");
      continue;
    }
    if (old_arg.required != new_arg->required) {
      add(new_arg->required ? kArgBecameRequired : kArgBecameOptional, old_arg.name,
          default_text(old_arg), default_text(*new_arg));
    }
    const bool both_enum = old_arg.type == "enum" && new_arg->type == "enum";
    if (old_arg.type != new_arg->type) {
      add(kArgRetyped, old_arg.name, old_arg.type_string, new_arg->type_string);
    } else if (both_enum) {
      const std::set<std::string> before(old_arg.enum_values.begin(), old_arg.enum_values.end());
      const std::set<std::string> after(new_arg->enum_values.begin(), new_arg->enum_values.end());
      std::vector<std::string> added, removed;
      std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                          std::back_inserter(added));
      std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                          std::back_inserter(removed));
      if (!added.empty()) {
        add(kEnumValuesAdded, old_arg.name, old_arg.type_string, new_arg->type_string, added);
      }
      if (!removed.empty()) {
        add(kEnumValuesRemoved, old_arg.name, old_arg.type_string, new_arg->type_string, removed);
      }
    }
    if (old_arg.default_value && new_arg->default_value &&
        canonical_value(old_arg, *old_arg.default_value) !=
            canonical_value(*new_arg, *new_arg->default_value)) {
      add(kDefaultChanged, old_arg.name, *old_arg.default_value, *new_arg->default_value);
    }
  }
  for (const Arg& new_arg : b.accepted()) {
    if (a.find_accepted(new_arg.name) != nullptr) continue;
    add(new_arg.required ? kArgAddedRequired : kArgAddedOptional, new_arg.name, "",
        new_arg.type_string);
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

void diff_ops(const Op& a, const Op& b, const std::string& op, const std::string& op_in_b,
              std::vector<Change>& out) {
  if (a.inputs != b.inputs) {
    out.push_back({kInputsChanged, op, op_in_b, "", join(a.inputs), join(b.inputs), {}});
  }
  if (a.key_var_num_args != b.key_var_num_args) {
    out.push_back(
        {kVariadicKeyChanged, op, op_in_b, "", a.key_var_num_args, b.key_var_num_args, {}});
  }
  if (a.parser == Parser::kNone && b.parser == Parser::kStrict) {
    out.push_back({kParserAdded, op, op_in_b, "", "none", "strict", {}});
  } else if (a.parser == Parser::kStrict && b.parser == Parser::kNone) {
    out.push_back({kParserRemoved, op, op_in_b, "", "strict", "none", {}});
  }
  // Arguments of an op without a parser are documentation only: nothing checks them.
  if (a.parser == Parser::kNone && b.parser == Parser::kNone) return;
  diff_args(a, b, op, op_in_b, out);
}

// Every name a release knows: canonical names and aliases.
std::set<std::string> all_names(const Registry& registry) {
  std::set<std::string> names;
  for (const auto& [name, op] : registry.ops) names.insert(name);
  for (const auto& [alias, target] : registry.alias_of) names.insert(alias);
  return names;
}

}  // namespace

std::string_view effect_name(Effect effect) {
  switch (effect) {
    case kOk:
      return "ok";
    case kBreaks:
      return "breaks";
    case kBreaksIfSet:
      return "breaks-if-set";
    case kBreaksIfUnset:
      return "breaks-if-unset";
    case kSilent:
      return "silent";
    case kReview:
      return "review";
  }
  return "review";
}

bool is_break(Effect effect) {
  return effect == kBreaks || effect == kBreaksIfSet || effect == kBreaksIfUnset;
}

std::span<const Rule> rules() { return kRules; }

const Rule& rule(ChangeKind kind) { return kRules.at(static_cast<std::size_t>(kind)); }

std::string Change::describe() const {
  const std::string name = op_in_b.empty() ? op : op + " (" + op_in_b + " in B)";
  const std::string where = attribute.empty() ? name : name + "." + attribute;
  switch (kind) {
    case kOpAdded:
      return where + ": op added";
    case kOpRemoved:
      return where + ": op removed";
    case kAliasAdded:
      return where + ": name added, an alias of " + after;
    case kAliasRemoved:
      return where + ": name removed (it was an alias of " + before + ")";
    case kAliasRetargeted:
      return where + ": the name leads to " + after + ", was " + before;
    case kArgAddedRequired:
      return where + ": required argument added (" + after + ")";
    case kArgAddedOptional:
      return where + ": argument added (" + after + ")";
    case kArgRemovedRequired:
    case kArgRemovedOptional:
      return where + ": argument removed (was " + before + ")";
    case kArgBecameRequired:
    case kArgBecameOptional:
      return where + ": " + before + " became " + after;
    case kArgRetyped:
      return where + ": type " + before + " became " + after;
    case kEnumValuesAdded:
      return where + ": values added: " + join(values);
    case kEnumValuesRemoved:
      return where + ": values removed: " + join(values);
    case kDefaultChanged:
      return where + ": default " + before + " became " + after;
    case kInputsChanged:
      return where + ": inputs (" + before + ") became (" + after + ")";
    case kVariadicKeyChanged:
      return where + ": variadic-count key '" + before + "' became '" + after + "'";
    case kParserAdded:
      return where + ": now has a parser that refuses unknown keys";
    case kParserRemoved:
      return where + ": no longer has a parser; takes any key";
  }
  return where;
}

const Change* Diff::find(std::string_view op, std::string_view attribute) const {
  for (const Change& change : changes) {
    if ((change.op == op || change.op_in_b == op) && change.attribute == attribute) return &change;
  }
  return nullptr;
}

Diff diff_registries(const Registry& a, const Registry& b) {
  Diff diff{a.release, b.release, {}};
  std::set<std::pair<std::string, std::string>> compared;  // (A's op, B's op) pairs done
  const std::set<std::string> names_a = all_names(a);
  const std::set<std::string> names_b = all_names(b);
  for (const std::string& name : names_a) {
    const Op* op_a = a.find(name);
    const Op* op_b = b.find(name);
    const bool alias_in_a = op_a->name != name;
    if (op_b == nullptr) {
      diff.changes.push_back({alias_in_a ? kAliasRemoved : kOpRemoved,
                              name,
                              "",
                              "",
                              alias_in_a ? op_a->name : "",
                              "",
                              {}});
      continue;
    }
    if (op_a->name != op_b->name) {
      diff.changes.push_back({kAliasRetargeted, name, op_b->name, "", op_a->name, op_b->name, {}});
    }
    if (!compared.emplace(op_a->name, op_b->name).second) continue;
    diff_ops(*op_a, *op_b, op_a->name, op_b->name == op_a->name ? "" : op_b->name, diff.changes);
  }
  for (const std::string& name : names_b) {
    if (names_a.contains(name)) continue;
    const Op* op_b = b.find(name);
    const bool alias_in_b = op_b->name != name;
    diff.changes.push_back(
        {alias_in_b ? kAliasAdded : kOpAdded, name, "", "", "", alias_in_b ? op_b->name : "", {}});
  }
  return diff;
}

}  // namespace mbcc::registry
