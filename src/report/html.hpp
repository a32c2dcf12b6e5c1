// report.html: the compatibility matrix as one self-contained page (no network, no external
// scripts or fonts). The page embeds the reports' facts once, as JSON, and draws them with its
// own script (src/report/html_page.html): a matrix per candidate, filters, a detail view per
// check and, given several nights, each check's history.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "check/check_result.hpp"

namespace mbcc {

// What the earlier nights say about one check of the newest. Nights are ordered by
// run.started_at, oldest first; a night that did not run the check has no verdict for it.
struct CheckHistory {
  std::vector<std::optional<Verdict>> verdicts;  // one per night
  std::optional<std::size_t> last_passed;        // the latest night it did not fail
  std::optional<std::size_t> failing_since;      // when failing now: the first night of the streak
};

// The reports in the order of their run.started_at, oldest first (stable for equal times).
std::vector<const RunResult*> nights_in_order(std::span<const RunResult> reports);

// One history per check of the newest night, in its order.
std::vector<CheckHistory> check_histories(std::span<const RunResult* const> nights);

// The data the page draws, as embedded in it. Objects of the report.json schema are packed as
// arrays of their values, their keys listed once under "schemas"; the checks are "columns", one
// per member, each value once and a short code per check; what repeats within members (bundle
// facts' strings, message lines, dtypes) is stored once under "strings"; see html_page.html.
nlohmann::ordered_json html_page_data(std::span<const RunResult> reports);

// The page for one or more reports (several nights of one store): the newest is shown, all
// give the history. `reports` must not be empty.
std::string html_report(std::span<const RunResult> reports);
Status write_html_report(const std::filesystem::path& path, std::span<const RunResult> reports);

}  // namespace mbcc
