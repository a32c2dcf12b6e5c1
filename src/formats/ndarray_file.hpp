// NDArray list files: the binary container of mx.nd.save / MXNDArraySave (.params), with every
// record version MXNet has written (v0 without magic, V1, V2 dense and sparse, V3).
// Spec: shared/docs/mxnet-formats.md §1 (and docs/format-notes.md where real files disagree).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/file.hpp"
#include "base/result.hpp"
#include "tensor/tensor.hpp"

namespace mbcc {

enum class RecordVersion : int { kV0 = 0, kV1 = 1, kV2 = 2, kV3 = 3 };
enum class StorageType : int { kDefault = 0, kRowSparse = 1, kCsr = 2 };

std::string_view record_version_name(RecordVersion v);  // "v0", "V1", "V2", "V3"
std::string_view storage_type_name(StorageType s);      // "default", "row_sparse", "csr"

// One array of a list file. Dense arrays hold their data in `values` with the logical shape;
// sparse ones hold the stored values (storage shape) plus aux arrays: row_sparse {indices},
// csr {indptr, indices}.
struct NDArrayRecord {
  RecordVersion version = RecordVersion::kV2;
  StorageType storage = StorageType::kDefault;
  Shape shape;           // logical shape
  bool is_none = false;  // an empty "none" NDArray (no context, no data)
  int32_t dev_type = 1;  // context as written: placement hint only
  int32_t dev_id = 0;
  Tensor values;
  std::vector<Tensor> aux;
  uint64_t offset = 0;  // byte offset of the record in the file
};

struct NDArrayList {
  std::vector<NDArrayRecord> arrays;
  std::vector<std::string> names;  // empty for a list save, else one name per array
};

// Parses `bytes` (all of them: trailing bytes are an error). `source` names the file in errors.
// Tensors are views into `owner`'s memory: parsing copies no data.
Result<NDArrayList> parse_ndarray_list(std::span<const std::byte> bytes,
                                       const std::shared_ptr<const void>& owner,
                                       const std::string& source);
Result<NDArrayList> read_ndarray_list(const std::filesystem::path& path);

// Serialises `list` with every record in `version` (V2 by default; v0, V1 and V3 on request).
// Fails when the arrays cannot be represented there (sparse outside V2, dims over 2^32 in v0,
// 0-d or zero-size arrays outside V3, names count neither 0 nor N).
Result<std::vector<std::byte>> serialize_ndarray_list(const NDArrayList& list,
                                                      RecordVersion version = RecordVersion::kV2);

// Checks that the parts of a (not none) array fit together: dense values have the logical
// shape and no aux; row_sparse values are (nnr, d1, …) of a logical (rows, d1, …) with
// nnr <= rows and integer indices (nnr,); csr is 2-d (rows, cols) with values (nnz,) and
// integer indptr (rows + 1,) and indices (nnz,). The error names the field, not the location.
Status check_sparse_layout(const NDArrayRecord& record);

}  // namespace mbcc
