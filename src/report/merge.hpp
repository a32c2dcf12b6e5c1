// Merging reports: shards of one nightly (one per candidate or per group of checks) become one
// report, as `mbcc report merge` writes it.
#pragma once

#include <span>

#include "base/result.hpp"
#include "check/check_result.hpp"

namespace mbcc {

// Checks in the order first seen; a check present in several reports takes the later report's
// result, so merging a re-run shard after the original replaces it. Candidates, expired
// expectations and run errors are united, the time span covers every report. Reports must agree
// on the mbcc version, the store and the expectations file (when they name one): otherwise their
// verdicts were reached by different rules or about different bundles, and that is an error
// naming the reports by their position, counted from 1.
Result<RunResult> merge_reports(std::span<const RunResult> reports);

}  // namespace mbcc
