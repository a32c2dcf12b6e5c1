// Where mbcc keeps what it can make again (environments, downloaded store objects, candidate
// runs), and how its caches share a folder between processes and keep it to a size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <utility>

#include "base/result.hpp"

namespace mbcc {

// $MBCC_CACHE_DIR, else $XDG_CACHE_HOME, else $HOME/.cache (empty values are ignored).
Result<std::filesystem::path> cache_dir();

// An exclusive lock on a cache folder (DIR/.lock, which flock holds) for as long as it lives:
// two mbcc processes sharing a cache never evict what the other is moving in. The folder is
// created when missing; the kernel drops the lock when the process ends, even by kill -9.
class CacheLock {
 public:
  static Result<CacheLock> take(const std::filesystem::path& dir);
  CacheLock(CacheLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  CacheLock& operator=(CacheLock&&) = delete;
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;
  ~CacheLock();

 private:
  explicit CacheLock(int fd) : fd_(fd) {}
  int fd_;
};

// Evicts a cache folder's entries (its files named by a sha256), least recently used first (by
// modification time: a hit touches its entry), until they hold at most `max_bytes`, and deletes
// the temporary files (write_file_atomic's) of writers that are gone. The caller holds the
// folder's CacheLock.
Status trim_cache_entries(const std::filesystem::path& dir, std::uint64_t max_bytes);

}  // namespace mbcc
