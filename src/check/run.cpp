#include "check/run.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "candidates/fingerprint.hpp"
#include "check/run_cache.hpp"
#include "check/schema_explanation.hpp"
#include "corpus/bundle.hpp"
#include "formats/npy.hpp"
#include "runners/pool.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// How much of a worker's stderr a CRASH or TIMEOUT shows: the report prints the detail whole.
constexpr std::size_t kStderrLines = 8;

Result<double> parse_tolerance_value(std::string_view text, std::string_view field,
                                     std::string_view source) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    Error e;
    e.source = std::string(source);
    e.field = std::string(field);
    e.found = "\"" + std::string(text) + "\"";
    e.allowed = "a finite number >= 0";
    return e;
  }
  return value;
}

// The last lines of a worker's stderr, each marked, for a check's detail.
std::string stderr_lines(std::string_view tail) {
  std::vector<std::string_view> lines;
  while (!tail.empty()) {
    const std::size_t newline = std::min(tail.find('\n'), tail.size());
    if (newline > 0) lines.push_back(tail.substr(0, newline));
    tail.remove_prefix(std::min(newline + 1, tail.size()));
  }
  std::string out;
  const std::size_t first = lines.size() - std::min(lines.size(), kStderrLines);
  for (std::size_t i = first; i < lines.size(); ++i) out += "\nstderr: " + std::string(lines[i]);
  return out;
}

std::string failure_text(const runners::Failure& failure) {
  std::string text = failure.kind;
  if (!failure.call.empty()) text += " in " + failure.call;
  return text + ": " + failure.message;
}

nlohmann::json bundle_facts(const corpus::Manifest& m) {
  const corpus::Producer& p = m.producer;
  nlohmann::json producer = {{"version", p.version},
                             {"requirement", p.requirement},
                             {"mxnet_version", p.mxnet_version},
                             {"python", p.python},
                             {"numpy", p.numpy},
                             {"platform", p.platform},
                             {"created", p.created}};
  if (p.mxget_version) producer["mxget_version"] = *p.mxget_version;
  if (p.features) producer["features"] = *p.features;
  nlohmann::json seeds = nlohmann::json::object();
  for (const auto& seed : m.seeds) {
    std::visit([&seeds, &seed](const auto& v) { seeds[seed.first] = v; }, seed.second);
  }
  // The files a person compares with the store's copy; the per-node internals are left out, as
  // there can be hundreds and the outputs' hashes already pin the forward pass.
  nlohmann::json files = nlohmann::json::array();
  for (const corpus::BundleFile& f : m.files) {
    if (f.role == corpus::FileRole::kInternal || f.role == corpus::FileRole::kInternalsArchive) {
      continue;
    }
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  return {{"producer", std::move(producer)}, {"seeds", std::move(seeds)},
          {"files", std::move(files)},       {"model_kind", m.model_info.kind},
          {"writer", m.model_info.writer},   {"np_mode", m.model_info.np_mode}};
}

const corpus::BundleFile* file_of_role(const corpus::Manifest& m, corpus::FileRole role) {
  auto it = std::find_if(m.files.begin(), m.files.end(),
                         [role](const corpus::BundleFile& f) { return f.role == role; });
  return it == m.files.end() ? nullptr : &*it;
}

// A golden tensor of the bundle, wherever its store keeps it.
Result<Tensor> read_golden(const PlannedBundle& bundle, const corpus::TensorEntry& golden) {
  const corpus::BundleFile* listed = bundle.manifest->find_file(golden.file);
  if (listed == nullptr) return Error::plain(golden.file, "not listed in the manifest");
  Result<FileBytes> bytes = corpus::read_bundle_file(bundle.dir, *listed);
  if (!bytes.ok()) return bytes.error();
  return parse_npy(bytes->bytes(), bytes->owner, (bundle.dir / golden.file).string());
}

// A tensor the worker gave, from its file or from memory when it was served from the run cache.
Result<Tensor> read_written(const runners::WrittenTensor& tensor) {
  if (tensor.held) return parse_npy(tensor.held->bytes(), tensor.held->owner, tensor.file.string());
  return read_npy(tensor.file);
}

// Writes the tensors of a served answer that are held in memory to the files they name, for
// --keep-outputs.
Status write_held(const runners::Outcome& outcome) {
  const auto* answer = std::get_if<runners::Answer>(&outcome);
  if (answer == nullptr) return Ok{};
  for (const std::vector<runners::WrittenTensor>* tensors :
       {&answer->outputs, &answer->internals}) {
    for (const runners::WrittenTensor& tensor : *tensors) {
      if (!tensor.held) continue;
      std::error_code ec;
      fs::create_directories(tensor.file.parent_path(), ec);
      if (Status written = write_file_atomic(tensor.file, tensor.held->bytes()); !written.ok()) {
        return written;
      }
    }
  }
  return Ok{};
}

runners::Request request_for(const PlannedBundle& bundle, const PlannedCheck& check,
                             fs::path out_dir, bool internals) {
  const corpus::Manifest& m = *bundle.manifest;
  runners::Request request;
  request.bundle_dir = bundle.dir;
  request.load_api = check.key.load_api;
  for (const corpus::TensorEntry& input : m.inputs) {
    request.inputs.push_back({input.name, bundle.dir / input.file});
  }
  request.out_dir = std::move(out_dir);
  request.internals = internals;
  if (check.runner == RunnerKind::kCapi) {  // the C API worker takes the graph by name
    if (const auto* symbol = file_of_role(m, corpus::FileRole::kSymbol)) {
      request.symbol_file = bundle.dir / symbol->path;
    }
    if (const auto* params = file_of_role(m, corpus::FileRole::kParams)) {
      request.params_file = bundle.dir / params->path;
    }
  }
  return request;
}

// What reaches a worker from a bundle: its model files and inputs (by path and sha256) and
// the probe's description of it without what the worker never reads. Checks of one candidate
// and load API with equal keys get the same answer, so they share one run.
struct BundleWorkKey {
  std::string key;  // empty when the description cannot be read: the bundle's checks run alone
  // The description's save API and load APIs, which the worker reads only to refuse a load API
  // that is not among them (a message naming the save API); absent without a description.
  std::optional<std::set<std::string>> load_apis;
  std::string save_api;
};

// The description's members that reach no worker: what only the producer side writes, and who
// wrote the files (`writer`, the Gluon `model_prefix` it used: the worker rebuilds the Block from
// the zoo, by model), so that equal bytes written by two save APIs share a run.
constexpr std::array<const char*, 8> kUnreadByWorkers = {"producer",  "self_check", "outputs",
                                                         "internals", "writer",     "model_prefix",
                                                         "save_api",  "load_apis"};

BundleWorkKey bundle_work_key(const PlannedBundle& bundle) {
  const corpus::Manifest& m = *bundle.manifest;
  BundleWorkKey work;
  for (const corpus::BundleFile& f : m.files) {
    if (f.role == corpus::FileRole::kOutput || f.role == corpus::FileRole::kInternal ||
        f.role == corpus::FileRole::kInternalsArchive ||
        f.role == corpus::FileRole::kInternalsIndex || f.role == corpus::FileRole::kProbe) {
      continue;
    }
    work.key += "\n" + f.path + " " + f.sha256;
  }
  const corpus::BundleFile* probe = file_of_role(m, corpus::FileRole::kProbe);
  if (probe == nullptr) return work;
  Result<FileBytes> bytes = corpus::read_bundle_file(bundle.dir, *probe);
  if (!bytes.ok()) return {};
  nlohmann::json meta = nlohmann::json::parse(
      std::string_view(reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size), nullptr,
      false);
  if (!meta.is_object()) return {};
  work.load_apis.emplace();
  if (auto apis = meta.find("load_apis"); apis != meta.end() && apis->is_array()) {
    for (const auto& api : *apis) {
      if (api.is_string()) work.load_apis->insert(api.get<std::string>());
    }
  }
  if (auto save_api = meta.find("save_api"); save_api != meta.end())
    work.save_api = save_api->dump();
  for (const char* unread : kUnreadByWorkers) meta.erase(unread);
  work.key += "\n" + meta.dump();
  return work;
}

// One attempt of a check: its verdict and what explains it.
struct Attempt {
  Verdict verdict = Verdict::kPass;
  std::string detail;
  std::optional<CandidateMessage> message;
  std::vector<OutputResult> outputs;
  Timings timings;
  std::string run_error;  // mbcc's own fault, when it is
};

CandidateMessage candidate_message(const runners::Failure& failure) {
  return {failure.message, classify_message(failure.message), ""};
}

// Compares the worker's outputs with the goldens, in order: the Python worker names them
// output_<i>, the C API worker by the graph's output names.
void compare_outputs(const runners::Answer& answer, const PlannedBundle& bundle,
                     const ToleranceRules& rules, Attempt& attempt) {
  const corpus::Manifest& m = *bundle.manifest;
  if (answer.outputs.size() != m.outputs.size()) {
    attempt.verdict = Verdict::kShapeMismatch;
    attempt.detail = fmt::format("the candidate gave {} outputs; the bundle has {} goldens",
                                 answer.outputs.size(), m.outputs.size());
    return;
  }
  for (std::size_t i = 0; i < m.outputs.size(); ++i) {
    const corpus::TensorEntry& golden = m.outputs[i];
    Result<Tensor> expected = read_golden(bundle, golden);
    Result<Tensor> actual = read_written(answer.outputs[i]);
    if (!expected.ok() || !actual.ok()) {
      attempt.verdict = Verdict::kRunFail;
      attempt.detail = "the worker's output is unreadable: " +
                       (actual.ok() ? expected : actual).error().message();
      attempt.outputs.clear();
      return;
    }
    const Tolerance tolerance =
        tolerance_for(expected->dtype(), m.tolerance, m.model, golden.name, rules);
    attempt.outputs.push_back({golden.name, compare(*actual, *expected, tolerance)});
  }
  attempt.verdict = verdict_of_outputs(attempt.outputs);
}

Attempt attempt_of(const runners::CheckRun& run, const PlannedBundle& bundle,
                   const ToleranceRules& rules) {
  Attempt attempt;
  const auto wall_ms = static_cast<double>(run.wall.count());
  if (const auto* answer = std::get_if<runners::Answer>(&run.outcome)) {
    attempt.timings.load_ms = answer->timings.load_ms;
    attempt.timings.run_ms = answer->timings.run_ms;
    attempt.timings.overhead_ms =
        std::max(0.0, wall_ms - answer->timings.load_ms - answer->timings.run_ms);
    switch (answer->status) {
      case runners::AnswerStatus::kOk:
        compare_outputs(*answer, bundle, rules, attempt);
        break;
      case runners::AnswerStatus::kUnsupported:
        attempt.verdict = Verdict::kUnsupported;
        attempt.detail = answer->error ? answer->error->message : "the worker does not run it";
        break;
      case runners::AnswerStatus::kLoadFail:
      case runners::AnswerStatus::kRunFail:
        attempt.verdict = answer->status == runners::AnswerStatus::kLoadFail ? Verdict::kLoadFail
                                                                             : Verdict::kRunFail;
        if (answer->error) {
          attempt.message = candidate_message(*answer->error);
          if (!answer->error->call.empty()) attempt.detail = "failed in " + answer->error->call;
        }
        break;
      case runners::AnswerStatus::kError:
        attempt.verdict = Verdict::kRunFail;
        attempt.detail =
            "mbcc's fault, not the candidate's: the worker could not serve the request: " +
            (answer->error ? failure_text(*answer->error) : std::string("no reason"));
        attempt.run_error = attempt.detail;
        break;
    }
  } else if (const auto* crash = std::get_if<runners::Crash>(&run.outcome)) {
    attempt.verdict = Verdict::kCrash;
    attempt.detail = "the worker " + crash->describe() +
                     (crash->detail.empty() ? "" : " (" + crash->detail + ")") +
                     stderr_lines(crash->stderr_tail);
    attempt.timings.overhead_ms = wall_ms;
  } else if (const auto* timeout = std::get_if<runners::Timeout>(&run.outcome)) {
    attempt.verdict = Verdict::kTimeout;
    attempt.detail =
        fmt::format("killed after {} s", std::chrono::duration<double>(timeout->limit).count()) +
        stderr_lines(timeout->stderr_tail);
    attempt.timings.overhead_ms = wall_ms;
  } else if (const auto* garbage = std::get_if<runners::ProtocolError>(&run.outcome)) {
    attempt.verdict = Verdict::kRunFail;
    attempt.detail = garbage->text + "\n" + garbage->reason + stderr_lines(garbage->stderr_tail);
    attempt.timings.overhead_ms = wall_ms;
  } else {
    const auto& startup = std::get<runners::StartupFailure>(run.outcome);
    attempt.verdict = Verdict::kCrash;
    attempt.detail =
        "no worker could start: " + startup.message + stderr_lines(startup.stderr_tail);
  }
  return attempt;
}

// The candidate's tensor for one internal output of the bundle: the one at the same
// get_internals() position when it belongs to the same node (releases name a node's outputs
// differently: 1.5's "rnn0_output1" is 2.0's "rnn0_state_output"), else the first unused one
// of the same name (a load-time upgrade can shift positions).
class InternalsMatcher {
 public:
  explicit InternalsMatcher(std::span<const runners::WrittenTensor> internals) {
    for (const runners::WrittenTensor& t : internals) {
      if (t.index) by_index_.emplace(*t.index, &t);
      by_name_.emplace(t.name, &t);
    }
  }

  const runners::WrittenTensor* take(const corpus::InternalEntry& entry) {
    auto same_place = by_index_.find(entry.index);
    if (same_place != by_index_.end() && !used_.contains(same_place->second) &&
        same_place->second->name.starts_with(entry.node)) {
      return use(same_place->second);
    }
    auto [first, last] = by_name_.equal_range(entry.name);
    for (auto it = first; it != last; ++it) {
      if (!used_.contains(it->second)) return use(it->second);
    }
    return nullptr;
  }

 private:
  const runners::WrittenTensor* use(const runners::WrittenTensor* t) {
    used_.insert(t);
    return t;
  }

  std::map<int64_t, const runners::WrittenTensor*> by_index_;
  std::multimap<std::string, const runners::WrittenTensor*> by_name_;
  std::set<const runners::WrittenTensor*> used_;
};

// The earliest internal output of the bundle's graph, in get_internals() order, that the
// candidate computes out of tolerance. `note` says what could not be compared.
std::optional<DivergingNode> first_divergence(const PlannedBundle& bundle,
                                              std::span<const runners::WrittenTensor> internals,
                                              const ToleranceRules& rules, std::string& note) {
  const corpus::Manifest& m = *bundle.manifest;
  InternalsMatcher matcher(internals);
  std::size_t compared = 0;
  std::size_t unmatched = 0;
  auto unmatched_note = [&unmatched] {
    return unmatched == 0 ? std::string()
                          : fmt::format(
                                "internals: {} earlier internal outputs have no "
                                "counterpart in the candidate's, so were not compared",
                                unmatched);
  };
  Result<std::vector<Tensor>> goldens = corpus::read_internal_values(bundle.dir, m);
  if (!goldens.ok()) {
    note = "internals: " + goldens.error().message();
    return std::nullopt;
  }
  for (std::size_t i = 0; i < m.internals.outputs.size(); ++i) {
    const corpus::InternalEntry& entry = m.internals.outputs[i];
    const runners::WrittenTensor* actual_file = matcher.take(entry);
    if (actual_file == nullptr) {
      ++unmatched;
      continue;
    }
    const Tensor& expected = (*goldens)[i];
    Result<Tensor> actual = read_written(*actual_file);
    if (!actual.ok()) {
      note = "internals: " + actual.error().message();
      return std::nullopt;
    }
    ++compared;
    Comparison comparison =
        compare(*actual, expected,
                tolerance_for(expected.dtype(), m.tolerance, m.model, entry.name, rules));
    if (comparison.outcome != CompareOutcome::kMatch) {
      note = unmatched_note();
      return DivergingNode{entry.node, entry.op, std::move(comparison), ""};
    }
  }
  note = fmt::format(
      "internals: the {} of {} internal outputs the candidate gave are within "
      "tolerance",
      compared, m.internals.outputs.size());
  return std::nullopt;
}

bool drifted(Verdict verdict) {
  return verdict == Verdict::kNumericDrift || verdict == Verdict::kNanIntroduced;
}

std::chrono::sys_seconds now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

runners::PoolOptions pool_options(const RunOptions& options) {
  runners::PoolOptions pool_options;
  pool_options.workers = std::max(1, options.jobs);
  pool_options.check_timeout = options.timeout;
  return pool_options;
}

// The workers of one candidate and kind.
struct PoolKey {
  std::size_t candidate = 0;
  RunnerKind kind = RunnerKind::kPython;
  bool operator==(const PoolKey&) const = default;
};

// A pool whose workers were started before its turn: their start-up (an MXNet import) then
// overlaps with other work.
struct StartedPool {
  PoolKey key;
  runners::Pool pool;
};

StartedPool start_pool(const RunOptions& options, PoolKey key) {
  StartedPool started{key,
                      runners::Pool(*options.candidates[key.candidate].worker(key.kind).command,
                                    pool_options(options))};
  started.pool.start();
  return started;
}

// Starts the first candidate's Python workers, the first pool a run uses, unless the run
// cannot need them: their import of MXNet then overlaps with validating the store.
std::optional<StartedPool> start_first_pool(const RunOptions& options) {
  if (options.candidates.empty() || !options.candidates.front().python.command) return {};
  std::error_code ec;
  if (!fs::is_directory(options.store, ec)) return {};
  const std::vector<std::string>& globs = options.filters.load_api.patterns;
  const bool python_apis_kept =
      globs.empty() || std::any_of(globs.begin(), globs.end(), [](auto& g) {
        return !g.starts_with("c-");  // the C API's names
      });
  if (!python_apis_kept) return {};
  return start_pool(options, PoolKey{0, RunnerKind::kPython});
}

// Candidates run this many at a time, each with its own pools: one candidate's MXNet import and
// start overlap another's checks, and the cores stay busy while a pool waits on its workers.
constexpr std::size_t kCandidateLanes = 2;

// What the lanes of a run share: its run errors and the count of checks done.
class SharedProgress {
 public:
  SharedProgress(const RunOptions& options, const Plan& plan, std::vector<std::string>& run_errors)
      : options_(options), run_errors_(run_errors), total_(plan.checks.size()) {
    for (const PlannedCheck& check : plan.checks) done_ += check.settled ? 1 : 0;
    if (options_.checks_done) options_.checks_done(done_, total_);
  }
  void add_error(std::string error) {
    std::scoped_lock hold(lock_);
    run_errors_.push_back(std::move(error));
  }
  void check_done() {
    std::scoped_lock hold(lock_);
    ++done_;
    if (options_.checks_done) options_.checks_done(done_, total_);
  }

 private:
  const RunOptions& options_;
  std::mutex lock_;
  std::vector<std::string>& run_errors_;
  std::size_t done_ = 0;
  std::size_t total_ = 0;
};

// Runs one pool: every attempt of `checks`, then the internals of those that drifted.
class PoolRun {
 public:
  PoolRun(const RunOptions& options, const Plan& plan, std::vector<CheckResult>& results,
          SharedProgress& shared, std::optional<StartedPool> started)
      : options_(options),
        plan_(plan),
        results_(results),
        shared_(shared),
        started_(std::move(started)) {}

  // Runs the checks of the pool `key`; `next`, the pool that runs after it, is started once
  // this one has nothing left to hand out, so its workers start while these finish.
  void run(PoolKey key, std::span<const std::size_t> checks, std::optional<PoolKey> next) {
    const Candidate& candidate = options_.candidates[key.candidate];
    const RunnerKind kind = key.kind;
    const auto repeat = static_cast<std::size_t>(std::max(1, options_.repeat));
    const auto workers = static_cast<std::size_t>(pool_options(options_).workers);

    // Checks whose worker side is the same run once, their leader's run, and each compares
    // its own goldens with it (`groups[g]` holds positions in `checks`, the leader first).
    std::vector<std::vector<std::size_t>> groups;
    {
      std::map<std::string, std::size_t> group_of;
      for (std::size_t i = 0; i < checks.size(); ++i) {
        const std::string key = options_.share_runs ? work_key(checks[i]) : "";
        auto [it, fresh] = group_of.try_emplace(key, groups.size());
        if (key.empty() || fresh) {
          groups.push_back({i});
        } else {
          groups[it->second].push_back(i);
        }
      }
    }
    // Groups whose every check has an answer kept by an earlier run are settled from those;
    // the others run.
    const auto started = std::chrono::steady_clock::now();
    worker_ = cache_identity(candidate, kind, repeat);
    const auto fingerprinted = std::chrono::steady_clock::now();
    std::vector<std::size_t> want_internals;  // groups, a member of which drifted
    std::vector<std::size_t> to_run;          // groups
    std::size_t served = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (serve_from_cache(checks, groups[g], want_internals, g)) {
        served += groups[g].size();
      } else {
        to_run.push_back(g);
      }
    }
    if (options_.progress) {
      std::string cached;
      if (!worker_.empty()) {
        using std::chrono::duration_cast;
        using std::chrono::milliseconds;
        cached = fmt::format(
            ", {} from the run cache (candidate's fingerprint {} ms, look-ups {} ms)", served,
            duration_cast<milliseconds>(fingerprinted - started).count(),
            duration_cast<milliseconds>(std::chrono::steady_clock::now() - fingerprinted).count());
      }
      options_.progress(fmt::format("{}: {} checks on {} {} worker(s){}", candidate.name,
                                    checks.size(), workers, runner_kind_name(kind), cached));
    }

    std::optional<runners::Pool> pool;
    if (!to_run.empty()) pool = take_pool(key);
    std::vector<runners::Request> requests;
    for (std::size_t g : to_run) {
      const std::size_t leader = checks[groups[g].front()];
      for (std::size_t a = 1; a <= repeat; ++a) {
        requests.push_back(request_for(bundle_of(leader), plan_.checks[leader],
                                       out_dir(leader, "attempt-" + std::to_string(a)), false));
      }
    }
    // A group is settled, and its outputs compared and removed, as soon as all its attempts
    // are in, whichever workers ran them: the work folder holds the outputs of the runs in
    // flight only, and comparing overlaps with the workers' runs.
    std::vector<std::optional<runners::CheckRun>> arrived(requests.size());
    std::vector<std::size_t> attempts_left(to_run.size(), repeat);
    std::size_t outcomes = 0;
    auto on_outcome = [&](std::size_t request, const runners::CheckRun& run) {
      if (++outcomes + workers >= requests.size() && next && !started_) {
        started_ = start_pool(options_, *next);
      }
      arrived[request] = run;
      const std::size_t r = request / repeat;
      if (--attempts_left[r] > 0) return;
      std::vector<runners::CheckRun> attempts;
      for (std::size_t a = 0; a < repeat; ++a) {
        attempts.push_back(std::move(*arrived[r * repeat + a]));
      }
      const std::vector<std::size_t>& group = groups[to_run[r]];
      keep_in_cache(checks, group, attempts.front(), requests[r * repeat]);
      bool drift = false;
      for (std::size_t i : group) {
        drift = settle_member(checks[i], checks[group.front()], attempts) || drift;
      }
      if (drift) {
        want_internals.push_back(to_run[r]);
      } else {
        forget_outputs(checks, group);
      }
    };
    std::vector<runners::CheckRun> runs;
    if (pool) runs = pool->run(requests, on_outcome);
    std::sort(want_internals.begin(), want_internals.end());  // in plan order, not arrival order
    if (!want_internals.empty()) localise(pool, key, checks, groups, want_internals);
    for (std::size_t g : want_internals) forget_outputs(checks, groups[g]);

    if (pool && !pool->hello()) {
      const auto* startup =
          runs.empty() ? nullptr : std::get_if<runners::StartupFailure>(&runs.front().outcome);
      shared_.add_error(fmt::format("candidate {}: no {} worker started: {}", candidate.name,
                                    runner_kind_name(kind),
                                    startup ? startup->message : "no hello"));
    }
  }

 private:
  // The pool started ahead for `key`, else a new one.
  runners::Pool take_pool(PoolKey key) {
    if (!started_ || !(started_->key == key)) started_ = start_pool(options_, key);
    runners::Pool pool = std::move(started_->pool);
    started_.reset();
    return pool;
  }

  const PlannedBundle& bundle_of(std::size_t check) const {
    return plan_.bundles[plan_.checks[check].bundle];
  }

  fs::path out_dir(std::size_t check, const std::string& leaf) const {
    const PlannedCheck& c = plan_.checks[check];
    return options_.work_dir / ("candidate-" + std::to_string(c.candidate)) / c.key.producer /
           c.key.model / c.key.save_api / c.key.load_api / leaf;
  }

  // The work folder may be memory (a tmpfs): what is compared goes. A group's outputs are in
  // its leader's folder (those served from the run cache were never written, unless
  // --keep-outputs wrote them in each member's).
  void forget_outputs(std::span<const std::size_t> checks,
                      const std::vector<std::size_t>& group) const {
    if (options_.keep_outputs) return;
    for (std::size_t i : group) {
      std::error_code ec;
      fs::remove_all(out_dir(checks[i], "").parent_path(), ec);
    }
  }

  // Settles one check of a group from the group's attempts; whether it wants internals.
  bool settle_member(std::size_t check, std::size_t leader,
                     std::span<const runners::CheckRun> attempts) {
    settle_attempts(check, attempts);
    if (check != leader) {
      const CheckKey& k = plan_.checks[leader].key;
      results_[check].shared_run = fmt::format("{}/{}/{}", k.producer, k.model, k.save_api);
    }
    shared_.check_done();
    return wants_internals(check);
  }

  // What the run cache knows this pool's worker by (candidates/fingerprint.hpp); empty: the
  // cache is not used (--no-cache, --repeat, or a worker whose files cannot be read).
  std::string cache_identity(const Candidate& candidate, RunnerKind kind, std::size_t repeat) {
    if (options_.cache == nullptr || repeat > 1) return "";
    Result<std::string> fingerprint =
        worker_fingerprint(*candidate.worker(kind).command, options_.cache->fingerprints_dir());
    if (fingerprint.ok()) return *fingerprint;
    warn(fmt::format("candidate {}: the run cache is not used for its {} worker: {}",
                     candidate.name, runner_kind_name(kind), fingerprint.error().message()));
    return "";
  }

  // The check's key in the run cache; empty (the check is neither served nor kept) when its
  // manifest cannot be read again.
  std::string cache_key(std::size_t check, bool internals) {
    const std::size_t bundle = plan_.checks[check].bundle;
    auto [it, fresh] = manifest_shas_.try_emplace(bundle);
    if (fresh) {
      Result<std::string> sha =
          sha256_file(plan_.bundles[bundle].dir / std::string(corpus::kManifestName));
      it->second = sha.ok() ? *sha : "";
    }
    if (it->second.empty()) return "";
    return run_cache_key(worker_, it->second, plan_.checks[check].key.load_api, internals);
  }

  // Settles every check of `group` from the answers the run cache kept for each, when it kept
  // one for each; their outputs are compared from memory.
  bool serve_from_cache(std::span<const std::size_t> checks, const std::vector<std::size_t>& group,
                        std::vector<std::size_t>& want_internals, std::size_t g) {
    if (worker_.empty()) return false;
    std::vector<runners::CheckRun> runs;
    for (std::size_t i : group) {
      const std::size_t check = checks[i];
      const std::string key = cache_key(check, false);
      std::string warning;
      std::optional<runners::Outcome> answer;
      if (!key.empty()) {
        answer = options_.cache->find(
            key,
            request_for(bundle_of(check), plan_.checks[check], out_dir(check, "attempt-1"), false),
            warning);
      }
      if (!warning.empty()) warn(warning);
      if (!answer) return false;
      keep_held_outputs(*answer);
      runs.emplace_back().outcome = std::move(answer).value();
    }
    bool drift = false;
    for (std::size_t m = 0; m < group.size(); ++m) {
      const std::size_t check = checks[group[m]];
      drift = settle_member(check, checks[group.front()], std::span(&runs[m], 1)) || drift;
      results_[check].from_cache = true;
    }
    if (drift) want_internals.push_back(g);
    return true;
  }

  // A served answer's outputs are compared in memory; --keep-outputs writes them where the
  // worker would have.
  void keep_held_outputs(const runners::Outcome& outcome) const {
    if (!options_.keep_outputs) return;
    if (Status written = write_held(outcome); !written.ok()) {
      warn("a served output is not kept: " + written.error().message());
    }
  }

  // Keeps a group's run, which `request` asked for, under the key of each of its checks.
  void keep_in_cache(std::span<const std::size_t> checks, const std::vector<std::size_t>& group,
                     const runners::CheckRun& run, const runners::Request& request) {
    if (worker_.empty() || !keepable(run.outcome)) return;
    for (std::size_t i : group) {
      const std::string key = cache_key(checks[i], request.internals);
      if (key.empty()) continue;
      Status kept = options_.cache->keep(key, run.outcome, request);
      if (!kept.ok()) warn("the run cache did not keep a run: " + kept.error().message());
    }
  }

  void warn(const std::string& line) const {
    if (options_.progress) options_.progress("warning: " + line);
  }

  // The check's verdicts are its attempts'; what explains it is its first failing attempt's,
  // or its first attempt's when none fails.
  void settle_attempts(std::size_t check, std::span<const runners::CheckRun> runs) {
    std::vector<Attempt> attempts;
    for (const runners::CheckRun& run : runs) {
      attempts.push_back(attempt_of(run, bundle_of(check), options_.tolerance));
    }
    auto shown = std::find_if(attempts.begin(), attempts.end(),
                              [](const Attempt& a) { return is_failure(a.verdict); });
    if (shown == attempts.end()) shown = attempts.begin();
    CheckResult& result = results_[check];
    result.detail = shown->detail;
    result.message = shown->message;
    result.outputs = shown->outputs;
    result.timings = shown->timings;
    result.attempts.clear();
    for (const Attempt& a : attempts) {
      result.attempts.push_back(a.verdict);
      if (!a.run_error.empty()) {
        shared_.add_error(fmt::format("{}/{}/{} {} @ {}: {}", result.key.producer, result.key.model,
                                      result.key.save_api, result.key.load_api,
                                      result.key.candidate, a.run_error));
      }
    }
    result.raw_verdict = combine_attempts(result.attempts);
  }

  // The load API and the bundle's work key, which is read once per bundle however many load
  // APIs and candidates check it; empty: the check runs alone. A load API the description does
  // not list is refused by the worker with a message naming the save API, so it keys on that.
  std::string work_key(std::size_t check) {
    const std::size_t bundle = plan_.checks[check].bundle;
    auto [it, fresh] = bundle_keys_.try_emplace(bundle);
    if (fresh) it->second = bundle_work_key(plan_.bundles[bundle]);
    const BundleWorkKey& work = it->second;
    if (work.key.empty()) return "";
    const std::string& load_api = plan_.checks[check].key.load_api;
    const bool listed = !work.load_apis || work.load_apis->contains(load_api);
    return load_api + (listed ? "" : " refused for " + work.save_api) + work.key;
  }

  bool wants_internals(std::size_t check) const {
    return drifted(results_[check].raw_verdict) &&
           bundle_of(check).manifest->internals.status == corpus::InternalsStatus::kPresent;
  }

  // Runs the leader of each group in `wanted` once more with internals (or takes that run from
  // the run cache), and names the first diverging node of each member that drifted.
  void localise(std::optional<runners::Pool>& pool, PoolKey key,
                std::span<const std::size_t> checks,
                const std::vector<std::vector<std::size_t>>& groups,
                std::span<const std::size_t> wanted) {
    std::vector<runners::CheckRun> runs(wanted.size());
    std::vector<runners::Request> requests;
    std::vector<std::size_t> to_run;  // in `wanted`
    for (std::size_t r = 0; r < wanted.size(); ++r) {
      const std::size_t leader = checks[groups[wanted[r]].front()];
      runners::Request request =
          request_for(bundle_of(leader), plan_.checks[leader], out_dir(leader, "internals"), true);
      std::optional<runners::Outcome> kept;
      if (const std::string cache = worker_.empty() ? "" : cache_key(leader, true);
          !cache.empty()) {
        std::string warning;
        kept = options_.cache->find(cache, request, warning);
        if (!warning.empty()) warn(warning);
      }
      if (kept) {
        keep_held_outputs(*kept);
        runs[r].outcome = std::move(kept).value();
      } else {
        requests.push_back(std::move(request));
        to_run.push_back(r);
      }
    }
    if (!requests.empty()) {
      if (!pool) pool = take_pool(key);
      std::vector<runners::CheckRun> fresh = pool->run(requests);
      for (std::size_t k = 0; k < to_run.size(); ++k) {
        const std::vector<std::size_t> leader = {groups[wanted[to_run[k]]].front()};
        keep_in_cache(checks, leader, fresh[k], requests[k]);
        runs[to_run[k]] = std::move(fresh[k]);
      }
    }
    for (std::size_t r = 0; r < wanted.size(); ++r) {
      for (std::size_t i : groups[wanted[r]]) {
        if (!wants_internals(checks[i])) continue;
        CheckResult& result = results_[checks[i]];
        std::string note;
        const auto* answer = std::get_if<runners::Answer>(&runs[r].outcome);
        if (answer == nullptr || answer->status != runners::AnswerStatus::kOk) {
          note = "internals: the run that asks for them did not answer with outputs";
        } else if (answer->internals_error) {
          note = "internals: " + failure_text(*answer->internals_error);
        } else {
          result.first_divergence =
              first_divergence(bundle_of(checks[i]), answer->internals, options_.tolerance, note);
        }
        if (!note.empty()) result.detail += (result.detail.empty() ? "" : "\n") + note;
      }
    }
  }

  const RunOptions& options_;
  const Plan& plan_;
  std::vector<CheckResult>& results_;
  SharedProgress& shared_;
  std::optional<StartedPool> started_;
  std::map<std::size_t, BundleWorkKey> bundle_keys_;  // by plan bundle
  std::map<std::size_t, std::string> manifest_shas_;  // by plan bundle
  std::string worker_;  // the pool's worker for the run cache (cache_identity)
};

}  // namespace

Result<ToleranceOverride> parse_tolerance_override(std::string_view text) {
  const std::string source = "--tolerance " + std::string(text);
  const std::size_t colon = text.rfind(':');
  ToleranceOverride rule;
  if (colon == std::string_view::npos || colon == 0) {
    Error e = Error::plain(source, "");
    e.found = "\"" + std::string(text) + "\"";
    e.allowed = "PATTERN:rtol=X,atol=Y, e.g. lstm/*:rtol=1e-4";
    return e;
  }
  rule.pattern = std::string(text.substr(0, colon));
  std::string_view members = text.substr(colon + 1);
  while (!members.empty()) {
    const std::size_t comma = std::min(members.find(','), members.size());
    const std::string_view member = members.substr(0, comma);
    members.remove_prefix(std::min(comma + 1, members.size()));
    const std::size_t equals = member.find('=');
    const std::string_view name = member.substr(0, equals);
    std::optional<double>* target = name == "rtol"   ? &rule.rtol
                                    : name == "atol" ? &rule.atol
                                                     : nullptr;
    if (target == nullptr || equals == std::string_view::npos) {
      Error e = Error::plain(source, "");
      e.found = "\"" + std::string(member) + "\"";
      e.allowed = "rtol=X or atol=Y";
      return e;
    }
    Result<double> value = parse_tolerance_value(member.substr(equals + 1), name, source);
    if (!value.ok()) return value.error();
    *target = *value;
  }
  if (!rule.rtol && !rule.atol) {
    Error e = Error::plain(source, "");
    e.found = "no tolerance";
    e.allowed = "rtol=X, atol=Y or both";
    return e;
  }
  return rule;
}

Tolerance tolerance_for(DType dtype, const std::optional<corpus::Tolerance>& manifest,
                        const std::string& model, const std::string& output,
                        const ToleranceRules& rules) {
  Tolerance tolerance = default_tolerance(dtype);
  if (dtype_info(dtype).kind != DTypeKind::kFloat) return tolerance;
  auto apply = [&tolerance](std::optional<double> rtol, std::optional<double> atol) {
    if (rtol) tolerance.rtol = *rtol;
    if (atol) tolerance.atol = *atol;
  };
  if (manifest) apply(manifest->rtol, manifest->atol);
  apply(rules.rtol, rules.atol);
  const std::string name = model + "/" + output;
  for (const ToleranceOverride& rule : rules.overrides) {
    if (::fnmatch(rule.pattern.c_str(), name.c_str(), 0) == 0) apply(rule.rtol, rule.atol);
  }
  return tolerance;
}

RunResult run_checks(const RunOptions& options) {
  RunResult result;
  result.run.started_at = now_seconds();
  result.run.store = options.store.string();
  for (const Candidate& c : options.candidates) {
    result.run.candidates.push_back(c.name);
    result.run.candidate_releases.push_back(c.release);
  }
  result.run.forward = options.forward;
  for (const Expectation* entry : options.expectations.expired(options.today)) {
    result.expired_expectations.push_back(record_of(*entry));
  }

  std::optional<StartedPool> started = start_first_pool(options);
  Result<Plan> plan = make_plan(fs::absolute(options.store), options.candidates, options.filters);
  auto direction = [&options](const PlannedCheck& check) {
    return direction_of(check.key.producer, options.candidates[check.candidate].release);
  };
  if (plan.ok() && options.forward == ForwardPolicy::kSkip) {
    std::erase_if(plan->checks, [&](const PlannedCheck& check) {
      return direction(check) == Direction::kForward;
    });
  }
  if (!plan.ok()) {
    result.run_errors.push_back(plan.error().message());
  } else if (plan->checks.empty()) {
    result.run_errors.push_back("nothing to check: no bundle of " + options.store.string() +
                                " is left by the filters");
  } else {
    result.checks.resize(plan->checks.size());
    for (std::size_t i = 0; i < plan->checks.size(); ++i) {
      const PlannedCheck& check = plan->checks[i];
      CheckResult& r = result.checks[i];
      r.key = check.key;
      r.direction = direction(check);
      const PlannedBundle& bundle = plan->bundles[check.bundle];
      if (bundle.manifest) r.bundle = bundle_facts(*bundle.manifest);
      if (check.settled) {
        r.attempts = {*check.settled};
        r.detail = check.detail;
      }
    }
    // per candidate, in the order given, its Python checks first
    using PoolChecks = std::pair<PoolKey, std::vector<std::size_t>>;
    std::vector<std::vector<PoolChecks>> pools_of(options.candidates.size());
    for (std::size_t c = 0; c < options.candidates.size(); ++c) {
      for (RunnerKind kind : {RunnerKind::kPython, RunnerKind::kCapi}) {
        std::vector<std::size_t> checks;
        for (std::size_t i = 0; i < plan->checks.size(); ++i) {
          const PlannedCheck& check = plan->checks[i];
          if (check.candidate == c && check.runner == kind && !check.settled) checks.push_back(i);
        }
        if (!checks.empty()) pools_of[c].emplace_back(PoolKey{c, kind}, std::move(checks));
      }
    }
    // Each lane takes the next candidate in turn and runs its pools, starting each next pool
    // while the one before finishes. Lanes write disjoint checks; the rest is SharedProgress.
    SharedProgress shared(options, *plan, result.run_errors);
    std::mutex queue_lock;
    std::size_t next_candidate = 1;  // candidate 0 is the first lane's, whose pool started ahead
    // `mine`: the candidate the lane starts with, or none (kNone) to take one from the queue
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    auto lane = [&](std::optional<StartedPool> first, std::size_t mine) {
      PoolRun pools(options, *plan, result.checks, shared, std::move(first));
      for (std::size_t c = mine;; c = kNone) {
        if (c == kNone) {
          std::scoped_lock hold(queue_lock);
          if (next_candidate >= pools_of.size()) return;
          c = next_candidate++;
        }
        for (std::size_t p = 0; p < pools_of[c].size(); ++p) {
          std::optional<PoolKey> next;
          if (p + 1 < pools_of[c].size()) next = pools_of[c][p + 1].first;
          pools.run(pools_of[c][p].first, pools_of[c][p].second, next);
        }
      }
    };
    std::vector<std::thread> lanes;
    const std::size_t lane_count = std::min(kCandidateLanes, options.candidates.size());
    for (std::size_t l = 1; l < lane_count; ++l) lanes.emplace_back(lane, std::nullopt, kNone);
    lane(std::move(started), 0);  // the first lane runs here
    for (std::thread& t : lanes) t.join();
    for (CheckResult& check : result.checks) {
      settle_verdict(check, options.expectations, options.today);
    }
    if (!options.registry_dir.empty()) {
      RegistryHistory history(options.registry_dir);
      explain_refusals(history, result.checks);
      explain_drifts(history, *plan, result.checks);
    }
  }
  result.run.finished_at = now_seconds();
  return result;
}

}  // namespace mbcc
