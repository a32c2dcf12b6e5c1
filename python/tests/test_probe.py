"""Tests of python/mbcc_probe, the part that runs inside each MXNet release.

The pure-Python parts (the zoo catalogue, the seeded draws, the Python 3.8+ source fix) run in
any interpreter with numpy. Everything else runs the probe in real release environments found
through MBCC_TEST_MXNET_PYTHONS="1.9.1=/path/to/bin/python,2.0.0b1=/path/...", and skips,
saying so, when a release it needs is not listed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

from mbcc_probe import catalog, opcount, py311, weights, zoo  # noqa: E402
from mbcc_probe.runtime import parse_version  # noqa: E402

ENV_VAR = "MBCC_TEST_MXNET_PYTHONS"
ALL_MODELS = [m.name for m in zoo.MODELS]
# the first zoo: every save API on 1.9.1; the architectures added for issue 16 are covered per
# release through the graph-carrying save APIs (test_grown_zoo_builds_where_the_release_can)
BASE_MODELS = [
    "mlp", "softmax-output", "lenet", "lenet-hybrid", "lstm", "bn-cnn", "residual-shared", "grouped-conv",
    "bilstm-gru", "bn-eps-axis", "embedding-dense",
]
GROWN_MODELS = [m for m in ALL_MODELS if m not in BASE_MODELS]


def release_pythons():
    out = {}
    for item in os.environ.get(ENV_VAR, "").split(","):
        if "=" in item:
            version, python = item.split("=", 1)
            out[version.strip()] = python.strip()
    return out


def python_for(version):
    py = release_pythons().get(version)
    if not py:
        pytest.skip("MXNet %s: not listed in %s (version=/path/to/python,...)" % (version, ENV_VAR))
    return py


def run_probe(python, *args, timeout=1800, lines=True):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(
        [python, "-m", "mbcc_probe", *map(str, args), *(["--jobs", "2"] if args[0] == "generate" else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
    )
    assert proc.returncode == 0, "probe exited %d:\n%s" % (proc.returncode, proc.stderr.decode()[-4000:])
    if not lines:
        return json.loads(proc.stdout.decode())
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def tree_bytes(root):
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- no MXNet needed ----------------------------------------------------------------------


def test_zoo_has_the_required_models():
    required = set(BASE_MODELS) | {
        "resnet18-v1", "resnet50-v2", "densenet", "mobilenet-v1", "mobilenet-v2", "vgg-bn", "bert-encoder",
        "seq2seq-attn", "ssd-head", "unet-seg", "style-transfer", "groupnorm-se", "arcface",
        "resnet18-v1-int8", "inception-bn-sym", "global-pool-pad", "grouped-conv-sym",
    }
    assert required <= set(ALL_MODELS)
    assert len(GROWN_MODELS) >= 15
    for m in zoo.MODELS:
        assert m.targets, "%s names no break it targets" % m.name
        assert m.inputs


def test_list_runs_without_mxnet():
    doc = run_probe(sys.executable, "list", lines=False)
    assert [m["name"] for m in doc["models"]] == ALL_MODELS
    assert {a["name"] for a in doc["save_apis"]} == set(catalog.SAVE_APIS)


def test_every_load_api_of_a_save_api_is_known():
    for api, (_, loads) in catalog.SAVE_APIS.items():
        for load in loads:
            assert load in catalog.LOAD_APIS, (api, load)


def test_inputs_and_params_are_seeded_and_independent_of_order():
    spec = zoo.get("lstm")
    a = weights.make_inputs(spec, 7)
    weights.make_inputs(zoo.get("bn-cnn"), 7)  # another model in between changes nothing
    b = weights.make_inputs(spec, 7)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
    assert a[0].dtype == np.float32 and np.all(a[0] == np.round(a[0]))  # token ids
    assert weights.make_inputs(spec, 8)[0].tobytes() != a[0].tobytes()
    rs1 = weights.stream(7, "bn-cnn", "params")
    rs2 = weights.stream(7, "bn-cnn", "params")
    v1 = weights.draw_param(rs1, "bncnn_batchnorm0_running_var", (6,))
    v2 = weights.draw_param(rs2, "0.running_var", (6,))
    assert v1.tobytes() == v2.tobytes() and v1.min() > 0


def test_py311_fix_turns_yield_listcomp_into_generator():
    src = (
        "class L:\n"
        "    def __iter__(self):\n"
        "        generator = lambda: [(yield self.f([self.d[i] for i in batch]))\n"
        "                             for batch in self.s]\n"
        "        return generator()\n"
    )
    with pytest.raises(SyntaxError):
        compile(src, "dataloader.py", "exec")
    _, pattern, repl = py311.FIXES[0]
    fixed, n = pattern.subn(repl, src)
    assert n == 1
    ns = {}
    exec(compile(fixed, "dataloader.py", "exec"), ns)
    obj = ns["L"]()
    obj.f, obj.d, obj.s = sum, [1, 2, 3], [[0, 1], [2]]
    assert list(obj) == [3, 3]


# ---- inside real releases ---------------------------------------------------------------

DETERMINISM_MODELS = ["bn-cnn", "lstm", "residual-shared"]


@pytest.mark.parametrize("version", ["1.9.1", "2.0.0b1", "1.4.1", "1.0.0"])
def test_generating_twice_gives_identical_bytes(version, tmp_path):
    python = python_for(version)
    args = []
    for m in DETERMINISM_MODELS:
        args += ["--model", m]
    first = run_probe(python, "generate", "--out", tmp_path / "a", *args)
    second = run_probe(python, "generate", "--out", tmp_path / "b", *args)
    assert [r["status"] for r in first] == [r["status"] for r in second]
    assert any(r["status"] == "ok" for r in first)
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, "files differ between two runs on %s: %s" % (version, differ)
    # a case's files do not depend on which other cases were generated with it
    alone = run_probe(python, "generate", "--out", tmp_path / "c", "--model", "bn-cnn")
    c = tree_bytes(tmp_path / "c" / "bn-cnn")
    assert any(r["status"] == "ok" for r in alone)
    for name, data in c.items():
        assert a["bn-cnn/" + name] == data, name


def _expected_on_191(spec):
    """{save API: status} on 1.9.1 for cases that are not skipped."""
    if spec.kind == "symbol":
        return {"module-checkpoint": "ok"}
    if spec.name == "lenet":  # a plain Block: no symbol, no export
        return {a: "ok" for a in ("gluon-save-params", "gluon-save-parameters", "gluon-save-parameters-np", "gluon-block-save")}
    out = {a: "ok" for a in catalog.SAVE_APIS}
    if spec.hybrid == "rnn":
        # 1.x Gluon RNN layers cannot run hybridized in np mode (begin state of batch 0)
        out["gluon-export-np"] = "failed"
    return out


def test_every_model_makes_every_applicable_bundle_on_191(tmp_path):
    python = python_for("1.9.1")
    results = run_probe(python, "generate", "--out", tmp_path, *[a for m in BASE_MODELS for a in ("--model", m)])
    by_case = {(r["model"], r["save_api"]): r for r in results}
    assert len(by_case) == len(BASE_MODELS) * len(catalog.SAVE_APIS)
    for spec in map(zoo.get, BASE_MODELS):
        for api in catalog.SAVE_APIS:
            r = by_case[(spec.name, api)]
            expected = _expected_on_191(spec).get(api)
            if expected == "ok":
                assert r["status"] == "ok", r
                _check_bundle(tmp_path / spec.name / api, spec, api)
            elif expected == "failed":
                assert r["status"] == "failed" and "Shape inconsistent" in r["reason"], r
                assert not (tmp_path / spec.name / api).exists()
            else:
                assert r["status"] == "skipped" and r["reason"], r
                assert not (tmp_path / spec.name / api).exists()
    report = json.loads((tmp_path / "probe-report.json").read_text())
    assert report["producer"]["mxnet_version"] == "1.9.1"
    assert report["producer"]["mxget_version"] == 10901
    assert "time" not in json.dumps(report).lower()


def _check_bundle(bundle, spec, api):
    meta = json.loads((bundle / "probe.json").read_text())
    assert meta["model"] == spec.name and meta["save_api"] == api
    assert meta["load_apis"] == catalog.SAVE_APIS[api][1]
    for f in meta["model_files"]:
        assert (bundle / f["path"]).is_file(), f
    for t in meta["inputs"] + meta["outputs"]:
        arr = np.load(bundle / t["file"])
        assert list(arr.shape) == t["shape"] and str(arr.dtype) == t["dtype"], t
        assert np.all(np.isfinite(arr))
    assert any(c["status"] == "ok" for c in meta["self_check"])
    if any(f["role"] == "symbol" for f in meta["model_files"]):
        index = json.loads((bundle / "internals" / "index.json").read_text())
        assert index["count"] > 0 and all(o["op"] != "null" for o in index["outputs"])
        # schema 2: one archive holds every node's output, one member each
        with np.load(bundle / "internals" / "internals.npz") as archive:
            assert sorted(archive.files) == sorted(o["member"] for o in index["outputs"])
            for o in index["outputs"]:
                assert o["file"] == "internals/internals.npz"
                assert list(archive[o["member"]].shape) == o["shape"]


@pytest.mark.parametrize(
    "version, model, api, words",
    [
        ("1.0.0", "lenet-hybrid", "gluon-save-parameters", "does not exist"),
        ("1.0.0", "lenet-hybrid", "gluon-block-save", "does not exist"),
        ("1.0.0", "lstm", "gluon-export", "not a HybridBlock"),
        ("1.0.0", "mlp", "gluon-export", "symbol-API model"),
        ("2.0.0b1", "lenet-hybrid", "gluon-save-params", "does not exist"),
        ("2.0.0b1", "lenet", "gluon-export", "not a HybridBlock"),
        ("2.0.0b1", "bn-cnn", "gluon-export-np", "already"),
        ("1.4.1", "bn-cnn", "gluon-export-np", "first in 1.6"),
        ("2.0.0a0", "softmax-output", "module-checkpoint", "SoftmaxOutput does not exist"),
    ],
)
def test_absent_apis_are_reported_with_a_reason(version, model, api, words, tmp_path):
    python = python_for(version)
    (r,) = run_probe(python, "generate", "--out", tmp_path, "--model", model, "--save-api", api)
    assert r["status"] == "skipped" and words in r["reason"], r
    assert not (tmp_path / model / api).exists()
    report = json.loads((tmp_path / "probe-report.json").read_text())
    assert report["results"][0]["reason"] == r["reason"]


PRESENT = {
    "1.0.0": {"module-checkpoint", "gluon-save-params", "gluon-export"},
    "1.4.1": {"module-checkpoint", "gluon-save-params", "gluon-save-parameters", "gluon-export"},
    "2.0.0a0": {"module-checkpoint", "gluon-save-parameters", "gluon-export", "gluon-block-save",
                "gluon-save-parameters-np", "gluon-export-np"},
    "2.0.0b1": {"module-checkpoint", "gluon-save-parameters", "gluon-export", "gluon-block-save"},
}


@pytest.mark.parametrize("version", sorted(PRESENT))
def test_present_apis_produce_bundles(version, tmp_path):
    python = python_for(version)
    results = run_probe(python, "generate", "--out", tmp_path, "--model", "bn-eps-axis")
    ok = {r["save_api"] for r in results if r["status"] == "ok"}
    assert ok == PRESENT[version], results
    assert all(r["status"] == "skipped" for r in results if r["save_api"] not in ok), results


def test_loaders_read_back_a_bundle_in_a_fresh_process(tmp_path):
    python = python_for("1.9.1")
    run_probe(python, "generate", "--out", tmp_path, "--model", "bn-cnn", "--save-api", "gluon-export")
    bundle = tmp_path / "bn-cnn" / "gluon-export"
    code = (
        "import sys, numpy as np\n"
        "from mbcc_probe import loaders\n"
        "outs = loaders.load_and_run(sys.argv[1], sys.argv[2])\n"
        "gold = np.load(sys.argv[1] + '/data/output_0.npy')\n"
        "assert len(outs) == 1 and np.allclose(outs[0], gold, rtol=1e-5, atol=1e-6)\n"
        "try:\n"
        "    loaders.load_and_run(sys.argv[1], 'gluon-load-parameters')\n"
        "except loaders.Unsupported as e:\n"
        "    print('unsupported:', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    for api in ("gluon-imports", "module-load-checkpoint"):
        proc = subprocess.run([python, "-c", code, str(bundle), api], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "unsupported: load API gluon-load-parameters does not apply" in proc.stdout


def test_a_real_break_reproduces_across_releases(tmp_path):
    """prior-art #6 (#12486): 1.2.1 exports a graph that calls one block twice; 1.4.1's
    SymbolBlock.imports rejects its duplicate output names, while Module reads it."""
    producer, candidate = python_for("1.2.1"), python_for("1.4.1")
    (r,) = run_probe(producer, "generate", "--out", tmp_path, "--model", "residual-shared", "--save-api", "gluon-export")
    assert r["status"] == "ok" and "producer_load_failures" not in r, r
    code = (
        "import sys\n"
        "from mbcc_probe import loaders\n"
        "try:\n"
        "    loaders.load_and_run(sys.argv[1], 'gluon-imports')\n"
        "    print('imports: PASS')\n"
        "except Exception as e:\n"
        "    print('imports: FAIL', e)\n"
        "loaders.load_and_run(sys.argv[1], 'module-load-checkpoint')\n"
        "print('module: PASS')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    proc = subprocess.run([candidate, "-c", code, str(tmp_path / "residual-shared" / "gluon-export")],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "imports: FAIL There are multiple outputs with name" in proc.stdout, proc.stdout
    assert "module: PASS" in proc.stdout


# ---- the grown zoo (issue 16) -------------------------------------------------------------

GRAPH_APIS = ("gluon-export", "module-checkpoint")
MULTI_INPUT = {"seq2seq-attn", "arcface", "roi-head"}
# model -> (first release that builds it, words of the reason given before it)
FIRST = {
    "mobilenet-v2": ("1.2.0", "MobileNetV2 does not exist"),
    "style-transfer": ("1.2.0", "ReflectionPad2D does not exist"),
    "unet-seg": ("1.2.0", "BilinearResize2D does not exist"),
    "arcface": ("1.2.0", "PReLU does not exist"),
    "seq2seq-attn": ("1.3.0", "not a HybridBlock"),
    "roi-head": ("1.3.0", "ROIAlign does not exist"),
    "bert-encoder": ("1.6.0", "does not exist"),  # LayerNorm before 1.2, GELU before 1.6
    "groupnorm-se": ("1.6.0", "GroupNorm does not exist"),
}
MKLDNN_RELEASES = {"1.9.1", "2.0.0a0", "2.0.0b1"}  # among the releases the tests install


def _grown_expected(version, spec, api):
    """'ok' or words of the skip reason for a graph-carrying case of a grown-zoo model."""
    if spec.kind == "symbol":
        if api == "gluon-export":
            return "symbol-API model"
        if spec.name == "inception-bn-sym" and version == "2.0.0a0":
            return "SoftmaxOutput does not exist"
        return "ok"
    if spec.name == "resnet18-v1-int8":
        if api != "gluon-export":
            return "only its exported graph"
        return "ok" if version in MKLDNN_RELEASES else "no MKLDNN/oneDNN"
    first = FIRST.get(spec.name)
    if first and parse_version(version) < parse_version(first[0]):
        return first[1]
    if api == "module-checkpoint" and spec.name in MULTI_INPUT:
        return "supports one input"
    return "ok"


@pytest.mark.parametrize("version", ["1.9.1", "2.0.0b1", "2.0.0a0", "1.4.1", "1.2.1", "1.0.0"])
def test_grown_zoo_builds_where_the_release_can(version, tmp_path):
    """Every added model through both graph-carrying save APIs: built, saved with internals and
    read back on the producer where the release can build it, else skipped with the reason.
    One interpreter for all cases (--in-process) keeps this to about a minute per release."""
    python = python_for(version)
    args = [a for m in GROWN_MODELS for a in ("--model", m)] + [a for api in GRAPH_APIS for a in ("--save-api", api)]
    results = run_probe(python, "generate", "--out", tmp_path, "--in-process", *args)
    by_case = {(r["model"], r["save_api"]): r for r in results}
    assert len(by_case) == len(GROWN_MODELS) * len(GRAPH_APIS)
    for spec in map(zoo.get, GROWN_MODELS):
        for api in GRAPH_APIS:
            r, expected = by_case[(spec.name, api)], _grown_expected(version, spec, api)
            if expected == "ok":
                assert r["status"] == "ok", r
                _check_bundle(tmp_path / spec.name / api, spec, api)
            else:
                assert r["status"] == "skipped" and expected in r["reason"], (expected, r)
                assert not (tmp_path / spec.name / api).exists()
    if version == "1.4.1":
        # #12486 again, in a real architecture: TextCNN's one pooling block called twice
        failures = by_case[("textcnn", "gluon-export")].get("producer_load_failures", [])
        assert any("multiple outputs with name" in f["reason"] for f in failures), by_case[("textcnn", "gluon-export")]
    ops = opcount.summary(str(tmp_path))
    line = "2.0" if version.startswith("2.") else "1.x"
    assert ops[line] == ops["combined"]
    if version == "1.9.1":
        assert ops["1.x"] >= 60, ops["ops_1.x"]
        assert {"LRN", "add_n", "GroupNorm", "_contrib_MultiBoxDetection", "_sg_mkldnn_conv", "Deconvolution",
                "Crop", "L2Normalization", "InstanceNorm", "LayerNorm"} <= set(ops["ops_1.x"])
    if version == "2.0.0b1":
        assert {"_npi_add", "_npi_transpose", "_npx_reshape", "_split_v2", "_sg_onednn_conv"} <= set(ops["ops_2.0"])


def test_opcount_groups_graph_ops_by_producer_line(tmp_path):
    for version, model, op_names in (("1.9.1", "a", ["Convolution", "relu"]), ("2.0.0b1", "b", ["_npi_add", "relu"])):
        bundle = tmp_path / version / model / "gluon-export"
        (bundle / "model").mkdir(parents=True)
        nodes = [{"op": "null", "name": "data"}] + [{"op": o, "name": o} for o in op_names]
        (bundle / "model" / (model + "-symbol.json")).write_text(json.dumps({"nodes": nodes}))
        (bundle / "probe.json").write_text(json.dumps({"producer": {"mxnet_version": version}}))
    doc = opcount.summary(str(tmp_path))
    assert (doc["1.x"], doc["2.0"], doc["combined"]) == (2, 2, 3)
    assert doc["only_2.0"] == ["_npi_add"]
    (tmp_path / "1.9.1" / "a" / "gluon-export" / "probe.json").unlink()
    with pytest.raises(ValueError, match="no producer version"):
        opcount.summary(str(tmp_path))


def _run_on(candidate, bundle, load_api):
    """Outputs of ``bundle`` loaded through ``load_api`` on the candidate release, as numpy."""
    code = (
        "import sys, numpy as np\n"
        "from mbcc_probe import loaders\n"
        "np.save(sys.argv[3], loaders.load_and_run(sys.argv[1], sys.argv[2])[0])\n"
    )
    out = bundle.parent / ("candidate-" + load_api + ".npy")
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    proc = subprocess.run([candidate, "-c", code, str(bundle), load_api, str(out)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out)


def test_global_pooling_that_counts_padding_drifts_from_1_2(tmp_path):
    """#9730/#14421: 1.0 lets global pooling count its pad; 1.2.0 and later ignore it. The same
    Module checkpoint, written by 1.0.0, gives other numbers on 1.9.1, while 1.2.1's matches."""
    candidate = python_for("1.9.1")
    errors = {}
    for producer in ("1.0.0", "1.2.1"):
        out = tmp_path / producer
        (r,) = run_probe(python_for(producer), "generate", "--out", out, "--model", "global-pool-pad",
                         "--save-api", "module-checkpoint")
        assert r["status"] == "ok", r
        bundle = out / "global-pool-pad" / "module-checkpoint"
        golden = np.load(bundle / "data" / "output_0.npy")
        errors[producer] = float(np.abs(_run_on(candidate, bundle, "module-load-checkpoint") - golden).max())
    assert errors["1.2.1"] < 1e-5 and errors["1.0.0"] > 1e-2, errors


GROWN_DETERMINISM = ["ssd-head", "resnet18-v1-int8"]


@pytest.mark.parametrize("version", ["1.9.1", "2.0.0b1"])
def test_grown_models_generate_identical_bytes_twice(version, tmp_path):
    python = python_for(version)
    args = [a for m in GROWN_DETERMINISM for a in ("--model", m)] + ["--save-api", "gluon-export"]
    first = run_probe(python, "generate", "--out", tmp_path / "a", *args)
    run_probe(python, "generate", "--out", tmp_path / "b", *args)
    assert all(r["status"] == "ok" for r in first), first
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert not [name for name in a if a[name] != b[name]]
