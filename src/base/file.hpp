// Whole-file reads and atomic writes. Files read here are untrusted input: the size is taken
// from the open descriptor, so the buffer never exceeds what the file holds. Reads copy small
// files and map the others; mbcc's files are written once and renamed into place, never
// changed while read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mbcc {

// The bytes of one file, owned and shareable: tensors read from a file keep views into it.
struct FileBytes {
  std::shared_ptr<const std::byte[]> owner;
  std::size_t size = 0;
  std::span<const std::byte> bytes() const { return {owner.get(), size}; }
};

Result<FileBytes> read_file(const std::filesystem::path& path);

// The same bytes, but a large file's pages are read only as they are touched: for readers that
// look at a few bytes of a big file (the headers of a parameters file), where read_file would
// make the whole file resident.
Result<FileBytes> map_file(const std::filesystem::path& path);

// Files from this size up are hashed by streaming and mapped lazily where only their structure
// is checked, so that a bundle of a 1 GB model never holds its files resident.
inline constexpr std::uint64_t kStreamedFileBytes = std::uint64_t{64} << 20;

// Writes through a temporary file beside `path` and renames it into place, so readers never
// see a half-written file.
Status write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes);

}  // namespace mbcc
