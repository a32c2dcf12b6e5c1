#include "base/sha256.hpp"

#include <openssl/evp.h>

#include <array>
#include <new>
#include <string_view>

#include "base/file.hpp"

namespace mbcc {

std::string sha256_hex(std::span<const std::byte> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest fails only when libcrypto cannot allocate; that is a bug-level failure.
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{2} * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Result<std::string> sha256_file(const std::filesystem::path& path) {
  Result<FileBytes> file = read_file(path);
  if (!file.ok()) return file.error();
  return sha256_hex(file->bytes());
}

}  // namespace mbcc
