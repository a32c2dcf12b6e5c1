#include "tensor/compare.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include <fmt/format.h>

namespace mbcc {

// What the tolerances must absorb is what legitimately changes between releases for one model
// on one input: summation order and kernel choice (oneDNN on or off, another BLAS, Winograd),
// whose error grows with the fan-in K of a reduction (about √K·ε typical, K·ε at worst), and
// libm or MKL differences in transcendental functions (an ulp or two). atol covers outputs
// that cancel to near zero, where that noise scales with the terms and not with the result, so
// relative tolerance alone fails (MXNet #11961: 0.003014 against 0.003014 failed with atol 0).
Tolerance default_tolerance(DType dtype) {
  switch (dtype) {
    // ε = 1.2e-7. rtol ≈ 840 ε: ~17× the typical noise of a 3×3×256 convolution (√2304·ε ≈
    // 6e-6); MXNet's own test_utils uses the same rtol for float32. atol is a tenth of it, so
    // outputs below 0.1 are judged on an absolute scale and a probability of 1e-4 is still
    // compared to 10% (test_utils' atol of 1e-3 would pass any small probability).
    case DType::kFloat32:
      return {1e-4, 1e-5};
    // ε = 2.2e-16. Far above reassociation (K·ε ≈ 5e-13 at K = 2304) yet six orders below
    // float32's precision, so a release that computes a float64 model through float32 fails.
    case DType::kFloat64:
      return {1e-10, 1e-11};
    // ε = 9.8e-4 and 7.8e-3: about ten and six ulps (test_utils also uses rtol 1e-2 for
    // float16). Half types may accumulate in the half type itself (mshadow's half_t rounds
    // every step), so the absolute scale reaches up to magnitude 1: atol = rtol.
    case DType::kFloat16:
      return {1e-2, 1e-2};
    case DType::kBFloat16:
      return {5e-2, 5e-2};
    default:
      return {0, 0};
  }
}

namespace {

constexpr std::array<std::string_view, 5> kOutcomeNames = {
    "match", "dtype_mismatch", "shape_mismatch", "out_of_tolerance", "nonfinite_introduced"};
static_assert(static_cast<std::size_t>(CompareOutcome::kNonFiniteIntroduced) + 1 ==
              kOutcomeNames.size());

// Counts of non-negative values in buckets 1/32 of a power of two wide, from 2^-64 to 2^64, read
// straight from the bits of the double: the percentile costs a few integer operations per
// element and no sort. Bucket 0 holds exact zeros, bucket 1 values below 2^-64, the last bucket
// values from 2^64 up.
class LogHistogram {
 public:
  LogHistogram() : counts_(kBuckets, 0) {}

  void add(double value) { ++counts_[bucket_of(value)]; }

  // Nearest-rank quantile: the upper edge of the bucket holding it, capped at `max`; `max`
  // itself when it lies in the last bucket, which has no upper edge.
  double quantile(double q, uint64_t total, double max) const {
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    rank = std::clamp<uint64_t>(rank, 1, total);
    uint64_t seen = 0;
    for (std::size_t b = 0; b + 1 < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) return b == 0 ? 0.0 : std::min(upper_edge(b), max);
    }
    return max;
  }

  AbsErrorHistogram decades() const {
    AbsErrorHistogram out{};
    out[0] = counts_[0];
    for (std::size_t b = 1; b < kBuckets; ++b) {
      if (counts_[b] == 0) continue;
      double lower = b == 1 ? 0.0 : lower_edge(b);
      auto edge = std::lower_bound(kAbsErrorHistogramEdges.begin() + 1,
                                   kAbsErrorHistogramEdges.end(), lower);
      out[static_cast<std::size_t>(edge - kAbsErrorHistogramEdges.begin())] += counts_[b];
    }
    return out;
  }

 private:
  static constexpr int kSubBits = 5;
  static constexpr uint64_t kLowKey = uint64_t{1023 - 64} << kSubBits;   // 2^-64
  static constexpr uint64_t kHighKey = uint64_t{1023 + 64} << kSubBits;  // 2^64
  static constexpr std::size_t kBuckets = kHighKey - kLowKey + 3;

  static std::size_t bucket_of(double value) {
    auto bits = std::bit_cast<uint64_t>(value);
    uint64_t key = bits >> (52 - kSubBits);  // biased exponent, then the top mantissa bits
    if (key < kLowKey) return bits == 0 ? 0 : 1;
    return std::min(key, kHighKey) - kLowKey + 2;
  }
  static double lower_edge(std::size_t bucket) {
    return std::bit_cast<double>((bucket - 2 + kLowKey) << (52 - kSubBits));
  }
  static double upper_edge(std::size_t bucket) {
    return bucket == 1 ? lower_edge(2) : lower_edge(bucket + 1);
  }

  std::vector<uint64_t> counts_;
};

// The running totals of one pass. The loop keeps them in a local whose address never escapes,
// so the compiler may hold them in registers rather than store them on every element.
struct Totals {
  LogHistogram* abs_histogram;
  LogHistogram* rel_histogram;
  uint64_t compared = 0;
  uint64_t rel_compared = 0;
  uint64_t mismatched = 0;
  uint64_t nonfinite_introduced = 0;
  uint64_t actual_nan = 0;
  uint64_t actual_inf = 0;
  uint64_t expected_nan = 0;
  uint64_t expected_inf = 0;
  double abs_sum = 0;
  double abs_max = 0;
  double rel_sum = 0;
  double rel_max = 0;
  bool has_worst = false;
  bool worst_is_mismatch = false;
  double worst_score = 0;
  uint64_t worst_index = 0;

  void consider_worst(uint64_t index, bool mismatch, double score) {
    if (mismatch != worst_is_mismatch ? mismatch : score > worst_score) {
      has_worst = true;
      worst_is_mismatch = mismatch;
      worst_score = score;
      worst_index = index;
    }
  }

  void add_finite_pair(uint64_t index, double abs_error, double expected, bool mismatch) {
    ++compared;
    abs_sum += abs_error;
    abs_max = std::max(abs_max, abs_error);
    abs_histogram->add(abs_error);
    if (expected != 0) {
      double rel_error = abs_error / std::fabs(expected);
      ++rel_compared;
      rel_sum += rel_error;
      rel_max = std::max(rel_max, rel_error);
      rel_histogram->add(rel_error);
    }
    if (mismatch) ++mismatched;
    consider_worst(index, mismatch, abs_error);
  }

  void add_nonfinite_mismatch(uint64_t index) {
    ++mismatched;
    consider_worst(index, true, std::numeric_limits<double>::infinity());
  }
};

// How each dtype's raw element becomes a double, and when two raw elements are the same.
template <class T>
struct FloatElement {
  using Raw = T;
  static constexpr bool kFloating = true;
  static double widen(T value) { return value; }
};
template <float (*Decode)(uint16_t)>
struct HalfElement {
  using Raw = uint16_t;
  static constexpr bool kFloating = true;
  static double widen(uint16_t bits) { return Decode(bits); }
};
template <class T>
struct IntElement {
  using Raw = T;
  static constexpr bool kFloating = false;
  static double widen(T value) { return static_cast<double>(value); }
  static bool same(T a, T e) { return a == e; }  // raw, so int64 above 2^53 still differs
};
struct BoolElement {
  using Raw = uint8_t;
  static constexpr bool kFloating = false;
  static double widen(uint8_t byte) { return byte != 0 ? 1.0 : 0.0; }
  static bool same(uint8_t a, uint8_t e) { return (a != 0) == (e != 0); }
};

template <class E>
typename E::Raw load(const std::byte* base, uint64_t index) {
  typename E::Raw raw;
  std::memcpy(&raw, base + index * sizeof raw, sizeof raw);  // views need not be aligned
  return raw;
}

// The one pass over both tensors, typed per dtype so the loop is a plain load and compare.
template <class E>
Totals scan_elements(const Tensor& actual, const Tensor& expected, Tolerance tolerance, Totals t) {
  const std::byte* a_base = actual.bytes().data();
  const std::byte* e_base = expected.bytes().data();
  const uint64_t count = expected.size();
  for (uint64_t i = 0; i < count; ++i) {
    const auto a_raw = load<E>(a_base, i);
    const auto e_raw = load<E>(e_base, i);
    const double a = E::widen(a_raw);
    const double e = E::widen(e_raw);
    if constexpr (!E::kFloating) {
      t.add_finite_pair(i, std::fabs(a - e), e, !E::same(a_raw, e_raw));
    } else if (std::isfinite(e)) {
      if (std::isfinite(a)) {
        const double abs_error = std::fabs(a - e);
        t.add_finite_pair(i, abs_error, e,
                          abs_error > tolerance.atol + tolerance.rtol * std::fabs(e));
      } else {
        ++(std::isnan(a) ? t.actual_nan : t.actual_inf);
        ++t.nonfinite_introduced;
        t.add_nonfinite_mismatch(i);
      }
    } else {
      ++(std::isnan(e) ? t.expected_nan : t.expected_inf);
      if (!std::isfinite(a)) ++(std::isnan(a) ? t.actual_nan : t.actual_inf);
      const bool same = std::isnan(e) ? std::isnan(a) : a == e;  // ±Inf must keep its sign
      if (!same) t.add_nonfinite_mismatch(i);
    }
  }
  return t;
}

Totals scan_by_dtype(const Tensor& actual, const Tensor& expected, Tolerance tolerance, Totals t) {
  switch (expected.dtype()) {
    case DType::kFloat32:
      return scan_elements<FloatElement<float>>(actual, expected, tolerance, t);
    case DType::kFloat64:
      return scan_elements<FloatElement<double>>(actual, expected, tolerance, t);
    case DType::kFloat16:
      return scan_elements<HalfElement<half_to_float>>(actual, expected, tolerance, t);
    case DType::kBFloat16:
      return scan_elements<HalfElement<bfloat16_to_float>>(actual, expected, tolerance, t);
    case DType::kBool:
      return scan_elements<BoolElement>(actual, expected, tolerance, t);
    case DType::kUint8:
      return scan_elements<IntElement<uint8_t>>(actual, expected, tolerance, t);
    case DType::kInt8:
      return scan_elements<IntElement<int8_t>>(actual, expected, tolerance, t);
    case DType::kInt16:
      return scan_elements<IntElement<int16_t>>(actual, expected, tolerance, t);
    case DType::kUint16:
      return scan_elements<IntElement<uint16_t>>(actual, expected, tolerance, t);
    case DType::kInt32:
      return scan_elements<IntElement<int32_t>>(actual, expected, tolerance, t);
    case DType::kUint32:
      return scan_elements<IntElement<uint32_t>>(actual, expected, tolerance, t);
    case DType::kInt64:
      return scan_elements<IntElement<int64_t>>(actual, expected, tolerance, t);
    case DType::kUint64:
      return scan_elements<IntElement<uint64_t>>(actual, expected, tolerance, t);
  }
  return t;
}

Shape unravel(uint64_t flat, const Shape& shape) {
  Shape index(shape.size(), 0);
  for (std::size_t d = shape.size(); d-- > 0;) {
    auto dim = static_cast<uint64_t>(shape[d]);
    index[d] = static_cast<int64_t>(flat % dim);
    flat /= dim;
  }
  return index;
}

std::string element_bits(const Tensor& tensor, uint64_t index) {
  std::size_t size = dtype_info(tensor.dtype()).size;
  uint64_t bits = 0;
  std::memcpy(&bits, tensor.bytes().data() + index * size, size);  // little-endian host
  return fmt::format("0x{:0{}x}", bits, size * 2);
}

WorstElement worst_element(const Tensor& actual, const Tensor& expected, uint64_t index) {
  WorstElement w;
  w.index = unravel(index, expected.shape());
  w.actual = actual.element_as_double(index);
  w.expected = expected.element_as_double(index);
  w.actual_bits = element_bits(actual, index);
  w.expected_bits = element_bits(expected, index);
  w.abs_error = std::fabs(w.actual - w.expected);
  if (std::isfinite(w.expected) && w.expected != 0)
    w.rel_error = w.abs_error / std::fabs(w.expected);
  return w;
}

}  // namespace

std::string_view outcome_name(CompareOutcome outcome) {
  return kOutcomeNames[static_cast<std::size_t>(outcome)];
}

std::optional<CompareOutcome> outcome_from_name(std::string_view name) {
  auto it = std::find(kOutcomeNames.begin(), kOutcomeNames.end(), name);
  if (it == kOutcomeNames.end()) return std::nullopt;
  return static_cast<CompareOutcome>(it - kOutcomeNames.begin());
}

Comparison compare(const Tensor& actual, const Tensor& expected, Tolerance tolerance) {
  Comparison result;
  result.actual_dtype = actual.dtype();
  result.expected_dtype = expected.dtype();
  result.actual_shape = actual.shape();
  result.expected_shape = expected.shape();
  const bool floating = dtype_info(expected.dtype()).kind == DTypeKind::kFloat;
  result.tolerance = floating ? tolerance : Tolerance{};
  if (actual.dtype() != expected.dtype()) {
    result.outcome = CompareOutcome::kDTypeMismatch;
    return result;
  }
  if (actual.shape() != expected.shape()) {
    result.outcome = CompareOutcome::kShapeMismatch;
    return result;
  }

  LogHistogram abs_histogram;
  LogHistogram rel_histogram;
  const Totals t =
      scan_by_dtype(actual, expected, result.tolerance,
                    Totals{.abs_histogram = &abs_histogram, .rel_histogram = &rel_histogram});

  CompareStats& s = result.stats;
  s.count = expected.size();
  s.compared = t.compared;
  s.rel_compared = t.rel_compared;
  s.mismatched = t.mismatched;
  s.nonfinite_introduced = t.nonfinite_introduced;
  s.actual_nan = t.actual_nan;
  s.actual_inf = t.actual_inf;
  s.expected_nan = t.expected_nan;
  s.expected_inf = t.expected_inf;
  if (s.count > 0) {
    s.mismatched_share = static_cast<double>(s.mismatched) / static_cast<double>(s.count);
  }
  s.abs_error.max = t.abs_max;
  s.rel_error.max = t.rel_max;
  if (t.compared > 0) s.abs_error.mean = t.abs_sum / static_cast<double>(t.compared);
  if (t.rel_compared > 0) s.rel_error.mean = t.rel_sum / static_cast<double>(t.rel_compared);
  s.abs_error.p99 = abs_histogram.quantile(0.99, t.compared, t.abs_max);
  s.rel_error.p99 = rel_histogram.quantile(0.99, t.rel_compared, t.rel_max);
  s.abs_error_histogram = abs_histogram.decades();
  if (t.has_worst) s.worst = worst_element(actual, expected, t.worst_index);

  if (s.nonfinite_introduced > 0) {
    result.outcome = CompareOutcome::kNonFiniteIntroduced;
  } else if (s.mismatched > 0) {
    result.outcome = CompareOutcome::kOutOfTolerance;
  }
  return result;
}

}  // namespace mbcc
