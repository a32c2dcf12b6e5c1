#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mbcc {
namespace {

Error os_error(const std::filesystem::path& path, const char* step) {
  return Error::plain(path.string(), std::string(step) + ": " + std::strerror(errno));
}

}  // namespace

Result<FileBytes> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error(path, "cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = os_error(path, "cannot stat");
    ::close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::plain(path.string(), "not a regular file");
  }
  auto size = static_cast<std::size_t>(st.st_size);
  // make_shared_for_overwrite leaves the bytes uninitialised: read() fills them.
  std::shared_ptr<std::byte[]> buffer = std::make_shared_for_overwrite<std::byte[]>(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buffer.get() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = os_error(path, "cannot read");
      ::close(fd);
      return e;
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return FileBytes{std::move(buffer), done};
}

Status write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return os_error(tmp, "cannot create");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return os_error(tmp, "cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Error::plain(path.string(), "cannot rename into place");
  }
  return Ok{};
}

}  // namespace mbcc
