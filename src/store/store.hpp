// Where bundles live: a local directory or an S3 bucket and prefix, behind one interface.
// Every byte read from a store is untrusted: sizes are capped, and every error names the key or
// URL, the step and the cause. Secrets (secret key, session token) never appear in any message.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc::store {

struct ObjectInfo {
  std::string key;  // relative to the store root, '/'-separated
  std::uint64_t size = 0;
};

struct GetRequest {
  std::string key;
  std::filesystem::path dest;
  std::uint64_t expected_size = 0;  // 0: unknown; otherwise a different size is an error
};

struct TransferStats {
  std::uint64_t bytes = 0;
  std::uint64_t objects = 0;
  std::uint64_t retries = 0;
};

struct TransferProgress {
  std::uint64_t bytes_done, bytes_total, objects_done, objects_total;
};

struct StoreOptions {
  std::string s3_endpoint;  // --s3-endpoint; else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL; else AWS
  int connections = 8;      // parallel transfers
  int max_attempts = 5;     // per request, backoff between
  std::uint64_t multipart_threshold = 64ull << 20;  // and part size
  std::chrono::milliseconds timeout{60000};         // a transfer making no progress this long fails
  std::function<void(const TransferProgress&)> progress;  // may be empty
  // Tuning that tests need to reach rare paths quickly; the defaults are what AWS uses.
  int list_page_size = 1000;                        // ListObjectsV2 max-keys
  std::chrono::milliseconds backoff_base{200};      // first retry delay, doubled each attempt
};

// A Store may be shared between threads: an S3 store serves one call at a time (each call runs
// its own transfers in parallel), a local store has no state to share.
class Store {
 public:
  virtual ~Store() = default;
  virtual std::string url() const = 0;  // a local path, or "s3://bucket/prefix"
  // Every object whose key starts with `prefix`, sorted by key (all pages).
  virtual Result<std::vector<ObjectInfo>> list(std::string_view prefix) = 0;
  // A small whole object (manifest, log), refused past max_bytes.
  virtual Result<std::string> read(std::string_view key, std::uint64_t max_bytes) = 0;
  // Downloads in parallel; each dest appears complete or not at all (temp name + rename); a
  // partial temp file left by an interrupted run is resumed with a ranged GET. An error names
  // the key.
  virtual Result<TransferStats> get(std::span<const GetRequest> requests) = 0;
  // Multipart above the threshold.
  virtual Status put(std::string_view key, const std::filesystem::path& src) = 0;
  virtual Status put_bytes(std::string_view key, std::string_view bytes) = 0;
  virtual Result<bool> exists(std::string_view key) = 0;
  virtual Status remove(std::string_view key) = 0;
};

bool is_s3_url(std::string_view url);

// "s3://bucket/prefix" → S3 store; anything else → a local directory store.
Result<std::unique_ptr<Store>> open_store(std::string_view url, const StoreOptions& options);

// The temporary name beside `dest` that get() downloads into and resumes from.
std::filesystem::path partial_path(const std::filesystem::path& dest);

}  // namespace mbcc::store
