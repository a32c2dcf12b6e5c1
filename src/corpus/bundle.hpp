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

// Where a listed file's bytes are: in the bundle's folder, or for a shared file absent from it
// (a bundle read in place from a store that keeps shared files), in the store's shared folder.
std::filesystem::path bundle_file_path(const std::filesystem::path& dir, const BundleFile& file);

// The bytes of a listed file: from the bundle's folder, else its shared copy, inflated when
// that is compressed. The error names the file; sizes and sha256 are the caller's to check.
Result<FileBytes> read_bundle_file(const std::filesystem::path& dir, const BundleFile& file);

// The store key of a listed file of `bundle`: its shared object, or its place in the bundle.
std::string stored_file_key(const BundleKey& bundle, const BundleFile& file);

// The golden value of every internal output of the bundle in `dir`, in manifest order: each
// .npy, or each archive read once. The tensors own their memory.
Result<std::vector<Tensor>> read_internal_values(const std::filesystem::path& dir,
                                                 const Manifest& manifest);

// Whether two manifests describe the same files (paths, roles, sizes, sha256): a bundle made
// again from the same release is the same bundle, whatever its creation time.
bool same_files(const Manifest& a, const Manifest& b);

}  // namespace mbcc::corpus
