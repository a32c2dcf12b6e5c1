// Reads any array file mbcc knows (NDArray list, .npy, .npz) as one named list, whatever its
// format, for the commands that do not care which format a file is in.
#pragma once

#include <filesystem>

#include "base/result.hpp"
#include "formats/ndarray_file.hpp"

namespace mbcc {

Result<NDArrayList> read_array_file(const std::filesystem::path& path);

}  // namespace mbcc
