// libFuzzer target for the .npy reader: any bytes give a tensor or an Error, never a crash or
// undefined behaviour. A tensor that parses must write and read back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "formats/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  mbcc::Result<mbcc::Tensor> tensor = mbcc::parse_npy(bytes, nullptr, "fuzz");
  if (!tensor.ok()) return 0;
  const std::vector<std::byte> written = mbcc::serialize_npy(*tensor);
  mbcc::Result<mbcc::Tensor> again = mbcc::parse_npy(written, nullptr, "fuzz");
  if (!again.ok() || again->dtype() != tensor->dtype() || again->shape() != tensor->shape() ||
      !std::ranges::equal(again->bytes(), tensor->bytes())) {
    std::abort();
  }
  return 0;
}
