"""The original MXNet nightly bucket layout as a read-only store, end to end: MXNet 1.2.1 and 1.9.1
write the original checker's four models as its training job did, `mbcc check --store-layout
original` converts every model folder into a bundle and checks it on 1.9.1, from a folder and
from an S3 bucket (the real S3-protocol server of test_s3_store.py), and a damaged file is
reported as ARTIFACT_CORRUPT naming it. Then the 2.0 branch's variant: MXNet 2.0.0a0 and
2.0.0b1 run what that branch's training job does, and their folders are checked on 2.0.0b1, the
ones Block.save left without parameters reported with why."""
import json
import os
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


def check(store, tmp_path, env=None, candidate="1.9.1"):
    report_dir = tmp_path / "report"
    result = subprocess.run(
        [mbcc_bin(), "check", "--store", str(store), "--store-layout", "original",
         "--candidate", candidate, "--report-dir", str(report_dir)],
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


# ---- the 2.0 branch's variant ----------------------------------------------------------------

SCRIPT_20 = Path(__file__).parent / "in_mxnet" / "write_original_layout_20.py"
CANDIDATE_20 = "2.0.0b1"
# release -> (its mx.__version__, which names its folder; how the branch's LSTM step fails on it)
PRODUCERS_20 = {
    "2.0.0a0": ("2.0.0", "TypeError: Operator `Embedding` registered in backend"),
    "2.0.0b1": ("2.0.0beta1", "ValueError: Xavier initializer cannot be applied to vector"),
}
BLOCK_SAVE = "lenet_gluon_save_params_api"


@pytest.fixture(scope="module")
def job_20(tmp_path_factory):
    """The working directory of the 2.0 branch's training job, run by each 2.0 release in turn
    as its loop over releases does: its models/ is what the job's upload step copies to the
    bucket."""
    job = tmp_path_factory.mktemp("job-2.0")
    for release, (_, lstm_failure) in PRODUCERS_20.items():
        result = subprocess.run([mxnet_python(release), str(SCRIPT_20), str(job)],
                                capture_output=True, text=True,
                                env={**os.environ, "MXNET_ENFORCE_DETERMINISM": "1"})
        assert result.returncode == 0, result.stderr
        assert f"lstm_gluon_save_parameters_api: {lstm_failure}" in result.stderr, result.stderr
    return job


def block_save_explanation(store, folder):
    return (f"{store}/{folder}/{BLOCK_SAVE}/{BLOCK_SAVE}-params-model.json: Block.save's model "
            "JSON without its parameters: MXNet 2.0's Block.save writes them to a hard-coded "
            "MyModel-model.params in the producer's working directory, not beside the JSON, so the "
            "2.0 branch's nightly job never put them in this folder")


# What 2.0.0b1 gives on the files of both releases: the predict and executor C APIs do not exist
# on 2.0.
VERDICTS_20 = {}
for _release in PRODUCERS_20:
    _hybrid = (_release, "orig-lenet-hybrid", "gluon-export")
    VERDICTS_20.update({_hybrid + (load,): "PASS"
                        for load in ("gluon-imports", "module-load-checkpoint", "c-cachedop")})
    VERDICTS_20.update({_hybrid + (load,): "UNSUPPORTED" for load in ("c-predict", "c-executor")})
    VERDICTS_20[(_release, "orig-lenet", "gluon-block-save", "*")] = "ARTIFACT_CORRUPT"


def test_the_2_0_branchs_job_writes_npz_goldens_and_leaves_block_saves_parameters_behind(job_20):
    models = job_20 / "models"
    assert sorted(p.name for p in models.iterdir()) == sorted(f for f, _ in PRODUCERS_20.values())
    for folder, _ in PRODUCERS_20.values():
        folders = {p.name: sorted(f.name for f in p.iterdir()) for p in (models / folder).iterdir()}
        assert folders == {
            BLOCK_SAVE: [f"{BLOCK_SAVE}-data", f"{BLOCK_SAVE}-inference",
                         f"{BLOCK_SAVE}-params-model.json"],
            "lenet_gluon_hybrid_export_api": [f"lenet_gluon_hybrid_export_api-{f}" for f in
                                              ("0000.params", "data", "inference", "symbol.json")],
            "lstm_gluon_save_parameters_api": [],  # the step raised: nothing to upload
        }, folder
        for name, files in folders.items():
            for golden in (f for f in files if f.endswith(("-data", "-inference"))):
                assert (models / folder / name / golden).read_bytes()[:4] == b"PK\x03\x04"  # npz
    assert (job_20 / "MyModel-model.params").is_file()  # Block.save's, in the working directory


def assert_block_save_explained(result, report, store):
    corrupt = {c["producer"]: c["detail"] for c in report["checks"]
               if c["verdict"] == "ARTIFACT_CORRUPT"}
    assert corrupt == {release: "not converted from the store's layout: "
                       + block_save_explanation(store, folder)
                       for release, (folder, _) in PRODUCERS_20.items()}
    for release, (folder, _) in PRODUCERS_20.items():
        assert (f"cannot convert {release}/orig-lenet/gluon-block-save: "
                f"{block_save_explanation(store, folder)}") in result.stderr


def test_the_2_0_variant_is_checked_on_2_0_0b1_and_the_block_save_folders_say_why(job_20, tmp_path):
    store = job_20 / "models"
    result, report = check(store, tmp_path, candidate=CANDIDATE_20)
    assert result.returncode == 1, result.stdout + result.stderr  # the folders without parameters
    assert verdicts(report) == VERDICTS_20
    assert_block_save_explained(result, report, store)


def test_the_2_0_variant_from_s3_says_the_same(job_20, server, s3, tmp_path):
    prefix = "branch-2.0"
    for path in sorted(p for p in (job_20 / "models").rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(job_20 / 'models').as_posix()}"
        s3.put_object(Bucket=server["bucket"], Key=key, Body=path.read_bytes())
    url = f"s3://{server['bucket']}/{prefix}"
    result, report = check(url, tmp_path, env=aws_env(server, tmp_path), candidate=CANDIDATE_20)
    assert result.returncode == 1, result.stdout + result.stderr
    assert verdicts(report) == VERDICTS_20
    assert_block_save_explained(result, report, url)
