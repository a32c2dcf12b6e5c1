#include "tensor/summary.hpp"

#include <cmath>
#include <limits>

namespace mbcc {

TensorSummary summarize(const Tensor& tensor) {
  TensorSummary s;
  s.count = tensor.size();
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double sum = 0;
  for (uint64_t i = 0; i < s.count; ++i) {
    double v = tensor.element_as_double(i);
    if (std::isnan(v)) {
      ++s.nan;
    } else if (std::isinf(v)) {
      ++s.inf;
    } else {
      ++s.finite;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
  }
  if (s.finite > 0) {
    s.min = lo;
    s.max = hi;
    s.mean = sum / static_cast<double>(s.finite);
  }
  return s;
}

}  // namespace mbcc
