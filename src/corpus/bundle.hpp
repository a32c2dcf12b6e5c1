// Bundle validation: a bundle is usable only if its manifest is valid, every file it lists is
// there with the listed size and sha256 and parses with mbcc's readers according to its role,
// its golden tensors have the listed shapes and dtypes, and it holds no file the manifest does
// not list. `mbcc generate` runs this before a bundle is published and `mbcc check` before any
// candidate sees one; an error here is the store's fault (ARTIFACT_CORRUPT).
#pragma once

#include <filesystem>

#include "base/result.hpp"
#include "corpus/manifest.hpp"

namespace mbcc::corpus {

// Validates the bundle in `dir` and returns its manifest. The error names the file and what is
// wrong with it (field "sha256", "size", "files", or the reader's own field and location). A
// folder holding kUnconvertedName fails with the reason it gives.
Result<Manifest> validate_bundle(const std::filesystem::path& dir);

// Whether two manifests describe the same files (paths, roles, sizes, sha256): a bundle made
// again from the same release is the same bundle, whatever its creation time.
bool same_files(const Manifest& a, const Manifest& b);

}  // namespace mbcc::corpus
