#include "base/file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

namespace mbcc {
namespace {

Error os_error(const std::filesystem::path& path, const char* step) {
  return Error::plain(path.string(), std::string(step) + ": " + std::strerror(errno));
}

// Up to this a file is read into memory: cheaper than mapping and unmapping it, and a check
// run reads thousands of such files (manifests, graphs, small tensors).
constexpr std::size_t kCopiedBytes = std::size_t{64} << 10;
// Below this a file is mapped and populated in one call; above it the page tables are filled
// from several threads, since filling them is nearly all the time a big read takes.
constexpr std::size_t kParallelPopulateBytes = std::size_t{32} << 20;
constexpr std::size_t kMinBytesPerThread = std::size_t{16} << 20;

// Fills the page tables of [base, base+size) from up to one thread per core (Linux 5.14's
// MADV_POPULATE_READ). 0 when done or when the kernel cannot (the pages then fault in as they
// are read), else the errno of the first failing part.
int populate_in_parallel(std::byte* base, std::size_t size) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t parts = std::clamp<std::size_t>(size / kMinBytesPerThread, 1, cores);
  const std::size_t step = (size / parts + page - 1) / page * page;
  std::vector<int> errors(parts, 0);
  auto populate = [&](std::size_t part) {
    std::size_t begin = part * step;
    std::size_t length = std::min(step, size - std::min(size, begin));
    if (length != 0 && ::madvise(base + begin, length, MADV_POPULATE_READ) != 0)
      errors[part] = errno;
  };
  std::vector<std::jthread> helpers;
  for (std::size_t part = 1; part < parts; ++part) helpers.emplace_back(populate, part);
  populate(0);
  helpers.clear();  // joins
  for (int error : errors) {
    if (error == EINVAL) return 0;  // a kernel before 5.14: no advice, lazy faults instead
    if (error != 0) return error;
  }
  return 0;
}

}  // namespace

// read_file and map_file: `populate` fills the mapping of a large file up front.
static Result<FileBytes> load_file(const std::filesystem::path& path, bool populate) {
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
  if (size <= kCopiedBytes) {
    std::shared_ptr<std::byte[]> buffer(new std::byte[size]);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, buffer.get() + done, size - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Error e = n < 0 ? os_error(path, "cannot read")
                        : Error::plain(path.string(), "cannot read: the file shrank while read");
        ::close(fd);
        return e;
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return FileBytes{std::move(buffer), size};
  }
  // A private read-only mapping, populated up front: the bytes come straight from the page
  // cache without a copy, and resident memory stays at the file's size.
  const bool parallel = populate && size >= kParallelPopulateBytes;
  const int populate_flag = populate && !parallel ? MAP_POPULATE : 0;
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | populate_flag, fd, 0);
  Error e = os_error(path, "cannot map");
  ::close(fd);
  if (mapped == MAP_FAILED) return e;
  std::shared_ptr<const std::byte[]> owner(
      static_cast<const std::byte*>(mapped),
      [size](const std::byte* p) { ::munmap(const_cast<std::byte*>(p), size); });
  if (parallel) {
    if (int error = populate_in_parallel(static_cast<std::byte*>(mapped), size); error != 0) {
      return Error::plain(path.string(), std::string("cannot read: ") + std::strerror(error));
    }
  }
  return FileBytes{std::move(owner), size};
}

Result<FileBytes> read_file(const std::filesystem::path& path) { return load_file(path, true); }

Result<FileBytes> map_file(const std::filesystem::path& path) { return load_file(path, false); }

Status write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return os_error(tmp, "cannot create");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
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
