// The static scan: a graph file checked against a candidate's registry before anything runs.
// Findings: an op the candidate lacks, an attribute or value its parser refuses, a required
// attribute missing (fatal only where the op has a parser, as the dump records), an attribute
// the parser-less op will ignore, and an attribute left unset whose default differs between
// the producer and the candidate (loads, but computes with another value).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/symbol_json.hpp"
#include "registry/diff.hpp"
#include "registry/schema.hpp"

namespace mbcc::registry {

enum class FindingKind {
  kFormat,           // the candidate's JSON reader refuses the file as a whole
  kOpMissing,        // fatal
  kAttrRefused,      // fatal: the op's parser does not know the key
  kValueRefused,     // fatal: not one of the enum's values
  kRequiredMissing,  // fatal
  kAttrIgnored,      // the op has no parser: the key is kept and ignored
  kDefaultChanged,   // the node leaves it unset and the two releases' defaults differ
};
std::string_view finding_kind_name(FindingKind kind);
bool is_fatal(FindingKind kind);

struct Finding {
  FindingKind kind;
  std::string node;
  std::string op;
  std::string attribute;  // "" for op- and file-level findings
  std::string candidate;
  std::string producer;          // "" when unknown
  std::string detail;            // what was found, with both values for a default change
  std::optional<Change> change;  // the change in diff(producer, candidate) that explains it
};

struct ScanTarget {
  const Registry* candidate = nullptr;
  const Registry* producer = nullptr;  // may be null: no default comparison, no explanation
  const Diff* diff = nullptr;          // diff(producer, candidate) when the producer is known
};

// Scans every node (nested graphs too) of `file` as `target.candidate` loads it, after the
// candidate's load-time upgrade (symbol_upgrade.hpp).
std::vector<Finding> scan_graph(const SymbolFile& file, const ScanTarget& target);

}  // namespace mbcc::registry
