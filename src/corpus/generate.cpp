#include "corpus/generate.hpp"

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/locked_dir.hpp"
#include "base/sha256.hpp"
#include "corpus/bundle.hpp"
#include "corpus/internal.hpp"
#include "corpus/layout.hpp"
#include "corpus/probe_run.hpp"

namespace mbcc::corpus {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Work folders: hidden, so list_bundles never sees them, inside the store, so that the final
// rename stays on one file system, and locked by their run (base/locked_dir.hpp), so that a
// killed run's folder goes with the next run.
constexpr std::string_view kWorkPrefix = ".tmp-generate";
constexpr std::string_view kProbeMetaName = "probe.json";
constexpr std::size_t kStderrTailLines = 8;

std::span<const std::byte> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

std::string_view as_text(const FileBytes& file) {
  return {reinterpret_cast<const char*>(file.bytes().data()), file.size};
}

Error store_error(const fs::path& path, std::string_view step, std::string_view why) {
  return Error::plain(path.string(), std::string(step) + ": " + std::string(why));
}

// One line of the probe's stdout.
struct ProbeCase {  // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept members
  std::string model;
  std::string save_api;
  std::string status;  // ok, skipped, failed
  std::string reason;
  json details;  // what the generation log keeps beyond status and reason
};

Result<ProbeCase> parse_probe_line(std::string_view line) {
  JsonReader reader("the probe's stdout");
  JsonValue value(reader, &reader.parse(line), "$");
  ProbeCase c;
  c.model = value["model"].name();
  c.save_api = value["save_api"].name();
  c.status = value["status"].string();
  if (value["reason"].present()) c.reason = value["reason"].string();
  if (!reader.failed() && value["dir"].string() != c.model + "/" + c.save_api) {
    value["dir"].fail(value["dir"].raw().dump(), "\"" + c.model + "/" + c.save_api + "\"");
  }
  if (!reader.failed() && c.status != "ok" && c.status != "skipped" && c.status != "failed") {
    value["status"].fail(value["status"].raw().dump(), "ok, skipped, failed");
  }
  if (reader.failed()) return reader.error();
  c.details = json::object();
  for (std::string_view key : {"producer_load_failures", "internals_error"}) {
    if (value[key].present()) c.details[std::string(key)] = value[key].raw();
  }
  return c;
}

Result<json> read_json_file(const fs::path& path) {
  Result<FileBytes> bytes = read_file(path);
  if (!bytes.ok()) return bytes.error();
  json value = json::parse(as_text(*bytes), nullptr, false);
  if (value.is_discarded()) return Error::plain(path.string(), "not JSON");
  return value;
}

// The internals as the probe's index file lists them.
Internals read_probe_internals(const JsonValue& value, const fs::path& dir,
                               std::map<std::string, FileRole>& roles, JsonReader& reader) {
  Internals internals;
  if (!value["index"].present()) {
    std::string status = value["status"].string();
    internals.status = status == "failed" ? InternalsStatus::kFailed : InternalsStatus::kAbsent;
    internals.reason = value["reason"].string();
    return internals;
  }
  std::string index_path = value["index"].string();
  if (reader.failed() || !detail::is_bundle_path(index_path)) {
    value["index"].fail(value["index"].raw().dump(), "a path inside the bundle");
    return internals;
  }
  Result<json> index = read_json_file(dir / index_path);
  if (!index.ok()) {
    value["index"].fail(index.error().message(), "a readable internals index");
    return internals;
  }
  // The manifest carries the whole index, so the probe's copy does not go into the bundle.
  std::error_code removed;
  fs::remove(dir / index_path, removed);
  if (removed) value["index"].fail(removed.message(), "an index file mbcc can remove");
  JsonReader index_reader((dir / index_path).string());
  JsonValue root(index_reader, &*index, "$");
  internals.status = InternalsStatus::kPresent;
  // The index names its graph by file name; the manifest names it by bundle path.
  std::string symbol = root["symbol"].string();
  for (const auto& [path, role] : roles) {
    if (role == FileRole::kSymbol && fs::path(path).filename() == symbol) internals.symbol = path;
  }
  for (const JsonValue& entry : root["outputs"].elements()) {
    internals.outputs.push_back(detail::read_internal_entry(entry));
  }
  if (index_reader.failed()) value["index"].fail(index_reader.error().message(), "a valid index");
  return internals;
}

// Every file under `dir` with its role, size and sha256, sorted by path. A file no role was
// given for is an error: the bundle would carry something nobody described.
Result<std::vector<BundleFile>> describe_files(const fs::path& dir,
                                               const std::map<std::string, FileRole>& roles) {
  std::vector<BundleFile> files;
  std::set<std::string> seen;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    std::string relative = it->path().lexically_relative(dir).generic_string();
    auto role = roles.find(relative);
    if (role == roles.end()) {
      return Error::plain(it->path().string(),
                          "the probe wrote this file but its probe.json does not describe it");
    }
    const std::uintmax_t size = it->file_size(ec);
    if (ec) return store_error(it->path(), "cannot stat", ec.message());
    Result<std::string> sha256 = sha256_file(it->path());  // streamed: nothing stays resident
    if (!sha256.ok()) return sha256.error();
    files.push_back({relative, role->second, size, *sha256});
    seen.insert(relative);
  }
  if (ec) return store_error(dir, "cannot list the bundle", ec.message());
  for (const auto& [path, role] : roles) {
    if (!seen.contains(path)) {
      return Error::plain((dir / path).string(), "named in probe.json but not written");
    }
  }
  std::sort(files.begin(), files.end(),
            [](const BundleFile& a, const BundleFile& b) { return a.path < b.path; });
  return files;
}

// The manifest of the bundle the probe wrote in `dir`, from its probe.json and the files.
Result<Manifest> manifest_from_probe(const fs::path& dir, const envs::Env& env,
                                     const ProbeCase& probe_case) {
  fs::path meta_path = dir / kProbeMetaName;
  Result<FileBytes> bytes = read_file(meta_path);
  if (!bytes.ok()) return bytes.error();
  JsonReader reader(meta_path.string());
  JsonValue meta(reader, &reader.parse(as_text(*bytes)), "$");
  if (reader.failed()) return reader.error();

  Manifest m;
  m.model = meta["model"].name();
  m.save_api = meta["save_api"].name();
  if (!reader.failed() && (m.model != probe_case.model || m.save_api != probe_case.save_api)) {
    meta["model"].fail(m.model + "/" + m.save_api, probe_case.model + "/" + probe_case.save_api);
  }
  m.model_info.kind = meta["model_kind"].string();
  if (!meta["model_prefix"].is_null()) m.model_info.prefix = meta["model_prefix"].string();
  m.model_info.writer = meta["writer"].string();
  m.model_info.hybridized = meta["hybridized"].boolean();
  m.model_info.np_mode = meta["np_mode"].boolean();

  detail::read_producer_facts(meta["producer"], m.producer);
  m.producer.version = env.release;
  m.producer.requirement = env.requirement;
  m.producer.created = detail::utc_now();
  if (!reader.failed() && m.producer.mxnet_version != env.mxnet_version) {
    meta["producer"]["mxnet_version"].fail(m.producer.mxnet_version,
                                           env.mxnet_version + " (the environment's mxnet)");
  }
  m.seeds = detail::read_seeds(meta["seeds"]);
  for (const auto& [name, value] : meta["env"].members()) m.env[name] = value.string();

  std::map<std::string, FileRole> roles = {{std::string(kProbeMetaName), FileRole::kProbe}};
  for (const JsonValue& file : meta["model_files"].elements()) {
    std::string role = file["role"].string();
    std::optional<FileRole> known = file_role_from_name(role);
    if (!known || *known == FileRole::kProbe) {
      file["role"].fail(file["role"].raw().dump(), "symbol, params or model-json");
      break;
    }
    roles[file["path"].string()] = *known;
  }
  for (const JsonValue& entry : meta["inputs"].elements()) {
    m.inputs.push_back(detail::read_tensor_entry(entry, /*with_kind=*/true));
    roles[m.inputs.back().file] = FileRole::kInput;
  }
  for (const JsonValue& entry : meta["outputs"].elements()) {
    m.outputs.push_back(detail::read_tensor_entry(entry, /*with_kind=*/false));
    roles[m.outputs.back().file] = FileRole::kOutput;
  }
  m.load_apis = meta["load_apis"].strings();
  m.import_input_names = meta["import_input_names"].strings();
  std::vector<std::pair<std::string, JsonValue>> tolerance = meta["tolerance"].members();
  if (!tolerance.empty()) {
    m.tolerance = Tolerance{};
    for (const auto& [name, value] : tolerance) {
      if (name == "rtol") m.tolerance->rtol = value.number(0, 1);
      if (name == "atol") m.tolerance->atol = value.number(0, 1e6);
    }
  }
  m.internals = read_probe_internals(meta["internals"], dir, roles, reader);
  for (const InternalEntry& e : m.internals.outputs) {
    roles[e.tensor.file] = e.member.empty() ? FileRole::kInternal : FileRole::kInternalsArchive;
  }
  // The entries go in a file of the bundle: the same for every release that names its nodes
  // alike, so a store that shares files keeps it once.
  if (m.internals.status == InternalsStatus::kPresent && !reader.failed()) {
    m.internals.index = std::string(kInternalsIndexPath);
    Status written = write_file_atomic(dir / kInternalsIndexPath,
                                       as_bytes(write_internals_index(m.internals.outputs)));
    if (!written.ok()) return written.error();
    roles[m.internals.index] = FileRole::kInternalsIndex;
  }
  m.self_check = detail::read_self_checks(meta["self_check"]);
  if (meta["origin"].present()) m.origin = detail::read_origin(meta["origin"]);
  if (reader.failed()) return reader.error();

  Result<std::vector<BundleFile>> files = describe_files(dir, roles);
  if (!files.ok()) return files.error();
  m.files = std::move(*files);
  return m;
}

// What differs between the files of two manifests, in a few words.
std::string first_difference(const Manifest& existing, const Manifest& fresh) {
  std::map<std::string, const BundleFile*> old_files;
  for (const BundleFile& f : existing.files) old_files[f.path] = &f;
  for (const BundleFile& f : fresh.files) {
    auto it = old_files.find(f.path);
    if (it == old_files.end()) return f.path + " is new";
    if (!(*it->second == f)) {
      return f.path + " differs (sha256 " + it->second->sha256.substr(0, 12) + "… there, " +
             f.sha256.substr(0, 12) + "… now)";
    }
    old_files.erase(it);
  }
  if (!old_files.empty()) return old_files.begin()->first + " is no longer written";
  return "the file lists differ";
}

CaseReport make_report(const ProbeCase& c, CaseOutcome outcome, std::string reason = {}) {
  return {c.model, c.save_api, outcome, std::move(reason)};
}

// Moves the finished bundle `src` to its place in the store (see generate.hpp for the rules).
CaseReport place_bundle(const fs::path& src, const Manifest& fresh, const ProbeCase& c,
                        const envs::Env& env, const GenerateOptions& options,
                        const LockedDir& work) {
  fs::path target = bundle_dir(options.store, {env.release, c.model, c.save_api});
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return make_report(c, CaseOutcome::kRejected,
                       "cannot create " + target.parent_path().string() + ": " + ec.message());
  if (detail::rename_noreplace(src, target) == 0) return make_report(c, CaseOutcome::kWritten);
  if (errno != EEXIST && errno != ENOTEMPTY) {
    return make_report(c, CaseOutcome::kRejected,
                       "cannot move into " + target.string() + ": " + std::strerror(errno));
  }
  Result<Manifest> existing = validate_bundle(target);
  if (existing.ok() && same_files(*existing, fresh)) return make_report(c, CaseOutcome::kUnchanged);
  std::string why = existing.ok() ? "has other files: " + first_difference(*existing, fresh)
                                  : "is corrupt: " + existing.error().message();
  if (!options.force) {
    return make_report(
        c, CaseOutcome::kRefused,
        "a bundle exists at " + target.string() + " and " + why + "; --force replaces it");
  }
  // Aside into the locked work folder, so a kill between the two renames leaves no bundle
  // rather than a mixed one, and the old one is cleaned up with the folder.
  fs::path aside = work.path() / "replaced";
  fs::remove_all(aside, ec);
  if (::rename(target.c_str(), aside.c_str()) != 0 || detail::rename_noreplace(src, target) != 0) {
    return make_report(c, CaseOutcome::kRejected,
                       "cannot replace " + target.string() + ": " + std::strerror(errno));
  }
  fs::remove_all(aside, ec);
  return make_report(c, CaseOutcome::kReplaced, "the old bundle " + why);
}

// Moves the validated bundle's files into the store's shared folder gzip'd, every file but the
// manifest: graphs and model JSON, which differ by release only in a version number, take
// most of a grown corpus's room and shrink tenfold. Content already there is not written
// again. A kill leaves at most unreferenced shared files, never a bundle that lacks one.
Status share_files(const fs::path& src, Manifest& manifest, const fs::path& store) {
  for (BundleFile& file : manifest.files) {
    Result<bool> moved = detail::move_to_shared(src / file.path, file, store, src);
    if (!moved.ok()) return moved.error();
    file.shared = true;
    file.compressed = true;
  }
  // The emptied folders go too: the bundle is its manifest alone.
  detail::remove_emptied_folders(src, manifest);
  return Ok{};
}

// Makes a bundle of a case the probe saved and publishes it.
CaseReport publish_case(const ProbeCase& c, const envs::Env& env, const GenerateOptions& options,
                        const LockedDir& work) {
  fs::path src = work.path() / "probe" / c.model / c.save_api;
  Result<Manifest> manifest = manifest_from_probe(src, env, c);
  if (!manifest.ok()) return make_report(c, CaseOutcome::kRejected, manifest.error().message());
  // The manifest goes last, and the bundle is checked exactly as `mbcc check` will check it.
  Status written = write_file_atomic(src / kManifestName, as_bytes(write_manifest(*manifest)));
  if (!written.ok()) return make_report(c, CaseOutcome::kRejected, written.error().message());
  Result<Manifest> valid = validate_bundle(src);
  if (!valid.ok()) return make_report(c, CaseOutcome::kRejected, valid.error().message());
  if (has_shared_files(options.store)) {
    Status shared = share_files(src, *valid, options.store);
    if (shared.ok()) {
      shared = write_file_atomic(src / kManifestName, as_bytes(write_manifest(*valid)));
    }
    if (!shared.ok()) return make_report(c, CaseOutcome::kRejected, shared.error().message());
  }
  return place_bundle(src, *valid, c, env, options, work);
}

std::string_view log_status(CaseOutcome outcome) {
  switch (outcome) {
    case CaseOutcome::kSkipped:
      return "skipped";
    case CaseOutcome::kFailed:
      return "failed";
    case CaseOutcome::kRejected:
      return "rejected";
    default:
      return "ok";  // the release made the bundle, whatever the store did with it
  }
}

// Merges this run's cases into STORE/v1/<release>/generation-log.json; cases of earlier runs
// that this one did not select are kept. No timestamps, so that a re-run changes nothing.
Status write_generation_log(const fs::path& store, const envs::Env& env,
                            const std::map<std::pair<std::string, std::string>, json>& cases) {
  fs::path path = release_dir(store, env.release) / kGenerationLogName;
  std::map<std::pair<std::string, std::string>, json> merged;
  Result<json> old = read_json_file(path);
  if (old.ok() && old->is_object() && old->value("cases", json()).is_array()) {
    for (const json& entry : (*old)["cases"]) {
      if (entry.value("model", json()).is_string() && entry.value("save_api", json()).is_string()) {
        merged[{entry["model"], entry["save_api"]}] = entry;
      }
    }
  }
  for (const auto& [key, entry] : cases) merged[key] = entry;
  json log = {{"release", env.release},
              {"requirement", env.requirement},
              {"mxnet_version", env.mxnet_version},
              {"cases", json::array()}};
  for (const auto& [key, entry] : merged) log["cases"].push_back(entry);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  return write_file_atomic(path, as_bytes(log.dump(1) + "\n"));
}

}  // namespace

bool ReleaseReport::ok() const {
  return !error && std::none_of(cases.begin(), cases.end(), [](const CaseReport& c) {
    return case_outcome_info(c.outcome).is_problem;
  });
}

ReleaseReport probe_into_store(const envs::Env& env, const GenerateOptions& given,
                               const ProbeJob& job) {
  // The probe runs in the work folder, so every path it is given must be absolute.
  GenerateOptions options = given;
  options.store = fs::absolute(given.store);
  options.python_dir = fs::absolute(given.python_dir);
  ReleaseReport report;
  report.release = env.release;
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  if (Status name = check_layout_name(env.release, "release name"); !name.ok()) {
    report.error = name.error();
    return report;
  }
  std::error_code ec;
  fs::create_directories(options.store, ec);
  if (ec) {
    report.error = store_error(options.store, "cannot create the store", ec.message());
    return report;
  }
  remove_abandoned_dirs(options.store, kWorkPrefix);
  Result<LockedDir> work =
      LockedDir::create(options.store, std::string(kWorkPrefix) + "-" + env.release);
  if (!work.ok()) {
    report.error = work.error();
    return report;
  }
  Result<std::vector<std::string>> args = job.prepare(work->path(), work->path() / "probe");
  if (!args.ok()) {
    report.error = args.error();
    return report;
  }

  detail::ProbeCommand command;
  command.python = env.python;
  command.args = {"-m", "mbcc_probe"};
  command.args.insert(command.args.end(), args->begin(), args->end());
  command.python_dir = options.python_dir;
  command.cwd = work->path();
  command.stderr_file = work->path() / "probe-stderr.log";
  command.timeout = options.probe_timeout;

  std::map<std::pair<std::string, std::string>, json> log_cases;
  const auto probe_start = std::chrono::steady_clock::now();
  std::chrono::duration<double> publishing{};
  Result<detail::ProbeExit> exit = detail::run_probe(command, [&](std::string_view line) {
    const auto line_start = std::chrono::steady_clock::now();
    Result<ProbeCase> c = parse_probe_line(line);
    if (!c.ok()) {
      if (!report.error) report.error = c.error();
      return;
    }
    CaseReport r = c->status == "ok"        ? publish_case(*c, env, options, *work)
                   : c->status == "skipped" ? make_report(*c, CaseOutcome::kSkipped, c->reason)
                                            : make_report(*c, CaseOutcome::kFailed, c->reason);
    json entry = c->details;
    entry["model"] = r.model;
    entry["save_api"] = r.save_api;
    entry["status"] = log_status(r.outcome);
    if (r.outcome == CaseOutcome::kSkipped || r.outcome == CaseOutcome::kFailed ||
        r.outcome == CaseOutcome::kRejected) {
      entry["reason"] = r.reason;
    }
    log_cases[{r.model, r.save_api}] = std::move(entry);
    std::string line_out = env.release + " " + r.model + "/" + r.save_api + ": " +
                           std::string(case_outcome_info(r.outcome).name);
    progress(r.reason.empty() ? line_out : line_out + ": " + r.reason);
    report.cases.push_back(std::move(r));
    publishing += std::chrono::steady_clock::now() - line_start;
  });
  report.probe_time = std::chrono::steady_clock::now() - probe_start - publishing;
  if (!exit.ok()) {
    report.error = exit.error();
  } else if (!exit->ok()) {
    std::string tail = detail::tail_lines(command.stderr_file, kStderrTailLines);
    report.error = Error::plain(env.python.string(), "the probe ended with " + exit->describe() +
                                                         (tail.empty() ? "" : ": " + tail));
  }
  if (job.write_generation_log && !log_cases.empty()) {
    Status logged = write_generation_log(options.store, env, log_cases);
    if (!logged.ok() && !report.error) report.error = logged.error();
  }
  return report;
}

ReleaseReport generate_in_env(const envs::Env& env, const GenerateOptions& options) {
  ProbeJob job;
  job.prepare = [&](const fs::path&,
                    const fs::path& probe_dir) -> Result<std::vector<std::string>> {
    std::vector<std::string> args = {"generate", "--out", probe_dir.string(), "--jobs",
                                     std::to_string(std::max(1, options.jobs))};
    for (const std::string& model : options.models) args.insert(args.end(), {"--model", model});
    return args;
  };
  job.write_generation_log = true;
  return probe_into_store(env, options, job);
}

ReleaseReport generate_release(std::string_view version, const GenerateOptions& options) {
  envs::Options env_options = options.env_options;
  if (!env_options.progress && options.progress) {
    env_options.progress = [&](std::string_view line) {
      options.progress(std::string(version) + " install: " + std::string(line));
    };
  }
  Result<envs::Env> env = envs::install(version, env_options);
  if (!env.ok()) {
    ReleaseReport report;
    report.release = std::string(version);
    report.error = env.error();
    return report;
  }
  return generate_in_env(*env, options);
}

namespace detail {

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

}  // namespace detail
}  // namespace mbcc::corpus
