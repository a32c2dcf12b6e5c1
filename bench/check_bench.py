"""How fast `mbcc check` goes through the corpus, side by side with the original nightly script's
way (bench/nightly_baseline.py: one Python process, a serial loop), on the same corpus, candidate
and machine, in the same run. The runs alternate so that a change in the machine's load hits
both sides alike; the medians are printed.

  python3 bench/check_bench.py [--mbcc build/dev/mbcc] [--candidate 1.9.1] [--repetitions 5]

Four runs per repetition, none served from the run cache (--no-cache):
  baseline        the serial loop over every Python load API of every bundle
  mbcc python     mbcc check -j N over exactly the same checks (--load-api of the Python APIs);
                  checks whose worker side is the same share one candidate run
  mbcc alone      the same with --no-reuse: every check runs the candidate
  mbcc all        mbcc check -j N over the whole corpus: the Python APIs and the C API paths

For the mbcc runs, report.json gives each check's load and forward time as the worker measured
it. What is left of the run is mbcc's overhead, counted two ways:
  cpu share   1 - (candidate load + forward) / (CPU time of mbcc and all its workers)
  slot share  1 - (candidate load + forward) / (wall time x worker slots); this also counts
              the time workers spend importing MXNet and the time a slot stands idle
  own share   1 - (candidate load + forward + one import of MXNet) / CPU time: the cpu share
              with the import, which any harness pays once (the baseline's own figure), counted
              as the candidate's

The ceiling is the wall time no harness with N worker slots that runs every check can beat on
this candidate: one import of MXNet, then the candidate's load and forward times of `mbcc alone`
spread evenly over the slots. `mbcc python` can beat it, as it runs fewer.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON_LOAD_APIS = ["module-*", "gluon-*"]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, env=None):
    """(wall seconds, CPU seconds of the process and everything it waited for, stdout)."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit("%s exited with %d" % (" ".join(argv), done.returncode))
    return wall, children_cpu() - cpu, done.stdout


def run_baseline(python, store):
    env = dict(os.environ, PYTHONSAFEPATH="1")
    wall, cpu, out = timed([python, os.path.join(HERE, "nightly_baseline.py"), store], env)
    counts = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "cpu": cpu, "checks": counts["checks"], "failed": counts["failed"],
            "import_s": counts["import_s"]}


def run_mbcc(mbcc, candidate, store, jobs, load_apis, import_s, options=()):
    with tempfile.TemporaryDirectory() as reports:
        argv = [mbcc, "check", "--store", store, "--candidate", candidate, "-j", str(jobs),
                "--no-cache", "--report-dir", reports, *options]
        for api in load_apis:
            argv += ["--load-api", api]
        wall, cpu, _ = timed(argv)
        with open(os.path.join(reports, "report.json")) as f:
            report = json.load(f)
    candidate_ms = sum(c["timings"]["load_ms"] + c["timings"]["run_ms"] for c in report["checks"])
    python_checks = sum(1 for c in report["checks"] if not c["load_api"].startswith("c-"))
    # one pool per worker kind, one after the other, each with `jobs` workers
    slots = jobs
    return {"wall": wall, "cpu": cpu, "checks": len(report["checks"]),
            "failed": report["summary"]["failures"], "python_checks": python_checks,
            "candidate_s": candidate_ms / 1000.0,
            "cpu_share": 1 - candidate_ms / 1000.0 / cpu,
            "own_share": 1 - (candidate_ms / 1000.0 + import_s) / cpu,
            "slot_share": 1 - candidate_ms / 1000.0 / (wall * slots)}


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbcc", default=os.path.join(ROOT, "build", "dev", "mbcc"))
    parser.add_argument("--candidate", default="1.9.1")
    parser.add_argument("--store", default=os.path.join(ROOT, "corpus"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()

    python = subprocess.run([args.mbcc, "env", "python", args.candidate], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as plain:
        # The baseline reads each file in its bundle's folder, as the original script did, and a
        # packed store keeps them in objects/: both sides run on a plain copy.
        store = os.path.join(plain, "store")
        subprocess.run([args.mbcc, "pull", args.store, "--to", store], check=True,
                       stdout=subprocess.DEVNULL)
        runs = measure(args, python, store)
    report(args, runs)


def measure(args, python, store):
    runs = {"baseline": [], "mbcc python": [], "mbcc alone": [], "mbcc all": []}
    for _ in range(args.repetitions):
        runs["baseline"].append(run_baseline(python, store))
        import_s = runs["baseline"][-1]["import_s"]
        runs["mbcc python"].append(run_mbcc(args.mbcc, args.candidate, store, args.jobs,
                                            PYTHON_LOAD_APIS, import_s))
        runs["mbcc alone"].append(run_mbcc(args.mbcc, args.candidate, store, args.jobs,
                                           PYTHON_LOAD_APIS, import_s, ["--no-reuse"]))
        runs["mbcc all"].append(run_mbcc(args.mbcc, args.candidate, store, args.jobs, [],
                                         import_s))
    return runs


def report(args, runs):
    base = median(runs["baseline"], "wall")
    print("candidate %s, store %s, mbcc -j %d, median of %d, load average %.2f"
          % (args.candidate, args.store, args.jobs, args.repetitions, os.getloadavg()[0]))
    print("%-12s %7s %9s %9s %11s %9s %10s %10s %10s" % (
        "run", "checks", "wall s", "CPU s", "checks/s", "speed-up", "cpu share", "slot share",
        "own share"))
    for name, rs in runs.items():
        wall = median(rs, "wall")
        checks = rs[0]["checks"]
        line = "%-12s %7d %9.2f %9.2f %11.1f %8.2fx" % (
            name, checks, wall, median(rs, "cpu"), checks / wall,
            (checks / wall) / (runs["baseline"][0]["checks"] / base))
        if name != "baseline":
            line += " %9.1f%% %9.1f%% %9.1f%%" % (100 * median(rs, "cpu_share"),
                                                 100 * median(rs, "slot_share"),
                                                 100 * median(rs, "own_share"))
        print(line)
    ceiling = median(runs["baseline"], "import_s") + median(runs["mbcc alone"], "candidate_s") / args.jobs
    print("ceiling for the same checks with %d slots, each run: %.2f s, %.2fx the baseline "
          "(import %.2f s, candidate load + forward %.2f s)"
          % (args.jobs, ceiling, base / ceiling, median(runs["baseline"], "import_s"),
             median(runs["mbcc alone"], "candidate_s")))
    python_wall = median(runs["mbcc python"], "wall")
    print("mbcc python (shared runs) vs the ceiling: %.2f s, %s"
          % (python_wall, "faster" if python_wall < ceiling else "NOT faster"))
    same = runs["mbcc python"][0]["checks"] == runs["baseline"][0]["checks"]
    print("baseline and mbcc python ran the same %s checks: %s; failing: %d in the baseline "
          "(known breaks included), %d unexpected in mbcc python"
          % (runs["baseline"][0]["checks"], "yes" if same else "NO",
             runs["baseline"][0]["failed"], runs["mbcc python"][0]["failed"]))


if __name__ == "__main__":
    main()
