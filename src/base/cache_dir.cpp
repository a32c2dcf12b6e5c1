#include "base/cache_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/sha256.hpp"

namespace mbcc {

namespace {
std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}
}  // namespace

Result<std::filesystem::path> cache_dir() {
  for (const char* name : {"MBCC_CACHE_DIR", "XDG_CACHE_HOME"}) {
    std::string v = env_value(name);
    if (!v.empty()) return std::filesystem::path(v);
  }
  std::string home = env_value("HOME");
  if (home.empty()) {
    return Error::plain("cache folder", "none of MBCC_CACHE_DIR, XDG_CACHE_HOME and HOME is set");
  }
  return std::filesystem::path(home) / ".cache";
}

Result<CacheLock> CacheLock::take(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::plain(dir.string(), "cannot create the cache folder: " + ec.message());
  const std::filesystem::path path = dir / ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    Error e =
        Error::plain(path.string(), std::string("cannot lock the cache: ") +
                                        std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    if (fd >= 0) ::close(fd);
    return e;
  }
  return CacheLock(fd);
}

CacheLock::~CacheLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

namespace {

// An entry's temporary file (write_file_atomic's NAME.tmp.PID) whose writer is gone: a killed run.
bool abandoned_temporary(const std::string& name) {
  const std::size_t tmp = name.find(".tmp.");
  if (tmp != kSha256HexLength || !is_sha256_hex(name.substr(0, tmp))) return false;
  const std::string pid = name.substr(tmp + 5);
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

}  // namespace

Status trim_cache_entries(const std::filesystem::path& dir, std::uint64_t max_bytes) {
  namespace fs = std::filesystem;
  struct Entry {
    fs::path path;
    fs::file_time_type used;
    std::uint64_t size;
  };
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (abandoned_temporary(name)) {
      std::error_code gone;
      fs::remove(it->path(), gone);
      continue;
    }
    if (!is_sha256_hex(name) || !it->is_regular_file()) continue;
    Entry entry{it->path(), it->last_write_time(ec), it->file_size(ec)};
    if (ec) break;
    total += entry.size;
    entries.push_back(std::move(entry));
  }
  if (ec) return Error::plain(dir.string(), "cannot read the cache folder: " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& entry : entries) {
    if (total <= max_bytes) break;
    fs::remove(entry.path, ec);
    if (ec)
      return Error::plain(entry.path.string(), "cannot evict from the cache: " + ec.message());
    total -= entry.size;
  }
  return Ok{};
}

}  // namespace mbcc
