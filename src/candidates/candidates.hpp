// candidates: the builds a check runs on, from what the command line names to the worker
// commands that run them.
//
//   "1.9.1", "2.0.0.beta1"      one release mbcc installs (the name it has in `mbcc env`)
//   "all"                       every release `mbcc env releases` says works here
//   ">=1.5,<2", "~=1.4.0"       the releases in a pip-style range; pre-releases only when a
//                               clause names one, as pip does
//   "mxnet-mkl==1.6.0"          another MXNet distribution of a release (here with oneDNN),
//                               a candidate of its own, named as given
//   --candidate-python [N=]PY   an environment whose mxnet is the build under test
//   --candidate-lib [N=]LIB     a bare libmxnet.so (C API load APIs only)
//
// Every candidate knows the release it is, so that checks can be ordered and given a direction
// (is the producer older?); a build named by path is taken as the newest unless its name is a
// version.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "runners/pool.hpp"

namespace mbcc {

enum class RunnerKind { kPython, kCapi };
inline constexpr std::size_t kRunnerKinds = 2;
std::string_view runner_kind_name(RunnerKind kind);  // "python", "capi"

// How a candidate starts one kind of worker, or why it has none.
struct WorkerSetup {
  std::optional<runners::WorkerCommand> command;
  std::string unavailable;  // the UNSUPPORTED reason when there is no command
};

// The build under test, as the run names it and runs it.
struct Candidate {
  std::string name;  // "1.9.1", "mxnet-mkl==1.6.0", or the path given on the command line
  WorkerSetup python;
  WorkerSetup capi;
  std::string release;  // the release it is ("1.6.0"); empty when unknown (taken as the newest)
  const WorkerSetup& worker(RunnerKind kind) const {
    return kind == RunnerKind::kPython ? python : capi;
  }
};

// A release candidate as the command line names it, before anything is installed.
struct CandidateSpec {
  std::string name;     // as reports show it: "1.9.1", "mxnet-mkl==1.6.0"
  std::string env;      // what envs::install takes
  std::string release;  // "1.6.0"
  bool operator==(const CandidateSpec&) const = default;
};

// Expands `--candidate` values, in the order given, each release once. Errors: a malformed
// version or range, a range no release matches.
Result<std::vector<CandidateSpec>> expand_candidate_specs(std::span<const std::string> texts);

// What the candidates need from mbcc itself: its Python probe and its C API worker.
struct Tools {
  std::filesystem::path probe_dir;
  std::filesystem::path capi_worker;
};
Result<Tools> find_tools();  // where install_dirs finds them

struct CandidateRequest {
  std::vector<CandidateSpec> releases;
  std::vector<std::string> pythons;                // "[NAME=]PATH"
  std::vector<std::string> libraries;              // "[NAME=]PATH"
  int parallel_installs = 2;                       // environments installed at once
  std::function<void(std::string_view)> progress;  // install steps; may be empty
};

struct Candidates {
  std::vector<Candidate> candidates;  // releases, Pythons, libraries, in the order given
  std::vector<std::string> errors;    // a candidate that cannot be had, named, with why
};

// Installs the releases that are missing (`parallel_installs` at a time) and makes every
// candidate's worker commands. A candidate that fails is an error; the others are kept.
Candidates make_candidates(const CandidateRequest& request, const Tools& tools);

}  // namespace mbcc
