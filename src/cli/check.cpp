// mbcc check: every bundle of a store, through every load API that applies, on each candidate
// (parts check and report). With no arguments: the corpus shipped with mbcc, against 1.9.1,
// reports in ./mbcc-report.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/install_dirs.hpp"
#include "base/locked_dir.hpp"
#include "candidates/candidates.hpp"
#include "check/check_result.hpp"
#include "check/expectations.hpp"
#include "check/run.hpp"
#include "cli/check.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/stores.hpp"
#include "corpus/layout.hpp"
#include "report/html.hpp"
#include "report/json.hpp"
#include "report/junit.hpp"
#include "report/terminal.hpp"
#include "store/store.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

// The newest stable release. 2.0.0b1 is newer but a beta, and 2.0 dropped Module and the
// predict API, so most of the corpus would be UNSUPPORTED there rather than checked.
constexpr std::string_view kDefaultCandidate = "1.9.1";
// Environments installed at once: pip's downloads and unpacking, two per core of this machine.
constexpr int kParallelInstalls = 2;
// The candidates' outputs while they are compared: work_parent()/mbcc-check-XXXXXX.
constexpr std::string_view kWorkPrefix = "mbcc-check";

// The candidates the command line names (1.9.1 when it names none), installed where missing.
// Why one cannot be had goes to `run_errors`; a malformed spec is a setup error.
std::vector<Candidate> candidates_of(const CheckArgs& args, const Tools& tools,
                                     std::vector<std::string>& setup_errors,
                                     std::vector<std::string>& run_errors) {
  std::vector<std::string> versions = args.versions;
  if (versions.empty() && args.pythons.empty() && args.libraries.empty()) {
    versions.emplace_back(kDefaultCandidate);
  }
  Result<std::vector<CandidateSpec>> specs = expand_candidate_specs(versions);
  if (!specs.ok()) {
    setup_errors.push_back(specs.error().message());
    return {};
  }
  CandidateRequest request{*specs, args.pythons, args.libraries, kParallelInstalls,
                           [](std::string_view line) { fmt::print(stderr, "  {}\n", line); }};
  Candidates made = make_candidates(request, tools);
  run_errors.insert(run_errors.end(), made.errors.begin(), made.errors.end());
  return std::move(made.candidates);
}

Result<ToleranceRules> tolerance_rules(const CheckArgs& args) {
  ToleranceRules rules{args.rtol, args.atol, {}};
  for (const std::string& text : args.tolerances) {
    Result<ToleranceOverride> rule = parse_tolerance_override(text);
    if (!rule.ok()) return rule.error();
    rules.overrides.push_back(std::move(rule).value());
  }
  return rules;
}

std::chrono::year_month_day today() {
  return std::chrono::year_month_day{
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
}

// Writes report.json, report.xml and report.html; a report that cannot be written is a run
// error.
void write_reports(const fs::path& dir, RunResult& result) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    result.run_errors.push_back(dir.string() +
                                ": cannot create the report folder: " + ec.message());
    return;
  }
  // The three are written at once, each from the finished result, since the run waits for
  // them. The files say the same: a failure to write one is in none, only on the terminal.
  const RunResult& done = result;
  std::array<std::future<Status>, 3> writing = {
      std::async(std::launch::async, [&] { return write_report_json(dir / "report.json", done); }),
      std::async(std::launch::async, [&] { return write_junit_xml(dir / "report.xml", done); }),
      std::async(std::launch::async,
                 [&] { return write_html_report(dir / "report.html", std::span(&done, 1)); })};
  std::vector<Status> written;
  for (auto& writer : writing) written.push_back(writer.get());
  for (const Status& status : written) {
    if (!status.ok()) result.run_errors.push_back(status.error().message());
  }
}

// Runs with `work_dir` as the outputs' folder, everything else set up, and returns the result.
// A remote store is checked from a local view of it, made here and kept in `store_view`.
RunResult check_in(const CheckArgs& args, const fs::path& work_dir,
                   std::optional<LockedDir>& store_view) {
  RunOptions options;
  std::vector<std::string> setup_errors;  // found before any check runs
  Result<Tools> tools = find_tools();
  if (!tools.ok()) setup_errors.push_back(tools.error().message());

  options.filters = bundle_filters(args.bundles);
  options.filters.load_api = {args.load_apis};
  if (!args.shard.empty()) {
    Result<Shard> shard = parse_shard(args.shard);
    if (shard.ok()) {
      options.filters.shard = *shard;
    } else {
      setup_errors.push_back(shard.error().message());
    }
  }
  options.store = args.store;
  if (options.store.empty()) {
    Result<fs::path> corpus = find_installed(InstalledPart::kCorpus);
    if (corpus.ok()) {
      options.store = *corpus;
    } else {
      setup_errors.push_back(corpus.error().message());
    }
  }
  const bool original = args.store_layout == "original";
  if (original && args.store.empty()) {
    setup_errors.push_back(
        "--store-layout original: name the store (a folder or s3://…) with --store");
  }
  // A folder that keeps shared files is checked through a view too: the workers read a bundle's
  // files from its own folder.
  const std::string source = args.store.empty() ? options.store.string() : args.store;
  const bool shared = !store::is_s3_url(source) && corpus::has_shared_files(source);
  if ((store::is_s3_url(source) || original || shared) && setup_errors.empty()) {
    // Checked from a local view of the bundles this run keeps; the shard is applied once, here.
    auto view = make_view_dir(args.store_args);
    const auto pull = original ? pull_original_store : pull_store;
    Status pulled =
        view ? pull(source, args.store_args, options.filters, view->path()) : Status(view.error());
    if (!pulled.ok()) setup_errors.push_back(pulled.error().message());
    if (view) {
      store_view.emplace(std::move(view).value());
      options.store = store_view->path();
    }
    options.filters.shard = {};
  }

  fs::path expectations_file = args.expectations;
  std::error_code ec;
  if (expectations_file.empty() && fs::exists(options.store / "expectations.toml", ec)) {
    expectations_file = options.store / "expectations.toml";
  }
  if (!expectations_file.empty()) {
    Result<Expectations> expectations = read_expectations(expectations_file);
    if (expectations.ok()) {
      options.expectations = std::move(expectations).value();
    } else {
      setup_errors.push_back(expectations.error().message());
    }
  }

  Result<ToleranceRules> rules = tolerance_rules(args);
  if (rules.ok()) {
    options.tolerance = std::move(rules).value();
  } else {
    setup_errors.push_back(rules.error().message());
  }

  // A candidate that cannot be had is a run error, but the others still run.
  std::vector<std::string> unavailable;
  if (tools.ok()) options.candidates = candidates_of(args, *tools, setup_errors, unavailable);
  options.forward = *forward_policy_from_name(args.forward);

  RunResult result;
  if (setup_errors.empty() && !options.candidates.empty()) {
    options.jobs = args.jobs;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_seconds * 1000));
    options.repeat = args.repeat;
    options.today = today();
    options.work_dir = work_dir;
    options.keep_outputs = args.keep_outputs;
    options.share_runs = !args.no_reuse;
    std::optional<RunCache> run_cache;
    if (!args.no_cache) {
      Result<RunCache> opened = open_run_cache(args.store_args);
      if (opened.ok()) {
        run_cache.emplace(std::move(opened).value());
        options.cache = &*run_cache;
      } else {
        fmt::print(stderr, "mbcc check: no run cache: {}\n", opened.error().message());
      }
    }
    options.registry_dir = locate(InstalledPart::kRegistry).path;  // explanations are optional
    options.progress = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    ProgressLine progress;
    if (progress.enabled()) {
      options.checks_done = [&progress](std::size_t done, std::size_t total) {
        progress.update("checks", done, total);
      };
    }
    result = run_checks(options);
    if (run_cache) {
      Status trimmed = run_cache->trim();
      if (!trimmed.ok()) fmt::print(stderr, "mbcc check: {}\n", trimmed.error().message());
    }
  } else {
    result.run.started_at =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    result.run.finished_at = result.run.started_at;
    result.run.store = options.store.string();
    for (const Candidate& c : options.candidates) {
      result.run.candidates.push_back(c.name);
      result.run.candidate_releases.push_back(c.release);
    }
    result.run.forward = options.forward;
  }
  setup_errors.insert(setup_errors.end(), unavailable.begin(), unavailable.end());
  result.run_errors.insert(result.run_errors.begin(), setup_errors.begin(), setup_errors.end());
  result.run.mbcc_version = MBCC_VERSION;
  result.run.cpu_vendors = {this_cpu().vendor};
  result.run.store = source;  // as the user named it, not the view it was read through
  result.run.expectations = store_view && args.expectations.empty() && !expectations_file.empty()
                                ? source + "/expectations.toml"
                                : expectations_file.string();
  return result;
}

}  // namespace

// Where the candidates' outputs go while they are compared: $TMPDIR when the user set it, else
// memory (/dev/shm) where there is one, since writing and removing thousands of small files on a
// disk costs a run more CPU than the comparisons do; else the system's temporary folder.
fs::path work_parent() {
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::error_code ec;
  if ((tmpdir == nullptr || *tmpdir == '\0') && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

CheckOutcome check_only(const CheckArgs& args) {
  CheckOutcome outcome;
  // the outputs of runs that were killed are in memory: they go first
  remove_abandoned_dirs(work_parent(), kWorkPrefix);
  auto made = LockedDir::create(work_parent(), kWorkPrefix);
  if (!made) {
    outcome.result.run_errors.push_back(made.error().message());
    return outcome;
  }
  std::optional<LockedDir> store_view;
  outcome.result = check_in(args, made->path(), store_view);
  if (args.keep_outputs) {
    Status kept = made->keep();
    outcome.kept_outputs =
        made->path().string() + (kept.ok() ? "" : " (" + kept.error().message() + ")");
  }
  if (store_view) {  // only now that no check reads through the view's links
    store_view.reset();
    // the pull may have filled the cache
    auto cache = open_cache(args.store_args);
    Status trimmed = cache.ok() ? cache->trim() : Status(cache.error());
    if (!trimmed.ok()) fmt::print(stderr, "mbcc check: {}\n", trimmed.error().message());
  }
  return outcome;
}

int run_check(const CheckArgs& args) {
  CheckOutcome outcome = check_only(args);
  RunResult& result = outcome.result;
  write_reports(args.report_dir, result);
  fmt::print("{}", terminal_summary(result, colour_on_stdout()));
  fmt::print("reports: {}\n", (fs::path(args.report_dir) / "report.{json,xml,html}").string());
  if (!outcome.kept_outputs.empty()) fmt::print("outputs: {}\n", outcome.kept_outputs);
  return exit_code(result);
}

void add_check_options(CLI::App& command, CheckArgs& args) {
  CLI::App* check = &command;
  CheckArgs* const a = &args;  // one spelling for every option below
  check->add_option("--store", a->store,
                    "a folder or s3://bucket/prefix (default: the corpus shipped with mbcc)");
  check->add_option("--shard", a->shard,
                    "I/N: check only the I-th of N disjoint parts of the store, for CI workers "
                    "that split a run (join their reports with `mbcc report merge`)");
  check
      ->add_option("--store-layout", a->store_layout,
                   "v1 (mbcc's bundles) or original (the MXNet nightly bucket's "
                   "<version>/<model_name>/ folders, as 1.x's or the 2.0 branch's job wrote "
                   "them, read-only and converted into bundles)")
      ->check(CLI::IsMember({"v1", "original"}))
      ->capture_default_str();
  add_store_options(*check, a->store_args);
  check->add_option("--candidate", a->versions,
                    "a release mbcc installs as in `mbcc env` (1.9.1), `all` of them, a range "
                    "('>=1.5,<2'; pre-releases only when the range names one), or another MXNet "
                    "distribution of a release (mxnet-mkl==1.6.0), each a candidate of its own "
                    "(repeatable; default: 1.9.1, the newest stable release)");
  check
      ->add_option("--forward", a->forward,
                   "checks of files newer than their candidate, which no release promised to "
                   "read: report them apart without failing the run, fail the run like any "
                   "other failure, or skip them")
      ->check(CLI::IsMember({"report", "fail", "skip"}))
      ->capture_default_str();
  check->add_option("--candidate-python", a->pythons,
                    "[NAME=]PATH: the Python of an environment whose mxnet is the build under "
                    "test, named NAME in reports and expectations (default: PATH; repeatable)");
  check->add_option("--candidate-lib", a->libraries,
                    "[NAME=]PATH: a bare libmxnet.so, C API load APIs only (repeatable)");
  check->add_option("--report-dir", a->report_dir, "where report.{json,xml,html} go")
      ->capture_default_str();
  check->add_option("--expectations", a->expectations,
                    "the known breaks (default: STORE/expectations.toml when there is one)");
  check->add_option("-j,--jobs", a->jobs, "worker processes per candidate and worker kind")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  check->add_option("--timeout", a->timeout_seconds, "seconds one check may take")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  check->add_option("--repeat", a->repeat, "runs of each check; runs that disagree are FLAKY")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  check->add_option("--rtol", a->rtol, "relative tolerance of every floating output")
      ->check(CLI::NonNegativeNumber);
  check->add_option("--atol", a->atol, "absolute tolerance of every floating output")
      ->check(CLI::NonNegativeNumber);
  check->add_option("--tolerance", a->tolerances,
                    "MODEL/OUTPUT glob with its tolerance, e.g. 'lstm/*:rtol=1e-4,atol=1e-6' "
                    "(repeatable, the later winning; over --rtol/--atol and the manifest)");
  add_bundle_glob_options(*check, a->bundles);
  check->add_option("--load-api", a->load_apis, "only load APIs matching this glob");
  check->add_flag("--no-reuse", a->no_reuse,
                  "run every check on its own, even where another check of the run sends the "
                  "candidate the same files");
  check->add_flag("--no-cache", a->no_cache,
                  "run every check on the candidate, and keep no run: without it, a check whose "
                  "candidate files, bundle and load API are those of a run kept by an earlier "
                  "check is served that run's answer and outputs (compared afresh), from "
                  "run-cache/ beside the store cache, trimmed to --cache-size");
  check->add_flag("--keep-outputs", a->keep_outputs,
                  "keep the candidates' outputs (the folder is printed)");
}

void add_check(CLI::App& app, int& exit_code) {
  auto* check = app.add_subcommand(
      "check",
      "Check that the bundles of a store load and compute the same outputs on each candidate");
  auto args = std::make_shared<CheckArgs>();
  add_check_options(*check, *args);
  check->callback([args, &exit_code] { exit_code = run_check(*args); });
}

}  // namespace mbcc::cli
