#include "candidates/candidates.hpp"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <set>

#include "base/install_dirs.hpp"
#include "base/release_version.hpp"
#include "envs/envs.hpp"
#include "runners/worker_commands.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// One clause of a range: ">=1.5".
struct Clause {
  std::string op;  // == != >= <= > < ~=
  ReleaseVersion version;
  bool holds(const ReleaseVersion& v) const {
    if (op == "==") return v == version;
    if (op == "!=") return v != version;
    if (op == ">=") return v >= version;
    if (op == "<=") return v <= version;
    if (op == ">") return v > version;
    if (op == "<") return v < version;
    // ~=1.4.0 is >=1.4.0 and ==1.4.*: the last component dropped, the one before it bumped
    ReleaseVersion upper;
    upper.release.assign(version.release.begin(), version.release.end() - 1);
    ++upper.release.back();
    upper.pre = std::pair{0, int64_t{0}};  // below every pre-release of the bumped version
    return v >= version && v < upper;
  }
};

bool is_range(std::string_view text) {
  return text.find_first_of("<>!~,") != std::string_view::npos || text.starts_with("==");
}

Error range_error(std::string_view text, std::string detail) {
  Error e;
  e.source = "--candidate";
  e.found = "\"" + std::string(text) + "\"";
  e.allowed = "a release, all, a range such as '>=1.5,<2', or DIST==VERSION";
  e.detail = std::move(detail);
  return e;
}

Result<std::vector<Clause>> parse_range(std::string_view text) {
  std::vector<Clause> clauses;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = std::min(rest.find(','), rest.size());
    std::string_view clause = rest.substr(0, comma);
    while (clause.starts_with(' ')) clause.remove_prefix(1);
    while (clause.ends_with(' ')) clause.remove_suffix(1);
    Clause c;
    for (std::string_view op : {"==", "!=", ">=", "<=", "~=", ">", "<"}) {
      if (clause.starts_with(op)) {
        c.op = std::string(op);
        break;
      }
    }
    if (c.op.empty())
      return range_error(text, "each clause starts with ==, !=, >=, <=, >, < or ~=");
    Result<ReleaseVersion> version = parse_release_version(clause.substr(c.op.size()));
    if (!version.ok()) return range_error(text, version.error().message());
    if (c.op == "~=" && version->release.size() < 2) {
      return range_error(text, "~= needs at least two components, e.g. ~=1.4");
    }
    c.version = std::move(version).value();
    clauses.push_back(std::move(c));
    if (comma == rest.size()) break;
    rest.remove_prefix(comma + 1);
  }
  return clauses;
}

// Every release the table says works here, oldest first.
std::vector<std::string_view> known_releases() {
  std::vector<std::string_view> releases;
  for (const envs::ReleaseQuirks& row : envs::release_table()) {
    if (row.support == envs::Support::kWorks) releases.push_back(row.release);
  }
  return releases;
}

Result<std::vector<CandidateSpec>> releases_in_range(std::string_view text) {
  Result<std::vector<Clause>> clauses = parse_range(text);
  if (!clauses.ok()) return clauses.error();
  // as pip does: pre-releases only when the range itself names one
  const bool pre = std::any_of(clauses->begin(), clauses->end(),
                               [](const Clause& c) { return c.version.is_prerelease(); });
  std::vector<CandidateSpec> specs;
  for (std::string_view release : known_releases()) {
    Result<ReleaseVersion> v = parse_release_version(release);
    if (!v.ok() || (v->is_prerelease() && !pre)) continue;
    if (std::all_of(clauses->begin(), clauses->end(),
                    [&v](const Clause& c) { return c.holds(*v); })) {
      specs.push_back({std::string(release), std::string(release), std::string(release)});
    }
  }
  if (specs.empty()) return range_error(text, "no release mbcc knows is in the range");
  return specs;
}

Result<CandidateSpec> one_spec(std::string_view text) {
  Result<envs::EnvSpec> env = envs::parse_env_spec(text);
  if (!env.ok()) return env.error();
  // a distribution is named as given; a release by its canonical name
  const std::string name = env->distribution.empty() ? env->release : std::string(text);
  return CandidateSpec{name, std::string(text), env->release};
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

// The release a build named by path is: its name, when that is a version.
std::string release_of_name(const std::string& name) {
  return parse_release_version(name).ok() ? name : "";
}

Result<Candidate> release_candidate(const CandidateSpec& spec, const Tools& tools,
                                    const envs::Options& options) {
  Result<envs::Env> env = envs::install(spec.env, options);
  if (!env.ok()) return env.error();
  return Candidate{spec.name, python_setup(env->python, tools),
                   env->libmxnet.empty()
                       ? WorkerSetup{std::nullopt, "the environment of " + spec.name +
                                                       " does not name its libmxnet.so"}
                       : capi_setup(env->libmxnet, env->library_path, tools),
                   spec.release};
}

}  // namespace

std::string_view runner_kind_name(RunnerKind kind) {
  return kind == RunnerKind::kPython ? "python" : "capi";
}

Result<std::vector<CandidateSpec>> expand_candidate_specs(std::span<const std::string> texts) {
  std::vector<CandidateSpec> specs;
  std::set<std::string> seen;
  auto add = [&](CandidateSpec spec) {
    if (seen.insert(spec.name).second) specs.push_back(std::move(spec));
  };
  for (const std::string& text : texts) {
    if (text == "all") {
      for (std::string_view release : known_releases()) {
        add({std::string(release), std::string(release), std::string(release)});
      }
    } else if (is_range(text)) {
      Result<std::vector<CandidateSpec>> range = releases_in_range(text);
      if (!range.ok()) return range.error();
      for (CandidateSpec& spec : *range) add(std::move(spec));
    } else {
      Result<CandidateSpec> spec = one_spec(text);
      if (!spec.ok()) return spec.error();
      add(std::move(spec).value());
    }
  }
  return specs;
}

Result<Tools> find_tools() {
  Result<fs::path> probe_dir = find_installed(InstalledPart::kProbe);
  if (!probe_dir.ok()) return probe_dir.error();
  Result<fs::path> worker = find_installed(InstalledPart::kCapiWorker);
  if (!worker.ok()) return worker.error();
  return Tools{*probe_dir, *worker};
}

Candidates make_candidates(const CandidateRequest& request, const Tools& tools) {
  Candidates out;
  // Installs run `parallel_installs` at a time; each thread takes the next release in turn, and
  // results are kept in the order given.
  std::mutex lock;
  std::size_t next = 0;
  std::vector<std::optional<Result<Candidate>>> made(request.releases.size());
  envs::Options options;
  options.progress = [&request, &lock](std::string_view line) {
    if (!request.progress) return;
    std::scoped_lock hold(lock);
    request.progress(line);
  };
  auto install_some = [&] {
    while (true) {
      std::size_t mine = 0;
      {
        std::scoped_lock hold(lock);
        if (next == request.releases.size()) return;
        mine = next++;
      }
      made[mine] = release_candidate(request.releases[mine], tools, options);
    }
  };
  std::vector<std::future<void>> installers;
  const auto threads =
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(1, request.parallel_installs)), 1,
                              std::max<std::size_t>(1, request.releases.size()));
  for (std::size_t t = 0; t < threads; ++t) {
    installers.push_back(std::async(std::launch::async, install_some));
  }
  for (auto& installer : installers) installer.get();
  for (std::size_t i = 0; i < made.size(); ++i) {
    if (made[i]->ok()) {
      out.candidates.push_back(std::move(*made[i]).value());
    } else {
      out.errors.push_back("candidate " + request.releases[i].name + ": " +
                           made[i]->error().message());
    }
  }

  for (const std::string& text : request.pythons) {
    const auto [name, python] = named_path(text);
    if (Status ok = executable_file(python, "--candidate-python"); !ok.ok()) {
      out.errors.push_back("candidate " + name + ": " + ok.error().message());
      continue;
    }
    std::optional<fs::path> library = wheel_library(python);
    out.candidates.push_back(
        {name, python_setup(python, tools),
         library ? capi_setup(*library, "", tools)
                 : WorkerSetup{std::nullopt,
                               "no libmxnet.so where a wheel puts it (VENV/lib/python*/"
                               "site-packages/mxnet/); give a source build's library with "
                               "--candidate-lib"},
         release_of_name(name)});
  }
  for (const std::string& text : request.libraries) {
    const auto [name, library] = named_path(text);
    std::error_code ec;
    if (!fs::is_regular_file(library, ec)) {
      out.errors.push_back("candidate " + name + ": " + library.string() +
                           ": --candidate-lib is not a file");
      continue;
    }
    out.candidates.push_back(
        {name,
         {std::nullopt, "a bare libmxnet.so candidate runs the C API load APIs only"},
         capi_setup(library, "", tools),
         release_of_name(name)});
  }
  return out;
}

}  // namespace mbcc
