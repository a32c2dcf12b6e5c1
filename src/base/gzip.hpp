// gzip through zlib, for the registry dumps shipped in the repository and the compressed shared
// files of a store (schema 3 bundles). Deterministic output
// (no name, no time in the header), and a strict reader: a stream that ends early, has bytes
// after its end, fails its CRC or inflates past `max_size` is an error.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc {

std::vector<std::byte> gzip(std::string_view text);
Result<std::string> gunzip(std::span<const std::byte> bytes, const std::string& source,
                           std::size_t max_size = std::size_t{64} << 20);

}  // namespace mbcc
