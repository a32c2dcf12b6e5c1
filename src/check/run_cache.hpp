// Candidate runs kept across `mbcc check` runs (~/.cache/mbcc/run-cache, beside the store cache):
// a released wheel and an immutable bundle give the same answer every night, so a check whose
// every input is unchanged is served the candidate's stored answer and outputs instead of
// running again. What is kept is the worker's answer, never a verdict: the outputs are compared
// with the goldens, and tolerances and expectations applied, afresh on every run.
//
// The key is every input that can change the worker's answer (run_cache_key): the worker's
// fingerprint (candidates/fingerprint.hpp: its files by content and its settings, which cover
// mbcc's probe or C API worker and so the worker protocol), the bundle's manifest sha256 (which
// pins every file of the bundle), the load API and whether internals were asked for, and the
// cache's format version.
//
// Kept: answers ok, unsupported, load_fail and run_fail, which the candidate decides from its
// input, and a worker that killed itself with a fault of its own code (SIGABRT from an uncaught
// exception, SIGSEGV, SIGBUS, SIGFPE, SIGILL): old releases abort the same way on the same
// newer file every time. Never kept: a worker killed from outside (SIGKILL of the OOM killer,
// a TIMEOUT) or that exited, whose cause may lie outside the check, so each run finds out
// again; an answer with status error (mbcc's own fault); and attempts of --repeat (FLAKY
// detection runs every attempt).
//
// An entry is one file named by the key's sha256: a header line with the format version and the
// sha256 of the rest, the key and the answer (or the crash) as one JSON line (paths of the
// bundle and the outputs' folder written as placeholders), then the bytes of each output and
// internal file.
// It is written to a temporary name and renamed, so a killed run leaves whole entries only; an
// entry that fails its sha256 or does not parse is a miss with a warning. The folder is trimmed
// like the store cache (base/cache_dir.hpp), least recently used first; a hit touches its entry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "runners/pool.hpp"

namespace mbcc {

// The text an entry is keyed by.
std::string run_cache_key(std::string_view worker_fingerprint, std::string_view manifest_sha256,
                          std::string_view load_api, bool internals);

// Whether an outcome may be kept: what the candidate decided (see above).
bool keepable(const runners::Outcome& outcome);

class RunCache {
 public:
  RunCache(std::filesystem::path dir, std::uint64_t max_bytes);

  const std::filesystem::path& dir() const { return dir_; }
  // Where the workers' fingerprints are memoised (candidates/fingerprint.hpp).
  std::filesystem::path fingerprints_dir() const { return dir_ / "candidates"; }

  // The outcome kept for `key` (an answer or a crash); nullopt when there is none. An answer's
  // files are held in memory (WrittenTensor::held), not written, and named under
  // `request.out_dir` as the worker would have. A damaged entry is a miss, and `warning` says
  // which and why.
  std::optional<runners::Outcome> find(const std::string& key, const runners::Request& request,
                                       std::string& warning) const;

  // Keeps `outcome` (keepable), which the worker gave for `request`, under `key`. Errors: an
  // output file that cannot be read, or not under the request's out_dir; the entry cannot be
  // written.
  Status keep(const std::string& key, const runners::Outcome& outcome,
              const runners::Request& request) const;

  // Evicts the least recently used entries down to the size given, under the folder's lock.
  Status trim() const;

 private:
  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
};

}  // namespace mbcc
