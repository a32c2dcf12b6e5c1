// A store in a local directory: the default, and the shape every S3 store mirrors.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <system_error>

#include "store/internal.hpp"

namespace mbcc::store::detail {

namespace fs = std::filesystem;

namespace {

std::atomic<unsigned> g_temp_counter{0};

Error fs_error(const fs::path& path, std::string step, const std::error_code& ec) {
  return Error::plain(path.string(), step + ": " + ec.message());
}

// A temporary name beside `path`, unique within this machine, hidden from list().
fs::path temp_beside(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + std::string(kTempMarker) +
                               std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter++));
}

Status copy_atomic(const fs::path& from, const fs::path& to, std::uint64_t expected_size, const std::string& key) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return fs_error(to.parent_path(), "cannot create the folder", ec);
  fs::path temp = temp_beside(to);
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove(temp, ec);
    return fs_error(from, "cannot copy " + key, ec);
  }
  if (expected_size != 0) {
    std::uintmax_t size = fs::file_size(temp, ec);
    if (ec || size != expected_size) {
      fs::remove(temp, ec);
      Error e;
      e.source = from.string();
      e.field = "size";
      e.found = std::to_string(size);
      e.allowed = std::to_string(expected_size);
      return e;
    }
  }
  fs::rename(temp, to, ec);
  if (ec) {
    Error e = fs_error(to, "cannot rename into place", ec);
    fs::remove(temp, ec);
    return e;
  }
  return Ok{};
}

class LocalStore final : public Store {
 public:
  LocalStore(fs::path root, std::function<void(const TransferProgress&)> progress)
      : root_(std::move(root)), progress_(std::move(progress)) {}

  std::string url() const override { return root_.string(); }

  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override {
    std::vector<ObjectInfo> out;
    std::error_code ec;
    if (!fs::exists(root_, ec)) return out;  // an empty store, as an empty S3 prefix is
    fs::recursive_directory_iterator it(root_, ec), end;
    if (ec) return fs_error(root_, "cannot list", ec);
    for (; it != end; it.increment(ec)) {
      if (ec) return fs_error(root_, "cannot list", ec);
      if (!it->is_regular_file(ec)) continue;
      std::string key = it->path().lexically_relative(root_).generic_string();
      if (key.find(kTempMarker) != std::string::npos || !key.starts_with(prefix)) continue;
      out.push_back({key, it->file_size(ec)});
      if (ec) return fs_error(it->path(), "cannot stat", ec);
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Result<std::string> read(std::string_view key, std::uint64_t max_bytes) override {
    MBCC_TRY(check_key(key, url()));
    fs::path path = root_ / key;
    std::error_code ec;
    std::uintmax_t size = fs::file_size(path, ec);
    if (ec) return fs_error(path, "cannot read", ec);
    if (size > max_bytes) {
      Error e;
      e.source = path.string();
      e.field = "size";
      e.found = std::to_string(size) + " bytes";
      e.allowed = "at most " + std::to_string(max_bytes);
      return e;
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes(size, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!in || static_cast<std::uintmax_t>(in.gcount()) != size) return Error::plain(path.string(), "cannot read");
    return bytes;
  }

  Result<TransferStats> get(std::span<const GetRequest> requests) override {
    TransferStats stats;
    TransferProgress progress{0, 0, 0, requests.size()};
    for (const GetRequest& r : requests) progress.bytes_total += r.expected_size;
    for (const GetRequest& r : requests) {
      MBCC_TRY(check_key(r.key, url()));
      MBCC_TRY(copy_atomic(root_ / r.key, r.dest, r.expected_size, r.key));
      std::error_code ec;
      stats.bytes += fs::file_size(r.dest, ec);
      stats.objects += 1;
      progress.bytes_done = stats.bytes;
      progress.bytes_total = std::max(progress.bytes_total, stats.bytes);
      progress.objects_done = stats.objects;
      if (progress_) progress_(progress);
    }
    return stats;
  }

  Status put(std::string_view key, const fs::path& src) override {
    MBCC_TRY(check_key(key, url()));
    return copy_atomic(src, root_ / key, 0, std::string(key));
  }

  Status put_bytes(std::string_view key, std::string_view bytes) override {
    MBCC_TRY(check_key(key, url()));
    fs::path path = root_ / key;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return fs_error(path.parent_path(), "cannot create the folder", ec);
    fs::path temp = temp_beside(path);
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.flush();
      if (!out) {
        fs::remove(temp, ec);
        return Error::plain(temp.string(), "cannot write");
      }
    }
    fs::rename(temp, path, ec);
    if (ec) {
      Error e = fs_error(path, "cannot rename into place", ec);
      fs::remove(temp, ec);
      return e;
    }
    return Ok{};
  }

  Result<bool> exists(std::string_view key) override {
    MBCC_TRY(check_key(key, url()));
    std::error_code ec;
    bool found = fs::is_regular_file(root_ / key, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) return fs_error(root_ / key, "cannot stat", ec);
    return found;
  }

  Status remove(std::string_view key) override {
    MBCC_TRY(check_key(key, url()));
    std::error_code ec;
    fs::remove(root_ / key, ec);
    if (ec) return fs_error(root_ / key, "cannot remove", ec);
    return Ok{};
  }

 private:
  fs::path root_;
  std::function<void(const TransferProgress&)> progress_;
};

}  // namespace

std::unique_ptr<Store> make_local_store(fs::path root, const StoreOptions& options) {
  return std::make_unique<LocalStore>(std::move(root), options.progress);
}

}  // namespace mbcc::store::detail
