// ByteReader: bounded little-endian reads over untrusted bytes, the way every mbcc reader
// consumes a file. Each read is checked against the bytes that remain and each failure is an
// Error naming the source, the byte offset, the field, the value found and what was allowed.
// Also the matching little-endian appends that the writers use.
#pragma once

#include <fmt/format.h>

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "tensor/tensor.hpp"

namespace mbcc {

// Files are little-endian and tensors are views into them: a big-endian host would need swaps.
static_assert(std::endian::native == std::endian::little,
              "mbcc readers assume a little-endian host");

// Offset of the first sequence that is not valid UTF-8 (overlong forms, surrogates and code
// points past U+10FFFF are invalid), or nullopt when all of `bytes` is valid.
inline std::optional<std::size_t> find_invalid_utf8(std::span<const std::byte> bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    auto lead = static_cast<uint8_t>(bytes[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The lead byte gives the sequence length; code points below `smallest` are overlong.
    std::size_t length = std::countl_one(lead);
    constexpr std::array<uint32_t, 5> kSmallest{0, 0, 0x80, 0x800, 0x10000};
    if (length < 2 || length > 4) return i;
    uint32_t code_point = lead & (0x7fU >> length);
    uint32_t smallest = kSmallest[length];
    if (bytes.size() - i < length) return i;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<uint8_t>(bytes[i + k]);
      if ((next & 0xc0) != 0x80) return i;
      code_point = code_point << 6 | (next & 0x3fU);
    }
    if (code_point < smallest || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return i;
    }
    i += length;
  }
  return std::nullopt;
}

// An Error with its structured fields; parts that do not apply stay empty.
inline Error field_error(std::string source, std::string location, std::string field,
                         std::string found, std::string allowed) {
  Error e;
  e.source = std::move(source);
  e.location = std::move(location);
  e.field = std::move(field);
  e.found = std::move(found);
  e.allowed = std::move(allowed);
  return e;
}

// Bytes as text fit for an error message: printable ASCII as is, the rest as \xNN.
inline std::string printable(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) {
    const auto c = static_cast<unsigned char>(b);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string_view source)
      : bytes_(bytes), source_(source) {}

  std::string_view source() const { return source_; }
  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }

  template <std::integral T>
  Result<T> peek(std::string_view field) const {
    if (remaining() < sizeof(T)) [[unlikely]] {
      return truncated(field, sizeof(T));
    }
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    return value;
  }

  template <std::integral T>
  Result<T> read(std::string_view field) {
    Result<T> value = peek<T>(field);
    if (value.ok()) offset_ += sizeof(T);
    return value;
  }

  // Moves past `count` bytes that peek() has already checked.
  void skip(std::size_t count) {
    if (count > remaining()) throw std::logic_error("ByteReader::skip past the end");
    offset_ += count;
  }

  // The next `count` bytes, as a view.
  Result<std::span<const std::byte>> take(uint64_t count, std::string_view field) {
    if (remaining() < count) [[unlikely]] {
      return truncated(field, count);
    }
    std::span<const std::byte> view = bytes_.subspan(offset_, static_cast<std::size_t>(count));
    offset_ += static_cast<std::size_t>(count);
    return view;
  }

  // A u64 count of items that take at least `min_item_bytes` each. Fails when the bytes left
  // cannot hold that many, so callers may reserve() the count without trusting the file.
  Result<uint64_t> read_count(std::string_view field, uint64_t min_item_bytes) {
    std::size_t start = offset_;
    Result<uint64_t> count = read<uint64_t>(field);
    if (!count.ok()) return count;
    uint64_t most = remaining() / min_item_bytes;
    if (*count > most) {
      return error_at(start, field, std::to_string(*count),
                      fmt::format("at most {} ({} bytes left, each item takes at least {})", most,
                                  remaining(), min_item_bytes));
    }
    return count;
  }

  // `count` bytes that must be valid UTF-8; the error points at the first invalid byte.
  Result<std::string_view> read_utf8(uint64_t count, std::string_view field) {
    Result<std::span<const std::byte>> bytes = take(count, field);
    if (!bytes.ok()) return bytes.error();
    if (std::optional<std::size_t> bad = find_invalid_utf8(*bytes)) {
      return error_at(offset_ - bytes->size() + *bad, field,
                      fmt::format("byte 0x{:02x}", static_cast<unsigned>((*bytes)[*bad])),
                      "UTF-8 text");
    }
    return std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  }

  // A C-ordered tensor of `dtype` and `shape` (dims already known non-negative) viewing the next
  // bytes, which `owner` keeps alive. Fails when the element count or byte size overflows or
  // when fewer bytes remain than the shape declares.
  Result<Tensor> tensor(DType dtype, Shape shape, const std::shared_ptr<const void>& owner,
                        std::string_view field) {
    const DTypeInfo& info = dtype_info(dtype);
    std::optional<uint64_t> count = element_count(shape);
    if (!count || *count > UINT64_MAX / info.size) {
      return error(field, fmt::format("{} {}", info.name, shape_to_string(shape)),
                   "a byte size below 2^64");
    }
    uint64_t size = *count * info.size;
    if (size > remaining()) {
      return error(field, fmt::format("{} bytes left", remaining()),
                   fmt::format("{} bytes for {} {}", size, info.name, shape_to_string(shape)));
    }
    std::span<const std::byte> bytes = take(size, field).value();
    return Tensor(dtype, std::move(shape), owner, bytes);
  }

  // Fails when bytes are left over after the last field.
  Status expect_end(std::string_view field) const {
    if (remaining() == 0) return Ok{};
    return error(field, fmt::format("{} trailing bytes", remaining()), "none");
  }

  Error error(std::string_view field, std::string found, std::string allowed) const {
    return error_at(offset_, field, std::move(found), std::move(allowed));
  }

  Error error_at(std::size_t offset, std::string_view field, std::string found,
                 std::string allowed) const {
    return field_error(std::string(source_), fmt::format("byte {}", offset), std::string(field),
                       std::move(found), std::move(allowed));
  }

 private:
  Error truncated(std::string_view field, uint64_t needed) const {
    return error(field, fmt::format("end of data with {} bytes left", remaining()),
                 fmt::format("{} bytes", needed));
  }

  std::span<const std::byte> bytes_;
  std::string_view source_;
  std::size_t offset_ = 0;
};

// Prefixes an error's field with the enclosing field: "shape" + "ndim" -> "shape.ndim".
inline Error in_field(Error error, std::string_view outer) {
  error.field = error.field.empty() ? std::string(outer) : fmt::format("{}.{}", outer, error.field);
  return error;
}

template <std::integral T>
void append_le(std::vector<std::byte>& out, T value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

inline void append_bytes(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline void append_text(std::vector<std::byte>& out, std::string_view text) {
  append_bytes(out, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace mbcc
