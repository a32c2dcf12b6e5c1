// NumPy .npy files (header versions 1.0, 2.0 and 3.0) and .npz archives (stored or deflated,
// through libzip), including the sparse folder layout MXNet 2.0 writes into npz.
// Spec: shared/docs/mxnet-formats.md §1.9. The npz half lives in npz.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "formats/ndarray_file.hpp"
#include "tensor/tensor.hpp"

namespace mbcc {

struct NpyHeader {
  int major_version = 1;  // 1, 2 or 3
  int minor_version = 0;
  std::size_t data_offset = 0;
  bool fortran_order = false;
};

// Parses one .npy file: descr `<f4`-style codes of every mbcc dtype (`|b1` bool; bfloat16 as
// MXNet's `<b2` or the structured `[('bfloat16', '<u2')]` of early 2.0), any shape tuple, and
// nothing after the data. The tensor is a view into `owner`'s memory, except for Fortran-order
// data of ndim >= 2, which is transposed into an owned C-order copy.
Result<Tensor> parse_npy(std::span<const std::byte> bytes, const std::shared_ptr<const void>& owner,
                         const std::string& source, NpyHeader* header = nullptr);
Result<Tensor> read_npy(const std::filesystem::path& path);
// Writes what numpy 1.23's np.save writes (C order, header version 1.0, 2.0 when the header
// needs more than 65535 bytes, data at a multiple of 64); bfloat16 is MXNet's `<b2`.
std::vector<std::byte> serialize_npy(const Tensor& tensor);
Status write_npy(const std::filesystem::path& path, const Tensor& tensor);

// The header and data of an .npy file whose data is not a Tensor (strings, for npz's
// format.npy): a valid header for `descr` and `shape`, then `data` as given.
std::vector<std::byte> serialize_npy_raw(std::string_view descr, const Shape& shape,
                                         std::span<const std::byte> data);
// The bytes after the header of an .npy file, read leniently: only the magic, version and
// header length are checked, not the header text (MXNet 2.0 writes format.npy with a header
// that is not a valid dict).
Result<std::span<const std::byte>> npy_payload(std::span<const std::byte> bytes,
                                               const std::string& source);

// One named array of an npz archive: dense members `<name>.npy`, sparse ones MXNet's folder
// `<name>/{data,indptr,indices,shape,format}.npy` read back as a sparse record.
struct NpzEntry {
  std::string name;
  NDArrayRecord array;  // version field is unused here
  bool compressed = false;
};

// One member of a zip archive: its name and its bytes, in parts written back to back (an npy
// header, then a tensor's data), so that nothing is copied before it is compressed.
struct ZipMember {
  std::string name;
  std::vector<std::span<const std::byte>> parts;
};

// A zip archive of `members` in that order, stored or deflated, with fixed timestamps so equal
// input gives equal bytes. No members gives the 22-byte empty archive numpy writes.
Result<std::vector<std::byte>> serialize_zip(const std::vector<ZipMember>& members,
                                             bool compress = false);

// Bounds on what reading an npz may inflate. Member sizes are also checked against what
// deflate can produce from the compressed bytes, so small archives cannot claim huge members.
struct NpzLimits {
  uint64_t max_member_bytes = uint64_t{16} << 30;
  uint64_t max_total_bytes = uint64_t{16} << 30;
};

// Reads every `.npy` member (others are skipped, as MXNet does) in archive order. Members are
// inflated into owned buffers that the tensors view.
Result<std::vector<NpzEntry>> parse_npz(std::span<const std::byte> bytes, const std::string& source,
                                        const NpzLimits& limits = {});
Result<std::vector<NpzEntry>> read_npz(const std::filesystem::path& path,
                                       const NpzLimits& limits = {});
// Writes one member per dense entry and MXNet's folder per sparse one (see serialize_zip).
Result<std::vector<std::byte>> serialize_npz(const std::vector<NpzEntry>& entries,
                                             bool compress = false);

}  // namespace mbcc
