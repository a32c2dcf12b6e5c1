"""The original MXNet nightly bucket layout as a read-only store, end to end: MXNet 1.2.1 and 1.9.1
write the original checker's four models as its training job did, `mbcc check --store-layout
original` converts every model folder into a bundle and checks it on 1.9.1, from a folder and
from an S3 bucket (the real S3-protocol server of test_s3_store.py), and a damaged file is
reported as ARTIFACT_CORRUPT naming it."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, mbcc_bin, mxnet_python
from test_s3_store import aws_env, s3, server  # noqa: F401 (fixtures)

SCRIPT = Path(__file__).parent / "in_mxnet" / "write_original_layout.py"
PRODUCERS = ["1.2.1", "1.9.1"]
# original folder -> (mbcc model, save API, load APIs checked on 1.9.1)
MODELS = {
    "module_checkpoint_api": ("orig-mlp", "module-checkpoint",
                              ["module-load-checkpoint", "gluon-imports", "c-predict", "c-executor",
                               "c-cachedop"]),
    "lenet_gluon_save_params_api": ("orig-lenet", "gluon-save-params",
                                    ["gluon-load-params", "gluon-load-parameters"]),
    "lenet_gluon_hybrid_export_api": ("orig-lenet-hybrid", "gluon-export",
                                      ["gluon-imports", "module-load-checkpoint", "c-predict",
                                       "c-executor", "c-cachedop"]),
    "lstm_gluon_save_parameters_api": ("orig-lstm", "gluon-save-parameters",
                                       ["gluon-load-parameters"]),
}


def test_the_original_networks_are_loadable_but_never_generated():
    sys.path.insert(0, str(SOURCE_DIR / "python"))
    from mbcc_probe import zoo

    names = [m.name for m in zoo.ORIGINAL_MODELS]
    assert names == ["orig-lenet", "orig-lenet-hybrid", "orig-lstm"]
    assert not set(names) & {m.name for m in zoo.MODELS}  # `mbcc generate` builds zoo.MODELS
    assert all(zoo.get(name).kind == "gluon" for name in names)
    # the bundles that load through a rebuilt net name a zoo model that is a plain Block, as
    # the original's Net and SimpleLSTMModel were
    for model, _, loads in MODELS.values():
        if {"gluon-load-params", "gluon-load-parameters"} & set(loads):
            assert zoo.get(model).hybrid is False, model


@pytest.fixture(scope="module")
def original_store(tmp_path_factory):
    """A store in the original layout, written by the real releases, plus what the original
    bucket also held: its data folder (never read) and a model mbcc does not know."""
    root = tmp_path_factory.mktemp("original") / "bucket"
    for version in PRODUCERS:
        result = subprocess.run([mxnet_python(version), str(SCRIPT), str(root)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    (root / "mxnet-model-backwards-compatibility-data").mkdir()
    (root / "mxnet-model-backwards-compatibility-data" / "mnist.npz").write_bytes(b"not a model")
    (root / "1.9.1" / "resnet_gluon_api").mkdir()
    (root / "1.9.1" / "resnet_gluon_api" / "resnet_gluon_api-params").write_bytes(b"unknown")
    return root


def check(store, tmp_path, env=None):
    report_dir = tmp_path / "report"
    result = subprocess.run(
        [mbcc_bin(), "check", "--store", str(store), "--store-layout", "original",
         "--candidate", "1.9.1", "--report-dir", str(report_dir)],
        capture_output=True, text=True, env=env)
    return result, json.loads((report_dir / "report.json").read_text())


def verdicts(report):
    return {(c["producer"], c["model"], c["save_api"], c["load_api"]): c["verdict"]
            for c in report["checks"]}


def every_check():
    return {(p, model, api, load) for p in PRODUCERS
            for model, api, loads in MODELS.values() for load in loads}


def test_a_folder_in_the_original_layout_passes_every_check_on_1_9_1(original_store, tmp_path):
    result, report = check(original_store, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    got = verdicts(report)
    assert set(got) == every_check()
    assert set(got.values()) == {"PASS"}, {k: v for k, v in got.items() if v != "PASS"}
    assert "skipped 1.9.1/resnet_gluon_api/: not a model of the original layout" in result.stderr
    assert "mnist" not in result.stderr  # the data folder is not a version
    assert report["run"]["store"] == str(original_store)


def test_the_same_store_in_s3_gives_the_same_verdicts(original_store, server, s3, tmp_path):
    prefix = "original-bucket"
    for path in sorted(p for p in original_store.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(original_store).as_posix()}"
        s3.put_object(Bucket=server["bucket"], Key=key, Body=path.read_bytes())
    s3.put_object(Bucket=server["bucket"], Key=f"{prefix}/1.2.1/", Body=b"")  # a console's folder
    url = f"s3://{server['bucket']}/{prefix}"
    remote, remote_report = check(url, tmp_path / "s3", env=aws_env(server, tmp_path))
    local, local_report = check(original_store, tmp_path / "local")
    assert remote.returncode == local.returncode == 0, remote.stdout + remote.stderr
    assert verdicts(remote_report) == verdicts(local_report)
    assert len(remote_report["checks"]) == len(every_check())
    assert remote_report["run"]["store"] == url
    assert "skipped 1.2.1/:" not in remote.stderr, remote.stderr
    assert server["secret_key"] not in remote.stdout + remote.stderr


def test_a_truncated_inference_file_is_artifact_corrupt_naming_it(original_store, tmp_path):
    store = tmp_path / "bucket"
    shutil.copytree(original_store, store)
    damaged = store / "1.9.1" / "lstm_gluon_save_parameters_api" / "lstm_gluon_save_parameters_api-inference"
    damaged.write_bytes(damaged.read_bytes()[:-7])

    result, report = check(store, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    corrupt = [c for c in report["checks"] if c["verdict"] == "ARTIFACT_CORRUPT"]
    assert [(c["producer"], c["model"]) for c in corrupt] == [("1.9.1", "orig-lstm")]
    assert str(damaged) in corrupt[0]["detail"], corrupt[0]["detail"]
    assert "cannot convert 1.9.1/orig-lstm/gluon-save-parameters" in result.stderr
    assert all(c["verdict"] == "PASS" for c in report["checks"] if c not in corrupt)


def test_the_original_layout_needs_a_store_named(tmp_path):
    result = subprocess.run([mbcc_bin(), "check", "--store-layout", "original", "--candidate",
                             "1.9.1", "--report-dir", str(tmp_path / "report")],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--store-layout original: name the store" in result.stdout + result.stderr


def test_nightly_never_generates_into_an_original_layout_store(tmp_path):
    store = tmp_path / "bucket"
    store.mkdir()
    result = subprocess.run([mbcc_bin(), "nightly", "--store", store, "--store-layout", "original",
                             "--report-dir", tmp_path / "report"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "read-only" in result.stderr and "--no-generate" in result.stderr
    assert list(store.iterdir()) == []
