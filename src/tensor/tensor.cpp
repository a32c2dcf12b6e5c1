#include "tensor/tensor.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace mbcc {

std::optional<uint64_t> element_count(const Shape& shape) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > UINT64_MAX / static_cast<uint64_t>(dim)) return std::nullopt;
    count *= static_cast<uint64_t>(dim);
  }
  return count;
}

std::string shape_to_string(const Shape& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<const void> owner,
               std::span<const std::byte> bytes)
    : dtype_(dtype), shape_(std::move(shape)), owner_(std::move(owner)), bytes_(bytes) {
  auto count = element_count(shape_);
  if (!count || *count * dtype_info(dtype_).size != bytes_.size()) {
    throw std::logic_error("Tensor: byte size does not match shape " + shape_to_string(shape_));
  }
}

Tensor Tensor::copy_of(DType dtype, Shape shape, std::span<const std::byte> bytes) {
  auto storage = std::make_shared<std::vector<std::byte>>(bytes.begin(), bytes.end());
  std::span<const std::byte> view(storage->data(), storage->size());
  return Tensor(dtype, std::move(shape), std::move(storage), view);
}

float half_to_float(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000U) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fU;
  uint32_t mantissa = bits & 0x3ffU;
  uint32_t out = 0;
  if (exponent == 0) {
    if (mantissa == 0) {
      out = sign;
    } else {  // subnormal: normalise
      int shift = 0;
      while ((mantissa & 0x400U) == 0) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3ffU;
      out = sign | static_cast<uint32_t>(127 - 15 - shift + 1) << 23 | mantissa << 13;
    }
  } else if (exponent == 0x1f) {
    out = sign | 0x7f800000U | mantissa << 13;
  } else {
    out = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  return std::bit_cast<float>(out);
}

float bfloat16_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

double Tensor::element_as_double(uint64_t i) const {
  const std::byte* p = bytes_.data() + i * dtype_info(dtype_).size;
  auto load = [p]<class T>(T /*tag*/) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  };
  switch (dtype_) {
    case DType::kFloat32: return load(float{});
    case DType::kFloat64: return load(double{});
    case DType::kFloat16: return half_to_float(load(uint16_t{}));
    case DType::kBFloat16: return bfloat16_to_float(load(uint16_t{}));
    case DType::kUint8: return load(uint8_t{});
    case DType::kInt32: return load(int32_t{});
    case DType::kInt8: return load(int8_t{});
    case DType::kInt64: return static_cast<double>(load(int64_t{}));
    case DType::kBool: return load(uint8_t{}) != 0 ? 1.0 : 0.0;
    case DType::kInt16: return load(int16_t{});
    case DType::kUint16: return load(uint16_t{});
    case DType::kUint32: return load(uint32_t{});
    case DType::kUint64: return static_cast<double>(load(uint64_t{}));
  }
  throw std::logic_error("Tensor: unknown dtype");
}

}  // namespace mbcc
