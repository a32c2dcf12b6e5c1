"""`mbcc check` as a user and CI run it: a small store copied from the shipped corpus against
the real MXNet 1.9.1, corrupt bundles, and fake candidates that crash, hang, die mid-answer,
print garbage or answer differently each time. The reports are read back and compared with the
exit code."""
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, copy_corpus_bundle, mbcc_bin, mxnet_python, run_mbcc


# A worker that is not MXNet: it answers each request with the bundle's own goldens, except for
# the models its config names, where it misbehaves. Every request is logged.
FAKE_WORKER = r'''
import hashlib, json, os, shutil, signal, sys, time
config = json.load(open(sys.argv[1]))
log = open(config["log"], "a")


def first_to_claim(key):
    """True for the first process of the run to ask about `key`, false for every later one."""
    marker = os.path.join(os.path.dirname(config["log"]), "claimed-" + hashlib.sha1(key.encode()).hexdigest())
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def serve():
    print(json.dumps(HELLO), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        log.write(json.dumps(req) + "\n"); log.flush()
        model = os.path.basename(os.path.dirname(req["bundle_dir"]))
        action = config["actions"].get(model, "golden")
        if action == "segv":
            sys.stderr.write("fake: about to die in %s\n" % model); sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGSEGV)
        if action == "hang":
            time.sleep(600)
        if action == "exit-mid":
            sys.stdout.write('{"id": %d, "status": "o' % req["id"]); sys.stdout.flush()
            os._exit(3)
        if action == "garbage":
            print("Loading symbol saved by previous version v1.5.1. Attempting to upgrade...", flush=True)
            continue
        manifest = json.load(open(os.path.join(req["bundle_dir"], "manifest.json")))
        os.makedirs(req["out_dir"], exist_ok=True)
        # "flaky": the first attempt of a check answers the goldens, every later one a drift
        drift = action == "flaky" and not first_to_claim(req["bundle_dir"] + req["load_api"])
        outputs = []
        for i, golden in enumerate(manifest["outputs"]):
            path = os.path.join(req["out_dir"], "output_%d.npy" % i)
            shutil.copy(os.path.join(req["bundle_dir"], golden["file"]), path)
            if drift:
                import numpy
                numpy.save(path, numpy.load(path) + 1)
            outputs.append({"name": "output_%d" % i, "file": path, "shape": golden["shape"],
                            "dtype": golden["dtype"]})
        print(json.dumps({"id": req["id"], "status": "ok", "outputs": outputs,
                          "timings": {"load_ms": 1.0, "run_ms": 1.0}}), flush=True)
    return 0


HELLO = {"hello": "python", "mxnet_version": "fake", "load_apis": []}
if "--fork-server" in sys.argv:  # as the real worker does: its workers are forked
    from mbcc_probe import fork_server
    sys.exit(fork_server.serve_forks(HELLO, serve))
sys.exit(serve())
'''


def copy_store(tmp_path, bundles):
    """A store holding the given `producer/model/save_api` bundles of the shipped corpus."""
    store = tmp_path / "store"
    for bundle in bundles:
        copy_corpus_bundle(bundle, store)
    return store


def fake_candidate(tmp_path, actions):
    """A venv-like folder whose bin/python runs FAKE_WORKER with `actions` (model -> action)."""
    env = tmp_path / "fake-env"
    (env / "bin").mkdir(parents=True)
    worker = env / "fake_worker.py"
    worker.write_text(FAKE_WORKER)
    log = tmp_path / "requests.log"
    (env / "config.json").write_text(json.dumps({"log": str(log), "actions": actions}))
    python = env / "bin" / "python"
    python.write_text(f'#!/bin/bash\nexec "{sys.executable}" "{worker}" "{env / "config.json"}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return python, log


def check(tmp_path, *args):
    report_dir = tmp_path / "report"
    shutil.rmtree(report_dir, ignore_errors=True)
    result = run_mbcc("check", "--report-dir", report_dir, *args, check=False)
    report = json.loads((report_dir / "report.json").read_text())
    return result, report, ET.parse(report_dir / "report.xml").getroot()


def verdicts(report):
    """{(producer, model, save_api, load_api): verdict} of a one-candidate report."""
    return {(c["producer"], c["model"], c["save_api"], c["load_api"]): c["verdict"]
            for c in report["checks"]}


def by_model(report):
    return {c["model"]: c for c in report["checks"]}


def assert_consistent(result, report, junit):
    """report.json, report.xml and the exit code say the same thing."""
    assert report["summary"]["exit_code"] == result.returncode, result.stdout + result.stderr
    counts = Counter(c["verdict"] for c in report["checks"])
    assert report["summary"]["checks"] == len(report["checks"])
    assert {k: v for k, v in report["summary"]["verdicts"].items() if v} == dict(counts)
    cases = [tc for suite in junit.iter("testsuite")
             if suite.get("name") not in ("mbcc expectations", "mbcc run")
             for tc in suite.iter("testcase")]
    assert len(cases) == len(report["checks"])
    failing = sum(1 for c in report["checks"] if c["failure"])
    failures = [tc for tc in cases if tc.find("failure") is not None or tc.find("error") is not None]
    assert len(failures) == failing
    assert f"exit {result.returncode}" in result.stdout


# ---- a real release -----------------------------------------------------------------------------

REAL_BUNDLES = ["1.2.1/mlp/module-checkpoint", "1.5.1/lenet-hybrid/gluon-export",
                "2.0.0a0/lstm/gluon-save-parameters"]


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    mxnet_python("1.9.1")  # installed once, before mbcc check would do it
    return copy_store(tmp_path_factory.mktemp("real"), REAL_BUNDLES)


def test_a_small_store_against_1_9_1(tmp_path, real_store):
    result, report, junit = check(tmp_path, "--store", real_store, "--candidate", "1.9.1")
    got = verdicts(report)
    c_apis = ["c-predict", "c-executor", "c-cachedop"]
    for load_api in ["module-load-checkpoint", "gluon-imports"] + c_apis:
        assert got[("1.2.1", "mlp", "module-checkpoint", load_api)] == "PASS"
        assert got[("1.5.1", "lenet-hybrid", "gluon-export", load_api)] == "PASS"
    # 2.0 names parameters by structure only: a 2.0 file does not load on 1.x
    lstm = next(c for c in report["checks"] if c["model"] == "lstm")
    assert lstm["verdict"] == "LOAD_FAIL"
    assert lstm["message"]["kind"] == "parameter_name_mismatch"
    # a file newer than the candidate, which no release promised to read: apart, not failing
    assert lstm["direction"] == "forward" and not lstm["failure"]
    assert len(got) == 11
    assert result.returncode == 0
    assert report["run"]["candidates"] == ["1.9.1"]
    assert all(c["timings"]["load_ms"] > 0 for c in report["checks"] if c["verdict"] == "PASS")
    assert_consistent(result, report, junit)


def test_expectations_turn_known_failures_into_xfail_and_stale_ones_into_xpass(tmp_path,
                                                                              real_store):
    known = textwrap.dedent("""\
        schema = 1

        [[expect]]
        producer = "2.0.*"
        model = "lstm"
        candidate = "1.*"
        verdict = "LOAD_FAIL"
        reason = "2.0 writes structural parameter names"
        link = "https://github.com/apache/mxnet/issues/19580"
        """)
    expectations = tmp_path / "expectations.toml"
    expectations.write_text(known)
    result, report, junit = check(tmp_path, "--store", real_store, "--candidate", "1.9.1",
                                  "--expectations", expectations)
    lstm = by_model(report)["lstm"]
    assert (lstm["verdict"], lstm["raw_verdict"]) == ("XFAIL", "LOAD_FAIL")
    assert lstm["expectation"]["link"] == "https://github.com/apache/mxnet/issues/19580"
    assert result.returncode == 0
    assert_consistent(result, report, junit)

    stale = known + textwrap.dedent("""
        [[expect]]
        producer = "1.5.1"
        load_api = "gluon-imports"
        verdict = "LOAD_FAIL"
        reason = "long fixed"
        link = "https://example.org/fixed"
        """)
    expectations.write_text(stale)
    result, report, junit = check(tmp_path, "--store", real_store, "--candidate", "1.9.1",
                                  "--expectations", expectations)
    assert verdicts(report)[("1.5.1", "lenet-hybrid", "gluon-export", "gluon-imports")] == "XPASS"
    assert result.returncode == 1
    assert_consistent(result, report, junit)

    expired = known + textwrap.dedent("""
        [[expect]]
        model = "mlp"
        verdict = "CRASH"
        reason = "was to be fixed by 2020"
        link = "https://example.org/old"
        expires = 2020-01-01
        """)
    expectations.write_text(expired)
    result, report, junit = check(tmp_path, "--store", real_store, "--candidate", "1.9.1",
                                  "--expectations", expectations)
    assert [e["reason"] for e in report["expired_expectations"]] == ["was to be fixed by 2020"]
    assert "XPASS" not in report["summary"]["verdicts"] or not report["summary"]["verdicts"]["XPASS"]
    assert result.returncode == 1
    assert_consistent(result, report, junit)


def test_no_arguments_but_a_filter_checks_the_shipped_corpus_against_1_9_1(tmp_path):
    mxnet_python("1.9.1")
    result = subprocess.run([mbcc_bin(), "check", "--producer", "1.9.1", "--model", "mlp"],
                            cwd=tmp_path, capture_output=True, text=True)
    # the report goes to ./mbcc-report of the directory mbcc runs in
    report = json.loads((tmp_path / "mbcc-report" / "report.json").read_text())
    assert report["run"]["candidates"] == ["1.9.1"]
    assert report["run"]["store"] == str(SOURCE_DIR / "corpus")
    assert report["run"]["expectations"].endswith("corpus/expectations.toml") or \
        not (SOURCE_DIR / "corpus" / "expectations.toml").exists()
    assert {c["verdict"] for c in report["checks"]} == {"PASS"}
    assert result.returncode == 0, result.stdout + result.stderr


# ---- corrupt bundles ------------------------------------------------------------------------


def test_corrupt_bundles_are_never_sent_to_a_candidate(tmp_path):
    store = copy_store(tmp_path, ["1.5.1/lenet/gluon-save-parameters",
                                  "1.5.1/bn-cnn/gluon-save-parameters",
                                  "1.5.1/grouped-conv/gluon-save-parameters"])
    flipped = store / "v1/1.5.1/lenet/gluon-save-parameters/model/lenet.params"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    truncated = store / "v1/1.5.1/bn-cnn/gluon-save-parameters/data/output_0.npy"
    truncated.write_bytes(truncated.read_bytes()[:-7])

    python, log = fake_candidate(tmp_path, {})
    result, report, junit = check(tmp_path, "--store", store, "--candidate-python", python)
    models = by_model(report)
    assert models["lenet"]["verdict"] == "ARTIFACT_CORRUPT"
    assert "lenet.params" in models["lenet"]["detail"] and "sha256" in models["lenet"]["detail"]
    assert models["bn-cnn"]["verdict"] == "ARTIFACT_CORRUPT"
    assert "output_0.npy" in models["bn-cnn"]["detail"]
    assert models["grouped-conv"]["verdict"] == "PASS"
    served = {Path(json.loads(line)["bundle_dir"]).parent.name for line in log.open()}
    assert served == {"grouped-conv"}
    assert result.returncode == 1
    assert_consistent(result, report, junit)


# ---- candidates that misbehave --------------------------------------------------------------

MISBEHAVING = {"lenet": "segv", "lenet-hybrid": "hang", "bn-cnn": "exit-mid",
               "grouped-conv": "garbage"}


def test_a_misbehaving_candidate_ends_every_check_with_a_verdict(tmp_path):
    models = list(MISBEHAVING) + ["bn-eps-axis", "embedding-dense", "residual-shared"]
    store = copy_store(tmp_path, [f"1.5.1/{m}/gluon-save-parameters" for m in models]
                       + ["1.5.1/mlp/module-checkpoint"])
    python, log = fake_candidate(tmp_path, MISBEHAVING)
    result, report, junit = check(tmp_path, "--store", store, "--candidate-python", python,
                                  "-j", "2", "--timeout", "3")
    checks = {(c["model"], c["load_api"]): c for c in report["checks"]}
    crash = checks[("lenet", "gluon-load-parameters")]
    assert crash["verdict"] == "CRASH"
    assert "SIGSEGV" in crash["detail"] and "fake: about to die in lenet" in crash["detail"]
    assert checks[("lenet-hybrid", "gluon-load-parameters")]["verdict"] == "TIMEOUT"
    assert checks[("bn-cnn", "gluon-load-parameters")]["verdict"] == "CRASH"
    garbage = checks[("grouped-conv", "gluon-load-parameters")]
    assert garbage["verdict"] == "RUN_FAIL"
    assert "Loading symbol saved by previous version" in garbage["detail"]
    for model in ("bn-eps-axis", "embedding-dense", "residual-shared"):
        assert checks[(model, "gluon-load-parameters")]["verdict"] == "PASS"
    # the Python load APIs of mlp pass; its C API ones have no libmxnet.so to run on
    assert checks[("mlp", "module-load-checkpoint")]["verdict"] == "PASS"
    assert checks[("mlp", "gluon-imports")]["verdict"] == "PASS"
    for api in ("c-predict", "c-executor", "c-cachedop"):
        assert checks[("mlp", api)]["verdict"] == "UNSUPPORTED"
        assert "--candidate-lib" in checks[("mlp", api)]["detail"]
    assert report["run"]["candidates"] == [str(python)]
    assert result.returncode == 1
    assert report["run_errors"] == []
    assert_consistent(result, report, junit)


def test_repeated_runs_that_disagree_are_flaky(tmp_path):
    store = copy_store(tmp_path, ["1.5.1/lenet/gluon-save-parameters",
                                  "1.5.1/bn-cnn/gluon-save-parameters"])
    python, _ = fake_candidate(tmp_path, {"lenet": "flaky"})
    result, report, junit = check(tmp_path, "--store", store, "--candidate-python", python,
                                  "--repeat", "2")
    models = by_model(report)
    assert models["lenet"]["verdict"] == "FLAKY"
    assert sorted(models["lenet"]["attempts"]) == ["NUMERIC_DRIFT", "PASS"]
    assert models["bn-cnn"]["verdict"] == "PASS"
    assert models["bn-cnn"]["attempts"] == ["PASS", "PASS"]
    assert result.returncode == 1
    assert_consistent(result, report, junit)


def test_a_candidate_given_by_path_can_be_named_for_the_expectations(tmp_path):
    store = copy_store(tmp_path, ["1.5.1/lenet/gluon-save-parameters",
                                  "1.5.1/bn-cnn/gluon-save-parameters"])
    (store / "expectations.toml").write_text(textwrap.dedent("""\
        schema = 1

        [[expect]]
        model = "lenet"
        candidate = "2.0.*"
        verdict = "RUN_FAIL"
        reason = "prints its upgrade notice on stdout"
        link = "https://example.org/notice"
        """))
    python, _ = fake_candidate(tmp_path, {"lenet": "garbage"})
    result, report, junit = check(tmp_path, "--store", store,
                                  "--candidate-python", f"2.0.0rc1={python}")
    assert report["run"]["candidates"] == ["2.0.0rc1"]
    assert report["run"]["expectations"] == str(store / "expectations.toml")
    lenet = by_model(report)["lenet"]
    assert (lenet["candidate"], lenet["verdict"], lenet["raw_verdict"]) == \
        ("2.0.0rc1", "XFAIL", "RUN_FAIL")
    assert by_model(report)["bn-cnn"]["verdict"] == "PASS"
    assert result.returncode == 0
    assert_consistent(result, report, junit)


# ---- runs that cannot be done ---------------------------------------------------------------


def test_a_missing_store_or_candidate_exits_2(tmp_path):
    python, _ = fake_candidate(tmp_path, {})
    result, report, _ = check(tmp_path, "--store", tmp_path / "nowhere",
                              "--candidate-python", python)
    assert result.returncode == 2
    assert any("nowhere" in e for e in report["run_errors"])

    store = copy_store(tmp_path, ["1.5.1/lenet/gluon-save-parameters"])
    for option in ("--candidate-python", "--candidate-lib"):
        result, report, _ = check(tmp_path, "--store", store, option, tmp_path / "no-such-file")
        assert result.returncode == 2, option
        assert any("no-such-file" in e for e in report["run_errors"])
        assert report["checks"] == []

    # the candidates that can be had still run
    result, report, _ = check(tmp_path, "--store", store, "--candidate-python", python,
                              "--candidate-lib", tmp_path / "no-such-file")
    assert result.returncode == 2
    assert [(c["candidate"], c["verdict"]) for c in report["checks"]] == [(str(python), "PASS")]


def test_a_candidate_python_without_mxnet_exits_2(tmp_path):
    store = copy_store(tmp_path, ["1.5.1/lenet/gluon-save-parameters"])
    result, report, _ = check(tmp_path, "--store", store, "--candidate-python", sys.executable)
    assert result.returncode == 2
    assert by_model(report)["lenet"]["verdict"] == "CRASH"
    assert any("no python worker started" in e for e in report["run_errors"])
