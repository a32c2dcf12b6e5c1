// Tensor: a dense, C-ordered array of one dtype. Its bytes are a view into shared storage, so
// a tensor read from a file costs no copy and keeps the file's buffer alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/dtype.hpp"

namespace mbcc {

using Shape = std::vector<int64_t>;

// Number of elements of `shape`; nullopt when a dim is negative or the product overflows.
std::optional<uint64_t> element_count(const Shape& shape);

std::string shape_to_string(const Shape& shape);  // "(2, 3)", "(5,)", "()"

class Tensor {
 public:
  Tensor() = default;
  // A view into `owner`'s memory; `bytes.size()` must equal the shape's element count × size.
  Tensor(DType dtype, Shape shape, std::shared_ptr<const void> owner,
         std::span<const std::byte> bytes);
  // A tensor that owns a copy of `bytes`.
  static Tensor copy_of(DType dtype, Shape shape, std::span<const std::byte> bytes);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  uint64_t size() const { return bytes_.size() / dtype_info(dtype_).size; }  // elements
  std::span<const std::byte> bytes() const { return bytes_; }

  // Element i as double: float16 and bfloat16 are widened from their raw bits.
  double element_as_double(uint64_t i) const;

 private:
  DType dtype_ = DType::kFloat32;
  Shape shape_;
  std::shared_ptr<const void> owner_;
  std::span<const std::byte> bytes_;
};

float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);

}  // namespace mbcc
