// report.json: every fact of a run, for machines, for `mbcc report merge` and for the HTML page.
// src/report/README.md documents the schema; reading it back gives the same RunResult.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "check/check_result.hpp"

namespace mbcc {

// Schema 2 adds each check's direction, the candidates' releases, the forward policy and the
// transitions; a report of schema 1 still reads, its directions taken from release order.
// Schema 3 keeps each bundle's facts once, in $.bundles, instead of in each of its checks
// (half of a release matrix's report); reports of schema 2 and 1 still read.
inline constexpr std::string_view kReportSchema = "mbcc-report/3";
inline constexpr std::string_view kReportSchemaV2 = "mbcc-report/2";
inline constexpr std::string_view kReportSchemaV1 = "mbcc-report/1";

nlohmann::ordered_json report_to_json(const RunResult& result);
std::string report_json_text(const RunResult& result);  // indented, invalid UTF-8 replaced
// Parts of report_to_json, for writers that build one check at a time: every member but
// $.bundles and $.checks, and one check as $.checks holds it (without its bundle's facts).
nlohmann::ordered_json report_head_json(const RunResult& result);
nlohmann::ordered_json report_check_json(const CheckResult& check, ForwardPolicy forward);
// Where $.bundles keeps a bundle's facts, shared by its checks (every candidate, load API).
std::string report_bundle_key(const CheckKey& key);

// `source` names the document in errors, which also give the JSON path of the bad value.
Result<RunResult> report_from_json(const nlohmann::ordered_json& document,
                                   const std::string& source);
Result<RunResult> parse_report_json(std::string_view text, const std::string& source);
Result<RunResult> read_report_json(const std::filesystem::path& path);
Status write_report_json(const std::filesystem::path& path, const RunResult& result);

}  // namespace mbcc
