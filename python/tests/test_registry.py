"""mbcc ops and mbcc scan on real releases: the shipped registry dumps are what the releases'
C API reports, a damaged dump or a bad input is a clear exit 2, and scan's predictions agree
with what the releases did when they loaded the corpus."""
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, mxnet_python, run_mbcc

REGISTRY = SOURCE_DIR / "registry"
CORPUS = SOURCE_DIR / "corpus"


def read_dump(path):
    with gzip.open(path, "rt") as f:
        return json.load(f)


COUNT_OPS = """
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
n = ctypes.c_uint()
names = ctypes.POINTER(ctypes.c_char_p)()
assert lib.MXListAllOpNames(ctypes.byref(n), ctypes.byref(names)) == 0
creators = ctypes.POINTER(ctypes.c_void_p)()
u = ctypes.c_uint()
assert lib.MXSymbolListAtomicSymbolCreators(ctypes.byref(u), ctypes.byref(creators)) == 0
print(json.dumps({"names": n.value, "unique": u.value}))
"""


@pytest.mark.parametrize("release", ["1.9.1", "1.4.1"])
def test_shipped_dump_is_what_the_release_reports(tmp_path, release):
    python = mxnet_python(release)
    fresh = tmp_path / "dumps"
    run_mbcc("ops", "dump", release, "--out", fresh)
    shipped = read_dump(REGISTRY / f"{release}.json.gz")
    assert read_dump(fresh / f"{release}.json.gz") == shipped
    # Counted independently, through ctypes in the release's own Python.
    libmxnet = json.loads(run_mbcc("env", "list", "--json").stdout)
    libmxnet = next(e["libmxnet"] for e in libmxnet if e["release"] == release)
    counts = json.loads(subprocess.run([python, "-c", COUNT_OPS, libmxnet], check=True,
                                       capture_output=True, text=True).stdout)
    aliases = sum(len(op.get("aliases", [])) for op in shipped["ops"])
    assert len(shipped["ops"]) == counts["unique"]
    assert len(shipped["ops"]) + aliases == counts["names"]


def test_dump_records_parsers_and_aliases():
    ops = {op["name"]: op for op in read_dump(REGISTRY / "1.9.1.json.gz")["ops"]}
    assert "Softmax" in ops["SoftmaxOutput"]["aliases"]
    assert ops["Pooling"]["parser"] == "strict"
    assert ops["relu"]["parser"] == "none"
    assert ops["Concat"]["key_var_num_args"] == "num_args"
    layout = next(a for a in ops["Pooling"]["args"] if a["name"] == "layout")
    assert layout["enum"][0] == "None" and layout["default"] == "None"
    assert ops["BatchNorm"]["inputs"] == ["data", "gamma", "beta", "moving_mean", "moving_var"]


def test_dumps_fit_in_three_megabytes():
    total = sum(p.stat().st_size for p in REGISTRY.glob("*.json.gz"))
    assert len(list(REGISTRY.glob("*.json.gz"))) == 20
    assert total <= 3 * 1024 * 1024, total


def test_diff_compares_defaults_as_values():
    out = json.loads(run_mbcc("ops", "diff", "1.4.1", "1.9.1", "--json", check=False).stdout)
    changes = {(c["kind"], c["op"], c["attribute"]) for c in out["changes"]}
    assert ("arg_added_optional", "Pooling", "layout") in changes
    assert ("arg_added_optional", "RNN", "use_sequence_length") in changes
    assert ("default_changed", "BatchNorm", "eps") not in changes
    layout = next(c for c in out["changes"] if c["op"] == "Pooling" and c["attribute"] == "layout")
    assert (layout["backward"], layout["forward"]) == ("ok", "breaks-if-set")
    removed = json.loads(run_mbcc("ops", "diff", "1.9.1", "2.0.0a0", "--json", check=False).stdout)
    assert any(c["kind"] == "op_removed" and c["op"] == "SoftmaxOutput" for c in removed["changes"])


def damaged_registry(tmp_path, damage):
    copy = tmp_path / "registry"
    shutil.copytree(REGISTRY, copy)
    target = copy / "1.4.1.json.gz"
    data = bytearray(target.read_bytes())
    target.write_bytes(damage(data))
    return copy, target


@pytest.mark.parametrize("damage", [lambda d: bytes(d[: len(d) // 2]),
                                    lambda d: bytes(d[:100]) + bytes([d[100] ^ 1]) + bytes(d[101:])],
                         ids=["truncated", "altered"])
def test_damaged_dump_is_exit_2_with_no_output(tmp_path, damage):
    copy, target = damaged_registry(tmp_path, damage)
    graph = CORPUS / "v1/1.9.1/bn-cnn/module-checkpoint"  # a bundle: scan reads its graph
    result = run_mbcc("scan", graph, "--candidate", "1.4.1", "--registry-dir", copy, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert str(target) in result.stderr and "altered or truncated" in result.stderr


def test_bad_inputs_are_exit_2(tmp_path):
    not_a_graph = tmp_path / "x-symbol.json"
    not_a_graph.write_text('{"nodes": 3}')
    result = run_mbcc("scan", not_a_graph, "--candidate", "1.9.1", check=False)
    assert result.returncode == 2 and str(not_a_graph) in result.stderr and result.stdout == ""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_mbcc("scan", empty, "--candidate", "1.9.1", check=False)
    assert result.returncode == 2 and "holds no graph file" in result.stderr
    result = run_mbcc("ops", "diff", "1.9.1", "not-a-release", check=False)
    assert result.returncode == 2 and "not-a-release" in result.stderr and result.stdout == ""


def test_scan_names_node_attribute_and_change():
    graph = CORPUS / "v1/1.9.1/lenet-hybrid/gluon-export"  # a bundle of one graph
    result = run_mbcc("scan", graph, "--candidate", "1.4.1", "--candidate", "1.9.1", "--json",
                      check=False)
    assert result.returncode == 1
    out = json.loads(result.stdout)
    on = {c["candidate"]: c for c in out["files"][0]["candidates"]}
    assert on["1.9.1"]["loads"] and not on["1.4.1"]["loads"]
    refused = [f for f in on["1.4.1"]["findings"] if f["kind"] == "attribute_refused"]
    assert refused and all(f["node"] and f["op"] and f["attribute"] for f in refused)
    layout = next(f for f in refused if f["attribute"] == "layout")
    assert layout["producer"] == "1.9.1" and layout["change"]["kind"] == "arg_removed_optional"
