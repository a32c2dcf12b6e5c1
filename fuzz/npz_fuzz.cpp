// libFuzzer target for the .npz reader: any bytes give entries or an Error, never a crash or
// undefined behaviour, and entries that parse write and read back the same.
//
// Mutated zips nearly always fail their CRC inside libzip, so inputs that do not start with
// "PK" are a list of members instead, zipped here before parsing: this reaches the folder,
// sparse and npy logic with arbitrary member names and contents. Each member is
// [u8 name length][name][u16 data length][data]; a cut-off last member is dropped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "formats/npy.hpp"

namespace {

// Small enough that a zip bomb cannot exhaust the fuzzer's memory.
constexpr mbcc::NpzLimits kLimits{uint64_t{1} << 26, uint64_t{1} << 27};

std::vector<mbcc::ZipMember> decode_members(std::span<const std::byte> input) {
  std::vector<mbcc::ZipMember> members;
  std::size_t at = 0;
  while (at < input.size()) {
    const auto name_length = static_cast<std::size_t>(input[at]);
    if (input.size() - at < 1 + name_length + 2) break;
    std::string name(reinterpret_cast<const char*>(input.data() + at + 1), name_length);
    at += 1 + name_length;
    uint16_t data_length = 0;
    std::memcpy(&data_length, input.data() + at, 2);
    at += 2;
    if (input.size() - at < data_length) break;
    members.push_back(mbcc::ZipMember{std::move(name), {input.subspan(at, data_length)}});
    at += data_length;
  }
  return members;
}

bool same_tensor(const mbcc::Tensor& a, const mbcc::Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::ranges::equal(a.bytes(), b.bytes());
}

bool same_entry(const mbcc::NpzEntry& a, const mbcc::NpzEntry& b) {
  return a.name == b.name && a.array.storage == b.array.storage && a.array.shape == b.array.shape &&
         same_tensor(a.array.values, b.array.values) &&
         std::ranges::equal(a.array.aux, b.array.aux, same_tensor);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  mbcc::Result<std::vector<std::byte>> zipped{std::vector<std::byte>{}};
  if (size < 2 || std::memcmp(data, "PK", 2) != 0) {
    zipped = mbcc::serialize_zip(decode_members(bytes));
    if (!zipped.ok()) return 0;  // names libzip refuses
    bytes = *zipped;
  }
  mbcc::Result<std::vector<mbcc::NpzEntry>> entries = mbcc::parse_npz(bytes, "fuzz", kLimits);
  if (!entries.ok()) return 0;
  mbcc::Result<std::vector<std::byte>> written = mbcc::serialize_npz(*entries);
  if (!written.ok()) std::abort();  // whatever parses is writable
  mbcc::Result<std::vector<mbcc::NpzEntry>> again = mbcc::parse_npz(*written, "fuzz", kLimits);
  if (!again.ok() || !std::ranges::equal(*again, *entries, same_entry)) std::abort();
  return 0;
}
