// The per-release install quirks, found by installing every release on Python 3.11 with
// numpy 1.23.5 (docs/releases.md has the evidence), and the install plans built from them.
#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "envs/envs.hpp"
#include "envs/internal.hpp"

namespace mbcc::envs {
namespace {

constexpr Support kOk = Support::kWorks;

// Oldest first. Keep docs/releases.md in step with this table.
constexpr std::array kReleases = {
    ReleaseQuirks{"0.11.0", "0.11.0", false, false, false, kOk,
                  "wheel pins nothing; its libmxnet.so needs no Fortran runtime"},
    ReleaseQuirks{"0.12.0", "0.12.0", false, false, true, kOk,
                  "libmxnet.so needs libgfortran.so.3 but the wheel does not bundle it"},
    ReleaseQuirks{"0.12.1", "0.12.1", false, false, true, kOk,
                  "libmxnet.so needs libgfortran.so.3 but the wheel does not bundle it"},
    ReleaseQuirks{"1.0.0", "1.0.0.post4", true, false, false, kOk,
                  "plain 1.0.0 lacks libgfortran.so.3; .post2 and later bundle it but pin "
                  "numpy<=1.13.3"},
    ReleaseQuirks{"1.1.0", "1.1.0", true, false, false, kOk,
                  "pins numpy<=1.13.3 and requests==2.18.4"},
    ReleaseQuirks{"1.2.0", "1.2.0", true, true, false, kOk,
                  "pins numpy<1.15; DataLoader has `yield` in a comprehension"},
    ReleaseQuirks{"1.2.1", "1.2.1", true, true, false, kOk,
                  "pins numpy<1.15; DataLoader has `yield` in a comprehension"},
    ReleaseQuirks{"1.3.0", "1.3.0", true, false, false, kOk, "pins numpy<1.15"},
    ReleaseQuirks{"1.3.1", "1.3.1", true, false, false, kOk, "pins numpy<1.15"},
    ReleaseQuirks{"1.4.0", "1.4.0", true, false, false, kOk, "pins numpy<1.15"},
    ReleaseQuirks{"1.4.1", "1.4.1", true, false, false, kOk, "pins numpy<1.15"},
    ReleaseQuirks{"1.5.0", "1.5.0", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"1.5.1", "1.5.1", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"1.6.0", "1.6.0", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"1.7.0", "1.7.0.post2", false, false, false, kOk,
                  "no plain 1.7.0 on the index; .post2 is the newest build"},
    ReleaseQuirks{"1.8.0", "1.8.0.post0", false, false, false, kOk,
                  "plain 1.8.0 needs a system libopenblas.so.0; .post0 bundles it"},
    ReleaseQuirks{"1.9.0", "1.9.0", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"1.9.1", "1.9.1", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"2.0.0a0", "2.0.0a0", false, false, false, kOk, "installs as is"},
    ReleaseQuirks{"2.0.0b1", "2.0.0b1", false, false, false, kOk, "installs as is"},
};

struct Alias {
  std::string_view alias;
  std::string_view release;
};
// The names the MXNet repository's tags use for the 2.0 pre-releases.
constexpr std::array kAliases = {
    Alias{"2.0.0.alpha", "2.0.0a0"},
    Alias{"2.0.0.beta1", "2.0.0b1"},
};

// Pins for releases installed with --no-deps: the ranges the newer wheels declare, which
// resolve on Python 3.11 (their own older pins do not).
constexpr std::array<std::string_view, 3> kNoDepsExtras = {kNumpyPin, "requests>=2.20,<3",
                                                           "graphviz>=0.8.1,<0.9"};

// Python 3.8 made `yield` inside a comprehension a SyntaxError; MXNet 1.2.x's DataLoader has
// one, and `import mxnet` imports it. The replacement is the same generator, written as a
// generator expression.
constexpr std::string_view kPatchDataloader = R"PY(
import os, sys, sysconfig
p = os.path.join(sysconfig.get_paths()["purelib"], "mxnet", "gluon", "data", "dataloader.py")
s = open(p, encoding="utf-8").read()
old = ("generator = lambda: [(yield self._batchify_fn([self._dataset[idx] for idx in batch]))\n"
       "                                 for batch in self._batch_sampler]")
new = ("generator = lambda: (self._batchify_fn([self._dataset[idx] for idx in batch])\n"
       "                                 for batch in self._batch_sampler)")
if old not in s:
    sys.exit("mbcc: the DataLoader line to patch is not in " + p)
open(p, "w", encoding="utf-8").write(s.replace(old, new))
print("patched", p)
)PY";

// 0.12.x link libgfortran.so.3 with no rpath and do not ship it; Debian 12 has only
// libgfortran.so.5. The 1.0.0.post4 wheel bundles the .so.3 build and its libquadmath. They go
// to <env>/lib/mbcc-libs; a .pth hook preloads them (RTLD_GLOBAL) whenever the env's Python
// starts, so `import mxnet` works without LD_LIBRARY_PATH. A C caller uses Env::library_path.
constexpr std::string_view kBorrowGfortran = R"PY(
import os, subprocess, sys, sysconfig, tempfile, zipfile
dest = os.path.join(sys.prefix, "lib", "mbcc-libs")
os.makedirs(dest, exist_ok=True)
with tempfile.TemporaryDirectory() as d:
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps",
                           "--only-binary=:all:", "-d", d, "mxnet==1.0.0.post4"])
    whl = [f for f in os.listdir(d) if f.endswith(".whl")][0]
    with zipfile.ZipFile(os.path.join(d, whl)) as z:
        for name in ("libgfortran.so.3", "libquadmath.so.0"):
            with z.open("mxnet/" + name) as src, open(os.path.join(dest, name), "wb") as out:
                out.write(src.read())
site = sysconfig.get_paths()["purelib"]
with open(os.path.join(site, "mbcc_preload.py"), "w") as f:
    f.write("# Written by mbcc: preloads the Fortran runtime this MXNet release links but lacks.\n"
            "import ctypes, os, sys\n"
            "for _n in ('libquadmath.so.0', 'libgfortran.so.3'):\n"
            "    ctypes.CDLL(os.path.join(sys.prefix, 'lib', 'mbcc-libs', _n), mode=ctypes.RTLD_GLOBAL)\n")
with open(os.path.join(site, "mbcc_preload.pth"), "w") as f:
    f.write("import mbcc_preload\n")
print("copied libgfortran.so.3 and libquadmath.so.0 to", dest, "and added mbcc_preload.pth")
)PY";

// Proves the environment imports MXNet and says what it holds, as key=value lines.
constexpr std::string_view kVerify = R"PY(
import os, sys
import numpy, mxnet
lib = getattr(getattr(mxnet, "base", None), "_LIB", None)
name = getattr(lib, "_name", "") or ""
print("mxnet_version=" + str(getattr(mxnet, "__version__", "")))
print("numpy_version=" + numpy.__version__)
print("libmxnet=" + (os.path.relpath(name, sys.prefix) if name else ""))
)PY";

Step pip_install(std::vector<std::string> packages, bool no_deps) {
  Step step;
  step.what = "pip install ";
  step.args = {"-m", "pip", "install", "--only-binary=:all:"};
  if (no_deps) {
    step.args.emplace_back("--no-deps");
    step.what += "--no-deps ";
  }
  for (std::size_t i = 0; i < packages.size(); ++i) step.what += (i ? " " : "") + packages[i];
  for (auto& p : packages) step.args.push_back(std::move(p));
  return step;
}

Step python_snippet(std::string what, std::string_view code) {
  return Step{std::move(what), {"-c", std::string(code)}};
}

}  // namespace

std::span<const ReleaseQuirks> release_table() { return kReleases; }

int release_version_number(std::string_view release) {
  std::array<int, 3> parts{};
  const char* at = release.data();
  const char* end = release.data() + release.size();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      if (at == end || *at != '.') return -1;
      ++at;
    }
    auto [next, ec] = std::from_chars(at, end, parts[i]);
    if (ec != std::errc() || parts[i] > 99) return -1;
    at = next;
  }
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

const ReleaseQuirks* find_release(std::string_view release) {
  for (const Alias& a : kAliases) {
    if (a.alias == release) release = a.release;
  }
  for (const ReleaseQuirks& row : kReleases) {
    if (row.release == release) return &row;
  }
  return nullptr;
}

Result<std::string> canonical_release(std::string_view version) {
  Result<EnvSpec> spec = parse_env_spec(version);
  if (!spec.ok()) return spec.error();
  return spec->folder;
}

Result<EnvSpec> parse_env_spec(std::string_view text) {
  EnvSpec spec;
  const std::size_t pin = text.find("==");
  std::string_view version = text;
  if (pin != std::string_view::npos) {
    spec.distribution = std::string(text.substr(0, pin));
    version = text.substr(pin + 2);
    const bool named =
        spec.distribution == "mxnet" ||
        (spec.distribution.starts_with("mxnet-") && spec.distribution.size() > 6 &&
         std::all_of(spec.distribution.begin() + 6, spec.distribution.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }));
    if (!named) {
      Error e;
      e.source = "MXNet distribution";
      e.found = "\"" + std::string(text) + "\"";
      e.allowed = "mxnet or mxnet-<variant> with ==VERSION, e.g. mxnet-mkl==1.6.0";
      return e;
    }
  }
  MBCC_TRY(validate_version(version));
  // A distribution is pinned to the exact version given; its quirks are its release's, found
  // by the release's name or its pip version (mxnet-native==1.8.0.post0 is release 1.8.0).
  const ReleaseQuirks* row = find_release(version);
  for (const ReleaseQuirks& r : kReleases) {
    if (row == nullptr && r.pip_version == version) row = &r;
  }
  spec.row = row;
  spec.release = row != nullptr ? std::string(row->release) : std::string(version);
  if (spec.distribution == "mxnet") spec.distribution.clear();  // plain mxnet==V is release V
  if (spec.distribution.empty()) {
    spec.folder = spec.release;
    spec.requirement =
        "mxnet==" + (row != nullptr ? std::string(row->pip_version) : std::string(version));
  } else {
    spec.folder = spec.distribution + "-" + std::string(version);
    spec.requirement = spec.distribution + "==" + std::string(version);
  }
  return spec;
}

Status validate_version(std::string_view version) {
  auto bad = [&](std::string detail) {
    Error e;
    e.source = "MXNet release";
    e.found = "\"" + std::string(version) + "\"";
    e.allowed = "a version such as 1.9.1, 1.7.0.post2 or 2.0.0b1";
    e.detail = std::move(detail);
    return e;
  };
  if (version.empty()) return bad("the version is empty");
  if (version.size() > 64) return bad("the version is longer than 64 characters");
  if (version.front() < '0' || version.front() > '9') return bad("it must start with a digit");
  for (char c : version) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == '_' || c == '+';
    if (!ok) return bad(std::string("character '") + c + "' is not allowed");
  }
  if (version.find("..") != std::string_view::npos) return bad("\"..\" is not allowed");
  return Ok{};
}

Result<InstallPlan> install_plan(std::string_view version) {
  Result<EnvSpec> spec = parse_env_spec(version);
  if (!spec.ok()) return spec.error();
  InstallPlan plan;
  plan.release = spec->folder;
  plan.requirement = spec->requirement;
  const ReleaseQuirks* row = spec->row;
  if (row == nullptr) {
    plan.steps.push_back(pip_install({plan.requirement, std::string(kNumpyPin)}, false));
  } else {
    if (row->support == Support::kBroken) {
      Error e;
      e.source = "mxnet " + std::string(row->release);
      e.detail = "cannot be installed here: " + std::string(row->note);
      return e;
    }
    plan.known = true;
    if (row->no_deps) {
      plan.steps.push_back(pip_install({plan.requirement}, true));
      plan.steps.push_back(
          pip_install(std::vector<std::string>(kNoDepsExtras.begin(), kNoDepsExtras.end()), false));
    } else {
      plan.steps.push_back(pip_install({plan.requirement, std::string(kNumpyPin)}, false));
    }
    if (row->patch_dataloader) {
      plan.steps.push_back(python_snippet(
          "patch gluon/data/dataloader.py (yield in a comprehension)", kPatchDataloader));
    }
    if (row->borrow_gfortran3) {
      plan.steps.push_back(python_snippet("copy libgfortran.so.3 from the mxnet 1.0.0.post4 wheel",
                                          kBorrowGfortran));
      plan.library_path = "lib/mbcc-libs";
    }
  }
  plan.verify = python_snippet("import mxnet", kVerify);
  return plan;
}

}  // namespace mbcc::envs
