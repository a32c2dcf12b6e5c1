// Bundle validation: a bundle is usable only if its manifest is valid, every file it lists is
// there with the listed size and sha256 and parses with mbcc's readers according to its role,
// its golden tensors have the listed shapes and dtypes, and it holds no file the manifest does
// not list. `mbcc generate` runs this before a bundle is published and `mbcc check` before any
// candidate sees one; an error here is the store's fault (ARTIFACT_CORRUPT).
#pragma once

#include <filesystem>

#include "base/file.hpp"
#include "base/result.hpp"
#include "corpus/layout.hpp"
#include "corpus/manifest.hpp"

namespace mbcc::corpus {

// Validates the bundle in `dir` and returns its manifest. The error names the file and what is
// wrong with it (field "sha256", "size", "files", or the reader's own field and location). A
// folder holding kUnconvertedName fails with the reason it gives.
Result<Manifest> validate_bundle(const std::filesystem::path& dir);

// Where a listed file's bytes are, and whether they are gzip'd there.
struct FileLocation {
  std::filesystem::path path;
  bool gzipped = false;
};

// Where a listed file of the bundle in `dir` is kept: in the bundle's folder, else in its
// store's shared folder under its sha256, gzip'd or plain (a shared file, or any file of a
// bundle that `mbcc pack` packed: its manifest is unchanged). The error names the file and every
// place looked. Every reader of a local bundle's files finds them here.
Result<FileLocation> locate_bundle_file(const std::filesystem::path& dir, const BundleFile& file);

// The bytes of a listed file, found by locate_bundle_file and inflated when gzip'd there. The
// error names the file; sizes and sha256 are the caller's to check.
Result<FileBytes> read_bundle_file(const std::filesystem::path& dir, const BundleFile& file);
// The same for a file already located, so that a caller who needed its place looks once.
Result<FileBytes> read_located_file(const FileLocation& at, const BundleFile& file);

// The store key of a listed file of `bundle` as its manifest implies it: its shared object, or
// its place in the bundle (a local store may keep the latter in its shared folder, packed).
std::string stored_file_key(const BundleKey& bundle, const BundleFile& file);

// The golden value of every internal output of the bundle in `dir`, in manifest order: each
// .npy, or each archive read once. The tensors own their memory.
Result<std::vector<Tensor>> read_internal_values(const std::filesystem::path& dir,
                                                 const Manifest& manifest);

// Whether two manifests describe the same files (paths, roles, sizes, sha256): a bundle made
// again from the same release is the same bundle, whatever its creation time.
bool same_files(const Manifest& a, const Manifest& b);

}  // namespace mbcc::corpus
