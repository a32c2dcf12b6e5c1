#include "formats/ndarray_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "formats/byte_reader.hpp"

namespace mbcc {
namespace {

constexpr uint64_t kListMagic = 0x112;
constexpr uint32_t kV1Magic = 0xF993FAC8;
constexpr uint32_t kV2Magic = 0xF993FAC9;
constexpr uint32_t kV3Magic = 0xF993FACA;

// The smallest record is a v0 none array: its 4-byte ndim alone. The smallest that holds data
// is a v0 record of ndim, one dim, context and dtype. A name is at least its u64 length.
constexpr uint64_t kMinRecordBytes = 4;
constexpr uint64_t kMinDataRecordBytes = 20;
constexpr uint64_t kMinNameBytes = 8;

constexpr std::string_view kDevTypesAllowed = "1 (cpu), 2 (gpu), 3 (cpu_pinned), 5 (cpu_shared)";

// How a record version encodes a TShape: v0 has u32 ndim and u32 dims, V1 u32 ndim and i64
// dims, V2 and V3 i32 ndim (u32 before 1.5: the same bytes for any real ndim) and i64 dims.
// Only V3 (np-shape semantics) marks an unknown shape, with ndim -1 or a dim -1.
struct ShapeEncoding {
  bool signed_ndim;
  std::size_t dim_bytes;
  bool has_unknown;
};

constexpr ShapeEncoding shape_encoding(RecordVersion version) {
  switch (version) {
    case RecordVersion::kV0:
      return {false, 4, false};
    case RecordVersion::kV1:
      return {false, 8, false};
    case RecordVersion::kV2:
      return {true, 8, false};
    case RecordVersion::kV3:
      return {true, 8, true};
  }
  return {true, 8, false};
}

struct ShapeRead {
  Shape shape;
  bool unknown = false;  // V3 only: the record is a none array
};

// The single TShape reader of every record version.
Result<ShapeRead> read_shape(ByteReader& in, RecordVersion version) {
  const ShapeEncoding encoding = shape_encoding(version);
  const std::size_t ndim_offset = in.offset();
  Result<uint32_t> raw_ndim = in.read<uint32_t>("ndim");
  if (!raw_ndim) return raw_ndim.error();
  const int64_t ndim =
      encoding.signed_ndim ? int64_t{static_cast<int32_t>(*raw_ndim)} : int64_t{*raw_ndim};
  if (ndim == -1 && encoding.has_unknown) return ShapeRead{{}, true};
  if (ndim < 0) {
    return in.error_at(ndim_offset, "ndim", std::to_string(ndim),
                       encoding.has_unknown ? ">= 0, or -1 (unknown)" : ">= 0");
  }
  if (static_cast<uint64_t>(ndim) > in.remaining() / encoding.dim_bytes) {
    return in.error_at(
        ndim_offset, "ndim", std::to_string(ndim),
        fmt::format("at most {} ({} bytes left for {}-byte dims)",
                    in.remaining() / encoding.dim_bytes, in.remaining(), encoding.dim_bytes));
  }
  ShapeRead read;
  read.shape.resize(static_cast<std::size_t>(ndim));
  for (std::size_t i = 0; i < read.shape.size(); ++i) {
    // In bounds: the ndim check above covered every dim.
    const std::size_t dim_offset = in.offset();
    const int64_t dim = encoding.dim_bytes == 4 ? int64_t{in.read<uint32_t>("dim").value()}
                                                : in.read<int64_t>("dim").value();
    if (dim == -1 && encoding.has_unknown) {
      read.unknown = true;
    } else if (dim < 0) {
      return in.error_at(dim_offset, fmt::format("dims[{}]", i), std::to_string(dim),
                         encoding.has_unknown ? ">= 0, or -1 (unknown)" : ">= 0");
    }
    read.shape[i] = dim;
  }
  return read;
}

Result<DType> read_dtype(ByteReader& in, std::string_view field) {
  Result<int32_t> flag = in.peek<int32_t>(field);
  if (!flag) return flag.error();
  std::optional<DType> dtype = dtype_from_flag(*flag);
  if (!dtype) {
    return in.error(field, std::to_string(*flag),
                    fmt::format("0..{} (float32 … bfloat16)", kDTypeTable.size() - 1));
  }
  in.skip(sizeof(int32_t));
  return *dtype;
}

constexpr std::size_t aux_count(StorageType storage) {
  switch (storage) {
    case StorageType::kDefault:
      return 0;
    case StorageType::kRowSparse:
      return 1;
    case StorageType::kCsr:
      return 2;
  }
  return 0;
}

// The record's version from its first u32; v0 has no magic, that u32 is already its ndim.
Result<RecordVersion> read_record_version(ByteReader& in) {
  Result<uint32_t> first = in.peek<uint32_t>("magic or ndim");
  if (!first) return first.error();
  switch (*first) {
    case kV1Magic:
      in.skip(sizeof(uint32_t));
      return RecordVersion::kV1;
    case kV2Magic:
      in.skip(sizeof(uint32_t));
      return RecordVersion::kV2;
    case kV3Magic:
      in.skip(sizeof(uint32_t));
      return RecordVersion::kV3;
    default:
      return RecordVersion::kV0;
  }
}

Result<StorageType> read_storage_type(ByteReader& in, RecordVersion version) {
  Result<int32_t> stype = in.peek<int32_t>("stype");
  if (!stype) return stype.error();
  if (version == RecordVersion::kV3 && *stype != 0) {
    return in.error("stype", std::to_string(*stype), "0 (default): V3 records are dense");
  }
  if (*stype < 0 || *stype > 2) {
    return in.error("stype", std::to_string(*stype), "0 (default), 1 (row_sparse), 2 (csr)");
  }
  in.skip(sizeof(int32_t));
  return static_cast<StorageType>(*stype);
}

// The storage shape MXNet's loader uses when the file's is empty: row_sparse keeps the logical
// shape with one row per stored index, csr has one value per column index.
Shape derived_storage_shape(StorageType storage, const Shape& shape,
                            const std::vector<Shape>& aux_shapes) {
  if (storage == StorageType::kCsr) return aux_shapes.size() > 1 ? aux_shapes[1] : Shape{0};
  Shape rows = shape.empty() ? Shape{0} : shape;
  rows[0] = aux_shapes.empty() || aux_shapes[0].empty() ? 0 : aux_shapes[0][0];
  return rows;
}

// Reads the record's fields in file order (§1.3); errors name fields relative to the record.
Result<NDArrayRecord> read_record(ByteReader& in, const std::shared_ptr<const void>& owner) {
  NDArrayRecord record;
  record.offset = in.offset();
  Result<RecordVersion> version = read_record_version(in);
  if (!version) return version.error();
  record.version = *version;
  if (record.version >= RecordVersion::kV2) {
    Result<StorageType> storage = read_storage_type(in, record.version);
    if (!storage) return storage.error();
    record.storage = *storage;
  }
  const std::size_t naux = aux_count(record.storage);
  Shape storage_shape;
  if (naux > 0) {
    Result<ShapeRead> read = read_shape(in, record.version);
    if (!read) return in_field(read.error(), "storage_shape");
    storage_shape = std::move(read->shape);
  }
  Result<ShapeRead> shape = read_shape(in, record.version);
  if (!shape) return in_field(shape.error(), "shape");
  record.shape = std::move(shape->shape);
  // v0, V1 and V2 (np-shape off) mark a none array with ndim 0; V3 with an unknown shape.
  record.is_none = record.version == RecordVersion::kV3 ? shape->unknown : record.shape.empty();
  if (record.is_none) return record;

  const std::size_t dev_type_offset = in.offset();
  Result<int32_t> dev_type = in.read<int32_t>("dev_type");
  if (!dev_type) return dev_type.error();
  if (*dev_type != 1 && *dev_type != 2 && *dev_type != 3 && *dev_type != 5) {
    return in.error_at(dev_type_offset, "dev_type", std::to_string(*dev_type),
                       std::string(kDevTypesAllowed));
  }
  record.dev_type = *dev_type;
  Result<int32_t> dev_id = in.read<int32_t>("dev_id");
  if (!dev_id) return dev_id.error();
  record.dev_id = *dev_id;
  Result<DType> dtype = read_dtype(in, "type_flag");
  if (!dtype) return dtype.error();

  std::vector<DType> aux_dtypes;
  std::vector<Shape> aux_shapes;
  for (std::size_t i = 0; i < naux; ++i) {
    Result<DType> aux_dtype = read_dtype(in, fmt::format("aux_types[{}]", i));
    if (!aux_dtype) return aux_dtype.error();
    aux_dtypes.push_back(*aux_dtype);
    Result<ShapeRead> aux_shape = read_shape(in, record.version);
    if (!aux_shape) return in_field(aux_shape.error(), fmt::format("aux_shapes[{}]", i));
    aux_shapes.push_back(std::move(aux_shape->shape));
  }

  // MXNet writes the storage shape its array happened to record, which is (0,) for a csr array
  // made by tostype(); its loader then takes the shape from the aux arrays, and so do we.
  if (naux > 0 && element_count(storage_shape) == 0) {
    storage_shape = derived_storage_shape(record.storage, record.shape, aux_shapes);
  }
  Result<Tensor> values =
      in.tensor(*dtype, naux > 0 ? std::move(storage_shape) : record.shape, owner, "data");
  if (!values) return values.error();
  record.values = std::move(*values);
  for (std::size_t i = 0; i < naux; ++i) {
    Result<Tensor> aux =
        in.tensor(aux_dtypes[i], std::move(aux_shapes[i]), owner, fmt::format("aux_data[{}]", i));
    if (!aux) return aux.error();
    record.aux.push_back(std::move(*aux));
  }
  Status layout = check_sparse_layout(record);
  if (!layout) {
    Error e = layout.error();
    e.source = std::string(in.source());
    e.location = fmt::format("byte {}", record.offset);
    return e;
  }
  return record;
}

Result<std::string> read_name(ByteReader& in) {
  Result<uint64_t> length = in.read<uint64_t>("length");
  if (!length) return length.error();
  Result<std::string_view> text = in.read_utf8(*length, "bytes");
  if (!text) return text.error();
  return std::string(*text);
}

}  // namespace

std::string_view record_version_name(RecordVersion v) {
  switch (v) {
    case RecordVersion::kV0:
      return "v0";
    case RecordVersion::kV1:
      return "V1";
    case RecordVersion::kV2:
      return "V2";
    case RecordVersion::kV3:
      return "V3";
  }
  return "unknown";
}

std::string_view storage_type_name(StorageType s) {
  switch (s) {
    case StorageType::kDefault:
      return "default";
    case StorageType::kRowSparse:
      return "row_sparse";
    case StorageType::kCsr:
      return "csr";
  }
  return "unknown";
}

Result<NDArrayList> parse_ndarray_list(std::span<const std::byte> bytes,
                                       const std::shared_ptr<const void>& owner,
                                       const std::string& source) {
  ByteReader in(bytes, source);
  Result<uint64_t> magic = in.peek<uint64_t>("magic");
  if (!magic) return magic.error();
  if (*magic != kListMagic) {
    return in.error("magic", fmt::format("{:#x}", *magic), fmt::format("{:#x}", kListMagic));
  }
  in.skip(sizeof(uint64_t));
  Result<uint64_t> reserved = in.read<uint64_t>("reserved");  // never checked by MXNet
  if (!reserved) return reserved.error();
  Result<uint64_t> count = in.read_count("array count", kMinRecordBytes);
  if (!count) return count.error();

  NDArrayList list;
  // Each record costs ~150 bytes of metadata: reserve only what records with data could fill,
  // so a file declaring many 4-byte none records cannot make us reserve 36 times its size.
  list.arrays.reserve(
      static_cast<std::size_t>(std::min(*count, in.remaining() / kMinDataRecordBytes)));
  for (uint64_t i = 0; i < *count; ++i) {
    Result<NDArrayRecord> record = read_record(in, owner);
    if (!record) return in_field(record.error(), fmt::format("arrays[{}]", i));
    list.arrays.push_back(std::move(*record));
  }

  Result<uint64_t> name_count = in.peek<uint64_t>("names count");
  if (!name_count) return name_count.error();
  if (*name_count != 0 && *name_count != *count) {
    return in.error("names count", std::to_string(*name_count),
                    fmt::format("0 or {} (the array count)", *count));
  }
  name_count = in.read_count("names count", kMinNameBytes);
  if (!name_count) return name_count.error();
  list.names.reserve(static_cast<std::size_t>(*name_count));
  for (uint64_t i = 0; i < *name_count; ++i) {
    Result<std::string> name = read_name(in);
    if (!name) return in_field(name.error(), fmt::format("names[{}]", i));
    list.names.push_back(std::move(*name));
  }
  MBCC_TRY(in.expect_end("end of file"));
  return list;
}

Result<NDArrayList> read_ndarray_list(const std::filesystem::path& path) {
  Result<FileBytes> file = read_file(path);
  if (!file) return file.error();
  return parse_ndarray_list(file->bytes(), file->owner, path.string());
}

Status check_sparse_layout(const NDArrayRecord& record) {
  const Shape& shape = record.shape;
  const Shape& values = record.values.shape();
  auto fail = [](std::string field, const Shape& found, std::string allowed) -> Status {
    return field_error("", "", std::move(field), shape_to_string(found), std::move(allowed));
  };
  if (!element_count(shape)) {
    return fail("shape", shape, "dims >= 0 whose product fits in 64 bits");
  }
  if (record.aux.size() != aux_count(record.storage)) {
    return field_error("", "", "aux", fmt::format("{} aux arrays", record.aux.size()),
                       fmt::format("{} for {} storage", aux_count(record.storage),
                                   storage_type_name(record.storage)));
  }
  for (std::size_t i = 0; i < record.aux.size(); ++i) {
    const DTypeInfo& info = dtype_info(record.aux[i].dtype());
    if (info.kind != DTypeKind::kSigned && info.kind != DTypeKind::kUnsigned) {
      return field_error("", "", fmt::format("aux_types[{}]", i), std::string(info.name),
                         "an integer dtype (indices)");
    }
  }
  switch (record.storage) {
    case StorageType::kDefault:
      if (values != shape) {
        return fail("data shape", values, "the logical shape " + shape_to_string(shape));
      }
      return Ok{};
    case StorageType::kRowSparse:
      if (shape.empty() || values.size() != shape.size() || values[0] > shape[0] ||
          !std::equal(values.begin() + 1, values.end(), shape.begin() + 1)) {
        return fail("storage_shape", values,
                    fmt::format("(nnr, …) with nnr <= rows and the trailing dims of {}",
                                shape_to_string(shape)));
      }
      if (record.aux[0].shape() != Shape{values[0]}) {
        return fail("aux_shapes[0]", record.aux[0].shape(),
                    fmt::format("({},): one row index per stored row", values[0]));
      }
      return Ok{};
    case StorageType::kCsr:
      if (shape.size() != 2 || shape[0] == std::numeric_limits<int64_t>::max()) {
        return fail("shape", shape, "(rows, cols) for csr");
      }
      if (values.size() != 1) return fail("storage_shape", values, "(nnz,) for csr");
      if (record.aux[0].shape() != Shape{shape[0] + 1}) {
        return fail("aux_shapes[0]", record.aux[0].shape(),
                    fmt::format("({},): indptr has rows + 1 entries", shape[0] + 1));
      }
      if (record.aux[1].shape() != values) {
        return fail("aux_shapes[1]", record.aux[1].shape(),
                    fmt::format("({},): one column index per value", values[0]));
      }
      return Ok{};
  }
  return Ok{};
}

namespace {

constexpr std::string_view kWriterSource = "NDArray list writer";

Error write_error(std::string field, std::string found, std::string allowed) {
  return field_error(std::string(kWriterSource), "", std::move(field), std::move(found),
                     std::move(allowed));
}

// Fails when `record` cannot be written as `version` (see serialize_ndarray_list).
Status check_representable(const NDArrayRecord& record, RecordVersion version) {
  const std::string version_name(record_version_name(version));
  if (record.storage != StorageType::kDefault && version != RecordVersion::kV2) {
    return write_error("storage", std::string(storage_type_name(record.storage)),
                       "default storage in " + version_name + " (sparse needs V2)");
  }
  if (record.is_none) return Ok{};
  Status layout = check_sparse_layout(record);
  if (!layout) {
    Error e = layout.error();
    e.source = kWriterSource;
    return e;
  }
  if (version == RecordVersion::kV0 &&
      std::ranges::any_of(record.shape, [](int64_t d) { return d > UINT32_MAX; })) {
    return write_error("shape", shape_to_string(record.shape), "dims below 2^32 in v0");
  }
  if (version == RecordVersion::kV3) return Ok{};
  if (record.shape.empty()) {
    return write_error("shape", "()", "ndim >= 1 in " + version_name + " (0-d needs V3)");
  }
  if (element_count(record.shape) == 0U) {
    return write_error("shape", shape_to_string(record.shape),
                       "no zero dim in " + version_name + " (zero-size needs V3)");
  }
  return Ok{};
}

void write_shape(std::vector<std::byte>& out, const Shape& shape, RecordVersion version) {
  append_le(out, static_cast<uint32_t>(shape.size()));
  for (int64_t dim : shape) {
    if (version == RecordVersion::kV0) {
      append_le(out, static_cast<uint32_t>(dim));
    } else {
      append_le(out, dim);
    }
  }
}

void write_record(std::vector<std::byte>& out, const NDArrayRecord& record, RecordVersion version) {
  switch (version) {
    case RecordVersion::kV0:
      break;
    case RecordVersion::kV1:
      append_le(out, kV1Magic);
      break;
    case RecordVersion::kV2:
      append_le(out, kV2Magic);
      break;
    case RecordVersion::kV3:
      append_le(out, kV3Magic);
      break;
  }
  if (version >= RecordVersion::kV2) append_le(out, static_cast<int32_t>(record.storage));
  if (record.storage != StorageType::kDefault) write_shape(out, record.values.shape(), version);
  if (record.is_none) {
    // ndim 0 marks none in v0, V1 and V2; V3 needs an unknown shape (ndim -1).
    append_le(out, version == RecordVersion::kV3 ? int32_t{-1} : int32_t{0});
    return;
  }
  write_shape(out, record.shape, version);
  append_le(out, record.dev_type);
  append_le(out, record.dev_id);
  append_le(out, static_cast<int32_t>(record.values.dtype()));
  for (const Tensor& aux : record.aux) {
    append_le(out, static_cast<int32_t>(aux.dtype()));
    write_shape(out, aux.shape(), version);
  }
  append_bytes(out, record.values.bytes());
  for (const Tensor& aux : record.aux) append_bytes(out, aux.bytes());
}

}  // namespace

Result<std::vector<std::byte>> serialize_ndarray_list(const NDArrayList& list,
                                                      RecordVersion version) {
  if (!list.names.empty() && list.names.size() != list.arrays.size()) {
    return write_error("names count", std::to_string(list.names.size()),
                       fmt::format("0 or {} (the array count)", list.arrays.size()));
  }
  // Header fields are small: reserving the data bytes plus a margin per array avoids regrowth.
  std::size_t size = 32;
  for (const NDArrayRecord& record : list.arrays) {
    size += 64 + 16 * record.shape.size() + record.values.bytes().size();
    for (const Tensor& aux : record.aux) size += 16 + 8 * aux.shape().size() + aux.bytes().size();
  }
  for (const std::string& name : list.names) size += 8 + name.size();
  std::vector<std::byte> out;
  out.reserve(size);

  append_le(out, kListMagic);
  append_le(out, uint64_t{0});
  append_le(out, static_cast<uint64_t>(list.arrays.size()));
  for (std::size_t i = 0; i < list.arrays.size(); ++i) {
    Status ok = check_representable(list.arrays[i], version);
    if (!ok) return in_field(ok.error(), fmt::format("arrays[{}]", i));
    write_record(out, list.arrays[i], version);
  }
  append_le(out, static_cast<uint64_t>(list.names.size()));
  for (std::size_t i = 0; i < list.names.size(); ++i) {
    const std::string& name = list.names[i];
    if (std::optional<std::size_t> bad = find_invalid_utf8(std::as_bytes(std::span(name)))) {
      return write_error(fmt::format("names[{}]", i),
                         fmt::format("byte 0x{:02x} at {}", static_cast<uint8_t>(name[*bad]), *bad),
                         "UTF-8 text");
    }
    append_le(out, static_cast<uint64_t>(name.size()));
    append_text(out, name);
  }
  return out;
}

}  // namespace mbcc
