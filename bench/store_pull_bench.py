"""A cold pull of a 1 GB store over loopback: `mbcc pull` against what the original nightly
script did, a boto3 `download_file` loop over the bucket's objects, on the same S3 server (moto's,
on 127.0.0.1, every request signed), the same store and machine, in the same run. The runs
alternate; medians are printed. Then a warm pull, which must download no tensor or model file.

  build/tools-venv/bin/python bench/store_pull_bench.py [--mbcc build/dev/mbcc] [--repetitions 3]

The store: the corpus shipped with mbcc (739 bundles of small files) plus synthetic bundles made
from one of them whose params file is replaced by 16 MiB of random bytes, up to --size-mb.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
S3_SERVER = os.path.join(ROOT, "src", "store", "testdata", "s3_server.py")
TEMPLATE = "1.9.1/mlp/module-checkpoint"
BIG_FILE_BYTES = 16 << 20


def synthetic_bundles(store, megabytes):
    """Adds bundles to `store` until it holds `megabytes`; each is TEMPLATE with big params."""
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs)
    template = os.path.join(store, "v1", TEMPLATE)
    rng = os.urandom
    n = 0
    while total < megabytes * 1e6:
        target = os.path.join(store, "v1", "9.9.%d" % n, "mlp", "module-checkpoint")
        shutil.copytree(template, target)
        with open(os.path.join(target, "manifest.json")) as f:
            manifest = json.load(f)
        params = next(f for f in manifest["files"] if f["role"] == "params")
        body = rng(BIG_FILE_BYTES)
        with open(os.path.join(target, params["path"]), "wb") as f:
            f.write(body)
        params["size"] = len(body)
        params["sha256"] = hashlib.sha256(body).hexdigest()
        with open(os.path.join(target, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        total += len(body)
        n += 1
    return total


def boto3_loop(s3, bucket, prefix, dest):
    """The original script's way: list, then one download_file after another."""
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            path = os.path.join(dest, o["Key"][len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, o["Key"], path)
            count += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbcc", default=os.path.join(ROOT, "build", "dev", "mbcc"))
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="mbcc-pull-bench-")
    server = subprocess.Popen([sys.executable, S3_SERVER, "--lifetime", "3600"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        endpoint = "http://127.0.0.1:%d" % info["port"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=info["access_key"], AWS_SECRET_ACCESS_KEY=info["secret_key"],
                   AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1")
        store = os.path.join(work, "store")
        shutil.copytree(os.path.join(ROOT, "corpus"), store)
        size = synthetic_bundles(store, args.size_mb)
        url = "s3://%s/bench" % info["bucket"]
        subprocess.run([args.mbcc, "publish", store, url], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=info["access_key"],
                          aws_secret_access_key=info["secret_key"])
        objects = sum(1 for p in s3.get_paginator("list_objects_v2").paginate(
            Bucket=info["bucket"], Prefix="bench/") for _ in p.get("Contents", []))

        times = {"boto3 loop": [], "mbcc pull": []}
        for r in range(args.repetitions):
            dest = os.path.join(work, "boto3-%d" % r)
            start = time.perf_counter()
            boto3_loop(s3, info["bucket"], "bench/", dest)
            times["boto3 loop"].append(time.perf_counter() - start)
            shutil.rmtree(dest)

            cache = os.path.join(work, "cache-%d" % r)
            start = time.perf_counter()
            subprocess.run([args.mbcc, "pull", url, "--cache-dir", cache, "--connections",
                            str(args.connections)], env=env, check=True, stderr=subprocess.DEVNULL)
            times["mbcc pull"].append(time.perf_counter() - start)
        warm = subprocess.run([args.mbcc, "pull", url, "--cache-dir", cache], env=env, check=True,
                              stderr=subprocess.PIPE, text=True).stderr.strip()

        base = statistics.median(times["boto3 loop"])
        print("store: %d objects, %.0f MB; S3 server: moto on 127.0.0.1; median of %d; "
              "mbcc --connections %d" % (objects, size / 1e6, args.repetitions, args.connections))
        for name, runs in times.items():
            t = statistics.median(runs)
            print("%-11s %8.2f s %8.1f MB/s %6.2fx" % (name, t, size / 1e6 / t, base / t))
        print("warm pull: " + warm)
    finally:
        server.stdin.close()
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
