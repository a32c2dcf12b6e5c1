// envs: managed MXNet environments. One Python venv per MXNet release, under
// <cache>/mbcc/envs/<release>, built with the install quirks each release needs on this
// machine's Python (see docs/releases.md for what was found on the real wheels).
//
// An environment is complete when its marker file exists; it appears at its final path in one
// rename, so a reader sees either nothing, a complete environment, or a stale folder that
// `install` replaces. Two mbcc processes installing one release at once take turns on a lock
// file; the second one finds the first one's environment and reuses it.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/cache_dir.hpp"
#include "base/result.hpp"

namespace mbcc::envs {

// ---------------------------------------------------------------------------------------------
// The quirks table: one row per release that mbcc knows how to install.

// What happens on Python 3.11 with numpy 1.23.5 once the quirks are applied.
enum class Support {
  kWorks,   // installs, imports, and its save/load APIs run
  kBroken,  // cannot be made to work here; `install` refuses it with `note` as the reason
};

struct ReleaseQuirks {
  std::string_view release;      // the name mbcc uses and the env folder: "1.7.0"
  std::string_view pip_version;  // what pip is asked for: "1.7.0.post2"
  bool no_deps;                  // the wheel's pins cannot resolve with numpy 1.23.5 on 3.11
  bool patch_dataloader;         // 1.2.x: `yield` in a comprehension, a SyntaxError since 3.8
  bool borrow_gfortran3;  // needs libgfortran.so.3, which neither Debian 12 nor the wheel has
  Support support;
  std::string_view note;  // why the quirks are needed, in one line
};

// Every known release, oldest first.
std::span<const ReleaseQuirks> release_table();

// The row for `release` (an alias such as "2.0.0.beta1" is accepted), or nullptr.
const ReleaseQuirks* find_release(std::string_view release);

// The number MXGetVersion returns and graphs record for a release: major·10000 + minor·100 +
// patch of its leading "A.B.C" ("2.0.0b1" -> 20000, so 2.0.0a0 and 2.0.0b1 share one); -1 when
// the name does not start so.
int release_version_number(std::string_view release);

// The pins every environment gets.
inline constexpr std::string_view kNumpyPin = "numpy==1.23.5";

// What an environment is named by: a release ("1.9.1", an alias such as "2.0.0.beta1") or an
// MXNet distribution pinned to a version ("mxnet-mkl==1.6.0", "mxnet-native==1.8.0.post0": the
// same release built with or without oneDNN), which gets an environment of its own.
struct EnvSpec {
  std::string distribution;  // "" for plain mxnet, else "mxnet-mkl"
  std::string release;       // the release it is: the table's name, else the version given
  std::string folder;        // its environment's folder: "1.9.1", "mxnet-mkl-1.6.0"
  std::string requirement;   // what pip is asked for: "mxnet==1.7.0.post2", "mxnet-mkl==1.6.0"
  const ReleaseQuirks* row = nullptr;  // the release's quirks, when the table knows it
};

// Errors: a malformed version, a distribution that is not mxnet or mxnet-<variant>.
Result<EnvSpec> parse_env_spec(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Install plans: what `install` runs, as data, so it can be shown and tested.

// One step: a command run with the new environment's python, e.g. {"-m", "pip", "install", …}.
struct Step {
  std::string what;               // "install mxnet==1.9.1 numpy==1.23.5", for messages
  std::vector<std::string> args;  // arguments after the interpreter
};

struct InstallPlan {
  std::string release;       // canonical name, also the env folder name
  std::string requirement;   // "mxnet==1.7.0.post2"
  bool known = false;        // false: not in the table, a default plan is used
  std::vector<Step> steps;   // run in order with <env>/bin/python
  Step verify;               // run last; prints key=value lines kept in the marker
  std::string library_path;  // folder inside the env with libraries libmxnet.so needs and
                             // the system lacks (the env's Python preloads them itself)
};

// The plan for `version` (any spec parse_env_spec takes): the table's quirks, or for an unknown
// but well-formed version a plain `pip install mxnet==<version> numpy==1.23.5`. Errors: a
// malformed spec, or a release the table marks kBroken (the error carries the reason).
Result<InstallPlan> install_plan(std::string_view version);

// ---------------------------------------------------------------------------------------------
// Where environments live.

// $MBCC_CACHE_DIR, else $XDG_CACHE_HOME, else $HOME/.cache (it lives in base: the store needs it
// too).
using mbcc::cache_dir;
// cache_dir() / "mbcc" / "envs".
Result<std::filesystem::path> envs_dir();

// An installed, complete environment, as its marker describes it.
struct Env {
  std::string release;                 // "1.9.1"
  std::filesystem::path dir;           // <envs>/1.9.1
  std::filesystem::path python;        // <envs>/1.9.1/bin/python
  std::filesystem::path libmxnet;      // the wheel's libmxnet.so (empty if the marker lacks it)
  std::filesystem::path library_path;  // a C caller prepends it to LD_LIBRARY_PATH before it
                                       // dlopens libmxnet (0.12.x); empty when not needed
  std::string requirement;             // "mxnet==1.9.1"
  std::string mxnet_version;           // mxnet.__version__ as imported ("2.0.0beta1")
  std::string numpy_version;
  std::string created;  // UTC, ISO 8601
};

struct Options {
  std::filesystem::path root;           // the envs folder; empty means envs_dir()
  std::string base_python = "python3";  // makes the venvs (searched in PATH)
  std::vector<std::string> venv_flags;  // extra flags for `python -m venv` (tests: --without-pip)
  std::optional<InstallPlan> plan;      // replaces install_plan(version) (tests, experiments)
  std::function<void(std::string_view)> progress;  // one line per step; may be empty
  std::chrono::seconds step_timeout{1800};
};

// Installs `version` unless a complete environment is there already, and returns it.
// Safe to call from several processes (or threads) at once for the same release. On failure,
// the error names the step and carries the tail of its stderr (pip's own message); the whole
// log is kept in <envs>/.<release>.failed.log.
Result<Env> install(std::string_view version, const Options& options = {});

// Every complete environment under the envs folder, sorted by release name.
Result<std::vector<Env>> list(const Options& options = {});

// The complete environment of `version`, or an error saying it is not installed.
Result<Env> find(std::string_view version, const Options& options = {});
Result<std::filesystem::path> path(std::string_view version, const Options& options = {});
Result<std::filesystem::path> python(std::string_view version, const Options& options = {});

// Deletes the environment of `version` (under the same lock as install). Missing is fine.
Status remove(std::string_view version, const Options& options = {});

// The name of the marker file inside a complete environment.
inline constexpr std::string_view kMarkerName = ".mbcc-env";

}  // namespace mbcc::envs
