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

--fork-server makes it the fork server of python/mbcc_probe/fork_server.py instead (the real
one), whose forked workers then start as --startup says; --server-startup says how the server
itself starts: ok, die, or refuse. The server's start is a line "server" in --starts.
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


def record_start(starts, what):
    if starts:
        with open(starts, "a") as f:
            f.write(what + "\n")


def worker(args):
    record_start(args.starts, str(os.getpid()))
    if args.startup == "die":
        sys.stderr.write("fake worker: cannot import mxnet\n")
        return 1
    if args.startup == "refuse":
        send({"hello": "fake", "error": {"kind": "import", "message": "No module named mxnet"}})
        return 1
    if args.startup == "silent":
        time.sleep(600)
    hello = json.dumps(HELLO) + "\n"
    if args.startup == "chatty":  # in the same write, so the pool reads both lines at once
        hello += json.dumps({"unrequested": True}) + "\n"
    sys.stdout.write(hello)
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip():
            serve(json.loads(line))
    return 0


def fork_server(args):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                    "python"))
    from mbcc_probe import fork_server

    record_start(args.starts, "server")
    if args.server_startup == "die":
        return 1
    if args.server_startup == "refuse":
        fork_server.say({"hello": "fake", "error": {"kind": "import", "message": "no mxnet"}})
        return 1
    return fork_server.serve_forks(HELLO, lambda: worker(args))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--startup", default="ok")
    p.add_argument("--starts")
    p.add_argument("--fork-server", action="store_true")
    p.add_argument("--server-startup", default="ok")
    args = p.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files from the segv case
    return fork_server(args) if args.fork_server else worker(args)


HELLO = {"hello": "fake", "mxnet_version": "0.0", "load_apis": ["ok"]}
sys.exit(main())
