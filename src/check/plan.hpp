// Planning a check run: which checks there are (bundle × load API × candidate), which of them
// are settled before any worker starts, and which worker runs each of the others.
//
// - Bundles come from a local store (corpus/layout.hpp), in its sorted order. Each bundle the
//   filters keep is validated once (corpus/bundle.hpp: sha256 and mbcc's readers). A bundle that
//   fails is settled as ARTIFACT_CORRUPT for every check, so no candidate code ever reads it;
//   its load APIs are taken from its manifest when the manifest still parses, else the bundle
//   gets one check per candidate under the load API "*".
// - The load APIs of a bundle are the ones its manifest lists. c-* APIs run in the C API worker,
//   the rest in the Python worker. A candidate without that worker (a bare libmxnet.so has no
//   Python; a Python environment whose libmxnet.so is not where a wheel puts it has no C API
//   worker) gets those checks settled as UNSUPPORTED, with the candidate's reason. An API the
//   candidate's worker lacks (2.0 has no Module, no c-predict) is said by the worker itself, from
//   the same table its hello lists, when the check reaches it.
// - Filters are globs over producer, model, save API and load API. Checks they leave out are
//   not planned at all, rather than planned as SKIPPED: a run's report then holds exactly what
//   was checked, and reports of runs sharded by filter merge without one shard's SKIPPED
//   replacing another shard's verdict.
// - Order: candidates in the order given, then bundles in store order, then load APIs in
//   manifest order.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "candidates/candidates.hpp"
#include "check/check_key.hpp"
#include "check/expectations.hpp"
#include "check/verdict.hpp"
#include "corpus/layout.hpp"
#include "corpus/manifest.hpp"
#include "runners/pool.hpp"

namespace mbcc {

// Which worker runs `load_api`: the C API worker for the c-* APIs it knows, Python otherwise.
RunnerKind runner_for(std::string_view load_api);

// One of `count` parts of a run, for CI workers that split the checks: `index` is 1-based.
struct Shard {
  int index = 1;
  int count = 1;
};

// Parses "I/N" with 1 <= I <= N.
Result<Shard> parse_shard(std::string_view text);

// Globs over the parts of a check's name; an empty list keeps everything. A shard keeps every
// N-th bundle of those the globs keep, in store order, so that the shards of one store are
// disjoint, cover it, and differ in size by one bundle at most; a bundle's checks stay together
// (one shard fetches and validates it).
struct Filters {
  GlobList producer;
  GlobList model;
  GlobList save_api;
  GlobList load_api;
  Shard shard;
};

// The bundles of `keys` (in store order) that the producer, model and save API globs and the
// shard keep.
std::vector<corpus::BundleKey> select_bundles(std::span<const corpus::BundleKey> keys,
                                              const Filters& filters);

struct PlannedBundle {
  corpus::BundleKey key;
  std::filesystem::path dir;
  std::optional<corpus::Manifest> manifest;  // validated; absent when the bundle is corrupt
  std::string corruption;                    // validate_bundle's error, when corrupt
};

struct PlannedCheck {
  CheckKey key;
  std::size_t bundle = 0;     // in Plan::bundles
  std::size_t candidate = 0;  // in the candidates the plan was made for
  RunnerKind runner = RunnerKind::kPython;
  std::optional<Verdict> settled;  // ARTIFACT_CORRUPT or UNSUPPORTED, decided without a worker
  std::string detail;              // why it is settled
};

struct Plan {
  std::vector<PlannedBundle> bundles;
  std::vector<PlannedCheck> checks;
};

// The plan for `candidates` over the store. Errors: the store is not a readable folder.
Result<Plan> make_plan(const std::filesystem::path& store, std::span<const Candidate> candidates,
                       const Filters& filters);

}  // namespace mbcc
