// A content-addressed cache of store objects on local disk: entries are read-only files named
// by their sha256, verified before they enter, evicted least-recently-used first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "store/store.hpp"

namespace mbcc::store {

struct CacheRequest {
  std::string key;
  std::string sha256;  // lowercase hex
  std::uint64_t size = 0;
  bool gzipped = false;  // the object is the gzip of the content; the cache keeps it inflated
};

struct CacheFetch {
  std::vector<std::filesystem::path> paths;  // one per request, in order
  std::uint64_t hits = 0;
  TransferStats downloaded;
};

class Cache {
 public:
  Cache(std::filesystem::path dir, std::uint64_t max_bytes);
  static Result<std::filesystem::path> default_dir();  // <cache_dir()>/mbcc/store-cache

  const std::filesystem::path& dir() const { return dir_; }

  // Every object not cached yet is downloaded from `store` (in parallel, through Store::get),
  // its size and sha256 verified BEFORE it enters the cache (a mismatch is an error naming the
  // key, expected and found, and nothing bad is kept), then the cached paths are returned.
  // Entries are read-only files named by sha256; a hit touches its time for LRU.
  Result<CacheFetch> fetch(Store& store, std::span<const CacheRequest> wanted);

  // Evicts least-recently-used entries until the cache holds at most max_bytes.
  Status trim();

 private:
  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
};

}  // namespace mbcc::store
