// mbcc bisect: the first release between a good and a bad one where the verdicts of the selected
// checks change, found by binary search over the released wheels, installing only the releases
// the search visits.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "base/release_version.hpp"
#include "check/check_result.hpp"
#include "cli/check.hpp"
#include "cli/commands.hpp"
#include "envs/envs.hpp"
#include "report/describe.hpp"

namespace mbcc::cli {
namespace {

struct BisectArgs {
  CheckArgs check;
  std::string good;
  std::string bad;
};

// A check's verdict on one release, by what was checked (the candidate left out).
using CaseKey = std::tuple<std::string, std::string, std::string, std::string>;
struct Seen {
  Verdict verdict;
  std::string message;  // the candidate's message or mbcc's detail, first line
};
using Verdicts = std::map<CaseKey, Seen>;

std::string first_line(const CheckResult& c) {
  const std::string& text = c.message ? c.message->text : c.detail;
  return text.substr(0, std::min(text.find('\n'), std::size_t{300}));
}

// The releases from `good` to `bad` in release order (either may be the newer one), both ends
// included. Errors name a release mbcc does not know.
Result<std::vector<std::string>> releases_between(const std::string& good, const std::string& bad) {
  std::vector<std::pair<ReleaseVersion, std::string>> known;
  for (const envs::ReleaseQuirks& row : envs::release_table()) {
    if (row.support != envs::Support::kWorks) continue;
    Result<ReleaseVersion> v = parse_release_version(row.release);
    if (v.ok()) known.emplace_back(*v, std::string(row.release));
  }
  auto position = [&known](const std::string& name) -> Result<std::size_t> {
    const envs::ReleaseQuirks* row = envs::find_release(name);
    for (std::size_t i = 0; i < known.size(); ++i) {
      if (row != nullptr && known[i].second == row->release) return i;
    }
    Error e;
    e.source = "mbcc bisect";
    e.found = "\"" + name + "\"";
    e.allowed = "a release `mbcc env releases` lists";
    return e;
  };
  Result<std::size_t> from = position(good);
  if (!from.ok()) return from.error();
  Result<std::size_t> to = position(bad);
  if (!to.ok()) return to.error();
  if (*from == *to) return Error::plain("mbcc bisect", "--good and --bad name the same release");
  std::vector<std::string> releases;
  const std::ptrdiff_t step = *from < *to ? 1 : -1;
  for (auto i = static_cast<std::ptrdiff_t>(*from);; i += step) {
    releases.push_back(known[static_cast<std::size_t>(i)].second);
    if (static_cast<std::size_t>(i) == *to) break;
  }
  return releases;
}

Result<Verdicts> verdicts_on(const BisectArgs& args, const std::string& release) {
  CheckArgs step = args.check;
  step.versions = {release};
  CheckOutcome outcome = check_only(step);
  if (!outcome.result.run_errors.empty()) {
    std::string why;
    for (const std::string& e : outcome.result.run_errors) why += (why.empty() ? "" : "; ") + e;
    return Error::plain("mbcc bisect", "the check on " + release + " could not be done: " + why);
  }
  Verdicts verdicts;
  for (const CheckResult& c : outcome.result.checks) {
    verdicts[{c.key.producer, c.key.model, c.key.save_api, c.key.load_api}] = {c.raw_verdict,
                                                                               first_line(c)};
  }
  return verdicts;
}

bool same_verdicts(const Verdicts& a, const Verdicts& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && x.second.verdict == y.second.verdict;
  });
}

int run_bisect(const BisectArgs& args) {
  Result<std::vector<std::string>> releases = releases_between(args.good, args.bad);
  if (!releases.ok()) {
    fmt::print(stderr, "{}\n", releases.error().message());
    return kExitRunFailed;
  }
  const std::vector<std::string>& line = *releases;
  std::map<std::size_t, Verdicts> seen;
  auto verdicts_at = [&](std::size_t i) -> const Verdicts* {
    if (!seen.contains(i)) {
      fmt::print("checking {} ...\n", line[i]);
      std::fflush(stdout);
      Result<Verdicts> v = verdicts_on(args, line[i]);
      if (!v.ok()) {
        fmt::print(stderr, "{}\n", v.error().message());
        return nullptr;
      }
      seen.emplace(i, std::move(v).value());
    }
    return &seen.at(i);
  };
  const Verdicts* good = verdicts_at(0);
  const Verdicts* bad = good ? verdicts_at(line.size() - 1) : nullptr;
  if (good == nullptr || bad == nullptr) return kExitRunFailed;
  if (good->empty()) {
    fmt::print(stderr, "mbcc bisect: the filters leave no check on {}\n", line.front());
    return kExitRunFailed;
  }
  if (same_verdicts(*good, *bad)) {
    fmt::print("the {} on {} and on {} are the same: nothing to bisect\n",
               plural(good->size(), "verdict"), line.front(), line.back());
    return kExitFailures;
  }
  // Invariant: `lo` gives the good verdicts, `hi` does not.
  std::size_t lo = 0;
  std::size_t hi = line.size() - 1;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const Verdicts* at = verdicts_at(mid);
    if (at == nullptr) return kExitRunFailed;
    const bool as_good = same_verdicts(*at, *good);
    fmt::print("  {}: {}\n", line[mid], as_good ? "as on " + line.front() : "changed");
    (as_good ? lo : hi) = mid;
  }
  const Verdicts& before = seen.at(lo);
  const Verdicts& after = seen.at(hi);
  fmt::print(
      "\nfirst release where the verdicts change: {} (after {}; {} of {} releases "
      "checked)\n",
      line[hi], line[lo], seen.size(), line.size());
  for (const auto& [key, then] : before) {
    auto now = after.find(key);
    if (now != after.end() && now->second.verdict == then.verdict) continue;
    const auto& [producer, model, save_api, load_api] = key;
    fmt::print("  {} {}/{} -> {}: {} on {}, {} on {}\n", producer, model, save_api, load_api,
               verdict_name(then.verdict), line[lo],
               now == after.end() ? "no check" : verdict_name(now->second.verdict), line[hi]);
    if (!then.message.empty()) fmt::print("    on {}: {}\n", line[lo], then.message);
    if (now != after.end() && !now->second.message.empty()) {
      fmt::print("    on {}: {}\n", line[hi], now->second.message);
    }
  }
  return kExitClean;
}

}  // namespace

void add_bisect(CLI::App& app, int& exit_code) {
  auto* bisect = app.add_subcommand(
      "bisect",
      "Find the first release between --good and --bad where the verdicts of the selected "
      "checks change, installing only the releases a binary search visits");
  auto args = std::make_shared<BisectArgs>();
  bisect->add_option("--good", args->good, "a release where the checks give the old verdicts")
      ->required();
  bisect->add_option("--bad", args->bad, "a release where they do not (older or newer)")
      ->required();
  bisect->add_option("--store", args->check.store,
                     "a folder or s3://bucket/prefix (default: the corpus shipped with mbcc)");
  add_store_options(*bisect, args->check.store_args);
  add_bundle_glob_options(*bisect, args->check.bundles);
  bisect->add_option("--load-api", args->check.load_apis, "only load APIs matching this glob");
  bisect->add_option("-j,--jobs", args->check.jobs, "worker processes per worker kind")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  bisect->add_option("--timeout", args->check.timeout_seconds, "seconds one check may take")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  bisect->callback([args, &exit_code] { exit_code = run_bisect(*args); });
}

}  // namespace mbcc::cli
