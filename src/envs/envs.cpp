// Installing, finding and removing the per-release environments. See envs.hpp for the
// guarantees; the order of operations in `install` is what makes them hold:
//   1. a complete environment (marker present) is returned without locking;
//   2. otherwise take an exclusive flock on <envs>/.<release>.lock, and look again;
//   3. build a fresh venv in <envs>/.<release>.tmp-<pid>-<n>, run the plan, verify, write the
//      marker last;
//   4. move any stale folder at the final path aside, rename the temp folder into place.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "envs/envs.hpp"
#include "envs/internal.hpp"

namespace mbcc::envs {
namespace fs = std::filesystem;

namespace {

std::atomic<unsigned> g_sequence{0};

Error os_error(const fs::path& path, const std::string& step, int err) {
  return Error::plain(path.string(), step + ": " + std::strerror(err));
}

// An exclusive flock held for the lifetime of the object.
class FileLock {
 public:
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
  }

  static Result<FileLock> acquire(const fs::path& path,
                                  const std::function<void(std::string_view)>& progress) {
    FileLock lock;
    lock.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock.fd_ < 0) return os_error(path, "cannot open lock file", errno);
    if (::flock(lock.fd_, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK) return os_error(path, "cannot lock", errno);
    if (progress) progress("waiting for another mbcc process that holds " + path.string());
    while (::flock(lock.fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return os_error(path, "cannot lock", errno);
    }
    return lock;
  }

 private:
  int fd_ = -1;
};

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::map<std::string, std::string> parse_key_values(std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The environment at `dir` if its marker is there and its interpreter still resolves (a venv
// whose base Python was removed is as good as missing).
std::optional<Env> read_env(const fs::path& dir) {
  std::error_code ec;
  fs::path marker = dir / kMarkerName;
  if (!fs::is_regular_file(marker, ec)) return std::nullopt;
  fs::path python = dir / "bin" / "python";
  if (!fs::exists(python, ec)) return std::nullopt;  // follows the symlink
  auto kv = parse_key_values(read_text(marker));
  if (kv["release"].empty()) return std::nullopt;
  Env env;
  env.release = kv["release"];
  env.dir = dir;
  env.python = python;
  if (!kv["libmxnet"].empty()) env.libmxnet = dir / kv["libmxnet"];
  if (!kv["library_path"].empty()) env.library_path = dir / kv["library_path"];
  env.requirement = kv["requirement"];
  env.mxnet_version = kv["mxnet_version"];
  env.numpy_version = kv["numpy_version"];
  env.created = kv["created"];
  return env;
}

Result<fs::path> root_of(const Options& options) {
  if (!options.root.empty()) return options.root;
  return envs_dir();
}

// venv writes its own path into bin/activate* and the shebangs of bin/pip*; it was built at
// `from` and will live at `to`.
void rewrite_venv_paths(const fs::path& dir, const std::string& from, const std::string& to) {
  std::error_code ec;
  std::vector<fs::path> files = {dir / "pyvenv.cfg"};
  for (const auto& entry : fs::directory_iterator(dir / "bin", ec)) {
    if (entry.is_symlink(ec) || !entry.is_regular_file(ec)) continue;
    if (entry.file_size(ec) > (1U << 20)) continue;
    files.push_back(entry.path());
  }
  for (const fs::path& file : files) {
    std::string text = read_text(file);
    if (text.find(from) == std::string::npos) continue;
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos;
         pos = hit + from.size()) {
      out.append(text, pos, hit - pos);
      out += to;
    }
    out.append(text, pos);
    std::ofstream w(file, std::ios::binary | std::ios::trunc);  // keeps the file's mode
    w << out;
  }
}

void remove_leftovers(const fs::path& root, const std::string& release) {
  std::error_code ec;
  const std::string tmp = "." + release + ".tmp-";
  const std::string old = "." + release + ".old-";
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(tmp) || name.starts_with(old)) doomed.push_back(entry.path());
  }
  for (const auto& p : doomed) fs::remove_all(p, ec);
}

struct Builder {
  const InstallPlan& plan;
  const Options& options;
  fs::path root;
  fs::path tmp;
  fs::path log;       // everything, kept as <root>/.<release>.failed.log on failure
  fs::path step_err;  // stderr of the current step
  fs::path step_out;  // stdout of the verify step

  void say(const std::string& line) const {
    if (options.progress) options.progress(line);
  }

  void append_log(const std::string& text) const {
    std::ofstream(log, std::ios::binary | std::ios::app) << text;
  }

  std::vector<std::string> step_env() const {
    // No LD_LIBRARY_PATH from the plan: the verify step must prove that the env's Python
    // finds its libraries by itself.
    return {"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PYTHONNOUSERSITE=1"};
  }

  Status run_step(const std::string& what, const std::vector<std::string>& argv,
                  const fs::path& out) {
    say(plan.release + ": " + what);
    append_log("\n$ " + what + "\n");
    auto done = detail::run(argv, out, step_err, step_env(), options.step_timeout);
    append_log(read_text(step_err));
    if (!done.ok()) return done.error();
    if (done->ok()) return Ok{};
    Error e;
    e.source = "mxnet " + plan.release;
    e.field = what;
    e.found = done->timed_out
                  ? "no end after " + std::to_string(options.step_timeout.count()) + " s"
                  : done->describe();
    e.detail = detail::file_tail(step_err, 12, 4000);
    if (e.detail.empty()) e.detail = detail::file_tail(out, 12, 4000);
    return e;
  }

  Result<Env> build() {
    std::error_code ec;
    // The log and the step files live beside the temp folder (same prefix, so leftovers of a
    // killed install are found and removed with it).
    log = fs::path(tmp.string() + ".log");
    step_err = fs::path(tmp.string() + ".err");
    step_out = fs::path(tmp.string() + ".out");

    // --prompt: otherwise the shell prompt of `activate` would name the temp folder.
    std::vector<std::string> venv = {options.base_python, "-m", "venv", "--prompt",
                                     "mxnet-" + plan.release};
    venv.insert(venv.end(), options.venv_flags.begin(), options.venv_flags.end());
    venv.push_back(tmp.string());
    MBCC_TRY(run_step("create the venv", venv, log));

    const std::string py = (tmp / "bin" / "python").string();
    for (const Step& step : plan.steps) {
      std::vector<std::string> argv = {py};
      argv.insert(argv.end(), step.args.begin(), step.args.end());
      MBCC_TRY(run_step(step.what, argv, log));
    }
    std::vector<std::string> verify = {py};
    verify.insert(verify.end(), plan.verify.args.begin(), plan.verify.args.end());
    std::ofstream(step_out, std::ios::trunc).close();
    MBCC_TRY(run_step(plan.verify.what.empty() ? "verify" : plan.verify.what, verify, step_out));
    auto found = parse_key_values(read_text(step_out));
    append_log(read_text(step_out));

    const fs::path final_dir = root / plan.release;
    rewrite_venv_paths(tmp, tmp.string(), final_dir.string());

    std::ostringstream marker;
    marker << "release=" << plan.release << "\n"
           << "requirement=" << plan.requirement << "\n"
           << "mxnet_version=" << found["mxnet_version"] << "\n"
           << "numpy_version=" << found["numpy_version"] << "\n"
           << "libmxnet=" << found["libmxnet"] << "\n"
           << "library_path=" << plan.library_path << "\n"
           << "created=" << utc_now() << "\n";
    fs::path marker_tmp = tmp / (std::string(kMarkerName) + ".tmp");
    {
      std::ofstream out(marker_tmp, std::ios::binary | std::ios::trunc);
      out << marker.str();
      out.flush();
      if (!out) return Error::plain(marker_tmp.string(), "cannot write the marker");
    }
    fs::rename(marker_tmp, tmp / kMarkerName, ec);
    if (ec) return Error::plain(tmp.string(), "cannot write the marker: " + ec.message());

    // A folder without a (valid) marker at the final path is stale: move it aside first.
    if (fs::exists(fs::symlink_status(final_dir, ec))) {
      fs::path aside = root / ("." + plan.release + ".old-" + std::to_string(::getpid()) + "-" +
                               std::to_string(g_sequence++));
      fs::rename(final_dir, aside, ec);
      if (ec)
        return Error::plain(final_dir.string(),
                            "cannot move the stale folder aside: " + ec.message());
      fs::remove_all(aside, ec);
    }
    fs::rename(tmp, final_dir, ec);
    if (ec) return Error::plain(final_dir.string(), "cannot rename into place: " + ec.message());
    auto env = read_env(final_dir);
    if (!env)
      return Error::plain(final_dir.string(), "the installed environment cannot be read back");
    return *env;
  }

  void cleanup(bool failed) const {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::remove(step_err, ec);
    fs::remove(step_out, ec);
    fs::path failed_log = root / ("." + plan.release + ".failed.log");
    if (failed && !log.empty()) {
      fs::rename(log, failed_log, ec);
    } else {
      fs::remove(log, ec);
      fs::remove(failed_log, ec);
    }
  }
};

}  // namespace

Result<fs::path> envs_dir() {
  auto cache = cache_dir();
  if (!cache) return cache.error();
  return *cache / "mbcc" / "envs";
}

Result<Env> install(std::string_view version, const Options& options) {
  InstallPlan plan;
  if (options.plan) {
    plan = *options.plan;
    if (plan.release.empty()) plan.release = std::string(version);
    MBCC_TRY(validate_version(plan.release));
  } else {
    auto p = install_plan(version);
    if (!p) return p.error();
    plan = std::move(*p);
  }
  auto root = root_of(options);
  if (!root) return root.error();
  const fs::path final_dir = *root / plan.release;
  if (auto env = read_env(final_dir)) return *env;

  std::error_code ec;
  fs::create_directories(*root, ec);
  if (ec) return Error::plain(root->string(), "cannot create the envs folder: " + ec.message());
  auto lock = FileLock::acquire(*root / ("." + plan.release + ".lock"), options.progress);
  if (!lock) return lock.error();
  if (auto env = read_env(final_dir)) return *env;  // another process finished it meanwhile
  remove_leftovers(*root, plan.release);

  Builder b{plan,
            options,
            *root,
            *root / ("." + plan.release + ".tmp-" + std::to_string(::getpid()) + "-" +
                     std::to_string(g_sequence++)),
            {},
            {},
            {}};
  auto env = b.build();
  b.cleanup(!env.ok());
  if (!env.ok()) {
    Error e = env.error();
    fs::path failed_log = *root / ("." + plan.release + ".failed.log");
    if (fs::exists(failed_log, ec)) e.detail += "\n(full log: " + failed_log.string() + ")";
    return e;
  }
  return env;
}

Result<std::vector<Env>> list(const Options& options) {
  auto root = root_of(options);
  if (!root) return root.error();
  std::vector<Env> out;
  std::error_code ec;
  if (!fs::is_directory(*root, ec)) return out;
  for (const auto& entry : fs::directory_iterator(*root, ec)) {
    if (entry.path().filename().string().starts_with(".")) continue;
    if (auto env = read_env(entry.path())) out.push_back(std::move(*env));
  }
  if (ec) return Error::plain(root->string(), "cannot list: " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const Env& a, const Env& b) { return a.release < b.release; });
  return out;
}

Result<Env> find(std::string_view version, const Options& options) {
  auto release = canonical_release(version);
  if (!release) return release.error();
  auto root = root_of(options);
  if (!root) return root.error();
  if (auto env = read_env(*root / *release)) return *env;
  Error e;
  e.source = "mxnet " + *release;
  e.detail = "no complete environment in " + (*root / *release).string() + "; install it first";
  return e;
}

Result<fs::path> path(std::string_view version, const Options& options) {
  auto env = find(version, options);
  if (!env) return env.error();
  return env->dir;
}

Result<fs::path> python(std::string_view version, const Options& options) {
  auto env = find(version, options);
  if (!env) return env.error();
  return env->python;
}

Status remove(std::string_view version, const Options& options) {
  auto release = canonical_release(version);
  if (!release) return release.error();
  auto root = root_of(options);
  if (!root) return root.error();
  std::error_code ec;
  if (!fs::is_directory(*root, ec)) return Ok{};
  auto lock = FileLock::acquire(*root / ("." + *release + ".lock"), options.progress);
  if (!lock) return lock.error();
  remove_leftovers(*root, *release);
  fs::path dir = *root / *release;
  if (!fs::exists(fs::symlink_status(dir, ec))) return Ok{};
  // Rename first so no reader ever sees a half-deleted environment with its marker.
  fs::path aside = *root / ("." + *release + ".old-" + std::to_string(::getpid()) + "-" +
                            std::to_string(g_sequence++));
  fs::rename(dir, aside, ec);
  if (ec) return Error::plain(dir.string(), "cannot remove: " + ec.message());
  fs::remove_all(aside, ec);
  if (ec) return Error::plain(aside.string(), "cannot delete: " + ec.message());
  return Ok{};
}

}  // namespace mbcc::envs
