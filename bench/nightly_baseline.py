"""The baseline of bench/check_bench.py: what the original MXNet nightly script did, on mbcc's
corpus. One Python process inside the candidate's environment walks every bundle in order and,
for each Python load API its manifest lists, loads the golden inputs, loads the model through
that API, runs it forward and compares each output with `mx.test_utils.assert_almost_equal`.
A failing check is counted and the loop goes on (the original stopped at the first failure,
which would leave most of the corpus unchecked and make the comparison unfair to mbcc).

The load and forward code is mbcc_probe's own (loaders.py), so both sides run the same candidate
code and the benchmark measures only the harness around it. The golden inputs are .npy files,
so they are read with numpy rather than mx.nd.load.

Usage: CANDIDATE_PYTHON nightly_baseline.py STORE [--load-api GLOB]...
Prints one JSON object: the counts and the wall time of the loop, and of `import mxnet`.
"""

import argparse
import fnmatch
import json
import os
import sys
import time

PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python")

# mbcc's default tolerances per golden dtype (src/tensor/compare.cpp), so both sides judge alike.
TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-11), "float16": (1e-2, 1e-2)}


def bundles(store):
    root = os.path.join(store, "v1")
    for producer in sorted(os.listdir(root)):
        for model in sorted(os.listdir(os.path.join(root, producer))):
            model_dir = os.path.join(root, producer, model)
            if not os.path.isdir(model_dir):
                continue
            for save_api in sorted(os.listdir(model_dir)):
                bundle_dir = os.path.join(model_dir, save_api)
                manifest = os.path.join(bundle_dir, "manifest.json")
                if os.path.isfile(manifest):
                    with open(manifest) as f:
                        yield bundle_dir, json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("--load-api", action="append", default=[])
    args = parser.parse_args()

    started = time.perf_counter()
    sys.path.insert(0, PYTHON_DIR)
    import numpy as np
    from mbcc_probe import loaders
    from mbcc_probe.runtime import Runtime

    rt = Runtime()
    mx = rt.mx
    imported = time.perf_counter()

    counts = {"passed": 0, "failed": 0, "unsupported": 0}
    for bundle_dir, manifest in bundles(os.path.abspath(args.store)):
        for load_api in manifest["load_apis"]:
            if load_api.startswith("c-"):
                continue
            if args.load_api and not any(fnmatch.fnmatch(load_api, g) for g in args.load_api):
                continue
            try:
                outputs = loaders.load_and_run(bundle_dir, load_api, rt)
                for golden, actual in zip(manifest["outputs"], outputs):
                    expected = np.load(os.path.join(bundle_dir, golden["file"]))
                    rtol, atol = TOLERANCE.get(golden["dtype"], (0, 0))
                    mx.test_utils.assert_almost_equal(actual, expected, rtol=rtol, atol=atol)
                counts["passed"] += 1
            except loaders.Unsupported:
                counts["unsupported"] += 1
            except Exception:  # a failing check is a count here, as an assert was there
                counts["failed"] += 1
    finished = time.perf_counter()
    counts["import_s"] = imported - started
    counts["loop_s"] = finished - imported
    counts["checks"] = counts["passed"] + counts["failed"] + counts["unsupported"]
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
