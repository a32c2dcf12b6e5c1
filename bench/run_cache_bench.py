"""A second `mbcc check` with nothing changed, served from the run cache, against the first, which
ran every check and kept its runs: both in a run cache of their own (a fresh --cache-dir), in the
same run. Both must give the same verdicts; prints both wall times and their ratio.

    build/tools-venv/bin/python bench/run_cache_bench.py [--mbcc build/dev/mbcc]
        [--candidate all] [-- extra check options, e.g. --model mlp]

The first run inflates the store's gzip'd files into the fresh store cache too; the second finds
them there, as any second run does.
"""
import argparse
import json
import tempfile
from pathlib import Path

from matrix_bench import timed  # a timed mbcc run, as the matrix benchmark times its own

ROOT = Path(__file__).resolve().parents[1]


def report(folder):
    document = json.loads((folder / "report.json").read_text())
    verdicts = {(c["producer"], c["model"], c["save_api"], c["load_api"], c["candidate"]):
                (c["raw_verdict"], c["outputs"], c["first_divergence"])
                for c in document["checks"]}
    return verdicts, document["summary"]["from_cache"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbcc", default=str(ROOT / "build" / "dev" / "mbcc"))
    parser.add_argument("--candidate", default="all", help="what --candidate takes")
    parser.add_argument("extra", nargs="*", help="more check options, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        check = [args.mbcc, "check", "--candidate", args.candidate, "--cache-dir",
                 str(tmp / "store-cache"), *args.extra]
        first = timed([*check, "--report-dir", str(tmp / "first")])
        second = timed([*check, "--report-dir", str(tmp / "second")])
        ran, _ = report(tmp / "first")
        served, from_cache = report(tmp / "second")
        entries = sum(f.stat().st_size for f in (tmp / "run-cache").iterdir() if f.is_file())
    print(f"checks: {len(ran)}, from the run cache in the second run: {from_cache}, "
          f"run cache {entries / 1e6:.1f} MB")
    print(f"first run (every check runs, each run kept): {first:.1f} s")
    print(f"second run, nothing changed:                 {second:.1f} s "
          f"({100 * second / first:.1f}% of the first)")
    print(f"same verdicts, statistics and diverging nodes: {'yes' if ran == served else 'NO'}")


if __name__ == "__main__":
    main()
