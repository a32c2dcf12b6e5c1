"""S3 as a store, end to end, against a real S3-protocol server (moto's, on 127.0.0.1, every
request signed) and the real MXNet 1.9.1: `mbcc publish` into a bucket, `mbcc check --store
s3://…` through the cache, a corrupt object, a publish killed midway, an unreachable store,
credentials from a profile, and shards that split a run. boto3 is the reference client the
tests look into the bucket with."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import SOURCE_DIR, mbcc_bin, mxnet_python

CORPUS = SOURCE_DIR / "corpus"
S3_SERVER = SOURCE_DIR / "src" / "store" / "testdata" / "s3_server.py"
SMALL = ["--producer", "1.9.1", "--model", "lenet*"]  # 11 bundles, 25 checks

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed in the tools environment")
pytest.importorskip("moto", reason="moto is not installed in the tools environment")


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, str(S3_SERVER), "--lifetime", "900"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    if "skip" in info:
        pytest.skip(info["skip"])
    info["endpoint"] = f"http://127.0.0.1:{info['port']}"
    yield info
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def s3(server):
    return boto3.client("s3", endpoint_url=server["endpoint"], region_name="us-east-1",
                        aws_access_key_id=server["access_key"],
                        aws_secret_access_key=server["secret_key"])


def aws_env(server, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=server["access_key"], AWS_SECRET_ACCESS_KEY=server["secret_key"],
               AWS_ENDPOINT_URL=server["endpoint"], AWS_REGION="us-east-1",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
               AWS_CONFIG_FILE=str(tmp_path / "no-config"))
    env.update(extra)
    return env


def mbcc(env, *args):
    return subprocess.run([mbcc_bin(), *map(str, args)], env=env, capture_output=True, text=True)


def bucket_objects(s3, server, prefix):
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=server["bucket"], Prefix=prefix):
        for o in page.get("Contents", []):
            objects[o["Key"][len(prefix):]] = o["Size"]
    return objects


def check(env, tmp_path, store, *args):
    report_dir = tmp_path / "report"
    result = mbcc(env, "check", "--store", store, "--report-dir", report_dir,
                  "--cache-dir", tmp_path / "cache", "--candidate", "1.9.1", *args)
    return result, json.loads((report_dir / "report.json").read_text())


def verdicts(report):
    return {(c["producer"], c["model"], c["save_api"], c["load_api"]): c["verdict"]
            for c in report["checks"]}


@pytest.fixture(scope="module", autouse=True)
def release():
    mxnet_python("1.9.1")


def test_a_check_from_s3_gives_the_local_verdicts_and_a_warm_one_downloads_no_file(
        server, s3, tmp_path):
    env = aws_env(server, tmp_path)
    url = f"s3://{server['bucket']}/night-1"
    published = mbcc(env, "publish", CORPUS, url, *SMALL)
    assert published.returncode == 0, published.stderr
    assert "11 bundles published" in published.stdout
    objects = bucket_objects(s3, server, "night-1/")
    assert "expectations.toml" in objects
    assert sum(1 for k in objects if k.endswith("/manifest.json")) == 11

    cold, report = check(env, tmp_path, url, *SMALL)
    local, local_report = check(env, tmp_path / "local", CORPUS, *SMALL)
    assert cold.returncode == local.returncode == 0, cold.stdout + cold.stderr
    assert verdicts(report) == verdicts(local_report)
    assert len(report["checks"]) == 25
    assert report["run"]["store"] == url
    assert report["run"]["expectations"] == url + "/expectations.toml"
    assert " 0 from the cache" in cold.stderr

    warm, again = check(env, tmp_path, url, *SMALL)
    assert "0 files downloaded (0 B)" in warm.stderr, warm.stderr
    assert verdicts(again) == verdicts(report)
    for output in (published, cold, warm):  # the secret never shows
        assert server["secret_key"] not in output.stdout + output.stderr
    assert server["secret_key"] not in (tmp_path / "report" / "report.json").read_text()


def test_an_object_that_does_not_match_its_manifest_is_corrupt_and_never_cached(
        server, s3, tmp_path):
    env = aws_env(server, tmp_path)
    prefix = "night-corrupt"
    url = f"s3://{server['bucket']}/{prefix}"
    assert mbcc(env, "publish", CORPUS, url, *SMALL).returncode == 0
    bad_key = f"{prefix}/v1/1.9.1/lenet-hybrid/gluon-export/model/lenet-hybrid-0000.params"
    body = bytearray(s3.get_object(Bucket=server["bucket"], Key=bad_key)["Body"].read())
    body[-1] ^= 0x01  # one flipped bit in the last weight
    s3.put_object(Bucket=server["bucket"], Key=bad_key, Body=bytes(body))

    result, report = check(env, tmp_path, url, *SMALL)
    assert result.returncode == 1
    corrupt = [c for c in report["checks"] if c["verdict"] == "ARTIFACT_CORRUPT"]
    assert {(c["model"], c["save_api"]) for c in corrupt} == {("lenet-hybrid", "gluon-export")}
    assert all("sha256" in c["detail"] for c in corrupt), corrupt[0]["detail"]
    assert all(c["verdict"] == "PASS" for c in report["checks"] if c not in corrupt)
    bad_hash = hashlib.sha256(bytes(body)).hexdigest()
    assert not (tmp_path / "cache" / bad_hash).exists()


def test_publish_keeps_what_is_there_unless_forced_and_a_dry_run_sends_nothing(
        server, s3, tmp_path):
    env = aws_env(server, tmp_path)
    url = f"s3://{server['bucket']}/night-keep"
    one = ["--producer", "1.9.1", "--model", "mlp", "--save-api", "module-checkpoint"]
    dry = mbcc(env, "publish", CORPUS, url, "--dry-run", *one)
    assert dry.returncode == 0 and "would publish 1.9.1/mlp/module-checkpoint" in dry.stdout
    assert bucket_objects(s3, server, "night-keep/") == {}
    assert mbcc(env, "publish", CORPUS, url, *one).returncode == 0
    manifest = "night-keep/v1/1.9.1/mlp/module-checkpoint/manifest.json"
    first = s3.head_object(Bucket=server["bucket"], Key=manifest)["LastModified"]
    again = mbcc(env, "publish", CORPUS, url, *one)
    assert "0 bundles published" in again.stdout and "1 already there and kept" in again.stdout
    assert s3.head_object(Bucket=server["bucket"], Key=manifest)["LastModified"] == first
    time.sleep(1.1)  # LastModified has a resolution of one second
    forced = mbcc(env, "publish", CORPUS, url, "--force", *one)
    assert "1 bundles published" in forced.stdout, forced.stdout + forced.stderr
    assert s3.head_object(Bucket=server["bucket"], Key=manifest)["LastModified"] > first


def test_a_publish_killed_midway_leaves_only_complete_bundles(server, s3, tmp_path):
    env = aws_env(server, tmp_path)
    url = f"s3://{server['bucket']}/night-killed"
    proc = subprocess.Popen([mbcc_bin(), "publish", CORPUS, url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    assert proc.poll() is None, "publish ended before it could be killed; give it more to do"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    objects = bucket_objects(s3, server, "night-killed/")
    manifests = [k for k in objects if k.endswith("/manifest.json")]
    in_corpus = len(list(CORPUS.glob("v1/*/*/*/manifest.json")))
    assert 0 < len(manifests) < in_corpus
    for key in manifests:
        bundle = key[: -len("manifest.json")]
        body = s3.get_object(Bucket=server["bucket"], Key="night-killed/" + key)["Body"].read()
        for f in json.loads(body)["files"]:
            # a shared file is sent once, under objects/, before any manifest that lists it, as
            # the store keeps it (gzip'd for a schema 3 bundle)
            if not f.get("shared"):
                assert objects.get(bundle + f["path"]) == f["size"], f"{bundle}{f['path']}"
                continue
            where = f"objects/{f['sha256'][:2]}/{f['sha256']}" + (".gz" if f.get("compressed") else "")
            assert objects.get(where) == (CORPUS / where).stat().st_size, f"{bundle}{f['path']}"
    # and the next publish completes the store
    done = mbcc(env, "publish", CORPUS, url)
    assert done.returncode == 0, done.stderr
    objects = bucket_objects(s3, server, "night-killed/")
    assert sum(1 for k in objects if k.endswith("/manifest.json")) == in_corpus


def test_an_unreachable_store_is_a_run_error_naming_it(server, tmp_path):
    env = aws_env(server, tmp_path, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # discard port: closed
    url = f"s3://{server['bucket']}/night-1"
    result, report = check(env, tmp_path, url, *SMALL)
    assert result.returncode == 2
    assert report["checks"] == []
    assert any(url in e and "connect" in e.lower() for e in report["run_errors"]), report["run_errors"]
    published = mbcc(env, "publish", CORPUS, url, *SMALL)
    assert published.returncode == 2 and url in published.stderr


def test_credentials_from_a_named_profile(server, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                           f"[nightly]\naws_access_key_id = {server['access_key']}\n"
                           f"aws_secret_access_key = {server['secret_key']}\n")
    env = aws_env(server, tmp_path, AWS_PROFILE="nightly",
                  AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    url = f"s3://{server['bucket']}/night-profile"
    one = ["--producer", "1.9.1", "--model", "mlp", "--save-api", "module-checkpoint"]
    assert mbcc(env, "publish", CORPUS, url, *one).returncode == 0
    env["AWS_PROFILE"] = "default"
    refused = mbcc(env, "publish", CORPUS, url, *one)
    assert refused.returncode == 2 and "403" in refused.stderr, refused.stderr


def test_shards_split_a_run_into_disjoint_parts_that_cover_it(tmp_path):
    env = dict(os.environ)
    seen = {}
    # module checkpoints: every bundle has the same three C API checks, so shard sizes compare
    only = ["--producer", "1.9.1", "--save-api", "module-checkpoint", "--load-api", "c-*"]
    for i in (1, 2, 3):
        result, report = check(env, tmp_path / str(i), CORPUS, *only, "--shard", f"{i}/3")
        assert result.returncode == 0, result.stdout + result.stderr
        for key in verdicts(report):
            assert key not in seen, f"{key} is in shards {seen[key]} and {i}"
            seen[key] = i
    result, whole = check(env, tmp_path / "whole", CORPUS, *only)
    assert set(seen) == set(verdicts(whole))
    merged = mbcc(env, "report", "merge", *[tmp_path / str(i) / "report" / "report.json" for i in (1, 2, 3)],
                  "-o", tmp_path / "merged.json", "--junit", tmp_path / "merged.xml",
                  "--html", tmp_path / "merged.html")
    assert merged.returncode == 0, merged.stderr
    joined = json.loads((tmp_path / "merged.json").read_text())
    assert verdicts(joined) == verdicts(whole)
    assert joined["summary"] == whole["summary"]
    cases = ET.parse(tmp_path / "merged.xml").getroot().iter("testcase")
    assert sum(1 for c in cases if c.get("classname", "").startswith("1_9_1.")) == len(verdicts(whole))
    assert (tmp_path / "merged.html").stat().st_size > 0
    sizes = [sum(1 for s in seen.values() if s == i) for i in (1, 2, 3)]
    assert max(sizes) - min(sizes) <= 3  # one bundle at most, of 3 C API checks
    bad = mbcc(env, "check", "--shard", "4/3", "--report-dir", tmp_path / "bad")
    assert bad.returncode == 2 and "--shard" in bad.stdout + bad.stderr


def test_nightly_generates_what_the_store_lacks_then_checks_everything(server, s3, tmp_path):
    env = aws_env(server, tmp_path, MBCC_CACHE_DIR=str(tmp_path / "cache-root"))
    url = f"s3://{server['bucket']}/nightly"
    assert mbcc(env, "publish", CORPUS, url, "--producer", "1.8.0", "--model", "mlp").returncode == 0
    args = ["nightly", "--store", url, "--release", "1.8.0", "--release", "1.9.1",
            "--generate-model", "mlp", "--candidate", "1.9.1", "--report-dir", tmp_path / "report"]
    first = mbcc(env, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 of 2 releases to generate: 1.9.1" in first.stdout
    objects = bucket_objects(s3, server, "nightly/")
    assert "v1/1.9.1/mlp/module-checkpoint/manifest.json" in objects
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert {c["producer"] for c in report["checks"]} == {"1.8.0", "1.9.1"}
    assert all(c["verdict"] == "PASS" for c in report["checks"])
    second = mbcc(env, *args)
    assert "0 of 2 releases to generate" in second.stdout, second.stdout
    assert second.returncode == 0


def test_progress_is_drawn_on_a_terminal_and_quiet_elsewhere(server, tmp_path):
    env = aws_env(server, tmp_path)
    url = f"s3://{server['bucket']}/night-1"  # published by the first test, or published here
    mbcc(env, "publish", CORPUS, url, *SMALL)
    piped = mbcc(env, "pull", url, "--cache-dir", tmp_path / "piped")
    assert piped.returncode == 0 and "\r" not in piped.stderr and "\x1b[K" not in piped.stderr
    # `script` gives mbcc a pseudo-terminal, as a person's shell would
    command = f"{mbcc_bin()} pull {url} --cache-dir {tmp_path / 'tty'} --connections 1"
    shown = subprocess.run(["script", "-qec", command, "/dev/null"], env=env, capture_output=True)
    assert shown.returncode == 0, shown.stdout
    assert b"\r\x1b[Kfiles 1/" in shown.stdout, shown.stdout


def test_a_store_that_shares_files_sends_each_content_once(server, s3, tmp_path):
    """Tensors kept once in STORE/objects go to the bucket's objects/ once, however many bundles
    hold them, and a check from the bucket reads them back as the local store does."""
    env = aws_env(server, tmp_path)
    store = tmp_path / "shared-store"
    subprocess.run([mbcc_bin(), "generate", "--mxnet", "1.9.1", "--model", "bn-cnn",
                    "--share-files", "--store", str(store), "--jobs", "2"],
                   check=True, capture_output=True)
    prefix = "night-shared"
    url = f"s3://{server['bucket']}/{prefix}"
    published = mbcc(env, "publish", store, url)
    assert published.returncode == 0, published.stderr
    objects = bucket_objects(s3, server, prefix + "/")
    local_objects = {str(p.relative_to(store)): p.stat().st_size
                     for p in (store / "objects").rglob("*") if p.is_file()}
    assert local_objects and {k: v for k, v in objects.items() if k.startswith("objects/")} == local_objects
    manifests = [json.loads(p.read_text()) for p in store.glob("v1/*/*/*/manifest.json")]
    for m in manifests:  # a shared file has no copy under its bundle
        bundle = f"v1/1.9.1/{m['case']['model']}/{m['case']['save_api']}/"
        for f in m["files"]:
            assert (bundle + f["path"] in objects) != bool(f.get("shared")), (bundle, f)

    cold, report = check(env, tmp_path, url)
    local, local_report = check(env, tmp_path / "local", store)
    assert cold.returncode == local.returncode == 0, cold.stdout + cold.stderr
    assert report["checks"] and verdicts(report) == verdicts(local_report)

    again = mbcc(env, "publish", store, url, "--force")
    assert again.returncode == 0, again.stderr
    assert bucket_objects(s3, server, prefix + "/") == objects
