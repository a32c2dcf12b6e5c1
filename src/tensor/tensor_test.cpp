#include "tensor/tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace mbcc {
namespace {

TEST(ElementCount, MultipliesDims) {
  EXPECT_EQ(element_count({2, 3, 4}), 24U);
  EXPECT_EQ(element_count({}), 1U);
  EXPECT_EQ(element_count({5, 0}), 0U);
}

TEST(ElementCount, RejectsNegativeAndOverflow) {
  EXPECT_FALSE(element_count({-1, 2}).has_value());
  EXPECT_FALSE(element_count({INT64_MAX, INT64_MAX}).has_value());
}

TEST(ShapeToString, FollowsPythonTuples) {
  EXPECT_EQ(shape_to_string({}), "()");
  EXPECT_EQ(shape_to_string({5}), "(5,)");
  EXPECT_EQ(shape_to_string({2, 3}), "(2, 3)");
}

TEST(HalfToFloat, DecodesNormalSubnormalAndSpecial) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0F);
  EXPECT_EQ(half_to_float(0xc000), -2.0F);
  EXPECT_EQ(half_to_float(0x0001), 5.9604644775390625e-08F);
  EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
}

TEST(BFloat16ToFloat, TakesUpperBits) { EXPECT_EQ(bfloat16_to_float(0x3f80), 1.0F); }

TEST(Tensor, RejectsByteSizeThatDoesNotMatchShape) {
  std::byte data[8]{};
  EXPECT_THROW(Tensor::copy_of(DType::kFloat32, {3}, data), std::logic_error);
}

TEST(Tensor, ReadsElementsAsDouble) {
  int32_t values[3] = {-7, 0, 9};
  std::byte raw[sizeof values];
  std::memcpy(raw, values, sizeof values);
  Tensor t = Tensor::copy_of(DType::kInt32, {3}, raw);
  EXPECT_EQ(t.size(), 3U);
  EXPECT_EQ(t.element_as_double(0), -7.0);
  EXPECT_EQ(t.element_as_double(2), 9.0);
}

}  // namespace
}  // namespace mbcc
