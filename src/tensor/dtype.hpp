// DType: the element types MXNet has written, numbered by mshadow's type flag, which is what
// NDArray files store. The table is the single source of names, sizes and NumPy codes.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace mbcc {

enum class DType : int {
  kFloat32 = 0,
  kFloat64 = 1,
  kFloat16 = 2,
  kUint8 = 3,
  kInt32 = 4,
  kInt8 = 5,
  kInt64 = 6,
  kBool = 7,
  kInt16 = 8,
  kUint16 = 9,
  kUint32 = 10,
  kUint64 = 11,
  kBFloat16 = 12,
};

enum class DTypeKind { kFloat, kSigned, kUnsigned, kBool };

struct DTypeInfo {
  DType dtype;
  std::string_view name;       // numpy-style name: "float32", "bfloat16"
  std::string_view npy_descr;  // .npy descr; bfloat16 uses MXNet's own "<b2"
  std::size_t size;            // bytes per element
  DTypeKind kind;
};

inline constexpr std::array<DTypeInfo, 13> kDTypeTable{{
    {DType::kFloat32, "float32", "<f4", 4, DTypeKind::kFloat},
    {DType::kFloat64, "float64", "<f8", 8, DTypeKind::kFloat},
    {DType::kFloat16, "float16", "<f2", 2, DTypeKind::kFloat},
    {DType::kUint8, "uint8", "|u1", 1, DTypeKind::kUnsigned},
    {DType::kInt32, "int32", "<i4", 4, DTypeKind::kSigned},
    {DType::kInt8, "int8", "|i1", 1, DTypeKind::kSigned},
    {DType::kInt64, "int64", "<i8", 8, DTypeKind::kSigned},
    {DType::kBool, "bool", "|b1", 1, DTypeKind::kBool},
    {DType::kInt16, "int16", "<i2", 2, DTypeKind::kSigned},
    {DType::kUint16, "uint16", "<u2", 2, DTypeKind::kUnsigned},
    {DType::kUint32, "uint32", "<u4", 4, DTypeKind::kUnsigned},
    {DType::kUint64, "uint64", "<u8", 8, DTypeKind::kUnsigned},
    {DType::kBFloat16, "bfloat16", "<b2", 2, DTypeKind::kFloat},
}};

constexpr bool dtype_table_is_indexed_by_flag() {
  for (std::size_t i = 0; i < kDTypeTable.size(); ++i) {
    if (static_cast<std::size_t>(kDTypeTable[i].dtype) != i) return false;
  }
  return true;
}
static_assert(dtype_table_is_indexed_by_flag(), "kDTypeTable must list every flag in order");

constexpr const DTypeInfo& dtype_info(DType dtype) {
  return kDTypeTable[static_cast<std::size_t>(dtype)];
}

// The dtype for an mshadow type flag read from a file; nullopt when the flag is unknown.
constexpr std::optional<DType> dtype_from_flag(long long flag) {
  if (flag < 0 || flag >= static_cast<long long>(kDTypeTable.size())) return std::nullopt;
  return static_cast<DType>(flag);
}

std::optional<DType> dtype_from_name(std::string_view name);

}  // namespace mbcc
