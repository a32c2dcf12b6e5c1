"""Tests of the candidate-side Python worker (python -m mbcc_probe.worker) in real releases.

Bundles are made on the fly by the probe in each release's environment (installed by mbcc on
first use); the worker then reads them back through its protocol, and its outputs must be the
goldens the bundle holds. One test needs no MXNet: a worker that cannot import it refuses in
its hello.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import SOURCE_DIR, mxnet_python

PYTHON_DIR = SOURCE_DIR / "python"
RELEASES = ["1.9.1", "2.0.0b1"]
ALL_PYTHON_LOAD_APIS = ["module-load-checkpoint", "gluon-imports", "gluon-load-params",
                        "gluon-load-parameters", "gluon-block-load"]


def probe_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR)
    return env


class Worker:
    """One worker process, spoken to as mbcc's pool does: one JSON line each way."""

    def __init__(self, python):
        self.proc = subprocess.Popen([python, "-m", "mbcc_probe.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=probe_env(),
                                     text=True)
        self.hello = self.read()
        self.next_id = 1

    def read(self):
        line = self.proc.stdout.readline()
        assert line, "worker ended; stderr:\n" + self.proc.stderr.read()[-4000:]
        return json.loads(line)  # anything else on stdout is a protocol break

    def ask(self, bundle, load_api, out_dir, internals=False, inputs=None, **extra):
        meta = json.loads((bundle / "probe.json").read_text()) if (bundle / "probe.json").exists() else {}
        if inputs is None:
            inputs = [{"name": i["name"], "file": i["file"]} for i in meta["inputs"]]
        request = dict(id=self.next_id, bundle_dir=str(bundle), load_api=load_api, inputs=inputs,
                       out_dir=str(out_dir), internals=internals, **extra)
        self.next_id += 1
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.read()
        assert answer["id"] == request["id"]
        assert set(answer["timings"]) == {"load_ms", "run_ms"}
        return answer

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=120)
        self.proc.stderr.close()
        self.proc.stdout.close()
        return code


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """release -> the folder of its mlp bundles, made by the probe in that release."""
    out = {}
    for release in RELEASES:
        root = tmp_path_factory.mktemp("bundles-" + release)
        proc = subprocess.run([mxnet_python(release), "-m", "mbcc_probe", "generate", "--out", str(root),
                               "--model", "mlp", "--save-api", "module-checkpoint"],
                              capture_output=True, text=True, env=probe_env(), timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
        out[release] = root / "mlp"
    return out


@pytest.fixture(scope="module")
def workers():
    """release -> a running worker in that release, shared by the tests of this module."""
    started = {release: Worker(mxnet_python(release)) for release in RELEASES}
    yield started
    for worker in started.values():
        assert worker.close() == 0


def assert_goldens(answer, bundle):
    """The answer's outputs are the bundle's golden outputs, value for value."""
    assert answer["status"] == "ok", answer
    meta = json.loads((bundle / "probe.json").read_text())
    assert [o["name"] for o in answer["outputs"]] == [g["name"] for g in meta["outputs"]]
    for out, golden in zip(answer["outputs"], meta["outputs"]):
        actual = np.load(out["file"])
        expected = np.load(bundle / golden["file"])
        assert list(actual.shape) == out["shape"] == golden["shape"]
        assert str(actual.dtype) == out["dtype"] == golden["dtype"]
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_hello_says_which_load_apis_each_release_has(workers):
    old, new = workers["1.9.1"].hello, workers["2.0.0b1"].hello
    assert old["hello"] == new["hello"] == "python"
    assert (old["mxnet_version"], new["mxnet_version"]) == ("1.9.1", "2.0.0beta1")
    assert old["load_apis"] == ALL_PYTHON_LOAD_APIS and old["unsupported"] == {}
    assert (old["np_mode"], new["np_mode"]) == (False, True)
    assert "gluon-load-params" not in new["load_apis"]
    assert "Block.load_params does not exist" in new["unsupported"]["gluon-load-params"]
    assert "module-load-checkpoint" in new["load_apis"]


@pytest.mark.parametrize("candidate", RELEASES)
@pytest.mark.parametrize("producer", RELEASES)
@pytest.mark.parametrize("load_api", ["module-load-checkpoint", "gluon-imports"])
def test_outputs_are_the_goldens(workers, bundles, tmp_path, candidate, producer, load_api):
    # 2.0.0b1 reading 1.9.1 needs np-shape off for the V2 params (load_checkpoint) or MXNet's
    # own retry (imports); 1.9.1 reading 2.0.0b1's V3 params needs it on.
    bundle = bundles[producer] / "module-checkpoint"
    answer = workers[candidate].ask(bundle, load_api, tmp_path, internals=True)
    assert_goldens(answer, bundle)
    assert all(os.path.dirname(o["file"]) == str(tmp_path) for o in answer["outputs"])
    # every node's output, as the producer saw it
    assert "internals_error" not in answer, answer["internals_error"]
    index = json.loads((bundle / "internals" / "index.json").read_text())
    assert [i["name"] for i in answer["internals"]] == [e["name"] for e in index["outputs"]]
    with np.load(bundle / "internals" / "internals.npz") as archive:
        for mine, theirs in zip(answer["internals"], index["outputs"]):
            np.testing.assert_allclose(np.load(mine["file"]), archive[theirs["member"]],
                                       rtol=1e-5, atol=1e-6)


def test_a_load_api_the_release_lacks_is_unsupported(workers, bundles, tmp_path):
    answer = workers["2.0.0b1"].ask(bundles["1.9.1"] / "module-checkpoint", "gluon-load-params", tmp_path)
    assert answer["status"] == "unsupported"
    assert answer["outputs"] == []
    assert "Block.load_params does not exist on MXNet 2.0.0beta1" in answer["error"]["message"]


def test_a_load_api_that_does_not_apply_is_unsupported(workers, bundles, tmp_path):
    answer = workers["1.9.1"].ask(bundles["1.9.1"] / "module-checkpoint", "gluon-load-parameters", tmp_path)
    assert answer["status"] == "unsupported"
    assert "does not apply to a module-checkpoint bundle" in answer["error"]["message"]


@pytest.mark.parametrize("release", RELEASES)
def test_a_broken_params_file_is_a_load_fail(workers, bundles, tmp_path, release):
    bundle = tmp_path / "bundle"
    shutil.copytree(bundles[release] / "module-checkpoint", bundle)
    params = bundle / "model" / "mlp-0000.params"
    params.write_bytes(params.read_bytes()[:40])
    answer = workers[release].ask(bundle, "module-load-checkpoint", tmp_path / "out")
    assert answer["status"] == "load_fail", answer
    assert answer["error"]["kind"] == "load"
    assert answer["error"]["call"] == "mx.model.load_checkpoint"
    assert "MXNetError" in answer["error"]["message"]
    assert "[bt]" not in answer["error"]["message"]  # no C++ backtrace


def test_an_unreadable_input_is_the_requests_fault(workers, bundles, tmp_path):
    answer = workers["1.9.1"].ask(bundles["1.9.1"] / "module-checkpoint", "module-load-checkpoint", tmp_path,
                                  inputs=[{"name": "data", "file": str(tmp_path / "missing.npy")}])
    assert answer["status"] == "error"
    assert answer["error"]["kind"] == "request"
    assert "input data" in answer["error"]["message"]


def test_a_bundle_without_probe_json_is_described_by_the_request(workers, bundles, tmp_path):
    source = bundles["1.9.1"] / "module-checkpoint"
    bundle = tmp_path / "nightly-layout"
    shutil.copytree(source / "model", bundle)
    answer = workers["2.0.0b1"].ask(bundle, "module-load-checkpoint", tmp_path / "out",
                                    inputs=[{"name": "data", "file": str(source / "data" / "input_0.npy")}],
                                    symbol_file="mlp-symbol.json", params_file="mlp-0000.params")
    assert answer["status"] == "ok", answer
    np.testing.assert_allclose(np.load(answer["outputs"][0]["file"]),
                               np.load(source / "data" / "output_0.npy"), rtol=1e-5, atol=1e-6)


def test_a_python_without_mxnet_refuses_in_its_hello():
    proc = subprocess.run([sys.executable, "-m", "mbcc_probe.worker"], input="", capture_output=True,
                          text=True, env=probe_env(), timeout=120)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    hello = json.loads(lines[0])
    assert hello["hello"] == "python"
    assert hello["error"]["kind"] == "import"
    assert "mxnet" in hello["error"]["message"]
