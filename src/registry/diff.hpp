// What changed in the operator registry between two releases A and B, and what each change
// does to files: backward (files A wrote, read by B) and forward (files B wrote, read by A).
// The judgement of each kind of change is one table, kRules in diff.cpp (and the README).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registry/schema.hpp"

namespace mbcc::registry {

enum class ChangeKind {
  kOpAdded,
  kOpRemoved,
  kAliasAdded,
  kAliasRemoved,
  kAliasRetargeted,  // a name now means another op
  kArgAddedRequired,
  kArgAddedOptional,
  kArgRemovedRequired,
  kArgRemovedOptional,
  kArgBecameRequired,
  kArgBecameOptional,
  kArgRetyped,
  kEnumValuesAdded,
  kEnumValuesRemoved,
  kDefaultChanged,  // compared as values (canonical_value), not as printed
  kInputsChanged,
  kVariadicKeyChanged,
  kParserAdded,  // A took any key, B's parser refuses unknown ones
  kParserRemoved,
};

// What a change does to the files of one direction.
enum class Effect {
  kOk,             // no file is affected
  kBreaks,         // every file that uses the op (or name) fails to load
  kBreaksIfSet,    // files that set the attribute (or this value) fail to load
  kBreaksIfUnset,  // files that leave the attribute unset fail to load
  kSilent,         // files that leave it unset load and compute with another value
  kReview,         // may change what files mean; a person must look
};
std::string_view effect_name(Effect effect);
bool is_break(Effect effect);  // kBreaks, kBreaksIfSet, kBreaksIfUnset

struct Rule {
  ChangeKind kind;
  std::string_view name;  // "arg_added_optional"
  Effect backward;
  Effect forward;
  std::string_view why;
};
std::span<const Rule> rules();
const Rule& rule(ChangeKind kind);

struct Change {
  ChangeKind kind;
  std::string op;         // the name in A (for kOpAdded / kAliasAdded: in B)
  std::string op_in_b;    // where the name leads in B, when that differs from `op`
  std::string attribute;  // "" for op-level changes
  std::string before;     // A's side: type string, default, alias target, … ("" when none)
  std::string after;      // B's side
  std::vector<std::string> values;  // enum values added or removed
  // "Pooling.layout: argument added (optional, default 'None')"
  std::string describe() const;
};

struct Diff {
  std::string from;  // A
  std::string to;    // B
  std::vector<Change> changes;
  // The change about `attribute` of the op a file names `op` ("" attribute: the op itself).
  const Change* find(std::string_view op, std::string_view attribute) const;
};

Diff diff_registries(const Registry& a, const Registry& b);

}  // namespace mbcc::registry
