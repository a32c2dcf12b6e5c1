#include "corpus/pack.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>  // renameat2
#include <cstring>
#include <system_error>

#include "base/file.hpp"
#include "base/gzip.hpp"
#include "base/locked_dir.hpp"
#include "base/sha256.hpp"
#include "corpus/bundle.hpp"
#include "corpus/internal.hpp"
#include "corpus/layout.hpp"
#include "store/store.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;

// Hidden, so list_bundles never sees it; locked, so that a killed run's folder goes with the
// next run (base/locked_dir.hpp).
constexpr std::string_view kWorkPrefix = ".tmp-pack";

Error store_error(const fs::path& path, std::string_view step, std::string_view why) {
  return Error::plain(path.string(), std::string(step) + ": " + std::string(why));
}

Status check_listed_bytes(std::span<const std::byte> bytes, const BundleFile& file,
                          const fs::path& path) {
  if (bytes.size() != file.size) {
    return Error::plain(path.string(), "holds " + std::to_string(bytes.size()) +
                                           " bytes; the manifest lists " + file.path + " with " +
                                           std::to_string(file.size));
  }
  const std::string sha256 = sha256_hex(bytes);
  if (sha256 != file.sha256) {
    return Error::plain(path.string(), "has sha256 " + sha256 + "; the manifest lists " +
                                           file.path + " with " + file.sha256);
  }
  return Ok{};
}

// Whether the object at `path` holds the listed file's bytes, gzip'd or plain.
Status check_object(const fs::path& path, bool gzipped, const BundleFile& file) {
  Result<FileBytes> bytes = read_file(path);
  if (!bytes.ok()) return bytes.error();
  if (!gzipped) return check_listed_bytes(bytes->bytes(), file, path);
  Result<std::string> text = gunzip(bytes->bytes(), path.string(), file.size);
  if (!text.ok()) return text.error();
  return check_listed_bytes(std::as_bytes(std::span(text->data(), text->size())), file, path);
}

// Every file and folder under `dir` with its own size, as `du -sb` adds them up.
std::uintmax_t apparent_size(const fs::path& dir) {
  auto own_size = [](const fs::path& path) -> std::uintmax_t {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? static_cast<std::uintmax_t>(st.st_size) : 0;
  };
  std::uintmax_t total = own_size(dir);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    total += own_size(it->path());
  }
  return total;
}

// Moves the files that the bundle in `dir` still keeps in its folder into the shared folder.
Status pack_bundle(const fs::path& dir, const Manifest& manifest, const fs::path& store,
                   const fs::path& scratch, PackReport& report) {
  std::size_t moved = 0;
  for (const BundleFile& file : manifest.files) {
    const fs::path in_bundle = dir / file.path;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(in_bundle, ec))) continue;
    // A plain object of this content (a schema-2 shared file) will do as well.
    const fs::path plain = shared_file_path(store, file.sha256);
    if (fs::exists(plain, ec) && check_object(plain, false, file).ok()) {
      fs::remove(in_bundle, ec);
      if (ec) return store_error(in_bundle, "cannot remove", ec.message());
    } else {
      Result<bool> written = detail::move_to_shared(in_bundle, file, store, scratch);
      if (!written.ok()) return written.error();
      report.objects_written += *written ? 1 : 0;
    }
    ++moved;
  }
  report.files_moved += moved;
  report.bundles_packed += moved > 0 ? 1 : 0;
  report.folders_removed += detail::remove_emptied_folders(dir, manifest);
  return Ok{};
}

}  // namespace

namespace detail {

int rename_noreplace(const fs::path& from, const fs::path& to) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

Result<bool> move_to_shared(const fs::path& from, const BundleFile& file, const fs::path& store,
                            const fs::path& scratch) {
  const fs::path to = shared_file_path(store, file.sha256, /*compressed=*/true);
  std::error_code ec;
  bool written = false;
  if (!fs::exists(to, ec)) {
    Result<FileBytes> bytes = read_file(from);
    if (!bytes.ok()) return bytes.error();
    MBCC_TRY(check_listed_bytes(bytes->bytes(), file, from));
    fs::create_directories(to.parent_path(), ec);
    if (ec) return store_error(to.parent_path(), "cannot create", ec.message());
    const std::span<const std::byte> data = bytes->bytes();
    const fs::path packed = scratch / (file.sha256 + std::string(kCompressedSuffix));
    MBCC_TRY(
        write_file_atomic(packed, gzip({reinterpret_cast<const char*>(data.data()), data.size()})));
    written = rename_noreplace(packed, to) == 0;
    if (!written) {
      if (errno != EEXIST)
        return store_error(to, "cannot move a shared file", std::strerror(errno));
      fs::remove(packed, ec);  // another run put it there meanwhile: checked below
    }
  }
  if (!written) {
    Status same = check_object(to, /*gzipped=*/true, file);
    if (!same.ok()) {
      return store_error(to, "a shared file with other content has this sha256's name",
                         same.error().message());
    }
  }
  fs::remove(from, ec);
  if (ec) return store_error(from, "cannot remove", ec.message());
  return written;
}

std::size_t remove_emptied_folders(const fs::path& dir, const Manifest& manifest) {
  std::size_t removed = 0;
  for (const BundleFile& file : manifest.files) {
    for (fs::path sub = fs::path(file.path).parent_path(); !sub.empty(); sub = sub.parent_path()) {
      std::error_code ec;
      // refused, as it should be, while the folder holds a file
      if (fs::remove(dir / sub, ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace detail

Result<PackReport> pack_store(const fs::path& store) {
  std::error_code ec;
  if (store::is_s3_url(store.string()) || !fs::is_directory(store / kLayoutDir, ec)) {
    return Error::plain(store.string(),
                        "not a local store folder (no " + std::string(kLayoutDir) +
                            "/ folder of bundles in it); pack a local store, then publish it");
  }
  Result<std::vector<BundleKey>> keys = list_bundles(store);
  if (!keys.ok()) return keys.error();
  remove_abandoned_dirs(store, kWorkPrefix);
  PackReport report;
  report.bundles = keys->size();
  report.bytes_before = apparent_size(store);
  {
    Result<LockedDir> work = LockedDir::create(store, kWorkPrefix);
    if (!work.ok()) return work.error();
    for (const BundleKey& key : *keys) {
      const fs::path dir = bundle_dir(store, key);
      // A bundle that is not what its manifest says is never spread into the shared folder.
      Result<Manifest> manifest = validate_bundle(dir);
      if (!manifest.ok()) {
        report.refused.push_back(key.to_string() + ": " + manifest.error().message());
        continue;
      }
      MBCC_TRY(pack_bundle(dir, *manifest, store, work->path(), report));
    }
  }  // the work folder goes before the store is measured again
  report.bytes_after = apparent_size(store);
  return report;
}

}  // namespace mbcc::corpus
