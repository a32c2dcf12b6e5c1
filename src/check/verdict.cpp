#include "check/verdict.hpp"

#include <algorithm>
#include <stdexcept>

namespace mbcc {

std::optional<Verdict> verdict_from_name(std::string_view name) {
  for (const VerdictInfo& info : kVerdictTable) {
    if (info.name == name) return info.verdict;
  }
  return std::nullopt;
}

Verdict apply_expectation(Verdict raw, const VerdictSet* expected) {
  if (expected == nullptr) return raw;
  if (raw == Verdict::kPass) return Verdict::kXPass;
  if (is_failure(raw) && expected->contains(raw)) return Verdict::kXFail;
  return raw;
}

Verdict combine_attempts(std::span<const Verdict> attempts) {
  if (attempts.empty()) throw std::logic_error("combine_attempts: a check ran at least once");
  const Verdict first = attempts.front();
  const bool agree =
      std::all_of(attempts.begin(), attempts.end(), [first](Verdict v) { return v == first; });
  return agree ? first : Verdict::kFlaky;
}

}  // namespace mbcc
