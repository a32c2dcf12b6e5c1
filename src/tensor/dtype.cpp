#include "tensor/dtype.hpp"

namespace mbcc {

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& info : kDTypeTable) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

}  // namespace mbcc
