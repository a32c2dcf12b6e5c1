"""mbcc's readers and writers against real MXNet releases, in both directions, with identical
values: what a release writes mbcc reads, and what mbcc writes the release's mx.nd.load reads.
"""
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import mxnet_python, run_mbcc

SCRIPTS = Path(__file__).parent / "in_mxnet"
# A 2.0 build, the last 1.x, and one release from before np-shape (V3) existed.
RELEASES = ["1.9.1", "1.4.1", "2.0.0b1"]


def run_in(version, script, *args):
    result = subprocess.run([mxnet_python(version), str(SCRIPTS / script), *map(str, args)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{script} on {version} failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_npz(path):
    """An .npz as {name: array}; MXNet's bfloat16 descr '<b2' is read as its raw uint16 bits."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            raw = archive.read(member).replace(b"'descr': '<b2'", b"'descr': '<u2'", 1)
            out[member[:-len(".npy")]] = np.lib.format.read_array(__import__("io").BytesIO(raw))
    return out


def assert_identical(actual, expected, what):
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.tobytes() == expected.tobytes(), f"{what}: values differ"


@pytest.fixture(scope="module", params=RELEASES)
def written(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("written-" + request.param)
    return request.param, out, run_in(request.param, "write_arrays.py", out)


def test_mbcc_reads_what_the_release_writes(written):
    version, out, report = written
    errors = [w for w in report["written"] if "error" in w]
    files = [w for w in report["written"] if "file" in w]
    assert files, f"{version} wrote nothing: {errors}"
    for entry in files:
        source = out / entry["file"]
        converted = out / (entry["file"] + ".mbcc.npz")
        run_mbcc("convert", source, converted, "--to", "npz")
        got = load_npz(converted)
        reference = dict(np.load(out / (entry["file"] + ".reference.npz")))
        if entry["kind"] == "V2-sparse":
            for name in entry["arrays"]:
                for part in ("data", "indices") + (("indptr",) if name == "csr" else ()):
                    assert_identical(got[f"{name}/{part}"], reference[f"{name}/{part}"],
                                     f"{version} {entry['file']} {name}/{part}")
            continue
        names = entry["arrays"] or sorted(reference)
        assert sorted(got) == sorted(names), f"{version} {entry['file']}: names {sorted(got)}"
        for name in names:
            assert_identical(got[name], reference[name], f"{version} {entry['file']} {name}")
        # inspect agrees on what the file is
        described = json.loads(run_mbcc("inspect", "--json", source).stdout)[0]
        assert "error" not in described, described


def test_release_writes_every_kind_it_supports(written):
    version, _, report = written
    assert not [w for w in report["written"] if "error" in w], report
    files = {w["file"] for w in report["written"]}
    assert ("bfloat16_v2.params" in files) == (version >= "1.7"), files
    kinds = {w["kind"] for w in report["written"] if "kind" in w}
    expected = {"V2", "V2-sparse"}
    if version >= "1.5":
        expected.add("V3")
    if version.startswith("2."):
        expected |= {"npz", "npy"}
    assert expected <= kinds, f"{version} wrote {kinds}: {report}"


def reference_arrays(version):
    """Arrays of every dtype the release can load, made by NumPy alone (bfloat16 apart)."""
    rng = np.random.RandomState(5)
    dtypes = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64"]
    if version >= "1.6" or version.startswith("2."):
        dtypes.append("bool")
    if version.startswith("2."):
        dtypes += ["int16", "uint16", "uint32", "uint64"]
    arrays = {}
    for dtype in dtypes:
        if dtype == "bool":
            arrays["w_bool"] = rng.randint(0, 2, size=(3, 4)).astype(np.bool_)
        elif np.dtype(dtype).kind in "iu":
            arrays["w_" + dtype] = rng.randint(0, 100, size=(3, 4)).astype(dtype)
        else:
            arrays["w_" + dtype] = rng.uniform(-5, 5, size=(3, 4)).astype(dtype)
    arrays["vector"] = rng.uniform(size=(9,)).astype("float32")
    return arrays


def add_bfloat16_member(npz, name, arrays):
    """Adds a bfloat16 array to `npz` as MXNet writes it (descr '<b2'), which NumPy cannot; the
    expected result is its raw bits as uint16."""
    bits = (np.linspace(-3, 3, 6, dtype="float32").view(np.uint32) >> 16).astype(np.uint16)
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array(buffer, bits)
    raw = buffer.getvalue().replace(b"'descr': '<u2'", b"'descr': '<b2'", 1)
    with zipfile.ZipFile(npz, "a") as archive:
        archive.writestr(name + ".npy", raw)
    arrays[name] = bits


@pytest.mark.parametrize("version", RELEASES)
@pytest.mark.parametrize("record_version", ["v2", "v0", "v3"])
def test_release_reads_what_mbcc_writes(version, record_version, tmp_path):
    if record_version == "v3" and version < "1.5":
        pytest.skip(f"{version} predates V3 records (np-shape came in 1.5)")
    arrays = reference_arrays(version)
    if record_version == "v0":  # v0 records predate int64 and bool; keep what 0.10 had
        arrays = {k: v for k, v in arrays.items()
                  if v.dtype.name in ("float32", "float64", "float16", "uint8", "int32")}
    source = tmp_path / "reference.npz"
    np.savez(source, **arrays)
    if record_version == "v2" and version >= "1.7" and not version.startswith("2."):
        add_bfloat16_member(source, "w_bfloat16", arrays)
    params = tmp_path / f"mbcc.{record_version}.params"
    run_mbcc("convert", source, params, "--to", record_version)
    loaded = tmp_path / "loaded.npz"
    flags = ["--np-shape"] if record_version == "v3" else []
    run_in(version, "read_arrays.py", params, loaded, *flags)
    got = dict(np.load(loaded))
    assert sorted(got) == sorted(arrays)
    for name, expected in arrays.items():
        assert_identical(got[name], expected, f"{version} loading mbcc's {record_version} {name}")
