#include "store/cache.hpp"

#include <map>

#include "base/cache_dir.hpp"
#include "base/file.hpp"
#include "base/gzip.hpp"
#include "base/sha256.hpp"

namespace mbcc::store {

namespace fs = std::filesystem;

namespace {

// A gzip'd download replaced by its content, inflating no further than `size` bytes.
Status inflate_in_place(const fs::path& path, std::uint64_t size) {
  auto packed = read_file(path);
  if (!packed) return packed.error();
  auto text = gunzip(packed->bytes(), path.string(), size);
  if (!text) return text.error();
  return write_file_atomic(path, std::as_bytes(std::span(*text)));
}

}  // namespace

Cache::Cache(fs::path dir, std::uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

Result<fs::path> Cache::default_dir() {
  auto base = cache_dir();
  if (!base) return base.error();
  return *base / "mbcc" / "store-cache";
}

Result<CacheFetch> Cache::fetch(Store& store, std::span<const CacheRequest> wanted) {
  auto lock = CacheLock::take(dir_);
  if (!lock) return lock.error();
  std::error_code made;
  fs::create_directories(dir_ / "incoming", made);
  if (made) return Error::plain(dir_.string(), "cannot create the cache folder: " + made.message());
  CacheFetch result;
  std::map<std::string, const CacheRequest*> missing;  // by sha256: one download per content
  for (const CacheRequest& request : wanted) {
    if (!is_sha256_hex(request.sha256)) {
      Error e;
      e.source = store.url() + " " + request.key;
      e.field = "sha256";
      e.found = "\"" + request.sha256.substr(0, 80) + "\"";
      e.allowed = "64 lowercase hex digits";
      return e;
    }
    fs::path entry = dir_ / request.sha256;
    result.paths.push_back(entry);
    std::error_code ec;
    std::uint64_t size = fs::file_size(entry, ec);
    if (!ec && size == request.size) {
      fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);  // LRU: just used
      result.hits += 1;
      continue;
    }
    if (!ec) fs::remove(entry, ec);  // the wrong size for its name: never trust it
    missing.emplace(request.sha256, &request);
  }
  if (missing.empty()) return result;

  std::vector<GetRequest> gets;
  for (const auto& [sha, request] : missing) {
    gets.push_back({request->key, dir_ / "incoming" / sha, request->gzipped ? 0 : request->size});
  }
  auto downloaded = store.get(gets);
  if (!downloaded) return downloaded.error();
  result.downloaded = *downloaded;

  // Verify everything before anything enters the cache.
  std::optional<Error> failure;
  for (const GetRequest& get : gets) {
    if (failure) break;
    const CacheRequest& request = *missing.at(get.dest.filename().string());
    if (request.gzipped) {
      if (Status inflated = inflate_in_place(get.dest, request.size); !inflated) {
        Error e = inflated.error();
        e.source = store.url() + " " + request.key;
        e.detail = "the downloaded object is not the gzip its manifest says; it was not cached";
        failure = e;
        break;
      }
    }
    std::error_code ec;
    const std::uint64_t size = fs::file_size(get.dest, ec);
    if (ec) {  // this machine's fault, not the store's
      failure = Error::plain(get.dest.string(), "cannot stat the download: " + ec.message());
      break;
    }
    Result<std::string> hash = size == request.size ? sha256_file(get.dest) : std::string();
    if (!hash) {
      failure = hash.error();
      break;
    }
    if (size != request.size || *hash != request.sha256) {
      Error e;
      e.source = store.url() + " " + request.key;
      e.field = size != request.size ? "size" : "sha256";
      e.found = size != request.size ? std::to_string(size) : *hash;
      e.allowed = size != request.size ? std::to_string(request.size) : request.sha256;
      e.detail = "the downloaded object does not match its manifest; it was not cached";
      failure = e;
    }
  }
  if (failure) {
    std::error_code ec;
    for (const GetRequest& get : gets) fs::remove(get.dest, ec);
    return *failure;
  }
  for (const GetRequest& get : gets) {
    fs::path entry = dir_ / get.dest.filename();
    std::error_code ec;
    fs::permissions(get.dest,
                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
    if (!ec) fs::rename(get.dest, entry, ec);
    if (ec) return Error::plain(entry.string(), "cannot move into the cache: " + ec.message());
  }
  return result;
}

Status Cache::trim() {
  auto lock = CacheLock::take(dir_);
  if (!lock) return lock.error();
  return trim_cache_entries(dir_, max_bytes_);
}

}  // namespace mbcc::store
