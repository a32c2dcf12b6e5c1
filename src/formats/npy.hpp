// NumPy .npy files (header versions 1.0, 2.0 and 3.0) and .npz archives (stored or deflated,
// through libzip), including the sparse folder layout MXNet 2.0 writes into npz.
// Spec: shared/docs/mxnet-formats.md §1.9.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "formats/ndarray_file.hpp"
#include "tensor/tensor.hpp"

namespace mbcc {

struct NpyHeader {
  int major_version = 1;   // 1, 2 or 3
  int minor_version = 0;
  std::size_t data_offset = 0;
  bool fortran_order = false;
};

Result<Tensor> parse_npy(std::span<const std::byte> bytes, std::shared_ptr<const void> owner,
                         const std::string& source, NpyHeader* header = nullptr);
Result<Tensor> read_npy(const std::filesystem::path& path);
// Picks the lowest header version that can hold the header.
std::vector<std::byte> serialize_npy(const Tensor& tensor);
Status write_npy(const std::filesystem::path& path, const Tensor& tensor);

// One named array of an npz archive: dense members `<name>.npy`, sparse ones MXNet's folder
// `<name>/{data,indptr,indices,shape,format}.npy` read back as a sparse record.
struct NpzEntry {
  std::string name;
  NDArrayRecord array;  // version field is unused here
  bool compressed = false;
};

Result<std::vector<NpzEntry>> parse_npz(std::span<const std::byte> bytes, const std::string& source);
Result<std::vector<NpzEntry>> read_npz(const std::filesystem::path& path);
Result<std::vector<std::byte>> serialize_npz(const std::vector<NpzEntry>& entries,
                                             bool compress = false);

}  // namespace mbcc
