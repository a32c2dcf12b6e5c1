"""The release matrix against running `mbcc check` once per candidate in sequence, in the same
run: both check the same store on the same candidates, and must give the same verdicts. Prints
both wall times, the ratio, and the ceiling of any harness on this machine: the candidates' own
load and forward times (from the single-candidate runs' reports) spread over the slots, plus one
MXNet import per candidate (measured here, once each).

    build/tools-venv/bin/python bench/matrix_bench.py [--mbcc build/dev/mbcc]
        [--candidate all] [--jobs 2] [--slots 2] [-- extra check options, e.g. --model mlp]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv):
    start = time.monotonic()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return time.monotonic() - start


def own_time(report):
    """Seconds the candidates spent loading and running, summed over a report's checks."""
    return sum(c["timings"]["load_ms"] + c["timings"]["run_ms"] for c in report["checks"]) / 1e3


def verdicts(report):
    return {(c["producer"], c["model"], c["save_api"], c["load_api"], c["candidate"]):
            c["raw_verdict"] for c in json.loads(report.read_text())["checks"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbcc", default=str(ROOT / "build" / "dev" / "mbcc"))
    parser.add_argument("--candidate", default="all", help="what --candidate takes")
    parser.add_argument("--jobs", type=int, default=2, help="workers per pool, as check's -j")
    parser.add_argument("--slots", type=int, default=os.cpu_count(), help="cores for the ceiling")
    parser.add_argument("extra", nargs="*", help="more check options, after --")
    args = parser.parse_args()
    mbcc = args.mbcc
    # the candidates as the matrix names them, installed before anything is timed
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probe = subprocess.run([mbcc, "check", "--candidate", args.candidate, "--model", "-none-",
                                "--report-dir", str(tmp / "probe")], capture_output=True, text=True)
        candidates = json.loads((tmp / "probe" / "report.json").read_text())["run"]["candidates"]
        if not candidates:
            sys.exit(f"no candidate: {probe.stderr[-2000:]}")
        imports = {}
        for c in candidates:
            python = subprocess.run([mbcc, "env", "python", c], capture_output=True, text=True,
                                    check=True).stdout.strip()
            subprocess.run([python, "-c", "import mxnet"], capture_output=True)  # warm the disk
            imports[c] = timed([python, "-c", "import mxnet"])

        # every check runs: none is served from the run cache (bench/run_cache_bench.py times that)
        check = [mbcc, "check", "-j", str(args.jobs), "--no-cache", *args.extra]
        sequential = 0.0
        seen_alone = {}
        own_alone = 0.0
        for c in candidates:
            folder = tmp / "alone" / c.replace("/", "_")
            sequential += timed([*check, "--candidate", c, "--report-dir", str(folder)])
            seen_alone.update(verdicts(folder / "report.json"))
            own_alone += own_time(json.loads((folder / "report.json").read_text()))
        matrix = timed([*check, *[a for c in candidates for a in ("--candidate", c)],
                        "--report-dir", str(tmp / "matrix")])
        report = json.loads((tmp / "matrix" / "report.json").read_text())
        seen_together = verdicts(tmp / "matrix" / "report.json")
        # the checks' own times as the single-candidate runs measured them: the matrix's own
        # are longer, as two candidates' workers share the cores
        own = own_alone
        own_together = own_time(report)
        ceiling = own / args.slots + sum(imports.values())

    same = seen_alone == seen_together
    print(f"candidates: {len(candidates)}, checks: {len(seen_together)}, slots: {args.slots}, "
          f"workers per pool: {args.jobs}")
    print(f"one `mbcc check` per candidate, in sequence: {sequential:.1f} s")
    print(f"one `mbcc check` of every candidate:        {matrix:.1f} s "
          f"({sequential / matrix:.2f}x faster)")
    print(f"ceiling: {own:.1f} s of load and forward (as the runs of one candidate measured "
          f"them; {own_together:.1f} s in the matrix run) over {args.slots} slots + "
          f"{sum(imports.values()):.1f} s of imports = {ceiling:.1f} s; "
          f"the matrix run is {matrix / ceiling:.2f}x the ceiling")
    print(f"same verdicts: {'yes' if same else 'NO'}")
    if not same:
        differ = [k for k in seen_alone if seen_alone[k] != seen_together.get(k)]
        print(f"  {len(differ)} differ, e.g. {differ[:5]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
