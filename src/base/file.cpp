#include "base/file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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
  if (size == 0) {
    ::close(fd);
    return FileBytes{nullptr, 0};
  }
  // A private read-only mapping, populated up front: the bytes come straight from the page
  // cache without a copy, and resident memory stays at the file's size.
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  Error e = os_error(path, "cannot map");
  ::close(fd);
  if (mapped == MAP_FAILED) return e;
  std::shared_ptr<const std::byte[]> owner(static_cast<const std::byte*>(mapped),
                                           [size](const std::byte* p) {
                                             ::munmap(const_cast<std::byte*>(p), size);
                                           });
  return FileBytes{std::move(owner), size};
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

Result<std::filesystem::path> make_temp_dir(const std::filesystem::path& parent,
                                            std::string_view prefix) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr) {
    return Error::plain(parent.string(), std::string("cannot create a work folder: ") +
                                             (ec ? ec.message() : std::strerror(errno)));
  }
  return std::filesystem::path(pattern);
}

}  // namespace mbcc
