// The comparator: an actual tensor against its golden, elementwise, in one pass over memory,
// keeping the error statistics a report needs. It knows tensors and tolerances and nothing of
// MXNet, runners or verdicts; the check part maps its outcome to a verdict.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tensor/tensor.hpp"

namespace mbcc {

// A floating element passes where |actual − expected| ≤ atol + rtol·|expected|.
struct Tolerance {
  double rtol = 0;
  double atol = 0;
  bool operator==(const Tolerance&) const = default;
};

// The tolerance for floating outputs of `dtype` when no manifest overrides it; {0, 0} for
// integers and booleans, which must match exactly. compare.cpp says why each value.
Tolerance default_tolerance(DType dtype);

enum class CompareOutcome {
  kMatch,
  kDTypeMismatch,
  kShapeMismatch,
  kOutOfTolerance,  // a finite element outside tolerance, or a non-finite one unlike its golden
  kNonFiniteIntroduced,  // NaN or ±Inf where the golden is finite
};

std::string_view outcome_name(CompareOutcome outcome);  // "match", "out_of_tolerance", …
std::optional<CompareOutcome> outcome_from_name(std::string_view name);

struct ErrorSummary {
  double max = 0;
  double mean = 0;
  // Nearest-rank 99th percentile from a log-scale histogram (32 buckets per power of two): never
  // below the exact value, at most 1/32 above it, and never above `max`.
  double p99 = 0;
  bool operator==(const ErrorSummary&) const = default;
};

// Decade buckets of absolute error for the report's chart. counts[0] holds exact zeros,
// counts[i] errors in (edges[i-1], edges[i]], and the last count errors above 1. Counts are
// summed from the fine percentile buckets, so an error within 1/32 above a decade edge may be
// counted in the decade below.
inline constexpr std::array<double, 14> kAbsErrorHistogramEdges = {
    0, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
using AbsErrorHistogram = std::array<uint64_t, kAbsErrorHistogramEdges.size() + 1>;

// The element furthest out of tolerance (the first non-finite mismatch wins, then the largest
// absolute error among mismatches); without mismatches, the largest absolute error.
struct WorstElement {
  Shape index;  // multi-dimensional, C order
  double actual = 0;
  double expected = 0;
  std::string actual_bits;  // the raw element in hex, "0x3f800000"
  std::string expected_bits;
  double abs_error = 0;             // NaN or Inf when a side is not finite
  std::optional<double> rel_error;  // absent where the golden is zero or not finite
  bool operator==(const WorstElement&) const = default;
};

struct CompareStats {
  uint64_t count = 0;           // elements in each tensor
  uint64_t compared = 0;        // pairs with both sides finite: what abs_error covers
  uint64_t rel_compared = 0;    // of those, pairs whose golden is not zero: what rel_error covers
  uint64_t mismatched = 0;      // every failing element, finite or not
  double mismatched_share = 0;  // mismatched / count
  uint64_t nonfinite_introduced = 0;
  uint64_t actual_nan = 0;
  uint64_t actual_inf = 0;
  uint64_t expected_nan = 0;
  uint64_t expected_inf = 0;
  ErrorSummary abs_error;
  ErrorSummary rel_error;             // |actual − expected| / |expected|
  std::optional<WorstElement> worst;  // absent when every pair is equal
  AbsErrorHistogram abs_error_histogram{};
  bool operator==(const CompareStats&) const = default;
};

struct Comparison {
  CompareOutcome outcome = CompareOutcome::kMatch;
  Tolerance tolerance;  // the one applied: {0, 0} for integers and booleans
  DType actual_dtype = DType::kFloat32;
  DType expected_dtype = DType::kFloat32;
  Shape actual_shape;
  Shape expected_shape;
  CompareStats stats;  // all zero when dtypes or shapes differ
  bool operator==(const Comparison&) const = default;
};

// Compares elementwise with `tolerance` (ignored for integers and booleans). A dtype mismatch
// is reported before a shape mismatch; a NaN or Inf where the golden is finite outranks values
// out of tolerance.
Comparison compare(const Tensor& actual, const Tensor& expected, Tolerance tolerance);
inline Comparison compare(const Tensor& actual, const Tensor& expected) {
  return compare(actual, expected, default_tolerance(expected.dtype()));
}

}  // namespace mbcc
