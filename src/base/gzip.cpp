#include "base/gzip.hpp"

#include <zlib.h>

#include <array>
#include <stdexcept>

namespace mbcc {
namespace {

constexpr int kGzipWindow = 15 + 16;  // zlib's way of asking for a gzip wrapper

}  // namespace

std::vector<std::byte> gzip(std::string_view text) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, kGzipWindow, 9, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");  // only when out of memory
  }
  std::vector<std::byte> out(deflateBound(&stream, text.size()));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));  // NOLINT
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());  // NOLINT
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish in deflateBound");
  return out;
}

Result<std::string> gunzip(std::span<const std::byte> bytes, const std::string& source,
                           std::size_t max_size) {
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindow) != Z_OK) {
    return Error::plain(source, "inflateInit2 failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data()));  // NOLINT
  stream.avail_in = static_cast<uInt>(bytes.size());
  std::string text;
  std::array<char, 1 << 16> chunk{};
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());  // NOLINT
    stream.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&stream, Z_NO_FLUSH);
    text.append(chunk.data(), chunk.size() - stream.avail_out);
    if (text.size() > max_size) {
      inflateEnd(&stream);
      Error e = Error::plain(source, "inflates past the limit");
      e.allowed = std::to_string(max_size) + " bytes";
      return e;
    }
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // input ended before the stream
  }
  const std::size_t left = stream.avail_in;
  const std::string why = stream.msg == nullptr ? "" : stream.msg;
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return Error::plain(source, "not a complete gzip stream (truncated or altered)" +
                                    (why.empty() ? std::string() : ": " + why));
  }
  if (left != 0) {
    Error e = Error::plain(source, "bytes after the end of the gzip stream");
    e.found = std::to_string(left) + " bytes";
    return e;
  }
  return text;
}

}  // namespace mbcc
