// Expectations: the known breaks, read from a TOML file people edit by hand. A check that
// matches an entry and fails the way it says is XFAIL; one that passes is XPASS (the entry is
// stale); an entry past its expiry date no longer matches and fails the run by itself.
//
//   schema = 1                          # required; the only version so far
//
//   [[expect]]                          # one table per known break, matched in file order
//   producer  = "1.2.0"                 # glob over the producer release
//   model     = "*"                     # glob over the model
//   save_api  = "gluon-save-params"     # glob over the save API
//   load_api  = ["gluon-load-params", "gluon-load-parameters"]   # or a list of globs
//   candidate = "1.*"                   # glob over the candidate's name
//   verdict   = "LOAD_FAIL"             # or a list: ["LOAD_FAIL", "RUN_FAIL"]
//   reason    = "1.2.0 wrote structural parameter names; 1.2.1 went back"
//   link      = "https://github.com/apache/mxnet/issues/11091"
//   expires   = 2026-06-30              # optional TOML date; the entry lives through that day
//   cpu_vendor = "AuthenticAMD"         # optional glob over this machine's CPU vendor: the
//                                       # entry holds only where the break depends on the CPU
//   cpu_flags = ["!avx512_vnni"]        # optional: flags of /proc/cpuinfo the CPU must have,
//                                       # or lack ("!flag"), all of them, for the entry to hold
//
// Globs are fnmatch(3) patterns without flags: `*`, `?` and `[…]`, where `*` also crosses `/`.
// A glob key left out means "*", but an entry must name at least one of them. verdict holds
// failure names from the verdict table (not XPASS). reason and link are required; link is an
// http(s) URL. Unknown keys, wrong types and empty values are errors naming the file, the line
// and the key. src/check/README.md has the same schema with examples.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "check/check_key.hpp"
#include "check/verdict.hpp"

namespace mbcc {

// Any of its patterns matches.
struct GlobList {
  std::vector<std::string> patterns;
  bool matches(const std::string& text) const;
  bool matches_everything() const;  // true when one pattern is "*"
};

// The CPU the checks run on, as /proc/cpuinfo names it: some breaks hold on some CPUs only.
struct Cpu {
  std::string vendor;              // vendor_id: "GenuineIntel", "AuthenticAMD"; "unknown" if none
  std::vector<std::string> flags;  // its feature flags, sorted: "avx2", "avx512_vnni", …
  bool has(const std::string& flag) const;
};

// This machine's CPU.
Cpu this_cpu();

struct Expectation {
  GlobList producer;
  GlobList model;
  GlobList save_api;
  GlobList load_api;
  GlobList candidate;
  VerdictSet verdicts;
  std::string reason;
  std::string link;
  std::optional<std::chrono::year_month_day> expires;
  GlobList cpu_vendor;                 // over Cpu::vendor
  std::vector<std::string> cpu_flags;  // "flag" or "!flag", all to hold; empty on every CPU
  std::string source;  // "corpus/expectations.toml:12", where the entry's table starts

  bool matches(const CheckKey& key, const Cpu& cpu) const;
  bool expired(std::chrono::year_month_day today) const { return expires && today > *expires; }
};

struct Expectations {
  std::vector<Expectation> entries;
  Cpu cpu;  // the CPU the checks run on; the parsers set this machine's

  // The first entry that matches `key` and has not expired by `today`; nullptr when none.
  const Expectation* find(const CheckKey& key, std::chrono::year_month_day today) const;
  // The entries past their date, each a failure of the run.
  std::vector<const Expectation*> expired(std::chrono::year_month_day today) const;
};

// `source` names the text in errors and in each entry's `source`.
Result<Expectations> parse_expectations(std::string_view text, const std::string& source);
Result<Expectations> read_expectations(const std::filesystem::path& path);

}  // namespace mbcc
