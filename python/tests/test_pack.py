"""mbcc pack on a copy of corpus bundles of every manifest schema: the bundle folders keep their
manifests alone, byte for byte, and MXNet 1.9.1 gives every check the same verdict before and
after; a packed store published to a folder gives back every file where its manifest puts it."""
import hashlib
import json
import shutil

from conftest import SOURCE_DIR, copy_corpus_bundle, mxnet_python, run_mbcc

CORPUS = SOURCE_DIR / "corpus"
# schema 1 (files in their folders), 2 (some shared, plain), 3 (all shared, gzip'd)
BUNDLES = ["1.2.1/bn-cnn/module-checkpoint", "1.9.1/lenet-hybrid/gluon-export",
           "1.0.0/global-pool-pad/module-checkpoint", "1.9.1/arcface/gluon-save-parameters",
           "1.2.1/arcface/gluon-export"]


def manifest_of(store, bundle):
    return json.loads((store / "v1" / bundle / "manifest.json").read_text())


def verdicts(store, report_dir):
    run_mbcc("check", "--store", store, "--candidate", "1.9.1", "--no-cache", "--report-dir",
             report_dir)
    checks = json.loads((report_dir / "report.json").read_text())["checks"]
    return {(c["producer"], c["model"], c["save_api"], c["load_api"]):
            (c["verdict"], c["raw_verdict"], [o["outcome"] for o in c["outputs"]])
            for c in checks}


def test_a_packed_store_gives_the_same_verdicts(tmp_path):
    mxnet_python("1.9.1")
    store = tmp_path / "store"
    for bundle in BUNDLES:
        copy_corpus_bundle(bundle, store)
    shutil.copy(CORPUS / "expectations.toml", store)
    schemas = {manifest_of(store, b)["schema_version"] for b in BUNDLES}
    assert schemas == {1, 2, 3}
    manifests = {b: (store / "v1" / b / "manifest.json").read_bytes() for b in BUNDLES}
    before = verdicts(store, tmp_path / "before")
    assert len(before) > 2 * len(BUNDLES)
    assert {v[0] for v in before.values()} >= {"PASS", "XFAIL"}  # the 1.0.0 pooling drift

    packed = run_mbcc("pack", "--store", store)
    assert f"{len(BUNDLES)} bundles" in packed.stdout, packed.stdout
    for bundle in BUNDLES:
        folder = store / "v1" / bundle
        assert [p.name for p in folder.rglob("*")] == ["manifest.json"], bundle
        assert (folder / "manifest.json").read_bytes() == manifests[bundle]
    again = run_mbcc("pack", "--store", store)
    assert ", 0 packed: 0 files moved" in again.stdout, again.stdout

    assert verdicts(store, tmp_path / "after") == before

    destination = tmp_path / "published"
    run_mbcc("publish", store, destination)
    for bundle in BUNDLES:
        for f in manifest_of(destination, bundle)["files"]:
            if f.get("shared"):
                continue
            data = (destination / "v1" / bundle / f["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f"{bundle}: {f['path']}"


def test_pack_refuses_what_is_not_a_local_store(tmp_path):
    result = run_mbcc("pack", "--store", tmp_path / "nothing-here", check=False)
    assert result.returncode == 2
    assert "not a local store" in result.stderr
