#include "tensor/summary.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

namespace mbcc {
namespace {

Tensor float_tensor(std::initializer_list<float> values) {
  std::vector<float> v(values);
  std::vector<std::byte> raw(v.size() * sizeof(float));
  std::memcpy(raw.data(), v.data(), raw.size());
  return Tensor::copy_of(DType::kFloat32, {static_cast<int64_t>(v.size())}, raw);
}

TEST(Summarize, KeepsNonFiniteValuesOutOfMinMaxMean) {
  constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  TensorSummary s = summarize(float_tensor({1, -3, kNan, 5, kInf, -kInf}));
  EXPECT_EQ(s.count, 6U);
  EXPECT_EQ(s.finite, 3U);
  EXPECT_EQ(s.nan, 1U);
  EXPECT_EQ(s.inf, 2U);
  EXPECT_EQ(s.min, -3);
  EXPECT_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.mean, 1);
}

TEST(Summarize, EmptyTensorHasZeroes) {
  TensorSummary s = summarize(Tensor::copy_of(DType::kFloat32, {0}, {}));
  EXPECT_EQ(s.count, 0U);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, 0);
}

}  // namespace
}  // namespace mbcc
