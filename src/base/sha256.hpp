// SHA-256 of bytes and files, through OpenSSL's libcrypto, as lowercase hex: what manifests
// record for every file of a bundle.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

#include "base/result.hpp"

namespace mbcc {

inline constexpr std::size_t kSha256HexLength = 64;

std::string sha256_hex(std::span<const std::byte> bytes);

// Hashes the file as it is on disk; errors name the file.
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace mbcc
