"""Shared fixtures: the built mbcc binary and MXNet release environments made by `mbcc env`."""
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("MBCC_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SHARED_DIR = SOURCE_DIR.parent / "shared"


def copy_corpus_bundle(bundle, store):
    """The shipped corpus's `producer/model/save_api` bundle into the local store `store`, laid out
    as its manifest says: each file not marked shared in the bundle's folder, each shared one in
    objects/. The corpus itself keeps every file in objects/ by sha256 (`mbcc pack`)."""
    corpus = SOURCE_DIR / "corpus"
    (store / "v1" / bundle).mkdir(parents=True)
    shutil.copy(corpus / "v1" / bundle / "manifest.json", store / "v1" / bundle)
    for f in json.loads((corpus / "v1" / bundle / "manifest.json").read_text())["files"]:
        objects = f"objects/{f['sha256'][:2]}/{f['sha256']}"
        places = [f"v1/{bundle}/{f['path']}", objects + ".gz", objects]
        source = next((corpus / p for p in places if (corpus / p).exists()), None)
        assert source is not None, f"{bundle}: {f['path']} is nowhere in the corpus"
        if f.get("shared"):
            target = store / (objects + (".gz" if f.get("compressed") else ""))
            data = source.read_bytes()
            if source.suffix == ".gz" and not f.get("compressed"):
                data = gzip.decompress(data)
        else:
            target = store / "v1" / bundle / f["path"]
            data = source.read_bytes()
            if source.suffix == ".gz":
                data = gzip.decompress(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def mbcc_bin():
    return os.environ.get("MBCC_BIN", str(SOURCE_DIR / "build" / "dev" / "mbcc"))


def run_mbcc(*args, check=True):
    result = subprocess.run([mbcc_bin(), *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"mbcc {' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def mxnet_python(version):
    """The Python of a managed environment for `version`, installed on first use."""
    run_mbcc("env", "install", version)
    return run_mbcc("env", "python", version).stdout.strip()


@pytest.fixture(scope="session")
def mbcc():
    return run_mbcc
