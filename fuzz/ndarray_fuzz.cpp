// libFuzzer target for the NDArray list reader: any bytes give a list or an Error, never a crash
// or undefined behaviour. A list that parses and can be written again must read back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "formats/ndarray_file.hpp"

namespace {

bool same_tensor(const mbcc::Tensor& a, const mbcc::Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::ranges::equal(a.bytes(), b.bytes());
}

bool same_record(const mbcc::NDArrayRecord& a, const mbcc::NDArrayRecord& b) {
  if (a.is_none != b.is_none || a.storage != b.storage) return false;
  if (a.is_none) return true;
  return a.shape == b.shape && same_tensor(a.values, b.values) && a.aux.size() == b.aux.size() &&
         std::ranges::equal(a.aux, b.aux, same_tensor);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  mbcc::Result<mbcc::NDArrayList> list = mbcc::parse_ndarray_list(bytes, nullptr, "fuzz");
  if (!list.ok()) return 0;
  const mbcc::RecordVersion version =
      list->arrays.empty() ? mbcc::RecordVersion::kV2 : list->arrays.front().version;
  mbcc::Result<std::vector<std::byte>> written = mbcc::serialize_ndarray_list(*list, version);
  if (!written.ok()) return 0;  // not every file fits in one record version
  mbcc::Result<mbcc::NDArrayList> again = mbcc::parse_ndarray_list(*written, nullptr, "fuzz");
  if (!again.ok() || again->names != list->names ||
      !std::ranges::equal(again->arrays, list->arrays, same_record)) {
    std::abort();
  }
  return 0;
}
