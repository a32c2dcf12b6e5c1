#include "formats/array_file.hpp"

#include <fmt/format.h>

#include "base/file.hpp"
#include "formats/npy.hpp"
#include "formats/sniff.hpp"

namespace mbcc {

Result<NDArrayList> read_array_file(const std::filesystem::path& path) {
  auto file = map_file(path);  // the readers touch headers; the values are paged in if read
  if (!file.ok()) return file.error();
  const std::string source = path.string();
  switch (FileKind kind = sniff_file_kind(file->bytes())) {
    case FileKind::kNDArrayList:
      return parse_ndarray_list(file->bytes(), file->owner, source);
    case FileKind::kNpy: {
      auto tensor = parse_npy(file->bytes(), file->owner, source);
      if (!tensor.ok()) return tensor.error();
      NDArrayList list;
      NDArrayRecord record;
      record.shape = tensor->shape();
      record.values = std::move(*tensor);
      list.arrays.push_back(std::move(record));
      return list;
    }
    case FileKind::kNpz: {
      auto entries = parse_npz(file->bytes(), source);
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

}  // namespace mbcc
