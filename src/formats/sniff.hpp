// Tells what kind of file a byte string is before any reader trusts it, so mbcc can name what
// is not an MXNet file (an HTML error page, a Git LFS pointer, an empty file) instead of
// guessing at it.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace mbcc {

enum class FileKind {
  kEmpty,
  kNDArrayList,  // magic 0x112: mx.nd.save / .params
  kNpy,
  kNpz,          // a zip archive
  kJson,         // a JSON object: symbol graph, manifest, Block.save model json, …
  kHtml,
  kXml,           // an S3 error response saved in place of the object, for example
  kGitLfsPointer,
  kText,         // other printable text
  kUnknown,      // binary we do not recognise
};

std::string_view file_kind_name(FileKind kind);
FileKind sniff_file_kind(std::span<const std::byte> bytes);

}  // namespace mbcc
