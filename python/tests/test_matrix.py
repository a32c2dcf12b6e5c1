"""The release matrix on the releases the tests install: candidate ranges and distributions,
each check's direction and what --forward does with forward failures, the transitions where a
case stopped passing, `mbcc bisect`, and that a killed run leaves nothing behind."""
import json
import os
import signal
import subprocess
import time

from conftest import mbcc_bin, mxnet_python, run_mbcc


def report_of(folder):
    return json.loads((folder / "report.json").read_text())


def test_a_range_names_the_releases_in_it_in_release_order(tmp_path):
    for release in ("1.9.1", "2.0.0a0", "2.0.0b1"):
        mxnet_python(release)
    run_mbcc("check", "--candidate", ">=1.9.1,<=2.0.0b1", "--model", "mlp", "--producer", "1.9.1",
             "--report-dir", tmp_path, check=False)
    run = report_of(tmp_path)["run"]
    # a pre-release is in the range only because the range names one
    assert run["candidates"] == ["1.9.1", "2.0.0a0", "2.0.0b1"]
    assert run["candidate_releases"] == run["candidates"]
    bad = run_mbcc("check", "--candidate", ">=9", "--report-dir", tmp_path / "bad", check=False)
    assert bad.returncode == 2
    assert "no release mbcc knows is in the range" in bad.stdout + bad.stderr


def test_another_distribution_of_a_release_is_a_candidate_of_its_own(tmp_path):
    """mxnet-native is 1.8.0 built without oneDNN: installed into an environment of its own,
    named as given, and of release 1.8.0, so 1.8.0's files are the same release."""
    mxnet_python("mxnet-native==1.8.0.post0")
    envs = run_mbcc("env", "list").stdout
    assert "mxnet-native-1.8.0.post0" in envs
    run_mbcc("check", "--candidate", "mxnet-native==1.8.0.post0", "--model", "mlp",
             "--producer", "1.8.0", "--producer", "1.2.1", "--report-dir", tmp_path)
    report = report_of(tmp_path)
    assert report["run"]["candidates"] == ["mxnet-native==1.8.0.post0"]
    assert report["run"]["candidate_releases"] == ["1.8.0"]
    directions = {c["producer"]: c["direction"] for c in report["checks"]}
    assert directions == {"1.8.0": "same", "1.2.1": "backward"}
    assert {c["verdict"] for c in report["checks"]} <= {"PASS", "UNSUPPORTED"}
    assert any(c["verdict"] == "PASS" for c in report["checks"])


def test_forward_failures_are_apart_and_fail_the_run_only_when_asked(tmp_path):
    mxnet_python("1.9.1")
    no_expectations = tmp_path / "none.toml"
    no_expectations.write_text("schema = 1\n")
    args = ["check", "--candidate", "1.9.1", "--model", "lenet-hybrid", "--producer", "1.9.1",
            "--producer", "2.0.0b1", "--expectations", no_expectations]
    shown = run_mbcc(*args, "--report-dir", tmp_path / "report", check=False)
    report = report_of(tmp_path / "report")
    forward = [c for c in report["checks"] if c["direction"] == "forward"]
    assert forward and all(c["producer"] == "2.0.0b1" for c in forward)
    failing = [c for c in forward if c["verdict"] in ("LOAD_FAIL", "RUN_FAIL")]
    assert failing, "2.0.0b1's Pooling output_size is unknown to 1.9.1"
    assert shown.returncode == 0, shown.stdout
    assert not any(c["failure"] for c in forward)
    assert report["summary"]["forward_failures"] == len(failing)
    assert f"forward failures: {len(failing)}" in shown.stdout
    assert f"files of 2.0.0b1 read by 1.9.1: {len(failing)} failure" in shown.stdout

    failed = run_mbcc(*args, "--forward", "fail", "--report-dir", tmp_path / "fail", check=False)
    assert failed.returncode == 1
    assert report_of(tmp_path / "fail")["summary"]["failures"] == len(failing)

    run_mbcc(*args, "--forward", "skip", "--report-dir", tmp_path / "skip")
    assert {c["producer"] for c in report_of(tmp_path / "skip")["checks"]} == {"1.9.1"}


def test_transitions_say_in_which_release_a_case_broke(tmp_path):
    """softmax-output's checkpoint loads on 1.9.1, not on 2.0.0a0 (SoftmaxOutput removed)."""
    for release in ("1.9.1", "2.0.0a0"):
        mxnet_python(release)
    result = run_mbcc("check", "--candidate", "2.0.0a0", "--candidate", "1.9.1",
                      "--model", "softmax-output", "--producer", "1.9.1",
                      "--load-api", "module-load-checkpoint", "--report-dir", tmp_path)
    (transition,) = report_of(tmp_path)["transitions"]
    assert transition == {"producer": "1.9.1", "model": "softmax-output",
                          "save_api": "module-checkpoint", "load_api": "module-load-checkpoint",
                          "from": "1.9.1", "to": "2.0.0a0", "verdicts": ["PASS", "LOAD_FAIL"],
                          "change": "broke"}
    assert "introduced in release 2.0.0a0: 1 case" in result.stdout


def test_bisect_finds_the_release_where_the_verdict_changed():
    """1.4.1's save_params file of lenet loads on 1.9.1 and not on 2.0 (prefixed names, #19580):
    the search from 1.9.1 to 2.0.0b1 visits 2.0.0a0 and names it."""
    for release in ("1.9.1", "2.0.0a0", "2.0.0b1"):
        mxnet_python(release)
    result = run_mbcc("bisect", "--good", "1.9.1", "--bad", "2.0.0b1", "--producer", "1.4.1",
                      "--model", "lenet", "--save-api", "gluon-save-params",
                      "--load-api", "gluon-load-parameters")
    assert "  2.0.0a0: changed" in result.stdout
    assert ("first release where the verdicts change: 2.0.0a0 (after 1.9.1; 3 of 3 releases "
            "checked)") in result.stdout
    assert ("1.4.1 lenet/gluon-save-params -> gluon-load-parameters: PASS on 1.9.1, LOAD_FAIL "
            "on 2.0.0a0") in result.stdout
    assert "is missing" in result.stdout  # the candidate's message
    same = run_mbcc("bisect", "--good", "1.9.1", "--bad", "2.0.0b1", "--producer", "1.9.1",
                    "--model", "mlp", "--load-api", "gluon-imports", check=False)
    assert same.returncode == 1 and "nothing to bisect" in same.stdout
    unknown = run_mbcc("bisect", "--good", "1.9.1", "--bad", "7.0.0", check=False)
    assert unknown.returncode == 2 and '"7.0.0"' in unknown.stderr


def test_a_killed_run_leaves_nothing_for_the_next_run(tmp_path):
    """kill -9 of a check leaves its outputs' folder and its store view; the next check run
    removes both, since their owner is gone, and never touches those of a live run."""
    mxnet_python("1.9.1")
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    env = dict(os.environ, TMPDIR=str(work))
    args = [mbcc_bin(), "check", "--candidate", "1.9.1", "--cache-dir", str(cache)]
    victim = subprocess.Popen([*args, "--report-dir", str(tmp_path / "r1")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    views = cache.parent / "store-views"
    deadline = time.time() + 120
    while time.time() < deadline and not (list(work.glob("mbcc-check-*")) and
                                          list(views.glob("view-*"))):
        time.sleep(0.2)
    time.sleep(2)  # checks under way
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    left = list(work.glob("mbcc-check-*")) + list(views.glob("view-*"))
    assert len(left) == 2, left
    run_mbcc_env = subprocess.run([*args, "--model", "mlp", "--producer", "1.9.1",
                                   "--report-dir", str(tmp_path / "r2")], env=env,
                                  capture_output=True, text=True)
    assert run_mbcc_env.returncode == 0, run_mbcc_env.stdout
    assert list(work.glob("mbcc-check-*")) == []
    assert list(views.glob("view-*")) == []
