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
#include "check/check_result.hpp"
#include "check/expectations.hpp"
#include "check/run.hpp"
#include "cli/check.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/stores.hpp"
#include "corpus/layout.hpp"
#include "envs/envs.hpp"
#include "report/html.hpp"
#include "report/json.hpp"
#include "report/junit.hpp"
#include "report/terminal.hpp"
#include "runners/worker_commands.hpp"
#include "store/store.hpp"

namespace mbcc::cli {
namespace {

namespace fs = std::filesystem;

// The newest stable release. 2.0.0b1 is newer but a beta, and 2.0 dropped Module and the
// predict API, so most of the corpus would be UNSUPPORTED there rather than checked.
constexpr std::string_view kDefaultCandidate = "1.9.1";

// What the candidates need from mbcc itself: its Python probe and its C API worker.
struct Tools {
  fs::path probe_dir;
  fs::path capi_worker;
};

Result<Tools> find_tools() {
  Result<fs::path> probe_dir = find_installed(InstalledPart::kProbe);
  if (!probe_dir.ok()) return probe_dir.error();
  Result<fs::path> worker = find_installed(InstalledPart::kCapiWorker);
  if (!worker.ok()) return worker.error();
  return Tools{*probe_dir, *worker};
}

WorkerSetup python_setup(const fs::path& python, const Tools& tools) {
  return {runners::python_worker_command(python, tools.probe_dir), ""};
}

WorkerSetup capi_setup(const fs::path& libmxnet, const fs::path& library_path, const Tools& tools) {
  return {runners::capi_worker_command(tools.capi_worker, libmxnet, library_path), ""};
}

// A wheel puts libmxnet.so in the mxnet package: VENV/lib/pythonX.Y/site-packages/mxnet.
std::optional<fs::path> wheel_library(const fs::path& python) {
  const fs::path lib = python.parent_path().parent_path() / "lib";
  std::error_code ec;
  for (fs::directory_iterator it(lib, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path candidate = it->path() / "site-packages" / "mxnet" / "libmxnet.so";
    if (it->path().filename().string().starts_with("python") && fs::exists(candidate, ec)) {
      return candidate;
    }
  }
  return std::nullopt;
}

Status executable_file(const fs::path& path, std::string_view what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || ::access(path.c_str(), X_OK) != 0) {
    return Error::plain(path.string(), std::string(what) + " is not an executable file");
  }
  return Ok{};
}

// A candidate given by path, as "[NAME=]PATH": the name reports and expectations use (a release
// candidate named "2.0.0rc1" matches entries for "2.0.*"), the path itself when none is given.
struct NamedPath {
  std::string name;
  fs::path path;
};

NamedPath named_path(const std::string& text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 ||
      text.find('/') < equals) {  // a '=' inside a path names nothing
    return {text, text};
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

// The candidates named on the command line, in the order: releases, Pythons, libraries. Why
// one cannot be had goes to `run_errors`.
std::vector<Candidate> make_candidates(const CheckArgs& args, const Tools& tools,
                                       std::vector<std::string>& run_errors) {
  std::vector<Candidate> candidates;
  envs::Options env_options;
  env_options.progress = [](std::string_view line) { fmt::print(stderr, "  {}\n", line); };
  for (const std::string& version : args.versions) {
    Result<envs::Env> env = envs::install(version, env_options);
    if (!env.ok()) {
      run_errors.push_back("candidate " + version + ": " + env.error().message());
      continue;
    }
    candidates.push_back({env->release, python_setup(env->python, tools),
                          env->libmxnet.empty()
                              ? WorkerSetup{std::nullopt, "the environment of " + env->release +
                                                              " does not name its libmxnet.so"}
                              : capi_setup(env->libmxnet, env->library_path, tools)});
  }
  for (const std::string& text : args.pythons) {
    const auto [name, python] = named_path(text);
    if (Status ok = executable_file(python, "--candidate-python"); !ok.ok()) {
      run_errors.push_back("candidate " + name + ": " + ok.error().message());
      continue;
    }
    std::optional<fs::path> library = wheel_library(python);
    candidates.push_back(
        {name, python_setup(python, tools),
         library ? capi_setup(*library, "", tools)
                 : WorkerSetup{std::nullopt,
                               "no libmxnet.so where a wheel puts it (VENV/lib/python*/"
                               "site-packages/mxnet/); give a source build's library with "
                               "--candidate-lib"}});
  }
  for (const std::string& text : args.libraries) {
    const auto [name, library] = named_path(text);
    std::error_code ec;
    if (!fs::is_regular_file(library, ec)) {
      run_errors.push_back("candidate " + name + ": " + library.string() +
                           ": --candidate-lib is not a file");
      continue;
    }
    candidates.push_back(
        {name,
         {std::nullopt, "a bare libmxnet.so candidate runs the C API load APIs only"},
         capi_setup(library, "", tools)});
  }
  return candidates;
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
// A remote store is checked from a local view of it, made here and named in `store_view`.
RunResult check_in(const CheckArgs& args, const fs::path& work_dir, fs::path& store_view) {
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
        view ? pull(source, args.store_args, options.filters, *view) : Status(view.error());
    if (!pulled.ok()) setup_errors.push_back(pulled.error().message());
    if (view) options.store = store_view = *view;
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
  if (tools.ok()) {
    CheckArgs with_default = args;
    if (args.versions.empty() && args.pythons.empty() && args.libraries.empty()) {
      with_default.versions.emplace_back(kDefaultCandidate);
    }
    options.candidates = make_candidates(with_default, *tools, unavailable);
  }

  RunResult result;
  if (setup_errors.empty() && !options.candidates.empty()) {
    options.jobs = args.jobs;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_seconds * 1000));
    options.repeat = args.repeat;
    options.today = today();
    options.work_dir = work_dir;
    options.keep_outputs = args.keep_outputs;
    options.registry_dir = locate(InstalledPart::kRegistry).path;  // explanations are optional
    options.progress = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    ProgressLine progress;
    if (progress.enabled()) {
      options.checks_done = [&progress](std::size_t done, std::size_t total) {
        progress.update("checks", done, total);
      };
    }
    result = run_checks(options);
  } else {
    result.run.started_at =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    result.run.finished_at = result.run.started_at;
    result.run.store = options.store.string();
    for (const Candidate& c : options.candidates) result.run.candidates.push_back(c.name);
  }
  setup_errors.insert(setup_errors.end(), unavailable.begin(), unavailable.end());
  result.run_errors.insert(result.run_errors.begin(), setup_errors.begin(), setup_errors.end());
  result.run.mbcc_version = MBCC_VERSION;
  result.run.store = source;  // as the user named it, not the view it was read through
  result.run.expectations =
      !store_view.empty() && args.expectations.empty() && !expectations_file.empty()
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

int run_check(const CheckArgs& args) {
  auto made = make_temp_dir(work_parent(), "mbcc-check");
  if (!made) {
    fmt::print(stderr, "mbcc check: {}\n", made.error().message());
    return kExitRunFailed;
  }
  const fs::path work_dir = *made;
  fs::path store_view;
  RunResult result = check_in(args, work_dir, store_view);
  write_reports(args.report_dir, result);

  fmt::print("{}", terminal_summary(result, colour_on_stdout()));
  fmt::print("reports: {}\n", (fs::path(args.report_dir) / "report.{json,xml,html}").string());
  if (args.keep_outputs) {
    fmt::print("outputs: {}\n", work_dir.string());
  } else {
    std::error_code ec;
    fs::remove_all(work_dir, ec);
  }
  if (!store_view.empty()) {  // only now that no check reads through the view's links
    std::error_code ec;
    fs::remove_all(store_view, ec);
  }
  if (!store_view.empty()) {  // the pull may have filled the cache
    auto cache = open_cache(args.store_args);
    Status trimmed = cache.ok() ? cache->trim() : Status(cache.error());
    if (!trimmed.ok()) fmt::print(stderr, "mbcc check: {}\n", trimmed.error().message());
  }
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
                   "<version>/<model_name>/ folders, read-only and converted into bundles)")
      ->check(CLI::IsMember({"v1", "original"}))
      ->capture_default_str();
  add_store_options(*check, a->store_args);
  check->add_option("--candidate", a->versions,
                    "a release mbcc installs as in `mbcc env` (repeatable; default: 1.9.1, the "
                    "newest stable release)");
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
