"""mbcc installed, used as a new user would: `cmake --install` into a prefix that is then moved,
with the checkout hidden where the test may hide it, and the Debian package that `cpack` makes,
installed with apt-get. Each installed mbcc runs `mbcc check --model mlp --candidate 1.9.1` from
an empty folder, with none of mbcc's variables set, on the MXNet 1.9.1 environment the user
already has in ~/.cache/mbcc/envs."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, mbcc_bin

PART_ROWS = ("C API worker", "probe", "corpus", "docs")


def user_env(**extra):
    """The environment of a user who has never set any of mbcc's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBCC_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def run(command, cwd, env=None, wrap=()):
    result = subprocess.run([*wrap, *map(str, command)], cwd=cwd, env=env or user_env(),
                            capture_output=True, text=True, timeout=900)
    return result


def doctor_rows(text):
    """`mbcc doctor`'s output as {row name: text}."""
    rows = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.partition("  ")
        rows[name.strip()] = value.strip()
    return rows


def check_as_new_user(mbcc, folder, corpus, wrap=()):
    """Runs the quick check from `folder` and returns its report; `corpus` is the store it must use."""
    folder.mkdir(parents=True, exist_ok=True)
    result = run([mbcc, "check", "--model", "mlp", "--candidate", "1.9.1"], folder, wrap=wrap)
    assert result.returncode == 0, f"mbcc check exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    report_dir = folder / "mbcc-report"
    for name in ("report.json", "report.xml", "report.html"):
        assert (report_dir / name).stat().st_size > 0, name
    report = json.loads((report_dir / "report.json").read_text())
    assert report["run"]["store"] == str(corpus)
    assert len(report["checks"]) > 0
    assert {c["model"] for c in report["checks"]} == {"mlp"}
    assert {c["candidate"] for c in report["checks"]} == {"1.9.1"}
    assert all(c["verdict"] in ("PASS", "XFAIL") for c in report["checks"])
    return report


def assert_doctor_finds_everything_under(mbcc, prefix, folder, wrap=()):
    result = run([mbcc, "doctor"], folder, wrap=wrap)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = doctor_rows(result.stdout)
    for name in PART_ROWS:
        assert rows[name].startswith(str(prefix) + "/") and rows[name].endswith("(installed)"), rows
    assert str(SOURCE_DIR) not in result.stdout
    assert "1.9.1" in rows["MXNet releases"]
    verbose = run([mbcc, "--version", "--verbose"], folder, wrap=wrap)
    assert verbose.returncode == 0 and verbose.stdout == result.stdout


def hide_checkout():
    """A command prefix that runs a command with the checkout and build tree replaced by empty
    folders, where this process may do that (root, with unshare); else none."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return ()
    build_dir = Path(mbcc_bin()).resolve().parent
    hidden = [SOURCE_DIR.resolve()] + ([] if build_dir.is_relative_to(SOURCE_DIR.resolve()) else [build_dir])
    mounts = " && ".join(f"mount -t tmpfs mbcc-hidden {d}" for d in hidden)
    return ("unshare", "--mount", "sh", "-c", f'{mounts} && exec "$@"', "hide-checkout")


def test_installed_tree_works_after_the_prefix_moves(tmp_path):
    build_dir = Path(mbcc_bin()).resolve().parent
    first = tmp_path / "first"
    installed = run(["cmake", "--install", build_dir, "--prefix", first], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    prefix = tmp_path / "moved" / "prefix"
    prefix.parent.mkdir()
    first.rename(prefix)

    for part in ("bin/mbcc", "libexec/mbcc/mbcc-capi-worker", "share/mbcc/python/mbcc_probe/__main__.py",
                 "share/mbcc/corpus/expectations.toml", "share/doc/mbcc/README.md", "share/doc/mbcc/LICENSE"):
        assert (prefix / part).is_file(), part
    assert not list((prefix / "share/mbcc/python").rglob("__pycache__"))
    if shutil.which("help2man"):
        assert (prefix / "share/man/man1/mbcc.1.gz").stat().st_size > 0

    mbcc = prefix / "bin" / "mbcc"
    wrap = hide_checkout()
    if wrap:  # the checkout really is out of reach: the build tree's mbcc cannot start
        assert run([mbcc_bin(), "--version"], tmp_path, wrap=wrap).returncode != 0
    assert_doctor_finds_everything_under(mbcc, prefix, tmp_path, wrap)
    check_as_new_user(mbcc, tmp_path / "work", prefix / "share/mbcc/corpus", wrap)


def test_a_missing_part_is_named_with_what_to_do(tmp_path):
    build_dir = Path(mbcc_bin()).resolve().parent
    prefix = tmp_path / "prefix"
    installed = run(["cmake", "--install", build_dir, "--prefix", prefix], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    mbcc = prefix / "bin" / "mbcc"
    shutil.rmtree(prefix / "share" / "mbcc" / "corpus")

    doctor = run([mbcc, "doctor"], tmp_path)
    assert doctor.returncode == 1
    assert doctor_rows(doctor.stdout)["corpus"] == (
        f"MISSING: {prefix}/share/mbcc/corpus: mbcc's corpus (installed) has no v1/ folder of "
        "bundles; reinstall mbcc, or set MBCC_CORPUS_DIR")
    check = run([mbcc, "check", "--model", "mlp"], tmp_path)
    assert check.returncode == 2 and "reinstall mbcc, or set MBCC_CORPUS_DIR" in check.stdout + check.stderr

    # each variable overrides its place, and a wrong one is named as such
    worker = run([mbcc, "doctor"], tmp_path, env=user_env(MBCC_CORPUS_DIR=str(SOURCE_DIR / "corpus"),
                                                          MBCC_CAPI_WORKER=str(tmp_path / "no-worker")))
    rows = doctor_rows(worker.stdout)
    assert worker.returncode == 1
    assert rows["corpus"] == f"{SOURCE_DIR / 'corpus'} (MBCC_CORPUS_DIR)"
    assert rows["C API worker"] == (f"MISSING: {tmp_path / 'no-worker'}: mbcc's C API worker "
                                    "(MBCC_CAPI_WORKER) is not an executable file; fix or unset MBCC_CAPI_WORKER")


def test_version_names_the_project_version_and_the_checkout(tmp_path):
    version = run([mbcc_bin(), "--version"], tmp_path)
    assert version.returncode == 0
    project = (SOURCE_DIR / "CMakeLists.txt").read_text().split("project(mbcc VERSION ")[1].split()[0]
    assert version.stdout.startswith(f"mbcc {project}")
    # `git describe` as of the last configure, so not necessarily the commit checked out now
    assert ("(git " in version.stdout) == (SOURCE_DIR / ".git").exists(), version.stdout


# The Debian package: built from the folder MBCC_PACKAGE_BUILD names (./dev ci passes its Release
# build), installed system-wide, so only as root and only when asked.
PACKAGE_BUILD = os.environ.get("MBCC_PACKAGE_BUILD")


@pytest.mark.skipif(os.geteuid() != 0, reason="the package test installs mbcc_*.deb with apt-get and "
                    "must run as root (CI does; run it with sudo)")
@pytest.mark.skipif(not PACKAGE_BUILD, reason="set MBCC_PACKAGE_BUILD to a build folder to package "
                    "(./dev ci runs this test on its Release build)")
def test_debian_package_installs_checks_and_removes(tmp_path):
    made = run(["cpack", "-G", "DEB", "-B", tmp_path / "package"], PACKAGE_BUILD)
    assert made.returncode == 0, made.stdout + made.stderr
    project = (SOURCE_DIR / "CMakeLists.txt").read_text().split("project(mbcc VERSION ")[1].split()[0]
    deb = tmp_path / "package" / f"mbcc_{project}_amd64.deb"
    assert deb.is_file(), list((tmp_path / "package").iterdir())

    fields = run(["dpkg-deb", "--field", deb, "Depends", "Recommends"], tmp_path).stdout
    depends = [d.strip().split()[0] for d in fields.split("Depends:")[1].split("\n")[0].split(",")]
    assert "python3-venv" in depends
    assert {"libc6", "libcurl4", "libstdc++6"} <= set(depends), depends  # from dpkg-shlibdeps
    assert "chromium" not in fields
    contents = run(["dpkg-deb", "--contents", deb], tmp_path).stdout
    for path in ("./usr/bin/mbcc", "./usr/libexec/mbcc/mbcc-capi-worker",
                 "./usr/share/mbcc/python/mbcc_probe/__main__.py", "./usr/share/mbcc/corpus/expectations.toml",
                 "./usr/share/man/man1/mbcc.1.gz", "./usr/share/doc/mbcc/LICENSE"):
        assert path in contents, path

    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"]
    installed = run([*apt, "install", f"./{deb.name}"], deb.parent, env=user_env(DEBIAN_FRONTEND="noninteractive"))
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        work = tmp_path / "new-user"
        check_as_new_user("/usr/bin/mbcc", work, Path("/usr/share/mbcc/corpus"))
        assert_doctor_finds_everything_under("/usr/bin/mbcc", Path("/usr"), work)
    finally:
        removed = run([*apt, "remove", "mbcc"], tmp_path, env=user_env(DEBIAN_FRONTEND="noninteractive"))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not Path("/usr/bin/mbcc").exists() and not Path("/usr/share/mbcc").exists()
