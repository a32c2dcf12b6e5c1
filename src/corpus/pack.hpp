// mbcc pack: a local store's bundles of schema 1 and 2 keep their files in their own folders;
// packing moves every file of every bundle into the store's shared folder, gzip'd, each content
// once, and leaves each bundle folder with its manifest alone, byte for byte unchanged: the
// manifest names each file by sha256, which is where locate_bundle_file (corpus/bundle.hpp)
// finds it. Each object is in place before the bundle's own copy goes, so a kill at any moment
// leaves only bundles that validate, and a second run finishes the job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace mbcc::corpus {

struct PackReport {
  std::size_t bundles = 0;          // bundles of the store
  std::size_t bundles_packed = 0;   // those that had files in their folder
  std::size_t files_moved = 0;      // files that left a bundle's folder
  std::size_t objects_written = 0;  // new objects; the other files' content was there already
  std::size_t folders_removed = 0;
  std::uintmax_t bytes_before = 0;  // the store's apparent size (as `du -sb` counts it)
  std::uintmax_t bytes_after = 0;
  std::vector<std::string> refused;  // bundles left as they are, each with why
};

// Packs the local store in `store`, in a locked work folder as generate does. An error is a
// store that cannot be packed at all (not a local store, a shared object that cannot be
// written); a bundle that does not validate is refused and left as it is.
Result<PackReport> pack_store(const std::filesystem::path& store);

}  // namespace mbcc::corpus
