"""`mbcc inspect` and `mbcc convert` as a user runs them: what each file is, what it holds, and a
clear error for what is not an MXNet file. No MXNet needed."""
import json

import numpy as np
import pytest

from conftest import SHARED_DIR, run_mbcc

LEGACY = SHARED_DIR / "testdata" / "mxnet-legacy"
needs_legacy = pytest.mark.skipif(not LEGACY.is_dir(), reason=f"{LEGACY} is absent")


def inspect(*paths):
    result = run_mbcc("inspect", "--json", *paths, check=False)
    return result.returncode, json.loads(result.stdout)


@needs_legacy
def test_legacy_v0_file_is_six_arrays_of_0_to_127():
    code, [info] = inspect(LEGACY / "legacy_ndarray.v0")
    assert code == 0
    assert info["format"] == "ndarray-list" and info["record_versions"] == ["v0"]
    assert not info["named"] and len(info["arrays"]) == 6
    for array in info["arrays"]:
        assert array["shape"] == [128] and array["dtype"] == "float32"
        assert array["values"] == {"min": 0.0, "max": 127.0, "mean": 63.5}


@needs_legacy
def test_0_8_graph_is_upgraded_as_mxnet_loads_it():
    code, [info] = inspect(LEGACY / "save_000800.json")
    assert code == 0
    assert info["producer_version"] == "0.8.0" and not info["producer_version_recorded"]
    assert "000800->000900 (auxiliary inputs)" in info["upgrade_passes"]
    assert info["auxiliary_states"] == ["batchnorm0_moving_mean", "batchnorm0_moving_var"]
    assert info["arguments"][0] == "data" and info["arguments"][-1] == "softmax_label"
    assert info["outputs"] == ["softmax_output"]
    assert info["ops"] == {"Activation": 2, "BatchNorm": 1, "FullyConnected": 3, "SoftmaxOutput": 1}


@pytest.mark.parametrize("content, kind", [
    (b"", "empty file"),
    (b"<!DOCTYPE html><html><body>Access denied</body></html>", "HTML page"),
    (b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code></Error>", "XML document"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n", "Git LFS pointer"),
])
def test_names_what_is_not_an_mxnet_file(tmp_path, content, kind):
    path = tmp_path / "model-0000.params"
    path.write_bytes(content)
    code, [info] = inspect(path)
    assert code == 1
    assert info["kind"] == kind
    assert str(path) in info["error"] and kind in info["error"]


def test_truncated_params_names_file_offset_and_field(tmp_path):
    source = tmp_path / "weights.npz"
    np.savez(source, w=np.arange(12, dtype="float32").reshape(3, 4))
    params = tmp_path / "weights.params"
    run_mbcc("convert", source, params, "--to", "v2")
    full = params.read_bytes()
    params.write_bytes(full[:-7])
    code, [info] = inspect(params)
    assert code == 1
    assert str(params) in info["error"] and "byte " in info["error"]
    # the text output says the same
    text = run_mbcc("inspect", params, check=False)
    assert text.returncode == 1 and info["error"] in text.stdout


def test_convert_round_trips_through_every_record_version(tmp_path):
    arrays = {"a": np.arange(6, dtype="int64").reshape(2, 3), "b": np.linspace(0, 1, 5)}
    np.savez(tmp_path / "in.npz", **arrays)
    for version in ("v0", "v2", "v3"):
        params = tmp_path / f"x.{version}.params"
        back = tmp_path / f"x.{version}.npz"
        run_mbcc("convert", tmp_path / "in.npz", params, "--to", version)
        run_mbcc("convert", params, back, "--to", "npz")
        got = np.load(back)
        for name, expected in arrays.items():
            assert got[name].dtype == expected.dtype and np.array_equal(got[name], expected)


def test_convert_refuses_what_the_target_cannot_hold(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.ones(3))
    result = run_mbcc("convert", tmp_path / "two.npz", tmp_path / "one.npy", "--to", "npy",
                      check=False)
    assert result.returncode == 1 and "npy holds one dense array" in result.stderr
    assert not (tmp_path / "one.npy").exists()
