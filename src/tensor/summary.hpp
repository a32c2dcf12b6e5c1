// A one-pass summary of a tensor's values, for `mbcc inspect` and reports.
#pragma once

#include <cstdint>

#include "tensor/tensor.hpp"

namespace mbcc {

struct TensorSummary {
  uint64_t count = 0;   // elements
  uint64_t finite = 0;  // elements that are neither NaN nor ±Inf
  uint64_t nan = 0;
  uint64_t inf = 0;
  double min = 0;       // over finite elements; 0 when there are none
  double max = 0;
  double mean = 0;
};

TensorSummary summarize(const Tensor& tensor);

}  // namespace mbcc
