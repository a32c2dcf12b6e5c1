#include "formats/sniff.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

namespace mbcc {
namespace {

std::string_view as_text(std::span<const std::byte> bytes, std::size_t limit) {
  return {reinterpret_cast<const char*>(bytes.data()), std::min(bytes.size(), limit)};
}

bool starts_with_bytes(std::span<const std::byte> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && as_text(bytes, prefix.size()) == prefix;
}

// The first 512 bytes, lower-cased and with leading white space (and a UTF-8 BOM) removed.
std::string head_for_text_checks(std::span<const std::byte> bytes) {
  std::string head(as_text(bytes, 512));
  if (head.starts_with("\xEF\xBB\xBF")) head.erase(0, 3);
  std::size_t start = head.find_first_not_of(" \t\r\n");
  head.erase(0, start == std::string::npos ? head.size() : start);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return head;
}

bool looks_printable(std::span<const std::byte> bytes) {
  std::size_t n = std::min<std::size_t>(bytes.size(), 4096);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string_view file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kEmpty: return "empty file";
    case FileKind::kNDArrayList: return "MXNet NDArray list file";
    case FileKind::kNpy: return "NumPy .npy file";
    case FileKind::kNpz: return "zip archive (.npz)";
    case FileKind::kJson: return "JSON document";
    case FileKind::kHtml: return "HTML page";
    case FileKind::kXml: return "XML document";
    case FileKind::kGitLfsPointer: return "Git LFS pointer";
    case FileKind::kText: return "text file";
    case FileKind::kUnknown: return "unrecognised binary file";
  }
  return "unrecognised binary file";
}

FileKind sniff_file_kind(std::span<const std::byte> bytes) {
  if (bytes.empty()) return FileKind::kEmpty;
  // 0x112 as a little-endian u64; a shorter file with the same start is a truncated list file.
  static constexpr unsigned char kListMagic[8] = {0x12, 0x01, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(bytes.data(), kListMagic, std::min<std::size_t>(bytes.size(), 8)) == 0) {
    return FileKind::kNDArrayList;
  }
  if (starts_with_bytes(bytes, "\x93NUMPY")) return FileKind::kNpy;
  if (starts_with_bytes(bytes, "PK\x03\x04") || starts_with_bytes(bytes, "PK\x05\x06")) {
    return FileKind::kNpz;
  }
  if (starts_with_bytes(bytes, "version https://git-lfs.github.com/spec/")) {
    return FileKind::kGitLfsPointer;
  }
  std::string head = head_for_text_checks(bytes);
  if (head.starts_with("<!doctype html") || head.starts_with("<html") ||
      head.starts_with("<head")) {
    return FileKind::kHtml;
  }
  if (head.starts_with("<?xml")) return FileKind::kXml;
  if (head.starts_with("{")) return FileKind::kJson;
  return looks_printable(bytes) ? FileKind::kText : FileKind::kUnknown;
}

}  // namespace mbcc
