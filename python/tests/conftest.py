"""Shared fixtures: the built mbcc binary and MXNet release environments made by `mbcc env`."""
import os
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("MBCC_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SHARED_DIR = SOURCE_DIR.parent / "shared"


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
