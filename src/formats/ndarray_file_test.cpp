#include "formats/ndarray_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/byte_reader.hpp"
#include "formats/reader_error_expect.hpp"

namespace mbcc {
namespace {

constexpr std::string_view kSource = "test.params";

// A tensor whose bytes count up from `seed`, so every array differs.
Tensor counting_tensor(DType dtype, Shape shape, uint8_t seed = 1) {
  const std::size_t size = *element_count(shape) * dtype_info(dtype).size;
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(seed + i * 7);
  return Tensor::copy_of(dtype, std::move(shape), bytes);
}

Tensor int64_tensor(const std::vector<int64_t>& values) {
  return Tensor::copy_of(DType::kInt64, {static_cast<int64_t>(values.size())},
                         std::as_bytes(std::span(values)));
}

NDArrayRecord dense(DType dtype, Shape shape, uint8_t seed = 1) {
  NDArrayRecord record;
  record.shape = shape;
  record.values = counting_tensor(dtype, std::move(shape), seed);
  return record;
}

NDArrayRecord none() {
  NDArrayRecord record;
  record.is_none = true;
  return record;
}

// A 5x4 row_sparse array with rows 1 and 3 stored.
NDArrayRecord row_sparse(DType dtype) {
  NDArrayRecord record;
  record.storage = StorageType::kRowSparse;
  record.shape = {5, 4};
  record.values = counting_tensor(dtype, {2, 4});
  record.aux = {int64_tensor({1, 3})};
  return record;
}

// [[0, a, 0], [0, 0, 0], [b, 0, c]] as csr.
NDArrayRecord csr(DType dtype) {
  NDArrayRecord record;
  record.storage = StorageType::kCsr;
  record.shape = {3, 3};
  record.values = counting_tensor(dtype, {3});
  record.aux = {int64_tensor({0, 1, 1, 3}), int64_tensor({1, 0, 2})};
  return record;
}

std::vector<std::byte> serialize(const NDArrayList& list, RecordVersion version) {
  Result<std::vector<std::byte>> bytes = serialize_ndarray_list(list, version);
  if (!bytes) ADD_FAILURE() << bytes.error().message();
  return bytes.ok() ? *bytes : std::vector<std::byte>{};
}

// Parses a copy that the tensors keep alive, as read_ndarray_list does with the file's buffer.
Result<NDArrayList> parse(std::span<const std::byte> bytes) {
  auto owner = std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end());
  return parse_ndarray_list(*owner, owner, std::string(kSource));
}

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

void expect_same_tensor(const Tensor& actual, const Tensor& expected, const std::string& what) {
  EXPECT_EQ(actual.dtype(), expected.dtype()) << what;
  EXPECT_EQ(actual.shape(), expected.shape()) << what;
  EXPECT_TRUE(std::ranges::equal(actual.bytes(), expected.bytes())) << what;
}

void expect_same(const NDArrayList& actual, const NDArrayList& expected) {
  ASSERT_EQ(actual.arrays.size(), expected.arrays.size());
  EXPECT_EQ(actual.names, expected.names);
  for (std::size_t i = 0; i < actual.arrays.size(); ++i) {
    const NDArrayRecord& a = actual.arrays[i];
    const NDArrayRecord& e = expected.arrays[i];
    const std::string what = "array " + std::to_string(i);
    EXPECT_EQ(a.is_none, e.is_none) << what;
    EXPECT_EQ(a.storage, e.storage) << what;
    if (e.is_none) continue;
    EXPECT_EQ(a.shape, e.shape) << what;
    expect_same_tensor(a.values, e.values, what);
    ASSERT_EQ(a.aux.size(), e.aux.size()) << what;
    for (std::size_t k = 0; k < a.aux.size(); ++k) expect_same_tensor(a.aux[k], e.aux[k], what);
  }
}

void expect_error(const Result<NDArrayList>& result, std::string_view field, std::size_t offset,
                  std::string_view found = {}) {
  expect_reader_error(result, kSource, field, offset, found);
}

template <class T>
void put(std::vector<std::byte>& bytes, std::size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

constexpr RecordVersion kAllVersions[] = {RecordVersion::kV0, RecordVersion::kV1,
                                          RecordVersion::kV2, RecordVersion::kV3};

TEST(NDArrayFile, RoundTripsEveryVersionAndDType) {
  for (RecordVersion version : kAllVersions) {
    NDArrayList list;
    for (const DTypeInfo& info : kDTypeTable) {
      list.arrays.push_back(dense(info.dtype, {2, 3}, static_cast<uint8_t>(info.dtype)));
      list.names.push_back("arg:" + std::string(info.name));
    }
    for (bool named : {true, false}) {
      NDArrayList input = list;
      if (!named) input.names.clear();
      Result<NDArrayList> parsed = parse(serialize(input, version));
      ASSERT_TRUE(parsed.ok()) << parsed.error().message();
      expect_same(*parsed, input);
      for (const NDArrayRecord& record : parsed->arrays) EXPECT_EQ(record.version, version);
    }
  }
}

TEST(NDArrayFile, RoundTripsNoneArraysInEveryVersion) {
  for (RecordVersion version : kAllVersions) {
    NDArrayList list;
    list.arrays = {dense(DType::kFloat32, {4}), none(), dense(DType::kInt8, {1, 2, 3})};
    Result<NDArrayList> parsed = parse(serialize(list, version));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    expect_same(*parsed, list);
  }
}

TEST(NDArrayFile, RoundTripsSparseInV2) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt64}) {
    NDArrayList list;
    list.arrays = {row_sparse(dtype), csr(dtype), dense(dtype, {2})};
    list.names = {"rsp", "csr", "dense"};
    Result<NDArrayList> parsed = parse(serialize(list, RecordVersion::kV2));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    expect_same(*parsed, list);
  }
}

// MXNet 1.4.1 and 1.9.1 write a csr array made by tostype() with storage shape (0,); their
// loader takes the stored shape from the aux arrays instead, and so must mbcc.
TEST(NDArrayFile, TakesAnEmptyStorageShapeFromTheAuxArrays) {
  for (NDArrayRecord record : {csr(DType::kFloat32), row_sparse(DType::kFloat32)}) {
    NDArrayList list;
    list.arrays = {record};
    std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
    constexpr std::size_t kStorageDim0 = 24 + 4 + 4 + 4;  // header, magic, stype, ndim
    std::fill_n(bytes.begin() + kStorageDim0, 8, std::byte{0});
    Result<NDArrayList> parsed = parse(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    expect_same(*parsed, list);
  }
}

TEST(NDArrayFile, RoundTripsSparseWithInt32IndicesAndNoStoredValues) {
  NDArrayRecord empty_rows = row_sparse(DType::kFloat64);
  empty_rows.values = counting_tensor(DType::kFloat64, {0, 4});
  empty_rows.aux = {Tensor::copy_of(DType::kInt32, {0}, {})};
  NDArrayRecord empty_csr = csr(DType::kFloat32);
  empty_csr.values = counting_tensor(DType::kFloat32, {0});
  std::vector<int32_t> indptr{0, 0, 0, 0};
  empty_csr.aux = {Tensor::copy_of(DType::kInt32, {4}, std::as_bytes(std::span(indptr))),
                   Tensor::copy_of(DType::kInt32, {0}, {})};
  NDArrayList list;
  list.arrays = {empty_rows, empty_csr};
  Result<NDArrayList> parsed = parse(serialize(list, RecordVersion::kV2));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  expect_same(*parsed, list);
}

TEST(NDArrayFile, RoundTripsScalarsAndZeroSizeArraysInV3) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {}), dense(DType::kInt64, {0, 3}), dense(DType::kBool, {0}),
                 none()};
  Result<NDArrayList> parsed = parse(serialize(list, RecordVersion::kV3));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  expect_same(*parsed, list);
  EXPECT_EQ(parsed->arrays[0].values.size(), 1U);
  EXPECT_EQ(parsed->arrays[1].values.bytes().size(), 0U);
}

TEST(NDArrayFile, WriterRefusesWhatAVersionCannotHold) {
  struct Case {
    NDArrayRecord record;
    RecordVersion version;
    std::string_view field;
  };
  const Case cases[] = {
      {row_sparse(DType::kFloat32), RecordVersion::kV3, "arrays[0].storage"},
      {csr(DType::kFloat32), RecordVersion::kV0, "arrays[0].storage"},
      {csr(DType::kFloat32), RecordVersion::kV1, "arrays[0].storage"},
      {dense(DType::kFloat32, {}), RecordVersion::kV2, "arrays[0].shape"},
      {dense(DType::kFloat32, {2, 0}), RecordVersion::kV0, "arrays[0].shape"},
      {dense(DType::kUint8, {int64_t{1} << 32, 0}), RecordVersion::kV0, "arrays[0].shape"},
  };
  for (const Case& c : cases) {
    NDArrayList list;
    list.arrays = {c.record};
    Result<std::vector<std::byte>> bytes = serialize_ndarray_list(list, c.version);
    ASSERT_FALSE(bytes.ok()) << c.field;
    EXPECT_EQ(bytes.error().field, c.field) << bytes.error().message();
  }
}

TEST(NDArrayFile, WriterRefusesBadNamesAndInconsistentSparse) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {1}), dense(DType::kFloat32, {1})};
  list.names = {"only one"};
  Result<std::vector<std::byte>> bytes = serialize_ndarray_list(list);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().field, "names count");

  list.names = {"ok", "bad\xff"};
  bytes = serialize_ndarray_list(list);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().field, "names[1]");

  NDArrayRecord bad = csr(DType::kFloat32);
  bad.aux[0] = int64_tensor({0, 3});
  list = {};
  list.arrays = {bad};
  bytes = serialize_ndarray_list(list);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().field, "arrays[0].aux_shapes[0]");
}

// §1.4: a dense float32 (2, 3) on cpu(0).
TEST(NDArrayFile, MatchesTheSpecExampleBytes) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  const std::vector<std::byte> header = bytes_of({0x12, 0x01, 0, 0, 0, 0, 0, 0,    // magic
                                                  0,    0,    0, 0, 0, 0, 0, 0,    // reserved
                                                  1,    0,    0, 0, 0, 0, 0, 0});  // N
  const std::vector<std::byte> v2 =
      bytes_of({0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                3,    0,    0,    0,    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const std::vector<std::byte> v0 =
      bytes_of({2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const std::vector<std::byte> no_names(8, std::byte{0});
  for (auto [version, record] : {std::pair{RecordVersion::kV2, v2}, {RecordVersion::kV0, v0}}) {
    std::vector<std::byte> expected = header;
    expected.insert(expected.end(), record.begin(), record.end());
    const std::span<const std::byte> data = list.arrays[0].values.bytes();
    expected.insert(expected.end(), data.begin(), data.end());
    expected.insert(expected.end(), no_names.begin(), no_names.end());
    EXPECT_EQ(serialize(list, version), expected) << record_version_name(version);
    Result<NDArrayList> parsed = parse(expected);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    expect_same(*parsed, list);
  }
}

TEST(NDArrayFile, ReadsTheRealLegacyFile) {
  const std::filesystem::path path =
      std::filesystem::path(MBCC_SHARED_DIR) / "testdata/mxnet-legacy/legacy_ndarray.v0";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "needs the MXNet legacy test file, absent at " << path;
  }
  Result<NDArrayList> list = read_ndarray_list(path);
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->arrays.size(), 6U);
  EXPECT_TRUE(list->names.empty());
  for (const NDArrayRecord& record : list->arrays) {
    EXPECT_EQ(record.version, RecordVersion::kV0);
    EXPECT_EQ(record.shape, Shape{128});
    ASSERT_EQ(record.values.dtype(), DType::kFloat32);
    for (uint64_t i = 0; i < 128; ++i) {
      ASSERT_EQ(record.values.element_as_double(i), static_cast<double>(i));
    }
  }
  // Written again as v0, the file comes back byte for byte.
  Result<FileBytes> original = read_file(path);
  ASSERT_TRUE(original.ok());
  EXPECT_TRUE(std::ranges::equal(serialize(*list, RecordVersion::kV0), original->bytes()));
}

TEST(NDArrayFile, TensorsAreViewsIntoTheBuffer) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3}), csr(DType::kFloat64)};
  auto bytes = std::make_shared<const std::vector<std::byte>>(serialize(list, RecordVersion::kV2));
  Result<NDArrayList> parsed = parse_ndarray_list(*bytes, bytes, std::string(kSource));
  ASSERT_TRUE(parsed.ok());
  std::weak_ptr<const std::vector<std::byte>> buffer = bytes;
  bytes.reset();
  ASSERT_FALSE(buffer.expired()) << "the tensors keep the buffer alive";
  const std::vector<std::byte>& kept = *buffer.lock();
  const auto inside = [&](const Tensor& t) {
    return t.bytes().data() >= kept.data() && t.bytes().data() < kept.data() + kept.size();
  };
  EXPECT_TRUE(inside(parsed->arrays[0].values));
  EXPECT_TRUE(inside(parsed->arrays[1].values));
  EXPECT_TRUE(inside(parsed->arrays[1].aux[1]));
}

TEST(NDArrayFile, ReadsFilesThatMixRecordVersions) {
  NDArrayList v0;
  v0.arrays = {dense(DType::kFloat32, {3})};
  NDArrayList v3;
  v3.arrays = {dense(DType::kInt32, {})};
  std::vector<std::byte> bytes = serialize(v0, RecordVersion::kV0);
  bytes.resize(bytes.size() - 8);  // drop the names count, append V3's record and names
  const std::vector<std::byte> tail = serialize(v3, RecordVersion::kV3);
  bytes.insert(bytes.end(), tail.begin() + 24, tail.end());
  put(bytes, 16, uint64_t{2});
  Result<NDArrayList> parsed = parse(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->arrays[0].version, RecordVersion::kV0);
  EXPECT_EQ(parsed->arrays[1].version, RecordVersion::kV3);
  EXPECT_EQ(parsed->arrays[1].shape, Shape{});
}

// Offsets of the §1.4 example: magic 0, reserved 8, N 16, record 24 (magic 24, stype 28,
// ndim 32, dims 36, dev_type 52, dev_id 56, type_flag 60, data 64), names count 88; 96 bytes.
TEST(NDArrayFile, TruncationNamesTheFieldAndOffset) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  const std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  ASSERT_EQ(bytes.size(), 96U);
  struct Expect {
    std::size_t below;  // for prefixes shorter than this
    std::string_view field;
    std::size_t offset;
  };
  const Expect table[] = {
      {8, "magic", 0},
      {16, "reserved", 8},
      {24, "array count", 16},
      {28, "array count", 16},  // 1 array cannot fit in under 4 bytes
      {32, "arrays[0].stype", 28},
      {36, "arrays[0].shape.ndim", 32},
      {52, "arrays[0].shape.ndim", 32},  // 2 dims need 16 bytes
      {56, "arrays[0].dev_type", 52},
      {60, "arrays[0].dev_id", 56},
      {64, "arrays[0].type_flag", 60},
      {88, "arrays[0].data", 64},
      {96, "names count", 88},
  };
  std::size_t row = 0;
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    while (length >= table[row].below) ++row;
    SCOPED_TRACE("prefix of " + std::to_string(length) + " bytes");
    expect_error(parse(std::span(bytes).first(length)), table[row].field, table[row].offset);
  }
}

// Every prefix of every kind of file is an error that points inside the prefix.
TEST(NDArrayFile, EveryPrefixOfEveryKindIsAnError) {
  std::vector<std::pair<NDArrayList, RecordVersion>> files;
  NDArrayList dense_named;
  dense_named.arrays = {dense(DType::kFloat16, {2, 2}), dense(DType::kUint64, {3})};
  dense_named.names = {"arg:w", "aux:\xc3\xa9t\xc3\xa9"};
  for (RecordVersion version : kAllVersions) files.emplace_back(dense_named, version);
  NDArrayList sparse;
  sparse.arrays = {row_sparse(DType::kFloat32), csr(DType::kBFloat16), none()};
  files.emplace_back(sparse, RecordVersion::kV2);
  NDArrayList np;
  np.arrays = {dense(DType::kFloat32, {}), dense(DType::kInt8, {0}), none()};
  files.emplace_back(np, RecordVersion::kV3);
  NDArrayList nones;
  nones.arrays = {none(), none()};
  files.emplace_back(nones, RecordVersion::kV0);

  for (const auto& [list, version] : files) {
    const std::vector<std::byte> bytes = serialize(list, version);
    ASSERT_TRUE(parse(bytes).ok());
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      Result<NDArrayList> result = parse(std::span(bytes).first(length));
      ASSERT_FALSE(result.ok()) << record_version_name(version) << ", prefix " << length;
      EXPECT_LE(error_offset(result.error()), length) << result.error().message();
      EXPECT_FALSE(result.error().field.empty());
    }
  }
}

TEST(NDArrayFile, RejectsTrailingBytes) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2})};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  const std::size_t end = bytes.size();
  bytes.push_back(std::byte{0});
  expect_error(parse(bytes), "end of file", end, "1 trailing bytes");
}

TEST(NDArrayFile, RejectsAFlippedMagic) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2})};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  bytes[0] ^= std::byte{0xff};
  expect_error(parse(bytes), "magic", 0, "0x1ed");
  EXPECT_EQ(parse(bytes).error().allowed, "0x112");
}

TEST(NDArrayFile, HugeCountsFailFastWithoutAllocating) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2})};
  list.names = {"w"};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  std::vector<std::byte> huge_arrays = bytes;
  put(huge_arrays, 16, uint64_t{1} << 60);
  expect_error(parse(huge_arrays), "array count", 16, "1152921504606846976");

  std::vector<std::byte> huge_names = bytes;
  const std::size_t names_offset = 24 + 4 + 4 + 4 + 8 + 12 + 8;
  put(huge_names, names_offset, uint64_t{1} << 60);
  expect_error(parse(huge_names), "names count", names_offset);

  std::vector<std::byte> huge_name = bytes;
  put(huge_name, names_offset + 8, uint64_t{1} << 60);
  expect_error(parse(huge_name), "names[0].bytes", names_offset + 16);

  // A v0 record claiming 2^32 - 1 dims.
  std::vector<std::byte> huge_ndim =
      bytes_of({0x12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0,
                0,    0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff});
  huge_ndim.resize(64);
  expect_error(parse(huge_ndim), "arrays[0].shape.ndim", 24, "4294967295");
}

TEST(NDArrayFile, RejectsShapesWhoseSizeOverflowsOrExceedsTheFile) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  const std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  std::vector<std::byte> overflow = bytes;
  put(overflow, 36, int64_t{1} << 62);
  put(overflow, 44, int64_t{1} << 62);
  expect_error(parse(overflow), "arrays[0].data", 64,
               "float32 (4611686018427387904, 4611686018427387904)");

  std::vector<std::byte> byte_overflow = bytes;  // 2^62 elements fit in 64 bits, 2^64 bytes do not
  put(byte_overflow, 36, int64_t{1} << 62);
  put(byte_overflow, 44, int64_t{1});
  expect_error(parse(byte_overflow), "arrays[0].data", 64);

  std::vector<std::byte> too_big = bytes;
  put(too_big, 44, int64_t{5});
  expect_error(parse(too_big), "arrays[0].data", 64, "32 bytes left");
  EXPECT_EQ(parse(too_big).error().allowed, "40 bytes for float32 (2, 5)");
}

TEST(NDArrayFile, RejectsNegativeDimsAndNdim) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  for (RecordVersion version : {RecordVersion::kV1, RecordVersion::kV2, RecordVersion::kV3}) {
    std::vector<std::byte> bytes = serialize(list, version);
    const std::size_t ndim = version == RecordVersion::kV1 ? 28 : 32;
    std::vector<std::byte> negative_dim = bytes;
    put(negative_dim, ndim + 12, int64_t{-3});
    expect_error(parse(negative_dim), "arrays[0].shape.dims[1]", ndim + 12, "-3");
    if (version == RecordVersion::kV1) continue;  // V1's ndim is unsigned: huge, not negative
    std::vector<std::byte> negative_ndim = bytes;
    put(negative_ndim, ndim, int32_t{-2});
    expect_error(parse(negative_ndim), "arrays[0].shape.ndim", ndim, "-2");
  }
  // ndim -1 is "unknown" only in V3; in V2 it is an error.
  std::vector<std::byte> v2 = serialize(list, RecordVersion::kV2);
  put(v2, 32, int32_t{-1});
  expect_error(parse(v2), "arrays[0].shape.ndim", 32, "-1");
}

TEST(NDArrayFile, ReadsNoneMarkersOfEachVersion) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  // V3: a -1 dim makes the record none, after the whole shape.
  std::vector<std::byte> v3 = serialize(list, RecordVersion::kV3);
  put(v3, 36, int64_t{-1});
  v3.resize(52);
  v3.resize(60, std::byte{0});  // names count 0
  Result<NDArrayList> parsed = parse(v3);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->arrays[0].is_none);

  // V2: ndim 0 is none (np-shape off).
  std::vector<std::byte> v2 =
      bytes_of({0x12, 1, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
                0,    0, 0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  parsed = parse(v2);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->arrays[0].is_none);
}

TEST(NDArrayFile, RejectsUnknownDTypeStorageAndDevice) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {2, 3})};
  const std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  std::vector<std::byte> dtype = bytes;
  put(dtype, 60, int32_t{13});
  expect_error(parse(dtype), "arrays[0].type_flag", 60, "13");
  put(dtype, 60, int32_t{-1});
  expect_error(parse(dtype), "arrays[0].type_flag", 60, "-1");

  std::vector<std::byte> stype = bytes;
  put(stype, 28, int32_t{3});
  expect_error(parse(stype), "arrays[0].stype", 28, "3");
  put(stype, 28, int32_t{-1});
  expect_error(parse(stype), "arrays[0].stype", 28, "-1");

  std::vector<std::byte> device = bytes;
  put(device, 52, int32_t{4});
  expect_error(parse(device), "arrays[0].dev_type", 52, "4");

  NDArrayList sparse;
  sparse.arrays = {csr(DType::kFloat32)};
  std::vector<std::byte> v3_sparse = serialize(sparse, RecordVersion::kV2);
  put(v3_sparse, 24, uint32_t{0xF993FACA});
  expect_error(parse(v3_sparse), "arrays[0].stype", 28, "2");

  std::vector<std::byte> float_indices = serialize(sparse, RecordVersion::kV2);
  // csr aux types follow magic, stype, storage shape (4 + 8), shape (4 + 16), context, type_flag.
  const std::size_t aux0 = 24 + 4 + 4 + 12 + 20 + 8 + 4;
  put(float_indices, aux0, int32_t{0});
  expect_error(parse(float_indices), "arrays[0].aux_types[0]", 24, "float32");
}

TEST(NDArrayFile, RejectsInconsistentSparseShapes) {
  NDArrayList list;
  list.arrays = {row_sparse(DType::kFloat32)};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  // Storage shape (2, 4) -> (2, 5): its trailing dim no longer matches the logical (5, 4).
  put(bytes, 24 + 4 + 4 + 4 + 8, int64_t{5});
  bytes.insert(bytes.end() - 8 - 16, 8, std::byte{0});  // room for the larger data
  expect_error(parse(bytes), "arrays[0].storage_shape", 24, "(2, 5)");
}

TEST(NDArrayFile, RejectsNamesThatAreNotUtf8) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {1}), dense(DType::kFloat32, {1})};
  list.names = {"arg:a", "arg:\xc3\xa9"};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  const std::size_t bad = bytes.size() - 2;  // the é's lead byte
  bytes[bad] = std::byte{0xff};
  expect_error(parse(bytes), "names[1].bytes", bad, "byte 0xff");
}

TEST(NDArrayFile, RejectsNamesCountNeitherZeroNorN) {
  NDArrayList list;
  list.arrays = {dense(DType::kFloat32, {1}), dense(DType::kFloat32, {1})};
  list.names = {"a", "b"};
  std::vector<std::byte> bytes = serialize(list, RecordVersion::kV2);
  const std::size_t names_offset = 24 + 2 * (4 + 4 + 4 + 8 + 12 + 4);
  put(bytes, names_offset, uint64_t{1});
  expect_error(parse(bytes), "names count", names_offset, "1");
}

TEST(FindInvalidUtf8, AcceptsValidAndPointsAtInvalidSequences) {
  const auto check = [](std::string_view text) {
    return find_invalid_utf8(std::as_bytes(std::span(text.data(), text.size())));
  };
  EXPECT_EQ(check("plain ascii"), std::nullopt);
  EXPECT_EQ(check("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), std::nullopt);  // é € 😀
  EXPECT_EQ(check("ab\x80"), 2U);                // stray continuation byte
  EXPECT_EQ(check("a\xc0\xaf"), 1U);             // overlong '/'
  EXPECT_EQ(check("\xed\xa0\x80"), 0U);          // surrogate U+D800
  EXPECT_EQ(check("\xf4\x90\x80\x80"), 0U);      // past U+10FFFF
  EXPECT_EQ(check("ok\xe2\x82"), 2U);            // cut short
  EXPECT_EQ(check("\xf8\x88\x80\x80\x80"), 0U);  // 5-byte form
}

}  // namespace
}  // namespace mbcc
