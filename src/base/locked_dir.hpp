// Temporary folders that say whether their owner still runs: the folder is flock()ed by the
// process that made it, and the kernel drops the lock when that process ends, even by kill -9.
// A later run deletes the folders whose lock it can take, so a killed run leaves nothing behind
// for long, and a folder in use is never touched.
#pragma once

#include <filesystem>
#include <string_view>

#include "base/result.hpp"

namespace mbcc {

class LockedDir {
 public:
  // Makes and locks PARENT/PREFIX-XXXXXX (the parent is created when missing).
  static Result<LockedDir> create(const std::filesystem::path& parent, std::string_view prefix);

  LockedDir(LockedDir&& other) noexcept;
  LockedDir& operator=(LockedDir&&) = delete;
  LockedDir(const LockedDir&) = delete;
  LockedDir& operator=(const LockedDir&) = delete;
  ~LockedDir();  // deletes the folder, then drops the lock; a kept folder stays

  const std::filesystem::path& path() const { return path_; }

  // The folder stays when this object goes, and later runs leave it alone (a marker file says
  // so): for outputs the user asked to keep.
  Status keep();

 private:
  LockedDir(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  bool still_there() const;

  std::filesystem::path path_;
  int fd_ = -1;
  bool kept_ = false;
};

// The marker a kept folder holds.
inline constexpr std::string_view kKeptMarker = ".kept";

// Deletes PARENT/PREFIX-* folders whose owner is gone (their lock is free) and that were not
// kept; returns how many. A folder it cannot delete is left as it is.
std::size_t remove_abandoned_dirs(const std::filesystem::path& parent, std::string_view prefix);

}  // namespace mbcc
