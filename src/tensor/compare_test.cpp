#include "tensor/compare.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace mbcc {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

template <class T>
Tensor make(DType dtype, Shape shape, const std::vector<T>& values) {
  std::vector<std::byte> raw(values.size() * sizeof(T));
  if (!raw.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  return Tensor::copy_of(dtype, std::move(shape), raw);
}

Tensor f32(const std::vector<float>& values) {
  return make(DType::kFloat32, {static_cast<int64_t>(values.size())}, values);
}

TEST(DefaultTolerance, FloatsByPrecisionIntegersExact) {
  EXPECT_EQ(default_tolerance(DType::kFloat32), (Tolerance{1e-4, 1e-5}));
  EXPECT_EQ(default_tolerance(DType::kFloat64), (Tolerance{1e-10, 1e-11}));
  EXPECT_EQ(default_tolerance(DType::kFloat16), (Tolerance{1e-2, 1e-2}));
  EXPECT_EQ(default_tolerance(DType::kBFloat16), (Tolerance{5e-2, 5e-2}));
  EXPECT_EQ(default_tolerance(DType::kInt64), (Tolerance{0, 0}));
  EXPECT_EQ(default_tolerance(DType::kBool), (Tolerance{0, 0}));
}

TEST(OutcomeName, RoundTrips) {
  for (auto outcome :
       {CompareOutcome::kMatch, CompareOutcome::kDTypeMismatch, CompareOutcome::kShapeMismatch,
        CompareOutcome::kOutOfTolerance, CompareOutcome::kNonFiniteIntroduced}) {
    EXPECT_EQ(outcome_from_name(outcome_name(outcome)), outcome);
  }
  EXPECT_FALSE(outcome_from_name("close_enough").has_value());
}

TEST(Compare, IdenticalTensorsMatchWithZeroErrors) {
  Comparison c = compare(f32({1, -2, 0, 3.5F}), f32({1, -2, 0, 3.5F}));
  EXPECT_EQ(c.outcome, CompareOutcome::kMatch);
  EXPECT_EQ(c.tolerance, default_tolerance(DType::kFloat32));
  EXPECT_EQ(c.stats.count, 4U);
  EXPECT_EQ(c.stats.compared, 4U);
  EXPECT_EQ(c.stats.rel_compared, 3U);  // the golden 0 has no relative error
  EXPECT_EQ(c.stats.mismatched, 0U);
  EXPECT_EQ(c.stats.abs_error, ErrorSummary{});
  EXPECT_FALSE(c.stats.worst.has_value());
  EXPECT_EQ(c.stats.abs_error_histogram[0], 4U);
}

// MXNet #11961: 0.003014 against 0.003014 failed a relative-only tolerance of 1e-5 with
// "Error 1.969787": the values differ in their eighth digit, and near zero only atol helps.
TEST(Compare, NearZeroNeedsAtolAsInIssue11961) {
  const float expected = 0.003014F;
  const float actual = expected + 6e-8F;
  Tensor a = f32({actual, 0.5F});
  Tensor e = f32({expected, 0.5F});

  Comparison relative_only = compare(a, e, {1e-5, 0});
  EXPECT_EQ(relative_only.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(relative_only.stats.mismatched, 1U);
  ASSERT_TRUE(relative_only.stats.worst.has_value());
  EXPECT_EQ(relative_only.stats.worst->index, Shape{0});
  EXPECT_NEAR(*relative_only.stats.worst->rel_error, 1.97e-5, 0.05e-5);

  EXPECT_EQ(compare(a, e, {1e-5, 1e-6}).outcome, CompareOutcome::kMatch);
  EXPECT_EQ(compare(a, e).outcome, CompareOutcome::kMatch);
}

TEST(Compare, ZeroGoldenWithoutAtolAcceptsOnlyZero) {
  Comparison c = compare(f32({1e-30F}), f32({0}), {1e-3, 0});
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.rel_compared, 0U);
  EXPECT_FALSE(c.stats.worst->rel_error.has_value());
}

TEST(Compare, ToleranceIsInclusive) {
  EXPECT_EQ(compare(f32({1.5F}), f32({1}), {0, 0.5}).outcome, CompareOutcome::kMatch);
  EXPECT_EQ(compare(f32({3}), f32({2}), {0.5, 0}).outcome, CompareOutcome::kMatch);
}

TEST(Compare, NanMatchesNanAndInfMatchesTheSameInf) {
  Comparison c = compare(f32({kNan, kInf, -kInf, 1}), f32({kNan, kInf, -kInf, 1}));
  EXPECT_EQ(c.outcome, CompareOutcome::kMatch);
  EXPECT_EQ(c.stats.compared, 1U);
  EXPECT_EQ(c.stats.expected_nan, 1U);
  EXPECT_EQ(c.stats.expected_inf, 2U);
  EXPECT_EQ(c.stats.actual_nan, 1U);
  EXPECT_EQ(c.stats.actual_inf, 2U);
}

TEST(Compare, InfOfTheOtherSignOrFiniteWhereGoldenIsNanIsOutOfTolerance) {
  Comparison c = compare(f32({-kInf, 1, 2}), f32({kInf, kNan, 2}));
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.mismatched, 2U);
  EXPECT_EQ(c.stats.nonfinite_introduced, 0U);
  EXPECT_EQ(c.stats.worst->index, Shape{0});  // the first non-finite mismatch
  EXPECT_EQ(c.stats.worst->actual_bits, "0xff800000");
  EXPECT_EQ(c.stats.worst->expected_bits, "0x7f800000");
}

TEST(Compare, NanOrInfWhereGoldenIsFiniteIsIntroduced) {
  Comparison c = compare(f32({5, kNan, kInf, 1}), f32({1, 1, 1, 1}));
  EXPECT_EQ(c.outcome, CompareOutcome::kNonFiniteIntroduced);  // outranks the drift at 0
  EXPECT_EQ(c.stats.nonfinite_introduced, 2U);
  EXPECT_EQ(c.stats.actual_nan, 1U);
  EXPECT_EQ(c.stats.actual_inf, 1U);
  EXPECT_EQ(c.stats.mismatched, 3U);
  EXPECT_DOUBLE_EQ(c.stats.mismatched_share, 0.75);
  EXPECT_EQ(c.stats.worst->index, Shape{1});
  EXPECT_TRUE(std::isnan(c.stats.worst->actual));
  EXPECT_EQ(c.stats.compared, 2U);  // statistics cover finite pairs only
  EXPECT_DOUBLE_EQ(c.stats.abs_error.max, 4);
}

TEST(Compare, WorstIsTheLargestMismatchNotTheLargestError) {
  // Element 0 has the larger error but is within rtol of its large golden.
  Comparison c = compare(f32({1000.05F, 0.01F}), f32({1000, 0}), {1e-4, 1e-5});
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.mismatched, 1U);
  EXPECT_EQ(c.stats.worst->index, Shape{1});
  EXPECT_NEAR(c.stats.abs_error.max, 0.05, 1e-4);
}

TEST(Compare, WorstIndexIsMultiDimensional) {
  std::vector<float> golden(24, 1.0F);
  std::vector<float> actual = golden;
  actual[17] = 2.0F;  // (1, 1, 1) in a (2, 3, 4) tensor
  Comparison c =
      compare(make(DType::kFloat32, {2, 3, 4}, actual), make(DType::kFloat32, {2, 3, 4}, golden));
  ASSERT_TRUE(c.stats.worst.has_value());
  EXPECT_EQ(c.stats.worst->index, (Shape{1, 1, 1}));
  EXPECT_EQ(c.stats.worst->actual, 2.0);
  EXPECT_EQ(c.stats.worst->expected, 1.0);
  EXPECT_EQ(c.stats.worst->actual_bits, "0x40000000");
  EXPECT_EQ(c.stats.worst->expected_bits, "0x3f800000");
  EXPECT_EQ(c.stats.worst->abs_error, 1.0);
  EXPECT_EQ(c.stats.worst->rel_error, 1.0);
}

TEST(Compare, WithoutMismatchWorstIsTheLargestError) {
  Comparison c = compare(f32({1.00001F, 2}), f32({1, 2}));
  EXPECT_EQ(c.outcome, CompareOutcome::kMatch);
  ASSERT_TRUE(c.stats.worst.has_value());
  EXPECT_EQ(c.stats.worst->index, Shape{0});
}

TEST(Compare, MeanMaxAndPercentileOfErrors) {
  // Errors 1, 2, …, 1000 × 1e-3 on goldens of 1: nearest-rank p99 is 0.990.
  std::vector<double> golden(1000, 1.0);
  std::vector<double> actual(1000);
  for (int i = 0; i < 1000; ++i) actual[i] = 1.0 + (i + 1) * 1e-3;
  Comparison c =
      compare(make(DType::kFloat64, {1000}, actual), make(DType::kFloat64, {1000}, golden), {0, 2});
  EXPECT_EQ(c.outcome, CompareOutcome::kMatch);
  EXPECT_NEAR(c.stats.abs_error.max, 1.0, 1e-12);
  EXPECT_NEAR(c.stats.abs_error.mean, 0.5005, 1e-9);
  EXPECT_GE(c.stats.abs_error.p99, 0.990 - 1e-12);
  EXPECT_LE(c.stats.abs_error.p99, 0.990 * (1 + 1.0 / 32));
  EXPECT_NEAR(c.stats.rel_error.p99, c.stats.abs_error.p99, 1e-12);
}

TEST(Compare, PercentileNeverExceedsTheMaximum) {
  Comparison c = compare(f32({1.1F}), f32({1}), {0, 1});
  EXPECT_EQ(c.stats.abs_error.p99, c.stats.abs_error.max);
}

TEST(Compare, PercentileOfHugeErrorsIsTheirMaximum) {
  // Beyond 2^64 the histogram has one open bucket; the percentile must not fall below the truth.
  Comparison c = compare(make(DType::kFloat64, {2}, std::vector<double>{1e30, 1e25}),
                         make(DType::kFloat64, {2}, std::vector<double>{0, 0}), {0, 0});
  EXPECT_EQ(c.stats.abs_error.p99, 1e30);
  EXPECT_EQ(c.stats.abs_error_histogram.back(), 2U);
}

TEST(Compare, HistogramCountsDecades) {
  Comparison c = compare(make(DType::kFloat64, {5}, std::vector<double>{0, 1.5e-7, 0.5, 3, 1e-30}),
                         make(DType::kFloat64, {5}, std::vector<double>{0, 0, 0, 0, 0}), {0, 10});
  const AbsErrorHistogram& h = c.stats.abs_error_histogram;
  AbsErrorHistogram want{};
  want[0] = 1;   // exactly 0
  want[1] = 1;   // 1e-30 is below 1e-12
  want[7] = 1;   // (1e-7, 1e-6]
  want[13] = 1;  // (0.1, 1]
  want[14] = 1;  // above 1
  EXPECT_EQ(h, want);
}

TEST(Compare, IntegersMustMatchExactlyWhateverTheTolerance) {
  Tensor a = make(DType::kInt32, {3}, std::vector<int32_t>{1, 2, 3});
  Tensor e = make(DType::kInt32, {3}, std::vector<int32_t>{1, 2, 4});
  Comparison c = compare(a, e, {1, 1});
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.tolerance, (Tolerance{0, 0}));
  EXPECT_EQ(c.stats.mismatched, 1U);
  EXPECT_EQ(c.stats.worst->index, Shape{2});
  EXPECT_EQ(c.stats.worst->actual_bits, "0x00000003");
}

TEST(Compare, Int64BeyondDoublePrecisionStillDiffers) {
  const int64_t big = int64_t{1} << 53;
  Comparison c = compare(make(DType::kInt64, {1}, std::vector<int64_t>{big + 1}),
                         make(DType::kInt64, {1}, std::vector<int64_t>{big}));
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.worst->actual_bits, "0x0020000000000001");
}

TEST(Compare, BooleansCompareByTruth) {
  Tensor e = make(DType::kBool, {3}, std::vector<uint8_t>{1, 0, 1});
  EXPECT_EQ(compare(make(DType::kBool, {3}, std::vector<uint8_t>{2, 0, 1}), e).outcome,
            CompareOutcome::kMatch);
  Comparison c = compare(make(DType::kBool, {3}, std::vector<uint8_t>{1, 1, 1}), e);
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.worst->index, Shape{1});
}

TEST(Compare, Float16WithinAFewUlpsPasses) {
  Tensor e = make(DType::kFloat16, {2}, std::vector<uint16_t>{0x3c00, 0x0000});  // 1, 0
  Tensor near =
      make(DType::kFloat16, {2}, std::vector<uint16_t>{0x3c01, 0x1400});  // +1 ulp, 9.8e-4
  EXPECT_EQ(compare(near, e).outcome, CompareOutcome::kMatch);
  Tensor far = make(DType::kFloat16, {2}, std::vector<uint16_t>{0x3e00, 0x0000});  // 1.5
  Comparison c = compare(far, e);
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.worst->actual, 1.5);
  EXPECT_EQ(c.stats.worst->actual_bits, "0x3e00");
}

TEST(Compare, Float16NanAndInfAreRecognised) {
  Tensor e = make(DType::kFloat16, {2}, std::vector<uint16_t>{0x7e00, 0x3c00});  // NaN, 1
  Tensor a = make(DType::kFloat16, {2}, std::vector<uint16_t>{0x7e00, 0x7c00});  // NaN, Inf
  Comparison c = compare(a, e);
  EXPECT_EQ(c.outcome, CompareOutcome::kNonFiniteIntroduced);
  EXPECT_EQ(c.stats.expected_nan, 1U);
  EXPECT_EQ(c.stats.actual_inf, 1U);
}

TEST(Compare, BFloat16UsesItsOwnTolerance) {
  Tensor e = make(DType::kBFloat16, {1}, std::vector<uint16_t>{0x3f80});  // 1
  EXPECT_EQ(compare(make(DType::kBFloat16, {1}, std::vector<uint16_t>{0x3f82}), e).outcome,
            CompareOutcome::kMatch);  // 1.015625: two ulps
  Comparison c = compare(make(DType::kBFloat16, {1}, std::vector<uint16_t>{0x3fa0}), e);  // 1.25
  EXPECT_EQ(c.outcome, CompareOutcome::kOutOfTolerance);
  EXPECT_EQ(c.stats.worst->expected_bits, "0x3f80");
}

TEST(Compare, DTypeMismatchComesBeforeShape) {
  Tensor e = f32({1, 2});
  Comparison c = compare(make(DType::kFloat64, {1}, std::vector<double>{1}), e);
  EXPECT_EQ(c.outcome, CompareOutcome::kDTypeMismatch);
  EXPECT_EQ(c.actual_dtype, DType::kFloat64);
  EXPECT_EQ(c.expected_dtype, DType::kFloat32);
  EXPECT_EQ(c.stats, CompareStats{});
}

TEST(Compare, ShapeMismatchEvenWithTheSameElementCount) {
  Comparison c = compare(make(DType::kFloat32, {1, 2}, std::vector<float>{1, 2}), f32({1, 2}));
  EXPECT_EQ(c.outcome, CompareOutcome::kShapeMismatch);
  EXPECT_EQ(c.actual_shape, (Shape{1, 2}));
  EXPECT_EQ(c.expected_shape, Shape{2});
}

TEST(Compare, EmptyTensorsMatch) {
  Comparison c = compare(f32({}), f32({}));
  EXPECT_EQ(c.outcome, CompareOutcome::kMatch);
  EXPECT_EQ(c.stats.count, 0U);
  EXPECT_EQ(c.stats.mismatched_share, 0);
}

}  // namespace
}  // namespace mbcc
