#include "formats/array_file.hpp"

#include <fmt/format.h>

#include "base/file.hpp"
#include "formats/npy.hpp"
#include "formats/sniff.hpp"

namespace mbcc {

Result<NDArrayList> parse_array_file(std::span<const std::byte> bytes,
                                     const std::shared_ptr<const void>& owner,
                                     const std::string& source) {
  switch (FileKind kind = sniff_file_kind(bytes)) {
    case FileKind::kNDArrayList:
      return parse_ndarray_list(bytes, owner, source);
    case FileKind::kNpy: {
      auto tensor = parse_npy(bytes, owner, source);
      if (!tensor.ok()) return tensor.error();
      NDArrayList list;
      NDArrayRecord record;
      record.shape = tensor->shape();
      record.values = std::move(*tensor);
      list.arrays.push_back(std::move(record));
      return list;
    }
    case FileKind::kNpz: {
      auto entries = parse_npz(bytes, source);
      if (!entries.ok()) return entries.error();
      NDArrayList list;
      for (NpzEntry& entry : *entries) {
        list.names.push_back(std::move(entry.name));
        list.arrays.push_back(std::move(entry.array));
      }
      return list;
    }
    default:
      return Error::plain(source, fmt::format("is a {}, not an array file (.params, .npy, .npz)",
                                              file_kind_name(kind)));
  }
}

Result<NDArrayList> read_array_file(const std::filesystem::path& path) {
  auto file = map_file(path);  // the readers touch headers; the values are paged in if read
  if (!file.ok()) return file.error();
  return parse_array_file(file->bytes(), file->owner, path.string());
}

}  // namespace mbcc
