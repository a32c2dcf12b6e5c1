#include "base/locked_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

namespace mbcc {

namespace fs = std::filesystem;

Result<LockedDir> LockedDir::create(const fs::path& parent, std::string_view prefix) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr) {
      return Error::plain(parent.string(), std::string("cannot create a work folder: ") +
                                               (ec ? ec.message() : std::strerror(errno)));
    }
    LockedDir dir(pattern, ::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Another run's cleanup may take the folder between mkdtemp and flock: then the lock fails
    // or the folder is gone, and a new one is made.
    if (dir.fd_ >= 0 && ::flock(dir.fd_, LOCK_EX | LOCK_NB) == 0 && dir.still_there()) return dir;
  }
  return Error::plain(parent.string(), "cannot lock a work folder: another run keeps taking it");
}

LockedDir::LockedDir(LockedDir&& other) noexcept
    : path_(std::exchange(other.path_, {})),
      fd_(std::exchange(other.fd_, -1)),
      kept_(other.kept_) {}

LockedDir::~LockedDir() {
  std::error_code ec;
  if (!path_.empty() && !kept_) fs::remove_all(path_, ec);
  if (fd_ >= 0) ::close(fd_);  // drops the lock, after the folder is gone
}

Status LockedDir::keep() {
  std::ofstream marker(path_ / std::string(kKeptMarker));
  if (!marker) {
    return Error::plain(path_.string(),
                        "cannot mark the folder as kept: " + std::string(std::strerror(errno)));
  }
  kept_ = true;
  return Ok{};
}

bool LockedDir::still_there() const {
  struct stat by_path {};
  struct stat by_fd {};
  return ::stat(path_.c_str(), &by_path) == 0 && ::fstat(fd_, &by_fd) == 0 &&
         by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev;
}

std::size_t remove_abandoned_dirs(const fs::path& parent, std::string_view prefix) {
  const std::string start = std::string(prefix) + "-";
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->path().filename().string().starts_with(start)) continue;
    std::error_code status_ec;
    if (!it->is_directory(status_ec) || fs::exists(it->path() / std::string(kKeptMarker))) {
      continue;
    }
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code ignored;
      removed += fs::remove_all(it->path(), ignored) > 0 ? 1 : 0;
    }
    ::close(fd);
  }
  return removed;
}

}  // namespace mbcc
