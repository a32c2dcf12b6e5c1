#include "formats/npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "base/file.hpp"
#include "formats/byte_reader.hpp"

namespace mbcc {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kAlign = 64;   // numpy aligns the data to 64 bytes
constexpr int kMaxLiteralDepth = 8;  // deep enough for a structured descr
// Each value costs ~80 bytes: a cap keeps a huge hostile header from costing 40 times its size,
// and still allows shapes of tens of thousands of dims (headers past version 1.0's 64 KiB).
constexpr std::size_t kMaxLiterals = std::size_t{1} << 16;

struct Preamble {
  int major_version = 0;
  int minor_version = 0;
  uint32_t header_length = 0;
};

// Magic, version and header length; the header itself follows.
Result<Preamble> read_preamble(ByteReader& in) {
  Result<std::span<const std::byte>> magic = in.take(kMagic.size(), "magic");
  if (!magic) return magic.error();
  if (std::memcmp(magic->data(), kMagic.data(), kMagic.size()) != 0) {
    return in.error_at(0, "magic", "\"" + printable(*magic) + "\"", R"("\x93NUMPY")");
  }
  Result<uint16_t> version = in.peek<uint16_t>("version");
  if (!version) return version.error();
  const int major = *version & 0xff;
  const int minor = *version >> 8;
  if (major < 1 || major > 3 || minor != 0) {
    return in.error("version", fmt::format("{}.{}", major, minor), "1.0, 2.0 or 3.0");
  }
  in.skip(sizeof(uint16_t));
  Preamble preamble{major, minor, 0};
  const std::size_t length_offset = in.offset();
  if (major == 1) {
    Result<uint16_t> length = in.read<uint16_t>("header length");
    if (!length) return length.error();
    preamble.header_length = *length;
  } else {
    Result<uint32_t> length = in.read<uint32_t>("header length");
    if (!length) return length.error();
    preamble.header_length = *length;
  }
  if (preamble.header_length > in.remaining()) {
    return in.error_at(length_offset, "header length", std::to_string(preamble.header_length),
                       fmt::format("at most {} (the bytes left)", in.remaining()));
  }
  return preamble;
}

// A Python literal of the kinds an npy header holds.
struct Literal {
  enum class Kind { kString, kBool, kInt, kTuple, kList };
  Kind kind = Kind::kInt;
  std::size_t offset = 0;  // in the file, for errors
  std::string_view text;   // kString: the contents; other kinds: their source text
  bool boolean = false;
  int64_t integer = 0;
  std::vector<Literal> items;  // kTuple, kList
};

// Parses the header: a dict literal of string keys, then only whitespace (numpy's padding).
// It accepts what Python's literal_eval would for these kinds, including Python 2's `3L` ints.
class HeaderParser {
 public:
  HeaderParser(const ByteReader& in, std::string_view text, std::size_t base)
      : in_(in), text_(text), base_(base) {}

  Result<std::vector<std::pair<Literal, Literal>>> parse_dict() {
    std::vector<std::pair<Literal, Literal>> entries;
    skip_space();
    MBCC_TRY(expect('{', "'{' opening the header dict"));
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      Result<Literal> key = parse_value(0);
      if (!key) return key.error();
      if (key->kind != Literal::Kind::kString) {
        return error_at(key->offset, std::string(key->text), "a string key");
      }
      skip_space();
      MBCC_TRY(expect(':', "':' after a key"));
      Result<Literal> value = parse_value(0);
      if (!value) return value.error();
      entries.emplace_back(std::move(*key), std::move(*value));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return error("',' or '}' after a value");
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) return error("only padding after the dict");
    return entries;
  }

 private:
  static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  Error error_at(std::size_t offset, std::string found, std::string allowed) const {
    return in_.error_at(offset, "header", std::move(found), std::move(allowed));
  }
  Error error(std::string allowed) const {
    std::string found =
        pos_ < text_.size()
            ? fmt::format("'{}'", printable(std::as_bytes(std::span(&text_[pos_], 1))))
            : "end of header";
    return error_at(base_ + pos_, std::move(found), std::move(allowed));
  }
  Status expect(char c, std::string allowed) {
    if (peek() != c) return error(std::move(allowed));
    ++pos_;
    return Ok{};
  }

  Result<Literal> parse_value(int depth) {
    skip_space();
    if (depth > kMaxLiteralDepth) return error("literals nested at most 8 deep");
    if (++literals_ > kMaxLiterals) return error("at most 65536 values in the header");
    Literal value;
    const std::size_t start = pos_;
    value.offset = base_ + start;
    const char c = peek();
    if (c == '\'' || c == '"') {
      MBCC_TRY(parse_string(value));
    } else if (c == '(' || c == '[') {
      MBCC_TRY(parse_sequence(value, depth));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      MBCC_TRY(parse_int(value));
    } else if (text_.substr(pos_, 4) == "True") {
      value.kind = Literal::Kind::kBool;
      value.boolean = true;
      pos_ += 4;
    } else if (text_.substr(pos_, 5) == "False") {
      value.kind = Literal::Kind::kBool;
      pos_ += 5;
    } else {
      return error("a string, integer, True, False, tuple or list");
    }
    value.offset = base_ + start;  // `(x)` is x, but errors show its parentheses
    if (value.kind != Literal::Kind::kString) value.text = text_.substr(start, pos_ - start);
    return value;
  }

  Status parse_string(Literal& value) {
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return error("a closing quote");
    value.kind = Literal::Kind::kString;
    value.text = text_.substr(pos_, end - pos_);
    if (value.text.find('\\') != std::string_view::npos) {
      return error_at(value.offset, std::string(value.text), "a string without escapes");
    }
    pos_ = end + 1;
    return Ok{};
  }

  Status parse_int(Literal& value) {
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (!(peek() >= '0' && peek() <= '9')) return error("a digit");
    uint64_t magnitude = 0;
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    while (peek() >= '0' && peek() <= '9') {
      magnitude = magnitude * 10 + static_cast<uint64_t>(peek() - '0');
      if (magnitude > kMax) return error_at(value.offset, "an integer", "at most 2^63 - 1");
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long, as numpy's reader accepts
    value.kind = Literal::Kind::kInt;
    value.integer = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    return Ok{};
  }

  // A tuple or list. As in Python, `(x)` without a comma is x itself, not a tuple.
  Status parse_sequence(Literal& value, int depth) {
    const char close = text_[pos_] == '(' ? ')' : ']';
    value.kind = close == ')' ? Literal::Kind::kTuple : Literal::Kind::kList;
    ++pos_;
    bool trailing_comma = false;
    for (;;) {
      skip_space();
      if (peek() == close) break;
      Result<Literal> item = parse_value(depth + 1);
      if (!item) return item.error();
      value.items.push_back(std::move(*item));
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++pos_;
      } else if (peek() != close) {
        return error(fmt::format("',' or '{}'", close));
      }
    }
    ++pos_;
    if (value.kind == Literal::Kind::kTuple && value.items.size() == 1 && !trailing_comma) {
      Literal inner = std::move(value.items[0]);
      value = std::move(inner);
    }
    return Ok{};
  }

  const ByteReader& in_;
  std::string_view text_;
  std::size_t base_;
  std::size_t pos_ = 0;
  std::size_t literals_ = 0;
};

Error header_error(const ByteReader& in, const Literal& value, std::string_view key,
                   std::string allowed) {
  return in.error_at(value.offset, fmt::format("header.{}", key), std::string(value.text),
                     std::move(allowed));
}

Result<DType> dtype_from_descr(const ByteReader& in, const Literal& descr) {
  if (descr.kind == Literal::Kind::kList) {
    // Early 2.0 wrote bfloat16 as numpy's structured dtype [('bfloat16', '<u2')]; nothing else
    // structured is an array MXNet can hold.
    const auto is_string = [](const Literal& l, std::string_view text) {
      return l.kind == Literal::Kind::kString && l.text == text;
    };
    const bool bfloat16 = descr.items.size() == 1 && descr.items[0].kind == Literal::Kind::kTuple &&
                          descr.items[0].items.size() == 2 &&
                          is_string(descr.items[0].items[0], "bfloat16") &&
                          is_string(descr.items[0].items[1], "<u2");
    if (bfloat16) return DType::kBFloat16;
    return header_error(in, descr, "descr", "a plain dtype string, or [('bfloat16', '<u2')]");
  }
  if (descr.kind != Literal::Kind::kString) {
    return header_error(in, descr, "descr", "a dtype string such as '<f4'");
  }
  std::string_view text = descr.text;
  const auto known = std::ranges::find_if(kDTypeTable, [&](const DTypeInfo& info) {
    return text.size() >= 2 && info.npy_descr.substr(1) == text.substr(1);
  });
  if (known == kDTypeTable.end()) {
    std::string codes;
    for (const DTypeInfo& info : kDTypeTable) {
      codes += (codes.empty() ? "" : " ") + std::string(info.npy_descr);
    }
    return header_error(in, descr, "descr", "one of " + codes);
  }
  const char order = text[0];
  const bool little =
      order == '<' || order == '=' || (known->size == 1 && (order == '|' || order == '>'));
  if (!little) {
    return header_error(in, descr, "descr",
                        fmt::format("little-endian '{}': convert with numpy's astype('{}')",
                                    known->npy_descr, known->npy_descr));
  }
  return known->dtype;
}

Result<Shape> shape_from_literal(const ByteReader& in, const Literal& shape) {
  if (shape.kind != Literal::Kind::kTuple) {
    return header_error(in, shape, "shape", "a tuple such as (), (5,) or (2, 3)");
  }
  Shape dims;
  dims.reserve(shape.items.size());
  for (const Literal& dim : shape.items) {
    if (dim.kind != Literal::Kind::kInt || dim.integer < 0) {
      return header_error(in, dim, "shape", "integers >= 0");
    }
    dims.push_back(dim.integer);
  }
  return dims;
}

struct HeaderFields {
  DType dtype = DType::kFloat32;
  bool fortran_order = false;
  Shape shape;
};

// The three keys numpy requires, no more and no fewer, each once.
Result<HeaderFields> read_header_fields(const ByteReader& in, std::string_view text,
                                        std::size_t base) {
  constexpr std::array<std::string_view, 3> kKeys{"descr", "fortran_order", "shape"};
  HeaderParser parser(in, text, base);
  Result<std::vector<std::pair<Literal, Literal>>> entries = parser.parse_dict();
  if (!entries) return entries.error();
  HeaderFields fields;
  std::array<bool, kKeys.size()> seen{};
  for (const auto& [key, value] : *entries) {
    const auto known = std::ranges::find(kKeys, key.text);
    if (known == kKeys.end()) {
      return in.error_at(key.offset, "header", fmt::format("key '{}'", key.text),
                         "only 'descr', 'fortran_order' and 'shape'");
    }
    const auto which = static_cast<std::size_t>(known - kKeys.begin());
    if (seen[which]) {
      return in.error_at(key.offset, "header", fmt::format("key '{}' twice", key.text),
                         "each key once");
    }
    seen[which] = true;
    if (*known == "descr") {
      Result<DType> dtype = dtype_from_descr(in, value);
      if (!dtype) return dtype.error();
      fields.dtype = *dtype;
    } else if (*known == "fortran_order") {
      if (value.kind != Literal::Kind::kBool) {
        return header_error(in, value, "fortran_order", "True or False");
      }
      fields.fortran_order = value.boolean;
    } else {
      Result<Shape> shape = shape_from_literal(in, value);
      if (!shape) return shape.error();
      fields.shape = std::move(*shape);
    }
  }
  if (!std::ranges::all_of(seen, [](bool s) { return s; })) {
    return in.error_at(base, "header", "missing keys",
                       "all of 'descr', 'fortran_order' and 'shape'");
  }
  return fields;
}

// The C-order copy of Fortran-order data: walks the output in C order while stepping the
// source index with Fortran strides (first dim fastest).
Tensor to_c_order(const Tensor& fortran) {
  const Shape& shape = fortran.shape();
  if (fortran.size() == 0) return fortran;
  const std::size_t element = dtype_info(fortran.dtype()).size;
  auto storage = std::make_shared<std::vector<std::byte>>(fortran.bytes().size());
  std::vector<uint64_t> stride(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    stride[d] = d == 0 ? 1 : stride[d - 1] * static_cast<uint64_t>(shape[d - 1]);
  }
  std::vector<int64_t> index(shape.size(), 0);
  const std::byte* in = fortran.bytes().data();
  std::byte* out = storage->data();
  uint64_t source = 0;
  for (uint64_t target = 0; target < fortran.size(); ++target) {
    std::memcpy(out + target * element, in + source * element, element);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) {
        source += stride[d];
        break;
      }
      index[d] = 0;
      source -= stride[d] * static_cast<uint64_t>(shape[d] - 1);
    }
  }
  std::span<const std::byte> view(storage->data(), storage->size());
  return {fortran.dtype(), shape, std::move(storage), view};
}

}  // namespace

Result<Tensor> parse_npy(std::span<const std::byte> bytes, const std::shared_ptr<const void>& owner,
                         const std::string& source, NpyHeader* header) {
  ByteReader in(bytes, source);
  Result<Preamble> preamble = read_preamble(in);
  if (!preamble) return preamble.error();
  const std::size_t header_offset = in.offset();
  std::span<const std::byte> text = in.take(preamble->header_length, "header").value();
  Result<HeaderFields> fields = read_header_fields(
      in, std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), header_offset);
  if (!fields) return fields.error();
  const std::size_t data_offset = in.offset();
  Result<Tensor> tensor = in.tensor(fields->dtype, std::move(fields->shape), owner, "data");
  if (!tensor) return tensor.error();
  MBCC_TRY(in.expect_end("end of file"));
  if (header != nullptr) {
    *header = NpyHeader{preamble->major_version, preamble->minor_version, data_offset,
                        fields->fortran_order};
  }
  if (fields->fortran_order && tensor->shape().size() > 1) return to_c_order(*tensor);
  return tensor;
}

Result<Tensor> read_npy(const std::filesystem::path& path) {
  Result<FileBytes> file = read_file(path);
  if (!file) return file.error();
  return parse_npy(file->bytes(), file->owner, path.string());
}

std::vector<std::byte> serialize_npy_raw(std::string_view descr, const Shape& shape,
                                         std::span<const std::byte> data) {
  // numpy's layout: the dict, spaces, then '\n' so that the data starts at a multiple of 64.
  const std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                       descr, shape_to_string(shape));
  const std::size_t text_length = dict.size() + 1;
  std::size_t prefix = kMagic.size() + 2 + 2;
  std::size_t padding = kAlign - (prefix + text_length) % kAlign;
  const bool version2 = text_length + padding > std::numeric_limits<uint16_t>::max();
  if (version2) {
    prefix += 2;
    padding = kAlign - (prefix + text_length) % kAlign;
  }
  std::vector<std::byte> out;
  out.reserve(prefix + text_length + padding + data.size());
  append_text(out, kMagic);
  append_le(out, uint8_t{version2 ? uint8_t{2} : uint8_t{1}});
  append_le(out, uint8_t{0});
  if (version2) {
    append_le(out, static_cast<uint32_t>(text_length + padding));
  } else {
    append_le(out, static_cast<uint16_t>(text_length + padding));
  }
  append_text(out, dict);
  out.insert(out.end(), padding, std::byte{' '});
  out.push_back(std::byte{'\n'});
  append_bytes(out, data);
  return out;
}

std::vector<std::byte> serialize_npy(const Tensor& tensor) {
  return serialize_npy_raw(dtype_info(tensor.dtype()).npy_descr, tensor.shape(), tensor.bytes());
}

Status write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  return write_file_atomic(path, serialize_npy(tensor));
}

Result<std::span<const std::byte>> npy_payload(std::span<const std::byte> bytes,
                                               const std::string& source) {
  ByteReader in(bytes, source);
  Result<Preamble> preamble = read_preamble(in);
  if (!preamble) return preamble.error();
  in.take(preamble->header_length, "header").value();
  return bytes.subspan(in.offset());
}

}  // namespace mbcc
