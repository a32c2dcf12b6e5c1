"""How report.html copes with a large run: a synthetic report.json of 20,000 checks (4 candidates
x 20 producers x 50 cases x 5 load APIs, verdicts mixed as in a real night), made into a page by
`mbcc report --html`, loaded in headless chromium. Prints the page's size and its render time:
performance.now() when the page's script has drawn everything and laid it out (navigation start
is 0), the median of several loads.

    build/tools-venv/bin/python bench/html_report_bench.py [--mbcc build/dev/mbcc] [--loads 7]
        [--report REPORT.json]

--report measures the page of a real run instead, e.g. the full release matrix of the corpus
(`mbcc check --candidate all`).
"""
import argparse
import json
import random
import statistics
import subprocess
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ["1.9.1", "2.0.0a0", "2.0.0b1", "2.0.0"]
PRODUCERS = [f"1.{minor}.{patch}" for minor in range(10) for patch in range(2)]
MODELS = [f"model-{i:02}" for i in range(25)]
SAVE_APIS = ["gluon-export", "module-checkpoint"]
LOAD_APIS = ["c-cachedop", "c-predict", "gluon-imports", "module-load-checkpoint", "c-executor"]
EDGES = [0] + [10.0 ** e for e in range(-12, 1)]
# A candidate's message names the bundle's file, so no two are alike.
MESSAGE = ("MXNetError: Error in operator conv1: Shape inconsistent, Provided = [64,3,3,3], inferred "
           "shape=(64,1,3,3) loading /nightly/store/v1/{}\nStack trace:\n" +
           "".join(f"  [bt] ({i}) libmxnet.so(+0x{i:x}1234)\n" for i in range(8)))


def comparison(rng, drift):
    count = 2560
    mismatched = rng.randint(1, 40) if drift else 0
    hist = [rng.randint(0, 250) for _ in range(8)] + [mismatched] + [0] * 6
    hist[0] = count - sum(hist[1:])
    abs_max = rng.uniform(1e-3, 1e-1) if drift else rng.uniform(1e-8, 1e-6)
    return {
        "outcome": "out_of_tolerance" if drift else "match", "dtype": "float32",
        "expected_dtype": "float32", "shape": [1, 10, 16, 16], "expected_shape": [1, 10, 16, 16],
        "tolerance": {"rtol": 1e-4, "atol": 1e-5},
        "stats": {
            "count": count, "compared": count, "rel_compared": count - 3, "mismatched": mismatched,
            "mismatched_share": mismatched / count, "nonfinite_introduced": 0, "actual_nan": 0,
            "actual_inf": 0, "expected_nan": 0, "expected_inf": 0,
            "abs_error": {"max": abs_max, "mean": abs_max / 7.3, "p99": abs_max / 1.9},
            "rel_error": {"max": abs_max * 3.1, "mean": abs_max / 2.2, "p99": abs_max * 1.7},
            "worst": {"index": [0, 3, 7, 11], "actual": 0.123456789, "expected": 0.123456,
                      "actual_bits": "0x3dfcd6ea", "expected_bits": "0x3dfcd5cd",
                      "abs_error": abs_max, "rel_error": abs_max * 3.1},
            "abs_error_histogram": {"edges": EDGES, "counts": hist}}}


def bundle(producer, model, save_api, rng):
    return {"producer": {"version": producer, "requirement": f"mxnet=={producer}",
                         "mxnet_version": producer, "python": "3.7.17", "numpy": "1.16.6",
                         "platform": "Linux-x86_64", "created": "2026-01-01T00:00:00Z",
                         "features": ["CPU_SSE", "CPU_AVX", "BLAS_OPEN", "OPENMP", "SIGNAL_HANDLER"]},
            "seeds": {"weights": 7, "inputs": 11},
            "files": [{"path": f"model/{model}-{name}", "size": rng.randint(1000, 10 ** 6),
                       "sha256": "%064x" % rng.getrandbits(256)}
                      for name in ["symbol.json", "0000.params", "data/input_0.npy",
                                   "data/output_0.npy"]],
            "model_kind": "hybrid", "writer": save_api, "np_mode": False}


def synthetic_report():
    rng = random.Random(20000)
    bundles = {(p, m, s): bundle(p, m, s, rng) for p in PRODUCERS for m in MODELS for s in SAVE_APIS}
    checks = []
    for candidate in CANDIDATES:
        for (producer, model, save_api), facts in bundles.items():
            for load_api in LOAD_APIS:
                roll = rng.random()
                verdict = ("PASS" if roll < 0.70 else "UNSUPPORTED" if roll < 0.85 else
                           "XFAIL" if roll < 0.93 else "LOAD_FAIL" if roll < 0.98 else "NUMERIC_DRIFT")
                raw = "LOAD_FAIL" if verdict == "XFAIL" else verdict
                failed_load = raw == "LOAD_FAIL"
                checks.append({
                    "producer": producer, "model": model, "save_api": save_api,
                    "load_api": load_api, "candidate": candidate, "verdict": verdict,
                    "raw_verdict": raw, "failure": verdict in ("LOAD_FAIL", "NUMERIC_DRIFT"),
                    "detail": "the predict API was removed in 2.0" if verdict == "UNSUPPORTED" else "",
                    "message": {"text": MESSAGE.format(f"{producer}/{model}/{save_api}/model"), "kind": "shape_inference", "subject": ""}
                    if failed_load else None,
                    "outputs": [] if failed_load or verdict == "UNSUPPORTED" else
                    [dict(comparison(rng, verdict == "NUMERIC_DRIFT"), name="output_0")],
                    "first_divergence": {"node": "conv1_fwd", "op": "Convolution",
                                         "comparison": comparison(rng, True)}
                    if verdict == "NUMERIC_DRIFT" else None,
                    "expectation": {"verdicts": ["LOAD_FAIL"], "reason": "a known break",
                                    "link": "https://github.com/apache/mxnet/issues/1",
                                    "expires": None, "source": "corpus/expectations.toml:4"}
                    if verdict == "XFAIL" else None,
                    "timings": {"load_ms": rng.uniform(5, 500), "run_ms": rng.uniform(1, 50),
                                "overhead_ms": rng.uniform(0.5, 5)},
                    "attempts": [raw], "bundle": facts})
    return {"schema": "mbcc-report/1",
            "run": {"mbcc_version": "0.1.0", "candidates": CANDIDATES, "store": "corpus",
                    "expectations": "corpus/expectations.toml",
                    "started_at": "2026-01-01T02:00:00Z", "finished_at": "2026-01-01T05:00:00Z"},
            "run_errors": [], "expired_expectations": [], "checks": checks}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbcc", default=str(ROOT / "build" / "dev" / "mbcc"))
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--report", type=Path, help="a real report.json instead of the synthetic one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        if args.report:
            report = args.report
            checks = len(json.loads(report.read_text())["checks"])
        else:
            report = Path(tmp) / "synthetic.json"
            synthetic = synthetic_report()
            checks = len(synthetic["checks"])
            report.write_text(json.dumps(synthetic))
        subprocess.run([args.mbcc, "report", str(report), "--html", str(page)], check=True,
                       stdout=subprocess.DEVNULL)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--window-size=1600,1000"]:
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            times = []
            for _ in range(args.loads):
                driver.get(page.as_uri())
                times.append(WebDriverWait(driver, 60).until(
                    lambda d: d.execute_script("return window.mbccRenderMs")))
            cells = driver.execute_script("return document.querySelectorAll('td.c').length")
        finally:
            driver.quit()
        print(f"checks: {checks}, cells drawn: {cells}")
        print(f"report.json: {report.stat().st_size / 1e6:.1f} MB, "
              f"report.html: {page.stat().st_size / 1e6:.1f} MB")
        print(f"render time (median of {args.loads} loads): {statistics.median(times):.0f} ms "
              f"(min {min(times):.0f}, max {max(times):.0f})")


if __name__ == "__main__":
    main()
