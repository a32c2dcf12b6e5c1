"""A fake worker for the pool's tests: speaks the worker protocol with the system's python3 and
misbehaves on demand. The request's load_api says what to do with it:

  ok          answer with one output            load-fail   answer load_fail
  segv        print to stderr, then SIGSEGV     hang        start a child, then sleep forever
  exit-mid    print half an answer, exit 3      garbage     print a line that is not JSON
  wrong-id    answer as if to another request   flood       200 KiB on stderr, then answer ok
  close-stdout  close stdout and sleep

--startup decides how it starts: ok (hello), die (exit 1 before any hello), refuse (an error
hello, then exit 1), silent (never says anything), chatty (hello, then an unrequested line).
--starts FILE appends one line per start, so tests can count workers.
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def answer(req, status="ok"):
    out = {"id": req["id"], "status": status, "outputs": [], "timings": {"load_ms": 1.5, "run_ms": 0.25}}
    if status == "ok":
        out["outputs"] = [{"name": "output_0", "file": os.path.join(req["out_dir"], "output_0.npy"),
                           "shape": [2, 3], "dtype": "float32"}]
    else:
        out["error"] = {"kind": "load", "message": "fake %s for %s" % (status, req["bundle_dir"])}
    return out


def serve(req):
    action = req["load_api"]
    if action == "ok":
        send(answer(req))
    elif action == "load-fail":
        send(answer(req, "load_fail"))
    elif action == "segv":
        sys.stderr.write("fake worker: about to crash on request %d\n" % req["id"])
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "hang":
        child = subprocess.Popen(["sleep", "600"])
        with open(os.path.join(req["out_dir"], "child.pid"), "w") as f:
            f.write(str(child.pid))
        time.sleep(600)
    elif action == "exit-mid":
        sys.stdout.write('{"id": %d, "status": "o' % req["id"])
        sys.stdout.flush()
        os._exit(3)
    elif action == "garbage":
        sys.stdout.write("Loading symbol saved by previous version v1.9.1\n")
        sys.stdout.flush()
    elif action == "wrong-id":
        req = dict(req, id=req["id"] + 1000)
        send(answer(req))
    elif action == "flood":
        sys.stderr.write(("x" * 99 + "\n") * 2048)
        sys.stderr.flush()
        send(answer(req))
    elif action == "close-stdout":
        os.close(1)
        sys.stdout = open(os.devnull, "w")
        time.sleep(600)
    else:
        raise SystemExit("fake worker: unknown action %r" % action)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--startup", default="ok")
    p.add_argument("--starts")
    args = p.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files from the segv case
    if args.starts:
        with open(args.starts, "a") as f:
            f.write("%d\n" % os.getpid())
    if args.startup == "die":
        sys.stderr.write("fake worker: cannot import mxnet\n")
        raise SystemExit(1)
    if args.startup == "refuse":
        send({"hello": "fake", "error": {"kind": "import", "message": "No module named mxnet"}})
        raise SystemExit(1)
    if args.startup == "silent":
        time.sleep(600)
    hello = json.dumps({"hello": "fake", "mxnet_version": "0.0", "load_apis": ["ok"]}) + "\n"
    if args.startup == "chatty":  # in the same write, so the pool reads both lines at once
        hello += json.dumps({"unrequested": True}) + "\n"
    sys.stdout.write(hello)
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip():
            serve(json.loads(line))


main()
