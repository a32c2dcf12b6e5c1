#include "base/natural_order.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mbcc {
namespace {

TEST(NaturalLess, ComparesRunsOfDigitsAsNumbers) {
  const std::vector<std::string> ordered = {"lenet",      "lenet-hybrid", "lstm-2",   "lstm-10",
                                            "resnet18-v1", "resnet018-v2", "resnet50", "resnet101"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      EXPECT_EQ(natural_less(ordered[i], ordered[j]), i < j) << ordered[i] << " vs " << ordered[j];
    }
  }
}

}  // namespace
}  // namespace mbcc
