// What the operator registries of every release (part registry) say of a check: which releases
// have the op or argument a LOAD_FAIL message names, and which changed defaults the first
// diverging node of a NUMERIC_DRIFT relies on.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "check/check_result.hpp"
#include "check/plan.hpp"
#include "registry/schema.hpp"

namespace mbcc {

// The dumps of `dir`, read the first time an explanation needs them; none when they cannot be
// read, which leaves every check unexplained.
class RegistryHistory {
 public:
  explicit RegistryHistory(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::vector<registry::Registry>* get();

 private:
  std::filesystem::path dir_;
  bool read_ = false;
  std::optional<std::vector<registry::Registry>> history_;
};

// Fills CandidateMessage::explanation of each check whose message is a missing operator or an
// operator argument and whose candidate has a dump.
void explain_refusals(RegistryHistory& history, std::span<CheckResult> checks);

// Fills DivergingNode::explanation of each check with a first diverging node that leaves unset
// an attribute whose default differs between its producer's and its candidate's dumps: scan's
// default-change finding (registry/scan.hpp) for that node of the graph the bundle's internals
// were computed from. `checks[i]` is the result of `plan.checks[i]`.
void explain_drifts(RegistryHistory& history, const Plan& plan, std::span<CheckResult> checks);

}  // namespace mbcc
