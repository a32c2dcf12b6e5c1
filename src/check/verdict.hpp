// Verdicts: how one check ended. The whole taxonomy is the table below (design.md, "Verdicts"),
// and the only place an expectation changes a verdict is apply_expectation.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace mbcc {

enum class Verdict {
  kPass,
  kXFail,
  kUnsupported,
  kSkipped,
  kArtifactCorrupt,
  kLoadFail,
  kRunFail,
  kCrash,
  kTimeout,
  kShapeMismatch,
  kDTypeMismatch,
  kNumericDrift,
  kNanIntroduced,
  kXPass,
  kFlaky,
};

struct VerdictInfo {
  Verdict verdict;
  std::string_view name;  // as written in reports and the expectations file
  std::string_view code;  // two letters for the terminal matrix: lower case unless a failure
  bool is_failure;
  std::string_view meaning;
};

inline constexpr std::array<VerdictInfo, 15> kVerdictTable{{
    {Verdict::kPass, "PASS", "ok", false, "loaded, and every output is within tolerance"},
    {Verdict::kXFail, "XFAIL", "xf", false, "failed the way an expectation entry says"},
    {Verdict::kUnsupported, "UNSUPPORTED", "un", false,
     "the load API does not exist on the candidate or does not apply to the bundle"},
    {Verdict::kSkipped, "SKIPPED", "sk", false, "left out by the user's filter"},
    {Verdict::kArtifactCorrupt, "ARTIFACT_CORRUPT", "AC", true,
     "a bundle file fails its sha256 or mbcc's readers reject it (the store's fault)"},
    {Verdict::kLoadFail, "LOAD_FAIL", "LF", true, "the candidate raised while loading"},
    {Verdict::kRunFail, "RUN_FAIL", "RF", true, "loaded, then raised in bind or forward"},
    {Verdict::kCrash, "CRASH", "CR", true, "the worker died"},
    {Verdict::kTimeout, "TIMEOUT", "TO", true, "killed past its time limit"},
    {Verdict::kShapeMismatch, "SHAPE_MISMATCH", "SH", true,
     "an output's shape differs from the golden"},
    {Verdict::kDTypeMismatch, "DTYPE_MISMATCH", "DT", true,
     "an output's dtype differs from the golden"},
    {Verdict::kNumericDrift, "NUMERIC_DRIFT", "ND", true, "values outside tolerance"},
    {Verdict::kNanIntroduced, "NAN_INTRODUCED", "NI", true,
     "NaN or Inf where the golden is finite"},
    {Verdict::kXPass, "XPASS", "XP", true, "an expected failure passed: the expectation is stale"},
    {Verdict::kFlaky, "FLAKY", "FL", true, "repeated runs of one check disagree"},
}};

constexpr bool verdict_table_is_complete() {
  for (std::size_t i = 0; i < kVerdictTable.size(); ++i) {
    if (static_cast<std::size_t>(kVerdictTable[i].verdict) != i) return false;
  }
  return static_cast<std::size_t>(Verdict::kFlaky) + 1 == kVerdictTable.size();
}
static_assert(verdict_table_is_complete(), "kVerdictTable must list every Verdict in order");

inline constexpr std::size_t kVerdictCount = kVerdictTable.size();

constexpr const VerdictInfo& verdict_info(Verdict verdict) {
  return kVerdictTable[static_cast<std::size_t>(verdict)];
}
constexpr std::string_view verdict_name(Verdict verdict) { return verdict_info(verdict).name; }
constexpr bool is_failure(Verdict verdict) { return verdict_info(verdict).is_failure; }

std::optional<Verdict> verdict_from_name(std::string_view name);

// A set of verdicts, as an expectation entry lists them.
class VerdictSet {
 public:
  VerdictSet() = default;
  VerdictSet(std::initializer_list<Verdict> verdicts) {
    for (Verdict v : verdicts) insert(v);
  }
  void insert(Verdict v) { bits_.set(static_cast<std::size_t>(v)); }
  bool contains(Verdict v) const { return bits_.test(static_cast<std::size_t>(v)); }
  bool empty() const { return bits_.none(); }
  bool operator==(const VerdictSet&) const = default;

 private:
  std::bitset<kVerdictCount> bits_;
};

// Whether an expectation entry may name `verdict`: only the failures a check itself can end in.
// XPASS is what a stale entry becomes, never something to expect.
constexpr bool can_be_expected(Verdict verdict) {
  return is_failure(verdict) && verdict != Verdict::kXPass;
}

// The expected-failure flip, and the only one. With no matching expectation the raw verdict
// stands. With one: a failure it lists becomes XFAIL, a pass becomes XPASS (the entry is
// stale), and anything else stands, so a check that breaks in a new way is still a failure.
Verdict apply_expectation(Verdict raw, const VerdictSet* expected);

// One verdict for repeated runs of a check: theirs when they agree, FLAKY when they do not.
Verdict combine_attempts(std::span<const Verdict> attempts);

}  // namespace mbcc
