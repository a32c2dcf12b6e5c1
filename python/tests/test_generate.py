"""Tests of `mbcc generate` with real MXNet releases, and of the corpus shipped in corpus/.

The corpus checks need no MXNet: they recompute every sha256 with hashlib, independently of
mbcc's own code. The generate tests run MXNet 1.9.1 (installed by mbcc on first use) on two
small models.
"""

import gzip
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SOURCE_DIR, mbcc_bin, run_mbcc

CORPUS = SOURCE_DIR / "corpus"
RELEASE = "1.9.1"
MODELS = ["mlp", "lstm"]


def model_args(models):
    return [arg for m in models for arg in ("--model", m)]


def generate(store, *args, models=MODELS, check=True):
    return run_mbcc("generate", "--mxnet", RELEASE, *model_args(models), "--store", store,
                    "--jobs", "2", *args, check=check)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bundle_dirs(store):
    """Every folder at bundle depth of the layout, complete or not (hidden ones excluded)."""
    root = Path(store) / "v1"
    return sorted(p for p in root.glob("*/*/*") if p.is_dir() and not p.name.startswith("."))


def shared_file(bundle, f):
    """Where a store that keeps shared files has a file's bytes: STORE/objects/<aa>/<sha256>, with
    .gz when they are kept gzip'd."""
    name = f["sha256"] + (".gz" if f.get("compressed") else "")
    return bundle.parents[3] / "objects" / f["sha256"][:2] / name


def file_bytes(bundle, f):
    """A listed file's bytes. One not marked shared is in the bundle's folder, or, in a packed
    store (`mbcc pack`, as the corpus is), in the shared folder under its sha256, gzip'd or plain."""
    if not f.get("shared"):
        if (bundle / f["path"]).exists():
            return (bundle / f["path"]).read_bytes()
        gzipped = shared_file(bundle, {**f, "compressed": True})
        if gzipped.exists():
            return gzip.decompress(gzipped.read_bytes())
        return shared_file(bundle, {**f, "compressed": False}).read_bytes()
    packed = shared_file(bundle, f).read_bytes()
    return gzip.decompress(packed) if f.get("compressed") else packed


def check_bundle(bundle):
    """The bundle holds no file its manifest does not list, and has every one it lists (the
    shared ones in the store's shared folder instead, as a packed store has them all), each with
    its size and sha256."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    in_folder = {path for path, f in listed.items() if not f.get("shared")}
    assert on_disk - {"manifest.json"} <= in_folder, bundle
    for path, f in listed.items():
        data = file_bytes(bundle, f)
        assert len(data) == f["size"], (bundle, path)
        assert hashlib.sha256(data).hexdigest() == f["sha256"], (bundle, path)
    version, model, save_api = bundle.parts[-3:]
    assert (manifest["producer"]["version"], manifest["case"]["model"],
            manifest["case"]["save_api"]) == (version, model, save_api)
    return manifest


def tree_without_created(store):
    """Every file of a store, with the creation time taken out of the manifests."""
    tree = {}
    for p in sorted(Path(store).rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.name == "manifest.json":
            manifest = json.loads(data)
            del manifest["producer"]["created"]
            data = json.dumps(manifest, sort_keys=True).encode()
        tree[str(p.relative_to(store))] = data
    return tree


def generation_log(store, release=RELEASE):
    return json.loads((Path(store) / "v1" / release / "generation-log.json").read_text())


# ---- the shipped corpus (no MXNet needed) ---------------------------------------------------


def corpus_manifests():
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("v1/*/*/*/manifest.json"))


def test_corpus_bundles_are_unchanged():
    """Every bundle validates, and its manifest (which holds the sha256 of every file) is the one
    recorded in corpus/bundles.sha256: changing any file of a bundle fails here, and a new
    bundle has to be added to the list on purpose."""
    recorded = {}
    for line in (CORPUS / "bundles.sha256").read_text().splitlines():
        digest, path = line.split("  ", 1)
        recorded[path] = digest
    on_disk = corpus_manifests()
    assert on_disk, "the corpus has no bundles"
    assert sorted(recorded) == on_disk, "corpus/bundles.sha256 and the bundles disagree"
    for path in on_disk:
        assert sha256(CORPUS / path) == recorded[path], "%s changed" % path
        check_bundle((CORPUS / path).parent)


def test_corpus_generation_logs_explain_every_absent_bundle():
    for log_path in sorted(CORPUS.glob("v1/*/generation-log.json")):
        log = json.loads(log_path.read_text())
        release = log_path.parent.name
        assert log["release"] == release
        for case in log["cases"]:
            bundle = log_path.parent / case["model"] / case["save_api"]
            if case["status"] == "ok":
                assert (bundle / "manifest.json").is_file(), bundle
            else:
                assert not bundle.exists(), bundle
                assert case["reason"], (release, case)


# ---- mbcc generate on a real release --------------------------------------------------------


def test_generating_twice_gives_identical_files(tmp_path):
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    a, b = tree_without_created(tmp_path / "a"), tree_without_created(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert len(bundle_dirs(tmp_path / "a")) >= 3
    for bundle in bundle_dirs(tmp_path / "a"):
        check_bundle(bundle)


def test_a_store_that_shares_files_keeps_each_content_once(tmp_path):
    """--share-files: every file but the manifest goes to STORE/objects once, gzip'd, however many
    bundles hold it (schema 3); the bundles stay whole for check (through a view) and generating
    again changes nothing."""
    store = tmp_path / "store"
    generate(store, "--share-files", models=["lstm"])
    bundles = bundle_dirs(store)
    assert len(bundles) >= 3
    shared = set()
    for bundle in bundles:
        manifest = check_bundle(bundle)
        assert manifest["schema_version"] == 3
        assert all(f.get("shared") and f.get("compressed") for f in manifest["files"])
        # the manifest alone: no file, and no emptied folder (a folder takes a block on disk)
        assert [p.name for p in bundle.rglob("*")] == ["manifest.json"]
        shared.update(f["sha256"] + ".gz" for f in manifest["files"])
    objects = sorted(p.name for p in (store / "objects").rglob("*") if p.is_file())
    assert objects == sorted(shared)
    # the same seeded input in every bundle of the model: one object for all of them
    inputs = {f["sha256"] for b in bundles for f in json.loads((b / "manifest.json").read_text())["files"]
              if f["role"] == "input"}
    assert len(inputs) == 1

    before = tree_without_created(store)
    again = generate(store, models=["lstm"])
    assert "written" not in again.stdout and "unchanged" in again.stdout
    assert tree_without_created(store) == before

    report = tmp_path / "report"
    checked = run_mbcc("check", "--store", store, "--candidate", RELEASE, "--report-dir", report,
                       "--cache-dir", tmp_path / "cache")
    checks = json.loads((report / "report.json").read_text())["checks"]
    assert checks and all(c["verdict"] in ("PASS", "UNSUPPORTED") for c in checks), checked.stdout


def test_internals_are_one_archive_per_bundle(tmp_path):
    generate(tmp_path, models=["mlp"])
    bundle = tmp_path / "v1" / RELEASE / "mlp" / "module-checkpoint"
    manifest = check_bundle(bundle)
    # schema 3: the entries are in the bundle's index file, not in the manifest
    assert "outputs" not in manifest["internals"]
    assert manifest["internals"]["index"] == "internals/index.json"
    internals = json.loads((bundle / "internals" / "index.json").read_text())["outputs"]
    assert internals and {o["file"] for o in internals} == {"internals/internals.npz"}
    assert {f["path"]: f["role"] for f in manifest["files"] if f["role"].startswith("internal")} == {
        "internals/index.json": "internals-index", "internals/internals.npz": "internals-archive"}
    with np.load(bundle / "internals" / "internals.npz") as archive:
        assert sorted(archive.files) == sorted(o["member"] for o in internals)
        for o in internals:
            assert list(archive[o["member"]].shape) == o["shape"]
    assert not list((bundle / "internals").glob("*.npy"))


def test_absent_api_means_no_bundle_and_a_logged_reason(tmp_path):
    generate(tmp_path, models=["mlp"])
    cases = {(c["model"], c["save_api"]): c for c in generation_log(tmp_path)["cases"]}
    assert cases[("mlp", "module-checkpoint")]["status"] == "ok"
    export = cases[("mlp", "gluon-export")]
    assert export["status"] == "skipped" and "Gluon" in export["reason"]
    assert not (tmp_path / "v1" / RELEASE / "mlp" / "gluon-export").exists()


def test_existing_bundle_is_not_overwritten_without_force(tmp_path):
    generate(tmp_path, models=["mlp"])
    bundle = tmp_path / "v1" / RELEASE / "mlp" / "module-checkpoint"

    # Generating again over the same files keeps the bundle as it is.
    manifest_before = (bundle / "manifest.json").read_bytes()
    again = generate(tmp_path, models=["mlp"])
    assert "mlp/module-checkpoint: unchanged" in again.stdout
    assert (bundle / "manifest.json").read_bytes() == manifest_before

    # A valid bundle with another golden output is there: refused, and left untouched.
    golden = bundle / "data" / "output_0.npy"
    np.save(golden, np.load(golden) + 1)
    manifest = json.loads(manifest_before)
    for f in manifest["files"]:
        if f["path"] == "data/output_0.npy":
            f["size"], f["sha256"] = golden.stat().st_size, sha256(golden)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    changed = golden.read_bytes()
    refused = generate(tmp_path, models=["mlp"], check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "mlp/module-checkpoint: refused: a bundle exists at" in refused.stdout
    assert "data/output_0.npy differs" in refused.stdout
    assert "--force" in refused.stdout
    assert golden.read_bytes() == changed

    forced = generate(tmp_path, "--force", models=["mlp"])
    assert "mlp/module-checkpoint: replaced" in forced.stdout
    assert golden.read_bytes() != changed
    check_bundle(bundle)


def test_killed_run_leaves_only_complete_bundles(tmp_path):
    store = tmp_path / "store"
    cmd = [mbcc_bin(), "generate", "--mxnet", RELEASE, *model_args(MODELS), "--store", str(store)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not list(store.glob("v1/*/*/*/manifest.json")):
            assert proc.poll() is None, "mbcc generate ended before its first bundle"
            assert time.monotonic() < deadline, "no bundle after 10 minutes"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    first = bundle_dirs(store)
    assert first, "the bundle that was seen is gone"
    for bundle in first:
        check_bundle(bundle)  # a folder at bundle depth is a whole bundle, never a partial one
    assert not (store / "v1" / RELEASE / "generation-log.json").exists()

    rerun = run_mbcc(*cmd[1:])
    assert "written" in rerun.stdout
    ok = {(c["model"], c["save_api"]) for c in generation_log(store)["cases"] if c["status"] == "ok"}
    assert {tuple(b.parts[-2:]) for b in bundle_dirs(store)} == ok
    for bundle in bundle_dirs(store):
        check_bundle(bundle)


def test_uninstallable_release_is_reported_and_the_next_one_runs(tmp_path):
    result = run_mbcc("generate", "--mxnet", "0.0.1", "--mxnet", RELEASE, "--model", "mlp",
                      "--store", tmp_path, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0.0.1: could not be generated" in result.stdout
    assert "FAILED" in result.stdout.split("summary", 1)[1]
    assert not (tmp_path / "v1" / "0.0.1").exists()
    check_bundle(tmp_path / "v1" / RELEASE / "mlp" / "module-checkpoint")


def test_needs_a_release():
    result = run_mbcc("generate", "--store", "/nonexistent", check=False)
    assert result.returncode == 2
    assert "--mxnet" in result.stderr
