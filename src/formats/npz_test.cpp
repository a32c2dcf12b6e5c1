#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "formats/npy.hpp"

namespace mbcc {
namespace {

constexpr std::string_view kSource = "test.npz";

// Archives written by numpy 1.23.5, and one in MXNet 2.0's sparse layout (with its malformed
// format.npy headers), kept in the fuzz corpus.
std::vector<std::byte> seed_bytes(std::string_view name) {
  Result<FileBytes> file =
      read_file(std::filesystem::path(MBCC_SOURCE_DIR) / "fuzz/corpus/npz" / name);
  if (!file) ADD_FAILURE() << file.error().message();
  return file ? std::vector<std::byte>(file->bytes().begin(), file->bytes().end())
              : std::vector<std::byte>{};
}

Result<std::vector<NpzEntry>> parse(std::span<const std::byte> bytes,
                                    const NpzLimits& limits = {}) {
  return parse_npz(bytes, std::string(kSource), limits);
}

template <class T>
Tensor tensor_of(DType dtype, Shape shape, const std::vector<T>& values) {
  return Tensor::copy_of(dtype, std::move(shape), std::as_bytes(std::span(values)));
}

std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  for (uint64_t i = 0; i < t.size(); ++i) out.push_back(t.element_as_double(i));
  return out;
}

NpzEntry dense_entry(std::string name, Tensor values) {
  NpzEntry entry;
  entry.name = std::move(name);
  entry.array.shape = values.shape();
  entry.array.values = std::move(values);
  return entry;
}

NpzEntry csr_entry(std::string name) {
  NpzEntry entry;
  entry.name = std::move(name);
  entry.array.storage = StorageType::kCsr;
  entry.array.shape = {3, 3};
  entry.array.values = tensor_of<float>(DType::kFloat32, {3}, {1, 2, 3});
  entry.array.aux = {tensor_of<int64_t>(DType::kInt64, {4}, {0, 1, 1, 3}),
                     tensor_of<int64_t>(DType::kInt64, {3}, {1, 0, 2})};
  return entry;
}

NpzEntry row_sparse_entry(std::string name) {
  NpzEntry entry;
  entry.name = std::move(name);
  entry.array.storage = StorageType::kRowSparse;
  entry.array.shape = {5, 2};
  entry.array.values = tensor_of<double>(DType::kFloat64, {2, 2}, {1, 2, 3, 4});
  entry.array.aux = {tensor_of<int64_t>(DType::kInt64, {2}, {1, 4})};
  return entry;
}

std::vector<std::byte> serialize(const std::vector<NpzEntry>& entries, bool compress) {
  Result<std::vector<std::byte>> bytes = serialize_npz(entries, compress);
  if (!bytes) ADD_FAILURE() << bytes.error().message();
  return bytes ? *bytes : std::vector<std::byte>{};
}

void expect_same(const std::vector<NpzEntry>& actual, const std::vector<NpzEntry>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const NDArrayRecord& a = actual[i].array;
    const NDArrayRecord& e = expected[i].array;
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(actual[i].name, expected[i].name);
    EXPECT_EQ(a.storage, e.storage);
    EXPECT_EQ(a.shape, e.shape);
    EXPECT_EQ(a.values.dtype(), e.values.dtype());
    EXPECT_EQ(a.values.shape(), e.values.shape());
    EXPECT_TRUE(std::ranges::equal(a.values.bytes(), e.values.bytes()));
    ASSERT_EQ(a.aux.size(), e.aux.size());
    for (std::size_t k = 0; k < a.aux.size(); ++k) {
      EXPECT_EQ(a.aux[k].shape(), e.aux[k].shape());
      EXPECT_TRUE(std::ranges::equal(a.aux[k].bytes(), e.aux[k].bytes()));
    }
  }
}

// Offsets of every occurrence of `signature` (a zip record's "PK.." magic).
std::vector<std::size_t> find_all(const std::vector<std::byte>& bytes, std::string_view signature) {
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i + signature.size() <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, signature.data(), signature.size()) == 0) found.push_back(i);
  }
  return found;
}

void put_u32(std::vector<std::byte>& bytes, std::size_t offset, uint32_t value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// A stored archive of raw members: ones that serialize_npz would never produce.
std::vector<std::byte> zip_of(
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& members) {
  std::vector<ZipMember> zip_members;
  for (const auto& [name, bytes] : members) zip_members.push_back(ZipMember{name, {bytes}});
  Result<std::vector<std::byte>> archive = serialize_zip(zip_members);
  if (!archive) ADD_FAILURE() << archive.error().message();
  return archive ? *archive : std::vector<std::byte>{};
}

constexpr std::string_view kLocalHeader = "PK\x03\x04";
constexpr std::string_view kCentralHeader = "PK\x01\x02";

TEST(Npz, ReadsWhatNumpyWrote) {
  Result<std::vector<NpzEntry>> entries = parse(seed_bytes("numpy_savez.npz"));
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 3U);
  // In archive order: numpy writes keyword arrays first.
  EXPECT_EQ((*entries)[0].name, "weight");
  EXPECT_EQ((*entries)[1].name, "bias");
  EXPECT_EQ((*entries)[2].name, "arr_0");
  EXPECT_EQ((*entries)[0].array.shape, (Shape{2, 3}));
  EXPECT_EQ(values_of((*entries)[0].array.values), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values_of((*entries)[1].array.values), (std::vector<double>{0, 1, 2}));
  EXPECT_FALSE((*entries)[0].compressed);

  entries = parse(seed_bytes("numpy_savez_compressed.npz"));
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_TRUE((*entries)[0].compressed);
  EXPECT_EQ((*entries)[1].name, "mask");
  EXPECT_EQ(values_of((*entries)[1].array.values), (std::vector<double>{1, 1, 1, 1}));

  entries = parse(seed_bytes("numpy_savez_empty.npz"));
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  EXPECT_TRUE(entries->empty());
}

TEST(Npz, ReadsMXNetSparseFolders) {
  Result<std::vector<NpzEntry>> entries = parse(seed_bytes("mxnet_sparse.npz"));
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  // notes/readme.txt is not an .npy member: skipped, as MXNet does.
  expect_same(*entries, {csr_entry("c"), row_sparse_entry("r"),
                         dense_entry("dense", tensor_of<int32_t>(DType::kInt32, {1, 2}, {1, 2}))});
}

TEST(Npz, RoundTripsDenseAndSparseStoredOrDeflated) {
  std::vector<NpzEntry> entries;
  for (const DTypeInfo& info : kDTypeTable) {
    std::vector<uint8_t> raw(6 * info.size);
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 11 + 3);
    entries.push_back(dense_entry(std::string(info.name), tensor_of(info.dtype, {2, 3}, raw)));
  }
  entries.push_back(dense_entry("scalar", tensor_of<float>(DType::kFloat32, {}, {2.5F})));
  entries.push_back(dense_entry("empty", tensor_of<int8_t>(DType::kInt8, {0, 2}, {})));
  entries.push_back(dense_entry("", tensor_of<int16_t>(DType::kInt16, {1}, {9})));
  entries.push_back(csr_entry("sparse/csr"));
  entries.push_back(row_sparse_entry("rsp"));
  for (bool compress : {false, true}) {
    const std::vector<std::byte> bytes = serialize(entries, compress);
    Result<std::vector<NpzEntry>> parsed = parse(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    // In archive order (members of one folder come back together).
    expect_same(*parsed, entries);
    for (const NpzEntry& entry : *parsed) EXPECT_EQ(entry.compressed, compress) << entry.name;
    EXPECT_EQ(serialize(entries, compress), bytes) << "same input, same bytes";
  }
}

TEST(Npz, WritesAnEmptyArchiveLikeNumpy) {
  EXPECT_EQ(serialize({}, false), seed_bytes("numpy_savez_empty.npz"));
}

TEST(Npz, WriterRefusesWhatNpzCannotHold) {
  NpzEntry none;
  none.name = "none";
  none.array.is_none = true;
  EXPECT_FALSE(serialize_npz({none}).ok());
  NpzEntry bad = csr_entry("bad");
  bad.array.aux[1] = tensor_of<int64_t>(DType::kInt64, {1}, {0});
  Result<std::vector<std::byte>> result = serialize_npz({bad});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "entries[0] 'bad'.aux_shapes[1]");
  std::vector<NpzEntry> twice{dense_entry("a", tensor_of<int8_t>(DType::kInt8, {1}, {1})),
                              dense_entry("a", tensor_of<int8_t>(DType::kInt8, {1}, {1}))};
  EXPECT_FALSE(serialize_npz(twice).ok());
}

TEST(Npz, EveryPrefixIsAnError) {
  const std::vector<std::byte> stored = serialize({csr_entry("c"), row_sparse_entry("r")}, false);
  const std::vector<std::byte> deflated = seed_bytes("numpy_savez_compressed.npz");
  for (const std::vector<std::byte>* bytes : {&stored, &deflated}) {
    for (std::size_t length = 0; length < bytes->size(); ++length) {
      Result<std::vector<NpzEntry>> result = parse(std::span(*bytes).first(length));
      ASSERT_FALSE(result.ok()) << "prefix " << length;
      EXPECT_EQ(result.error().source, kSource);
    }
  }
}

TEST(Npz, RejectsDataThatFailsItsCrc) {
  std::vector<std::byte> bytes = seed_bytes("numpy_savez.npz");
  bytes[find_all(bytes, "\x93NUMPY")[0] + 130] ^= std::byte{1};  // inside arr_0's data
  Result<std::vector<NpzEntry>> result = parse(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().location, "member 'weight.npy'");
  EXPECT_NE(result.error().message().find("CRC"), std::string::npos) << result.error().message();
}

TEST(Npz, RejectsMembersThatLieAboutTheirSize) {
  // Stored: an uncompressed size larger than the stored bytes.
  std::vector<std::byte> stored = seed_bytes("numpy_savez.npz");
  for (std::size_t at : find_all(stored, kLocalHeader)) put_u32(stored, at + 22, 0x7fffffff);
  for (std::size_t at : find_all(stored, kCentralHeader)) put_u32(stored, at + 24, 0x7fffffff);
  Result<std::vector<NpzEntry>> result = parse(stored);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "uncompressed size") << result.error().message();
  EXPECT_EQ(result.error().found, "2147483647");

  // Deflated: more than deflate can produce from the compressed bytes.
  std::vector<std::byte> deflated = seed_bytes("numpy_savez_compressed.npz");
  for (std::size_t at : find_all(deflated, kLocalHeader)) put_u32(deflated, at + 22, 0xfffffff0);
  for (std::size_t at : find_all(deflated, kCentralHeader)) put_u32(deflated, at + 24, 0xfffffff0);
  result = parse(deflated);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "uncompressed size") << result.error().message();

  // Deflated: a size smaller than what the data inflates to.
  std::vector<std::byte> short_size = seed_bytes("numpy_savez_compressed.npz");
  for (std::size_t at : find_all(short_size, kLocalHeader)) put_u32(short_size, at + 22, 100);
  for (std::size_t at : find_all(short_size, kCentralHeader)) put_u32(short_size, at + 24, 100);
  EXPECT_FALSE(parse(short_size).ok());
}

TEST(Npz, HonoursItsLimits) {
  const std::vector<std::byte> bytes = seed_bytes("numpy_savez.npz");  // members of 152, 152, 152
  Result<std::vector<NpzEntry>> result = parse(bytes, NpzLimits{100, 1000});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "uncompressed size");
  EXPECT_NE(result.error().allowed.find("max_member_bytes"), std::string::npos);
  result = parse(bytes, NpzLimits{1000, 400});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().location, "member 'arr_0.npy'");
  EXPECT_NE(result.error().allowed.find("max_total_bytes"), std::string::npos);
}

TEST(Npz, RejectsBadSparseFolders) {
  const auto member = [](std::string name, Tensor t) { return dense_entry(std::move(name), t); };
  const auto text = [](std::string_view s) {
    return tensor_of(DType::kUint8, {static_cast<int64_t>(s.size())},
                     std::vector<uint8_t>(s.begin(), s.end()));
  };
  const Tensor i64 = tensor_of<int64_t>(DType::kInt64, {2}, {0, 1});
  // SciPy's COO layout: MXNet refuses it.
  Result<std::vector<NpzEntry>> result =
      parse(serialize({member("m/data", i64), member("m/row", i64), member("m/col", i64),
                       member("m/shape", i64), member("m/format", text("coo"))},
                      false));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().location, "member 'm/'");
  EXPECT_EQ(result.error().found, "coo");

  // The csr file set with a format that says otherwise.
  NpzEntry csr = csr_entry("m");
  const std::vector<NpzEntry> csr_parts{
      member("m/data", csr.array.values), member("m/indptr", csr.array.aux[0]),
      member("m/indices", csr.array.aux[1]),
      member("m/shape", tensor_of<int64_t>(DType::kInt64, {2}, {3, 3}))};
  std::vector<NpzEntry> entries = csr_parts;
  entries.push_back(member("m/format", text("csc")));
  result = parse(serialize(entries, false));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "format");
  EXPECT_EQ(result.error().found, "'csc'");

  // A logical shape that does not fit the parts.
  entries = csr_parts;
  entries[3] = member("m/shape", tensor_of<int64_t>(DType::kInt64, {2}, {4, 3}));
  entries.push_back(member("m/format", text("csr")));
  result = parse(serialize(entries, false));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "aux_shapes[0]") << result.error().message();
  EXPECT_EQ(result.error().location, "member 'm/'");

  // shape.npy must be a 1-d integer array.
  entries = csr_parts;
  entries[3] = member("m/shape", tensor_of<float>(DType::kFloat32, {2}, {3, 3}));
  entries.push_back(member("m/format", text("csr")));
  result = parse(serialize(entries, false));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "shape.npy");
}

TEST(Npz, RejectsDuplicateMembersAndNonArchives) {
  std::vector<std::byte> bytes =
      serialize({dense_entry("a", tensor_of<int8_t>(DType::kInt8, {1}, {1})),
                 dense_entry("b", tensor_of<int8_t>(DType::kInt8, {1}, {2}))},
                false);
  for (std::size_t at : find_all(bytes, "b.npy")) bytes[at] = std::byte{'a'};
  Result<std::vector<NpzEntry>> result = parse(bytes);
  EXPECT_FALSE(result.ok());

  // A dense `x.npy` and a sparse folder `x/` would be one name twice in the loaded dict.
  NpzEntry sparse = csr_entry("x");
  result = parse(
      serialize({dense_entry("x", tensor_of<int8_t>(DType::kInt8, {1}, {1})), sparse}, false));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "array name");
  EXPECT_EQ(result.error().found, "'x' twice");

  result = parse(std::vector<std::byte>(100, std::byte{'x'}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, kSource);
}

TEST(Npz, MemberErrorsNameTheMemberAndItsOffset) {
  std::vector<std::byte> npy = serialize_npy(tensor_of<float>(DType::kFloat32, {2}, {1, 2}));
  npy[21] = std::byte{'>'};  // descr '<f4' -> '>f4'
  Result<std::vector<NpzEntry>> result = parse(zip_of({{"w.npy", npy}}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, "test.npz:w.npy");
  EXPECT_EQ(result.error().field, "header.descr");
  EXPECT_EQ(result.error().location, "byte 20");
}

}  // namespace
}  // namespace mbcc
