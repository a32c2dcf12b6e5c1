#include "formats/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "formats/reader_error_expect.hpp"

namespace mbcc {
namespace {

constexpr std::string_view kSource = "test.npy";

// Seeds written by numpy 1.23.5 (and a few hand-made MXNet variants), kept in the fuzz corpus.
std::filesystem::path seed(std::string_view name) {
  return std::filesystem::path(MBCC_SOURCE_DIR) / "fuzz/corpus/npy" / name;
}

std::vector<std::byte> seed_bytes(std::string_view name) {
  Result<FileBytes> file = read_file(seed(name));
  if (!file) ADD_FAILURE() << file.error().message();
  return file ? std::vector<std::byte>(file->bytes().begin(), file->bytes().end())
              : std::vector<std::byte>{};
}

// Parses a copy that the tensor keeps alive, as read_npy does with the file's buffer.
Result<Tensor> parse(std::span<const std::byte> bytes, NpyHeader* header = nullptr) {
  auto owner = std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end());
  return parse_npy(*owner, owner, std::string(kSource), header);
}

std::vector<std::byte> text_bytes(std::string_view text) {
  const auto* data = reinterpret_cast<const std::byte*>(text.data());
  return {data, data + text.size()};
}

// A file with `header` as its text, padded the numpy way, then `data`: version 1.0, or 2.0 when
// the text needs more than 64 KiB.
std::vector<std::byte> npy_with_header(std::string_view header, std::vector<std::byte> data = {}) {
  const bool version2 = header.size() > 60000;
  const std::size_t prefix = version2 ? 12 : 10;
  std::string text(header);
  text.append(64 - (prefix + text.size() + 1) % 64, ' ');
  text += '\n';
  std::vector<std::byte> out = text_bytes("\x93NUMPY");
  out.push_back(std::byte{version2 ? std::byte{2} : std::byte{1}});
  out.push_back(std::byte{0});
  for (std::size_t i = 0; i < prefix - 8; ++i) {
    out.push_back(static_cast<std::byte>((text.size() >> (8 * i)) & 0xff));
  }
  const std::vector<std::byte> rest = text_bytes(text);
  out.insert(out.end(), rest.begin(), rest.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  for (uint64_t i = 0; i < t.size(); ++i) out.push_back(t.element_as_double(i));
  return out;
}

void expect_error(const Result<Tensor>& result, std::string_view field, std::size_t offset,
                  std::string_view found = {}) {
  expect_reader_error(result, kSource, field, offset, found);
}

TEST(Npy, ReadsWhatNumpyWrote) {
  struct Case {
    std::string_view file;
    DType dtype;
    Shape shape;
    std::vector<double> values;
  };
  const Case cases[] = {
      {"numpy_f4_2x3.npy", DType::kFloat32, {2, 3}, {0, 1, 2, 3, 4, 5}},
      {"numpy_i8_5.npy", DType::kInt64, {5}, {-2, -1, 0, 1, 2}},
      {"numpy_f8_scalar.npy", DType::kFloat64, {}, {3.5}},
      {"numpy_b1_0x4.npy", DType::kBool, {0, 4}, {}},
      {"numpy_u1_4.npy", DType::kUint8, {4}, {0, 1, 1, 0}},
      {"numpy_i1_4.npy", DType::kInt8, {4}, {0, 1, 1, 0}},
      {"numpy_u2_4.npy", DType::kUint16, {4}, {0, 1, 1, 0}},
      {"numpy_u4_4.npy", DType::kUint32, {4}, {0, 1, 1, 0}},
      {"numpy_u8_4.npy", DType::kUint64, {4}, {0, 1, 1, 0}},
      {"numpy_i4_4.npy", DType::kInt32, {4}, {0, 1, 1, 0}},
      {"numpy_b1_4.npy", DType::kBool, {4}, {0, 1, 1, 0}},
      {"numpy_v2_header_f4_3.npy", DType::kFloat32, {3}, {0, 1, 2}},
      {"numpy_v3_header_i4_2x2.npy", DType::kInt32, {2, 2}, {0, 1, 2, 3}},
      // Fortran order comes back in C order.
      {"numpy_i2_fortran_2x3.npy", DType::kInt16, {2, 3}, {0, 1, 2, 3, 4, 5}},
      {"numpy_f2_fortran_2x3x2.npy",
       DType::kFloat16,
       {2, 3, 2},
       {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
      // bfloat16 as early 2.0 wrote it (numpy's structured dtype) and as later 2.0 writes it.
      {"numpy_structured_bfloat16_3.npy", DType::kBFloat16, {3}, {1, 2, -3}},
      {"mxnet_b2_bfloat16_2.npy", DType::kBFloat16, {2}, {1, 2}},
      // Python 2's numpy wrote dims as longs.
      {"python2_long_dims_2x1.npy", DType::kInt32, {2, 1}, {7, 8}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    Result<Tensor> tensor = read_npy(seed(c.file));
    ASSERT_TRUE(tensor.ok()) << tensor.error().message();
    EXPECT_EQ(tensor->dtype(), c.dtype);
    EXPECT_EQ(tensor->shape(), c.shape);
    EXPECT_EQ(values_of(*tensor), c.values);
  }
}

TEST(Npy, ReportsTheHeaderItRead) {
  NpyHeader header;
  ASSERT_TRUE(parse(seed_bytes("numpy_v3_header_i4_2x2.npy"), &header).ok());
  EXPECT_EQ(header.major_version, 3);
  EXPECT_EQ(header.data_offset, 128U);
  ASSERT_TRUE(parse(seed_bytes("numpy_i2_fortran_2x3.npy"), &header).ok());
  EXPECT_EQ(header.major_version, 1);
  EXPECT_TRUE(header.fortran_order);
}

TEST(Npy, WritesWhatNumpyWrites) {
  for (std::string_view file :
       {"numpy_f4_2x3.npy", "numpy_i8_5.npy", "numpy_f8_scalar.npy", "numpy_b1_0x4.npy",
        "numpy_u1_4.npy", "numpy_i1_4.npy", "numpy_u2_4.npy", "numpy_u4_4.npy", "numpy_u8_4.npy",
        "numpy_i4_4.npy", "numpy_b1_4.npy", "mxnet_b2_bfloat16_2.npy"}) {
    SCOPED_TRACE(file);
    const std::vector<std::byte> bytes = seed_bytes(file);
    Result<Tensor> tensor = parse(bytes);
    ASSERT_TRUE(tensor.ok()) << tensor.error().message();
    EXPECT_EQ(serialize_npy(*tensor), bytes);
  }
}

TEST(Npy, RoundTripsEveryDTypeAndAlignsTheData) {
  for (const DTypeInfo& info : kDTypeTable) {
    for (const Shape& shape : {Shape{}, Shape{7}, Shape{2, 3}, Shape{1, 0, 5}, Shape(9, 2)}) {
      std::vector<std::byte> data(*element_count(shape) * info.size);
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 13 + 5);
      const Tensor tensor = Tensor::copy_of(info.dtype, shape, data);
      const std::vector<std::byte> bytes = serialize_npy(tensor);
      NpyHeader header;
      Result<Tensor> parsed = parse(bytes, &header);
      ASSERT_TRUE(parsed.ok()) << parsed.error().message();
      EXPECT_EQ(parsed->dtype(), info.dtype);
      EXPECT_EQ(parsed->shape(), shape);
      EXPECT_TRUE(std::ranges::equal(parsed->bytes(), data));
      EXPECT_EQ(header.data_offset % 64, 0U);
      EXPECT_EQ(bytes[header.data_offset - 1], std::byte{'\n'});
    }
  }
}

TEST(Npy, WritesVersion2WhenTheHeaderOutgrowsVersion1) {
  const Shape shape(30000, 1);  // "1, " per dim: over 65535 bytes of header
  const std::byte one_byte{42};
  const Tensor tensor = Tensor::copy_of(DType::kUint8, shape, std::span(&one_byte, 1));
  const std::vector<std::byte> bytes = serialize_npy(tensor);
  NpyHeader header;
  Result<Tensor> parsed = parse(bytes, &header);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(header.major_version, 2);
  EXPECT_EQ(header.data_offset % 64, 0U);
  EXPECT_EQ(parsed->shape(), shape);
}

TEST(Npy, COrderTensorsAreViewsAndFortranOnesOwnedCopies) {
  const std::vector<std::byte> c_order = seed_bytes("numpy_f4_2x3.npy");
  Result<Tensor> view = parse_npy(c_order, nullptr, std::string(kSource));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->bytes().data(), c_order.data() + 128);
  const std::vector<std::byte> fortran = seed_bytes("numpy_i2_fortran_2x3.npy");
  Result<Tensor> copy = parse_npy(fortran, nullptr, std::string(kSource));
  ASSERT_TRUE(copy.ok());
  EXPECT_FALSE(copy->bytes().data() >= fortran.data() &&
               copy->bytes().data() < fortran.data() + fortran.size());
}

TEST(Npy, WritesAndReadsFiles) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("mbcc_npy_test_" + std::to_string(::getpid()) + ".npy");
  const std::vector<int64_t> values{5, -6, 7};
  const Tensor tensor = Tensor::copy_of(DType::kInt64, {3}, std::as_bytes(std::span(values)));
  ASSERT_TRUE(write_npy(path, tensor).ok());
  Result<Tensor> read = read_npy(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(values_of(*read), (std::vector<double>{5, -6, 7}));
}

TEST(Npy, EveryPrefixIsAnErrorInsideIt) {
  for (std::string_view file : {"numpy_f4_2x3.npy", "numpy_v2_header_f4_3.npy",
                                "numpy_i2_fortran_2x3.npy", "numpy_structured_bfloat16_3.npy"}) {
    const std::vector<std::byte> bytes = seed_bytes(file);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      Result<Tensor> result = parse(std::span(bytes).first(length));
      ASSERT_FALSE(result.ok()) << file << ", prefix " << length;
      EXPECT_LE(error_offset(result.error()), length) << result.error().message();
      EXPECT_EQ(result.error().source, kSource);
    }
  }
}

TEST(Npy, TruncationNamesTheFieldAndOffset) {
  const std::vector<std::byte> bytes = seed_bytes("numpy_f4_2x3.npy");  // header 10..128
  expect_error(parse(std::span(bytes).first(3)), "magic", 0);
  expect_error(parse(std::span(bytes).first(7)), "version", 6);
  expect_error(parse(std::span(bytes).first(9)), "header length", 8);
  expect_error(parse(std::span(bytes).first(100)), "header length", 8, "118");
  expect_error(parse(std::span(bytes).first(140)), "data", 128, "12 bytes left");
}

TEST(Npy, RejectsBadPreambles) {
  std::vector<std::byte> bytes = seed_bytes("numpy_f4_2x3.npy");
  std::vector<std::byte> magic = bytes;
  magic[1] = std::byte{'n'};
  expect_error(parse(magic), "magic", 0, "\"\\x93nUMPY\"");
  std::vector<std::byte> version = bytes;
  version[6] = std::byte{4};
  expect_error(parse(version), "version", 6, "4.0");
  version[6] = std::byte{1};
  version[7] = std::byte{1};
  expect_error(parse(version), "version", 6, "1.1");
  std::vector<std::byte> trailing = bytes;
  trailing.push_back(std::byte{0});
  expect_error(parse(trailing), "end of file", bytes.size(), "1 trailing bytes");
}

TEST(Npy, RejectsBadHeaders) {
  struct Case {
    std::string_view header;
    std::string_view field;
    std::size_t offset;  // of the offending text, from the start of the file
    std::string_view found;
  };
  const Case cases[] = {
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "header.descr", 20, ">f4"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "header.descr", 20, "<c8"},
      {"{'descr': '|S3', 'fortran_order': False, 'shape': (), }", "header.descr", 20, "|S3"},
      {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", "header.descr", 20,
       "[('x', '<f4')]"},
      {"{'descr': 4, 'fortran_order': False, 'shape': (1,), }", "header.descr", 20, "4"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "header.fortran_order", 44, "0"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", "header.shape", 60, "(5)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "header.shape", 60, "[1]"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", "header.shape", 64, "-1"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "header", 66, "key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "header", 27,
       "key 'descr' twice"},
      {"{'descr': '<f4', 'shape': (1,), }", "header", 10, "missing keys"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "header", 68, "'x'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "header", 128, "end of header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "header", 61,
       "an integer"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", "header", 27, "'f'"},
      {"{'de\\x73cr': '<f4', 'fortran_order': False, 'shape': (1,), }", "header", 11, "de\\x73cr"},
      {"{1: '<f4'}", "header", 11, "1"},
      {"{'descr': ((((((((((1,),),),),),),),),),), }", "header", 29, "'('"},
      {"", "header", 64, "end of header"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    std::vector<std::byte> data(4);
    expect_error(parse(npy_with_header(c.header, data)), c.field, c.offset, c.found);
  }
}

TEST(Npy, BoundsTheValuesInAHeader) {
  std::string many = "{'descr': '<u1', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 70000; ++i) many += "1,";
  many += "), }";
  Result<Tensor> result = parse(npy_with_header(many, std::vector<std::byte>(1)));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "header");
  EXPECT_EQ(result.error().allowed, "at most 65536 values in the header");
}

TEST(Npy, RejectsBigEndianWithAClearMessage) {
  Result<Tensor> result = parse(npy_with_header(
      "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", std::vector<std::byte>(8)));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().allowed.find("little-endian '<i8'"), std::string::npos)
      << result.error().message();
  // Byte order means nothing for one-byte types.
  EXPECT_TRUE(parse(npy_with_header("{'descr': '>u1', 'fortran_order': False, 'shape': (1,), }",
                                    std::vector<std::byte>(1)))
                  .ok());
}

TEST(Npy, RejectsShapesBeyondTheData) {
  expect_error(parse(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                     std::vector<std::byte>(16))),
               "data", 128, "16 bytes left");
  expect_error(parse(npy_with_header(
                   "{'descr': '<f8', 'fortran_order': True, 'shape': (4294967296, 4294967296), }",
                   std::vector<std::byte>(16))),
               "data", 128);
}

TEST(Npy, ReadsThePayloadAfterAMalformedHeader) {
  // MXNet 2.0's format.npy: two dicts run together, then the format name.
  const std::vector<std::byte> bytes = npy_with_header(
      "{'descr': '|s3{'descr': '<i8', 'fortran_order': False, 'shape': (), }", text_bytes("csr"));
  EXPECT_FALSE(parse(bytes).ok());
  Result<std::span<const std::byte>> payload = npy_payload(bytes, std::string(kSource));
  ASSERT_TRUE(payload.ok()) << payload.error().message();
  EXPECT_TRUE(std::ranges::equal(*payload, text_bytes("csr")));
  EXPECT_FALSE(npy_payload(std::span(bytes).first(50), std::string(kSource)).ok());
}

}  // namespace
}  // namespace mbcc
