"""`mbcc add` with models the tests make themselves on real releases, outside the zoo: a
gluon.model_zoo.vision network exported on 1.4.1, a Module checkpoint with a label input written
by 1.2.1, a graph with an int32 and a float32 input, a user's Block in a package that is deleted
before the check; and each bad input, which must name what is wrong and leave the store as it
was. The bundles are then checked on another release with `mbcc check`."""
import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import mbcc_bin, mxnet_python, run_mbcc

# Written inside a release's environment: the user's own models, as their training saved them.
MAKE_MODELS = r'''
import os, sys
import mxnet as mx
out, which = sys.argv[1], sys.argv[2:]
os.makedirs(out, exist_ok=True)
mx.random.seed(3)
if "vision" in which:
    from mxnet.gluon.model_zoo import vision
    net = vision.get_model("mobilenet0.25", classes=10)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.ones((1, 3, 32, 32)))
    net.export(os.path.join(out, "mnet"))
if "module" in which:
    data = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=16, name="fc1"), act_type="relu")
    out_sym = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=5, name="fc2"), name="softmax")
    mod = mx.mod.Module(out_sym, data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (2, 20))], label_shapes=[("softmax_label", (2,))])
    mod.init_params(mx.init.Xavier())
    mod.save_checkpoint(os.path.join(out, "mlp"), 3)
if "two" in which:
    tokens = mx.sym.var("tokens", dtype="int32")
    x = mx.sym.var("x")
    emb = mx.sym.sum(mx.sym.Embedding(tokens, input_dim=50, output_dim=8, name="emb"), axis=1)
    y = mx.sym.broadcast_add(emb, mx.sym.FullyConnected(x, num_hidden=8, name="fcx"), name="out")
    ex = y.simple_bind(mx.cpu(), tokens=(1, 4), x=(1, 6), type_dict={"tokens": "int32"})
    args = {k: v for k, v in ex.arg_dict.items() if k not in ("tokens", "x")}
    for v in args.values():
        v[:] = mx.nd.random.uniform(-1, 1, v.shape)
    mx.model.save_checkpoint(os.path.join(out, "two"), 0, y, args, {})
'''

BLOCK_PACKAGE = {
    "teamnets/__init__.py": "",
    "teamnets/small.py": textwrap.dedent('''
        from mxnet import gluon


        class Small(gluon.HybridBlock):
            def __init__(self, hidden, classes, **kwargs):
                super(Small, self).__init__(**kwargs)
                with self.name_scope():
                    self.body = gluon.nn.Dense(hidden, activation="tanh")
                    self.head = gluon.nn.Dense(classes)

            def hybrid_forward(self, F, x):
                return self.head(self.body(x))


        def build(hidden, classes):
            return Small(hidden, classes)
        '''),
}

SAVE_BLOCK = r'''
import sys
import mxnet as mx
sys.path.insert(0, sys.argv[1])
from teamnets.small import build
net = build(hidden=12, classes=3)
net.initialize(mx.init.Xavier())
net(mx.nd.ones((1, 7)))
net.save_parameters(sys.argv[2])
'''


def make_models(tmp, release, *which):
    subprocess.run([mxnet_python(release), "-c", MAKE_MODELS, str(tmp), *which], check=True,
                   capture_output=True)
    return tmp


@pytest.fixture(scope="module")
def models_141(tmp_path_factory):
    return make_models(tmp_path_factory.mktemp("m141"), "1.4.1", "vision", "module", "two")


def add(store, *args, check=True):
    return run_mbcc("add", *args, "--store", store, check=check)


def manifest(store, key):
    return json.loads((Path(store) / "v1" / key / "manifest.json").read_text())


def check_verdicts(store, candidate, tmp_path):
    report_dir = tmp_path / ("report-" + candidate)
    result = subprocess.run([mbcc_bin(), "check", "--store", str(store), "--candidate", candidate,
                             "--report-dir", str(report_dir)], capture_output=True, text=True)
    report = json.loads((report_dir / "report.json").read_text())
    got = {(c["producer"], c["model"], c["save_api"], c["load_api"]): c["verdict"]
           for c in report["checks"]}
    return result, got


def store_files(store):
    return sorted(str(p.relative_to(store)) for p in Path(store).rglob("*")) if Path(store).exists() else []


def test_a_vision_net_exported_on_1_4_1_is_added_and_passes_on_1_9_1(models_141, tmp_path):
    store = tmp_path / "store"
    result = add(store, models_141 / "mnet-symbol.json", models_141 / "mnet-0000.params",
                 "--name", "mnet", "--input", "data=1,3,32,32")
    assert "1.4.1/mnet/gluon-export: written" in result.stdout
    m = manifest(store, "1.4.1/mnet/gluon-export")
    assert m["producer"]["version"] == "1.4.1" and m["producer"]["mxnet_version"] == "1.4.1"
    assert m["origin"]["kind"] == "user"
    assert m["origin"]["producer_from"] == "the graph's mxnet_version 10401"
    assert m["origin"]["command"][:2] == ["mbcc", "add"] and "data=1,3,32,32" in m["origin"]["command"]
    assert m["origin"]["file_kinds"]["model/mnet-0000.params"] == "parameters (NDArray list V2)"
    assert m["origin"]["file_kinds"]["model/mnet-symbol.json"].startswith("symbol JSON")
    assert [(i["name"], i["shape"], i["dtype"]) for i in m["inputs"]] == [("data", [1, 3, 32, 32], "float32")]
    assert m["outputs"][0]["shape"] == [1, 10]
    bundle = store / "v1" / "1.4.1" / "mnet" / "gluon-export"
    # schema 3 keeps the internals' entries in a file of the bundle
    internals = m["internals"].get("outputs") or json.loads(
        (bundle / m["internals"]["index"]).read_text())["outputs"]
    assert m["internals"]["status"] == "present" and len(internals) > 20
    # the user's files byte for byte
    for name in ("mnet-symbol.json", "mnet-0000.params"):
        assert (bundle / "model" / name).read_bytes() == (models_141 / name).read_bytes()
    # the golden is what 1.4.1 itself computes from the input in the bundle
    x = np.load(bundle / "data" / "input_0.npy")
    assert x.min() >= -1 and x.max() < 1 and x.std() > 0.3

    result, got = check_verdicts(store, "1.9.1", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert got == {("1.4.1", "mnet", "gluon-export", api): "PASS"
                   for api in ("gluon-imports", "module-load-checkpoint", "c-predict", "c-executor",
                               "c-cachedop")}


def test_a_module_checkpoint_with_a_label_written_by_1_2_1(tmp_path):
    models = make_models(tmp_path / "m121", "1.2.1", "module")
    store = tmp_path / "store"
    add(store, models / "mlp-symbol.json", models / "mlp-0003.params", "--name", "team-mlp")
    m = manifest(store, "1.2.1/team-mlp/module-checkpoint")
    # data's shape from fc1's weight (20 features, a batch of 1), the label's from infer_shape
    assert [(i["name"], i["shape"], i["kind"]) for i in m["inputs"]] == [
        ("data", [1, 20], "float"), ("softmax_label", [1], "label")]
    assert m["import_input_names"] == ["data", "softmax_label"]
    assert {c["load_api"]: c["status"] for c in m["self_check"]} == {
        "module-load-checkpoint": "ok", "gluon-imports": "ok"}
    result, got = check_verdicts(store, "1.9.1", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(got.values()) == {"PASS"} and len(got) == 5


def test_two_inputs_of_different_dtypes_keep_their_dtypes_and_ranges(models_141, tmp_path):
    store = tmp_path / "store"
    add(store, models_141 / "two-symbol.json", models_141 / "two-0000.params", "--name", "two",
        "--input", "tokens=1,4")
    m = manifest(store, "1.4.1/two/module-checkpoint")
    assert [(i["name"], i["shape"], i["dtype"], i["kind"]) for i in m["inputs"]] == [
        ("tokens", [1, 4], "int32", "tokens"), ("x", [1, 6], "float32", "float")]
    bundle = store / "v1" / "1.4.1" / "two" / "module-checkpoint"
    tokens = np.load(bundle / "data" / "input_0.npy")
    assert tokens.dtype == np.int32 and tokens.min() >= 0 and tokens.max() < 50  # emb's input_dim
    result, got = check_verdicts(store, "1.9.1", tmp_path)
    assert got[("1.4.1", "two", "module-checkpoint", "gluon-imports")] == "PASS", result.stdout


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".params"])
def test_an_input_file_gives_the_values(models_141, tmp_path, suffix):
    store = tmp_path / "store"
    mine = np.arange(20, dtype=np.float32).reshape(1, 20) / 20
    np.savez(tmp_path / "mine.npz", data=mine)
    if suffix == ".npy":
        np.save(tmp_path / "mine.npy", mine)
    if suffix == ".params":  # as mx.nd.save writes it, through mbcc's own converter
        run_mbcc("convert", tmp_path / "mine.npz", tmp_path / "mine.params", "--to", "v2")
    add(store, models_141 / "mlp-symbol.json", models_141 / "mlp-0003.params", "--name", "mlp",
        "--input-file", f"data={tmp_path / ('mine' + suffix)}")
    bundle = store / "v1" / "1.4.1" / "mlp" / "module-checkpoint"
    assert (np.load(bundle / "data" / "input_0.npy") == mine).all()


def write_package(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_a_user_block_is_checked_after_its_package_is_deleted(tmp_path):
    package = tmp_path / "checkout"
    write_package(package, BLOCK_PACKAGE)
    params = tmp_path / "small.params"
    subprocess.run([mxnet_python("1.9.1"), "-c", SAVE_BLOCK, str(package), str(params)], check=True,
                   capture_output=True)
    store = tmp_path / "store"
    add(store, params, "--name", "small", "--producer", "1.9.1", "--block", "teamnets.small:build",
        "--python-path", package, "--kwargs", '{"hidden": 12, "classes": 3}', "--input", "x=2,7")
    m = manifest(store, "1.9.1/small/gluon-save-parameters")
    assert m["origin"]["block"] == {"callable": "teamnets.small:build",
                                    "kwargs": {"hidden": 12, "classes": 3}, "path": "block"}
    sources = {f["path"]: f for f in m["files"] if f["role"] == "block-source"}
    assert set(sources) == {"block/teamnets/__init__.py", "block/teamnets/small.py"}
    assert m["load_apis"] == ["gluon-load-parameters"]
    shutil.rmtree(package)
    result, got = check_verdicts(store, "1.9.1", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert got == {("1.9.1", "small", "gluon-save-parameters", "gluon-load-parameters"): "PASS"}


# ---- bad input: a clear error, and the store as it was -------------------------------------


@pytest.mark.parametrize("callable_, kwargs, expected", [
    ("teamnets.absent:build", '{"hidden": 12, "classes": 3}', "No module named 'teamnets.absent'"),
    ("teamnets.small:build", '{"hidden": 13, "classes": 3}', "gluon-load-parameters on MXNet 1.9.1"),
    ("teamnets.broken:build", "{}", "ValueError: this Block cannot run"),
])
def test_a_block_that_cannot_import_load_or_run_is_named(tmp_path, callable_, kwargs, expected):
    package = tmp_path / "checkout"
    write_package(package, {**BLOCK_PACKAGE, "teamnets/broken.py": textwrap.dedent('''
        from teamnets.small import Small


        class Broken(Small):
            def hybrid_forward(self, F, x):
                raise ValueError("this Block cannot run")


        def build():
            return Broken(12, 3)
        ''')})
    params = tmp_path / "small.params"
    subprocess.run([mxnet_python("1.9.1"), "-c", SAVE_BLOCK, str(package), str(params)], check=True,
                   capture_output=True)
    store = tmp_path / "store"
    result = add(store, params, "--name", "small", "--producer", "1.9.1", "--block", callable_,
                 "--python-path", package, "--kwargs", kwargs, "--input", "x=1,7", check=False)
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert store_files(store) == []


@pytest.fixture(scope="module")
def bad_files(models_141, tmp_path_factory):
    """Damaged copies of the 1.4.1 Module checkpoint, written with the release's own nd.save."""
    d = tmp_path_factory.mktemp("bad")
    code = r'''
import sys, mxnet as mx
src, out = sys.argv[1], sys.argv[2]
p = mx.nd.load(src)
missing = dict(p); del missing["arg:fc2_bias"]; mx.nd.save(out + "/missing.params", missing)
extra = dict(p); extra["arg:fc3_weight"] = mx.nd.ones((2, 2)); mx.nd.save(out + "/extra.params", extra)
shape = dict(p); shape["arg:fc2_weight"] = mx.nd.ones((5, 7)); mx.nd.save(out + "/shape.params", shape)
'''
    subprocess.run([mxnet_python("1.4.1"), "-c", code, str(models_141 / "mlp-0003.params"), str(d)],
                   check=True, capture_output=True)
    whole = (models_141 / "mlp-0003.params").read_bytes()
    (d / "truncated.params").write_bytes(whole[: len(whole) - 100])
    (d / "page.params").write_text("<html><body>404 Not Found</body></html>")
    graph = json.loads((models_141 / "mlp-symbol.json").read_text())
    graph["attrs"]["mxnet_version"] = ["int", 20000]
    (d / "v2-symbol.json").write_text(json.dumps(graph))
    del graph["attrs"]["mxnet_version"]
    (d / "none-symbol.json").write_text(json.dumps(graph))
    return d


@pytest.mark.parametrize("graph, params, extra, expected", [
    (None, "missing.params", [], "no array for fc2_bias, the parameter of node fc2 (FullyConnected)"),
    (None, "extra.params", [], "array fc3_weight is no variable of the graph mlp-symbol.json"),
    (None, "truncated.params", [], "truncated.params"),
    (None, "page.params", [], "page.params: HTML page, not a graph"),
    ("v2-symbol.json", None, [], "which 2.0.0a0 and 2.0.0b1 both record: give --producer 2.0.0a0 or --producer 2.0.0b1"),
    ("none-symbol.json", None, [], "records no MXNet version"),
    (None, None, ["--input-range", "nothing=0:3"], "--input-range: found nothing"),
    (None, "shape.params", [], "the graph rejects the shapes"),
    (None, None, ["--input", "data=1,7"], "the graph rejects the shapes"),
    (None, None, ["--producer", "1.9.7"], "1.9.7 cannot be installed"),
])
def test_bad_input_is_named_and_leaves_the_store_unchanged(models_141, bad_files, tmp_path, graph,
                                                           params, extra, expected):
    store = tmp_path / "store"
    (store / "v1").mkdir(parents=True)
    graph_file = bad_files / graph if graph else models_141 / "mlp-symbol.json"
    params_file = bad_files / params if params else models_141 / "mlp-0003.params"
    result = add(store, graph_file, params_file, "--name", "bad", *extra, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert "nothing was written" in result.stderr
    assert store_files(store) == ["v1"]


def test_an_existing_bundle_is_kept_unless_forced_and_a_killed_add_leaves_nothing(models_141, tmp_path):
    store = tmp_path / "store"
    files = [models_141 / "mlp-symbol.json", models_141 / "mlp-0003.params"]
    args = [*files, "--name", "mlp"]
    add(store, *args)
    before = manifest(store, "1.4.1/mlp/module-checkpoint")
    refused = add(store, *args, "--input-range", "softmax_label=0:5", check=False)
    assert refused.returncode == 1 and "--force replaces it" in refused.stderr
    assert add(store, *args, "--input-range", "softmax_label=0:5", "--force").stdout.count("replaced") == 1
    assert manifest(store, "1.4.1/mlp/module-checkpoint") != before

    fresh = tmp_path / "killed"
    proc = subprocess.Popen([mbcc_bin(), "add", *map(str, files), "--name", "mlp2", "--store", str(fresh)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not list(fresh.glob(".tmp-generate-*/probe/mlp2/*/model/*")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (fresh / "v1").exists()
    assert list(fresh.glob(".tmp-generate-*"))  # killed with its work folder there
    add(fresh, *files, "--name", "mlp3")  # and the next add cleans the killed one's folder
    assert [p.name for p in fresh.iterdir()] == ["v1"]
    assert [p.name for p in (fresh / "v1" / "1.4.1").iterdir()] == ["mlp3"]


# ---- 2.0: one version number for two releases, and Block.save -------------------------------

EXPORT_2 = r'''
import sys
import mxnet as mx
from mxnet.gluon.model_zoo import vision
net = vision.get_model("mobilenet0.25", classes=10)
net.initialize(mx.init.Xavier())
net.hybridize()
net(mx.np.ones((1, 3, 32, 32)))
net.export(sys.argv[1])
'''

BLOCK_2 = {
    "teamnets2/__init__.py": "",
    "teamnets2/tiny.py": textwrap.dedent('''
        from mxnet import gluon


        class Tiny(gluon.HybridBlock):
            def __init__(self, hidden):
                super().__init__()
                self.body = gluon.nn.Dense(hidden, activation="tanh")
                self.head = gluon.nn.Dense(2)

            def forward(self, x):
                return self.head(self.body(x))


        def build(hidden):
            return Tiny(hidden)
        '''),
}

SAVE_BLOCK_2 = r'''
import os, sys
import mxnet as mx
sys.path.insert(0, sys.argv[1])
from teamnets2.tiny import build
net = build(hidden=6)
net.initialize()
net(mx.np.ones((1, 5)))
os.chdir(sys.argv[2])
net.save("tiny")  # tiny-model.json, and 2.0's hard-coded MyModel-model.params
'''


def test_a_2_0_export_needs_its_release_named_then_passes_on_it(tmp_path):
    subprocess.run([mxnet_python("2.0.0b1"), "-c", EXPORT_2, str(tmp_path / "mnet")], check=True,
                   capture_output=True)
    store = tmp_path / "store"
    files = [tmp_path / "mnet-symbol.json", tmp_path / "mnet-0000.params", "--name", "mnet", "--input",
             "data=1,3,32,32"]
    asked = add(store, *files, check=False)
    assert asked.returncode == 1 and "--producer 2.0.0a0 or --producer 2.0.0b1" in asked.stderr
    add(store, *files, "--producer", "2.0.0b1")
    m = manifest(store, "2.0.0b1/mnet/gluon-export")
    assert m["model"]["np_mode"] is True and m["origin"]["producer_from"] == "--producer"
    assert m["origin"]["file_kinds"]["model/mnet-0000.params"] == "parameters (npz archive)"
    result, got = check_verdicts(store, "2.0.0b1", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {api for (_, _, _, api), v in got.items() if v == "PASS"} == {
        "gluon-imports", "module-load-checkpoint", "c-cachedop"}


def test_a_2_0_block_save_is_added_with_its_block_and_loads_with_block_load(tmp_path):
    package = tmp_path / "checkout"
    write_package(package, BLOCK_2)
    saved = tmp_path / "saved"
    saved.mkdir()
    subprocess.run([mxnet_python("2.0.0b1"), "-c", SAVE_BLOCK_2, str(package), str(saved)], check=True,
                   capture_output=True)
    store = tmp_path / "store"
    add(store, saved / "tiny-model.json", saved / "MyModel-model.params", "--name", "tiny", "--producer",
        "2.0.0b1", "--block", "teamnets2.tiny:build", "--python-path", package, "--kwargs", '{"hidden": 6}',
        "--input", "x=1,5")
    m = manifest(store, "2.0.0b1/tiny/gluon-block-save")
    assert m["origin"]["file_kinds"]["model/tiny-model.json"] == "Block.save model JSON"
    shutil.rmtree(package)
    result, got = check_verdicts(store, "2.0.0b1", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert got == {("2.0.0b1", "tiny", "gluon-block-save", "gluon-block-load"): "PASS"}
