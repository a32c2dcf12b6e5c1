// Where mbcc's own files are: the C API worker, the Python probe, the corpus, the operator
// registries of the releases and the docs.
//
// An installed mbcc (PREFIX/bin/mbcc) finds them relative to its executable, under
// PREFIX/libexec/mbcc and PREFIX/share, so a prefix still works after it is moved. An mbcc that
// runs from its build tree uses that tree and the checkout it was built from instead; nothing
// else falls back to the checkout. An environment variable overrides each place.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace mbcc {

enum class InstalledPart { kCapiWorker, kProbe, kCorpus, kRegistry, kDocs };

struct InstalledPartInfo {
  InstalledPart part;
  std::string_view name;      // "C API worker"
  std::string_view variable;  // the environment variable that overrides the place
};

// Every part, in the order `mbcc doctor` shows them.
std::span<const InstalledPartInfo> installed_parts();

struct PartLocation {
  std::filesystem::path path;  // the worker's executable, or the folder of the other parts
  std::string_view found_by;   // the variable's name, "installed" or "build tree"
};

// Where `part` should be; not checked.
PartLocation locate(InstalledPart part);

// locate(part), checked to hold the part (the worker is executable, mbcc_probe/__main__.py is
// in the probe's folder, v1/ in the corpus, SHA256SUMS in the registry, releases.md in the
// docs). The error names the
// place, what is missing there and the variable that overrides it.
Result<std::filesystem::path> find_installed(InstalledPart part);

}  // namespace mbcc
