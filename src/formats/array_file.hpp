// Reads any array file mbcc knows (NDArray list, .npy, .npz) as one named list, whatever its
// format, for the commands that do not care which format a file is in.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "base/result.hpp"
#include "formats/ndarray_file.hpp"

namespace mbcc {

Result<NDArrayList> read_array_file(const std::filesystem::path& path);
// The same from bytes already read; `source` names the file in errors.
Result<NDArrayList> parse_array_file(std::span<const std::byte> bytes,
                                     const std::shared_ptr<const void>& owner,
                                     const std::string& source);

}  // namespace mbcc
