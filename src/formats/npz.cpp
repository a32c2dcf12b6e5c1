// The npz half of npy.hpp: zip archives of .npy members, read and written in memory through
// libzip, with MXNet 2.0's sparse folders (§1.9).
#include <fmt/format.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "base/file.hpp"
#include "formats/byte_reader.hpp"
#include "formats/npy.hpp"

namespace mbcc {
namespace {

// Deflate cannot expand one byte into more than 1032; the slack covers tiny members.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kDeflateSlack = 1024;
// 1980-01-01 00:00, the earliest DOS date: fixed so equal input gives equal archives.
constexpr zip_uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;

// The end-of-central-directory record of an archive with no members: libzip writes nothing at
// all for one, but numpy writes (and reads) this.
constexpr std::array<uint8_t, 22> kEmptyArchive{0x50, 0x4b, 0x05, 0x06};

// Folder contents that make one sparse array (SciPy's save_npz names, MXNet's row_sparse).
const std::set<std::string_view> kCsrFiles{"data.npy", "indices.npy", "indptr.npy", "format.npy",
                                           "shape.npy"};
const std::set<std::string_view> kRowSparseFiles{"data.npy", "indices.npy", "format.npy",
                                                 "shape.npy"};
// SciPy layouts MXNet refuses to load.
const std::set<std::string_view> kCooFiles{"data.npy", "row.npy", "col.npy", "format.npy",
                                           "shape.npy"};
const std::set<std::string_view> kDiaFiles{"data.npy", "offsets.npy", "format.npy", "shape.npy"};

struct ArchiveDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ArchiveDiscard>;

struct SourceFree {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};
using Source = std::unique_ptr<zip_source_t, SourceFree>;

struct FileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using MemberFile = std::unique_ptr<zip_file_t, FileClose>;

Error libzip_error(std::string_view source, std::string location, std::string_view step,
                   std::string_view message) {
  Error e = Error::plain(std::string(source), fmt::format("{}: {}", step, message));
  e.location = std::move(location);
  return e;
}

// The same from a zip_error_t, which it releases.
Error libzip_error(std::string_view source, std::string location, std::string_view step,
                   zip_error_t* error) {
  Error e = libzip_error(source, std::move(location), step, zip_error_strerror(error));
  zip_error_fini(error);
  return e;
}

std::string member_location(std::string_view name) { return fmt::format("member '{}'", name); }

struct Member {
  std::string name;
  zip_uint64_t index = 0;
};

// One member's bytes, inflated into a buffer that its tensors view.
struct MemberBytes {
  std::shared_ptr<const void> owner;
  std::span<const std::byte> bytes;
  bool compressed = false;
};

class NpzReader {
 public:
  NpzReader(zip_t* archive, const std::string& source, std::size_t archive_size,
            const NpzLimits& limits)
      : archive_(archive), source_(source), archive_size_(archive_size), limits_(limits) {}

  // Checks the sizes the archive declares before allocating them, then checks that the member
  // holds exactly that many bytes (libzip checks the CRC when the read reaches the end).
  Result<MemberBytes> read(const Member& member) {
    const std::string location = member_location(member.name);
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive_, member.index, 0, &stat) != 0) {
      return libzip_error(source_, location, "stat", zip_strerror(archive_));
    }
    constexpr zip_uint64_t kNeeded = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((stat.valid & kNeeded) != kNeeded) {
      return libzip_error(source_, location, "stat", "sizes or compression method unknown");
    }
    if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && stat.encryption_method != ZIP_EM_NONE) {
      return field_error(source_, location, "encryption", std::to_string(stat.encryption_method),
                         "none");
    }
    const bool compressed = stat.comp_method != ZIP_CM_STORE;
    if (compressed && stat.comp_method != ZIP_CM_DEFLATE) {
      return field_error(source_, location, "compression method", std::to_string(stat.comp_method),
                         "0 (stored) or 8 (deflated)");
    }
    if (stat.comp_size > archive_size_) {
      return field_error(source_, location, "compressed size", std::to_string(stat.comp_size),
                         fmt::format("at most {} (the archive size)", archive_size_));
    }
    const uint64_t most =
        compressed ? stat.comp_size * kMaxDeflateRatio + kDeflateSlack : stat.comp_size;
    if (stat.size > most) {
      return field_error(source_, location, "uncompressed size", std::to_string(stat.size),
                         fmt::format("at most {} ({} from {} bytes)", most,
                                     compressed ? "deflated" : "stored", stat.comp_size));
    }
    if (stat.size > limits_.max_member_bytes) {
      return field_error(
          source_, location, "uncompressed size", std::to_string(stat.size),
          fmt::format("at most {} (NpzLimits::max_member_bytes)", limits_.max_member_bytes));
    }
    if (stat.size > limits_.max_total_bytes - total_) {
      return field_error(source_, location, "uncompressed size", std::to_string(stat.size),
                         fmt::format("at most {} more (NpzLimits::max_total_bytes)",
                                     limits_.max_total_bytes - total_));
    }
    total_ += stat.size;

    MemberFile file(zip_fopen_index(archive_, member.index, 0));
    if (!file) return libzip_error(source_, location, "open", zip_strerror(archive_));
    const auto size = static_cast<std::size_t>(stat.size);
    // Left uninitialised: inflating fills it.
    auto buffer = std::make_shared_for_overwrite<std::byte[]>(size);  // NOLINT(*-avoid-c-arrays)
    std::size_t done = 0;
    while (done < size) {
      zip_int64_t n = zip_fread(file.get(), buffer.get() + done, size - done);
      if (n < 0) return libzip_error(source_, location, "read", zip_file_strerror(file.get()));
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    std::byte extra{};
    zip_int64_t more = done == size ? zip_fread(file.get(), &extra, 1) : 0;
    if (more < 0) return libzip_error(source_, location, "read", zip_file_strerror(file.get()));
    if (done != size || more != 0) {
      return field_error(source_, location, "uncompressed size", std::to_string(stat.size),
                         more != 0 ? "the size of the data (it holds more)"
                                   : fmt::format("the size of the data ({} bytes)", done));
    }
    std::span<const std::byte> view(buffer.get(), size);
    return MemberBytes{std::move(buffer), view, compressed};
  }

  Result<Tensor> read_npy(const Member& member, bool& compressed) {
    Result<MemberBytes> bytes = read(member);
    if (!bytes) return bytes.error();
    compressed = compressed || bytes->compressed;
    return parse_npy(bytes->bytes, bytes->owner, fmt::format("{}:{}", source_, member.name));
  }

  const std::string& source() const { return source_; }

 private:
  zip_t* archive_;
  const std::string& source_;
  std::size_t archive_size_;
  const NpzLimits& limits_;
  uint64_t total_ = 0;
};

// A folder (or the top level, "") and its .npy members in archive order.
struct Folder {
  std::string path;  // with its trailing '/'
  std::vector<Member> members;
  std::set<std::string, std::less<>> files;  // the members' names inside the folder

  const Member& member(std::string_view file) const {
    return *std::ranges::find_if(members, [&](const Member& m) {
      return std::string_view(m.name).substr(path.size()) == file;
    });
  }
};

Result<Shape> shape_from_tensor(const Tensor& tensor, const std::string& source,
                                const std::string& location) {
  const DType dtype = tensor.dtype();
  if (tensor.shape().size() != 1 || (dtype != DType::kInt64 && dtype != DType::kInt32)) {
    return field_error(
        source, location, "shape.npy",
        fmt::format("{} {}", dtype_info(dtype).name, shape_to_string(tensor.shape())),
        "a 1-d int64 (or int32) array");
  }
  Shape shape(tensor.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (dtype == DType::kInt64) {
      std::memcpy(&shape[i], tensor.bytes().data() + 8 * i, 8);
    } else {
      int32_t dim = 0;
      std::memcpy(&dim, tensor.bytes().data() + 4 * i, 4);
      shape[i] = dim;
    }
  }
  return shape;
}

Result<NpzEntry> read_sparse(NpzReader& reader, const Folder& folder, StorageType storage) {
  const std::string location = member_location(folder.path);
  NpzEntry entry;
  entry.name = folder.path.substr(0, folder.path.size() - (folder.path.empty() ? 0 : 1));
  entry.array.storage = storage;

  // format.npy's header may be malformed (MXNet 2.0 writes two dicts run together): only the
  // payload's leading bytes say the format.
  const Member& format_member = folder.member("format.npy");
  Result<MemberBytes> format_bytes = reader.read(format_member);
  if (!format_bytes) return format_bytes.error();
  entry.compressed = format_bytes->compressed;
  const std::string format_source = fmt::format("{}:{}", reader.source(), format_member.name);
  Result<std::span<const std::byte>> payload = npy_payload(format_bytes->bytes, format_source);
  if (!payload) return payload.error();
  const std::string_view expected = storage_type_name(storage);
  std::string_view text(reinterpret_cast<const char*>(payload->data()), payload->size());
  if (!text.starts_with(expected)) {
    return field_error(
        reader.source(), member_location(format_member.name), "format",
        fmt::format("'{}'", printable(payload->first(std::min<std::size_t>(payload->size(), 16)))),
        fmt::format("'{}', the layout of the folder's files", expected));
  }

  Result<Tensor> values = reader.read_npy(folder.member("data.npy"), entry.compressed);
  if (!values) return values.error();
  entry.array.values = std::move(*values);
  std::vector<std::string_view> aux_files{"indices.npy"};
  if (storage == StorageType::kCsr) aux_files.insert(aux_files.begin(), "indptr.npy");
  for (std::string_view file : aux_files) {
    Result<Tensor> aux = reader.read_npy(folder.member(file), entry.compressed);
    if (!aux) return aux.error();
    entry.array.aux.push_back(std::move(*aux));
  }
  Result<Tensor> shape_tensor = reader.read_npy(folder.member("shape.npy"), entry.compressed);
  if (!shape_tensor) return shape_tensor.error();
  Result<Shape> shape = shape_from_tensor(*shape_tensor, reader.source(), location);
  if (!shape) return shape.error();
  entry.array.shape = std::move(*shape);

  Status layout = check_sparse_layout(entry.array);
  if (!layout) {
    Error e = layout.error();
    e.source = reader.source();
    e.location = location;
    return e;
  }
  return entry;
}

}  // namespace

Result<std::vector<NpzEntry>> parse_npz(std::span<const std::byte> bytes, const std::string& source,
                                        const NpzLimits& limits) {
  // libzip opens zero bytes as an empty archive; numpy writes at least the 22-byte end record.
  if (bytes.empty()) {
    return field_error(source, "byte 0", "end of central directory", "an empty file",
                       "a zip archive (at least 22 bytes)");
  }
  zip_error_t error;
  zip_error_init(&error);
  Source buffer(zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error));
  if (!buffer) return libzip_error(source, "", "open", &error);
  Archive archive(zip_open_from_source(buffer.get(), ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) return libzip_error(source, "", "not a valid zip archive", &error);
  static_cast<void>(buffer.release());  // the archive owns it now

  // Group the .npy members by folder, in archive order, as MXNet's loader does.
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  std::vector<Folder> folders;
  std::map<std::string, std::size_t, std::less<>> folder_index;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* raw_name = zip_get_name(archive.get(), index, ZIP_FL_ENC_GUESS);
    if (raw_name == nullptr) {
      return libzip_error(source, fmt::format("member {}", i), "name", zip_strerror(archive.get()));
    }
    std::string name(raw_name);
    if (!name.ends_with(".npy")) continue;  // directories and other files, skipped like MXNet
    const std::size_t slash = name.rfind('/');
    std::string path = slash == std::string::npos ? "" : name.substr(0, slash + 1);
    std::string file = name.substr(path.size());
    auto [it, added] = folder_index.try_emplace(path, folders.size());
    if (added) folders.push_back(Folder{path, {}, {}});
    Folder& folder = folders[it->second];
    if (!folder.files.insert(file).second) {
      return field_error(source, member_location(name), "name", "a second member so named",
                         "unique member names");
    }
    folder.members.push_back(Member{name, index});
  }

  NpzReader reader(archive.get(), source, bytes.size(), limits);
  std::vector<NpzEntry> entries;
  for (const Folder& folder : folders) {
    const std::set<std::string_view> files(folder.files.begin(), folder.files.end());
    if (files == kCsrFiles || files == kRowSparseFiles) {
      Result<NpzEntry> entry = read_sparse(
          reader, folder, files == kCsrFiles ? StorageType::kCsr : StorageType::kRowSparse);
      if (!entry) return entry.error();
      entries.push_back(std::move(*entry));
      continue;
    }
    if (files == kCooFiles || files == kDiaFiles) {
      return field_error(source, member_location(folder.path), "sparse format",
                         files == kCooFiles ? "coo" : "dia", "csr or row_sparse");
    }
    for (const Member& member : folder.members) {
      NpzEntry entry;
      entry.name = member.name.substr(0, member.name.size() - 4);
      Result<Tensor> tensor = reader.read_npy(member, entry.compressed);
      if (!tensor) return tensor.error();
      entry.array.shape = tensor->shape();
      entry.array.values = std::move(*tensor);
      entries.push_back(std::move(entry));
    }
  }
  // Loaders turn the entries into a dict: two arrays of one name (a dense `x.npy` and a sparse
  // folder `x/`, say) would silently lose one.
  std::set<std::string_view> names;
  for (const NpzEntry& entry : entries) {
    if (!names.insert(entry.name).second) {
      return field_error(source, "", "array name", fmt::format("'{}' twice", entry.name),
                         "each name once");
    }
  }
  return entries;
}

Result<std::vector<NpzEntry>> read_npz(const std::filesystem::path& path, const NpzLimits& limits) {
  Result<FileBytes> file = read_file(path);
  if (!file) return file.error();
  return parse_npz(file->bytes(), path.string(), limits);
}

namespace {

constexpr std::string_view kWriterSource = "zip writer";

// The archive libzip wrote into `output`, copied out.
Result<std::vector<std::byte>> archive_bytes(zip_source_t* output) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_source_stat(output, &stat) != 0 || zip_source_open(output) != 0) {
    return libzip_error(kWriterSource, "", "read back",
                        zip_error_strerror(zip_source_error(output)));
  }
  std::vector<std::byte> out(static_cast<std::size_t>(stat.size));
  const zip_int64_t n = zip_source_read(output, out.data(), out.size());
  zip_source_close(output);
  if (n != static_cast<zip_int64_t>(out.size())) {
    return libzip_error(kWriterSource, "", "read back", "short read");
  }
  return out;
}

}  // namespace

Result<std::vector<std::byte>> serialize_zip(const std::vector<ZipMember>& members, bool compress) {
  if (members.empty()) {
    const auto* empty = reinterpret_cast<const std::byte*>(kEmptyArchive.data());
    return std::vector<std::byte>(empty, empty + kEmptyArchive.size());
  }
  zip_error_t error;
  zip_error_init(&error);
  Source output(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!output) return libzip_error(kWriterSource, "", "create", &error);
  Archive archive(zip_open_from_source(output.get(), ZIP_CREATE | ZIP_TRUNCATE, &error));
  if (!archive) return libzip_error(kWriterSource, "", "open", &error);
  zip_source_keep(output.get());  // one reference for the archive, one for reading back
  const auto failure = [&](std::string location, std::string_view step) {
    return libzip_error(kWriterSource, std::move(location), step, zip_strerror(archive.get()));
  };

  for (const ZipMember& member : members) {
    const std::string location = member_location(member.name);
    std::vector<zip_buffer_fragment_t> fragments;
    for (std::span<const std::byte> part : member.parts) {
      if (part.empty()) continue;
      // libzip only reads the fragments, but its struct is not const.
      fragments.push_back(
          {reinterpret_cast<zip_uint8_t*>(const_cast<std::byte*>(part.data())), part.size()});
    }
    Source source(zip_source_buffer_fragment_create(fragments.data(), fragments.size(), 0, &error));
    if (!source) return libzip_error(kWriterSource, location, "add", &error);
    const zip_int64_t index =
        zip_file_add(archive.get(), member.name.c_str(), source.get(), ZIP_FL_ENC_UTF_8);
    if (index < 0) return failure(location, "add");
    static_cast<void>(source.release());  // the archive owns it now
    const auto i = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(archive.get(), i, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) !=
            0 ||
        zip_file_set_dostime(archive.get(), i, 0, kDosDate, 0) != 0) {
      return failure(location, "add");
    }
  }
  if (zip_close(archive.get()) != 0) return failure("", "write");
  static_cast<void>(archive.release());  // zip_close freed it
  return archive_bytes(output.get());
}

Result<std::vector<std::byte>> serialize_npz(const std::vector<NpzEntry>& entries, bool compress) {
  std::vector<ZipMember> members;
  // Headers and small members, at stable addresses until the archive is written.
  std::deque<std::vector<std::byte>> buffers;
  const auto add = [&](std::string name, std::vector<std::byte> npy,
                       std::span<const std::byte> data = {}) {
    members.push_back(ZipMember{std::move(name), {buffers.emplace_back(std::move(npy)), data}});
  };
  const auto add_tensor = [&](const std::string& name, const Tensor& tensor) {
    add(name + ".npy", serialize_npy_raw(dtype_info(tensor.dtype()).npy_descr, tensor.shape(), {}),
        tensor.bytes());
  };
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const NpzEntry& entry = entries[i];
    const NDArrayRecord& array = entry.array;
    Status layout = array.is_none ? Status(Error::plain("", "a none array has no npy form"))
                                  : check_sparse_layout(array);
    if (!layout) {
      Error e = in_field(layout.error(), fmt::format("entries[{}] '{}'", i, entry.name));
      e.source = "npz writer";
      return e;
    }
    if (array.storage == StorageType::kDefault) {
      add_tensor(entry.name, array.values);
      continue;
    }
    // MXNet's folder: data, indptr (csr), indices, shape (int64), format (the name as bytes).
    const std::string folder = entry.name + "/";
    add_tensor(folder + "data", array.values);
    if (array.storage == StorageType::kCsr) add_tensor(folder + "indptr", array.aux[0]);
    add_tensor(folder + "indices", array.aux.back());
    std::vector<std::byte> dims;
    for (int64_t dim : array.shape) append_le(dims, dim);
    add(folder + "shape.npy",
        serialize_npy_raw("<i8", {static_cast<int64_t>(array.shape.size())}, dims));
    const std::string_view format = storage_type_name(array.storage);
    add(folder + "format.npy",
        serialize_npy_raw(fmt::format("|S{}", format.size()), {},
                          std::as_bytes(std::span(format.data(), format.size()))));
  }
  return serialize_zip(members, compress);
}

}  // namespace mbcc
