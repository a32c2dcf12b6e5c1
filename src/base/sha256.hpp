// SHA-256 of bytes and files, through OpenSSL's libcrypto, as lowercase hex: what manifests
// record for every file of a bundle.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mbcc {

inline constexpr std::size_t kSha256HexLength = 64;

std::string sha256_hex(std::span<const std::byte> bytes);

// Whether `text` is a digest as sha256_hex writes it: 64 lowercase hex digits.
constexpr bool is_sha256_hex(std::string_view text) {
  if (text.size() != kSha256HexLength) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Hashes the file as it is on disk; errors name the file.
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace mbcc
