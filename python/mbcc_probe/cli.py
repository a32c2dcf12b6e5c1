"""Command line of the probe.

    python -m mbcc_probe generate --out DIR [--model M]... [--save-api A]... [--seed N]
        one JSON line per case on stdout ({model, save_api, status, reason?, dir, ...}),
        progress and MXNet's own chatter on stderr; exit 0 even when cases were skipped or
        failed (they are data), 2 when the probe itself broke.
    python -m mbcc_probe add --spec SPEC.json --out DIR
        a user's files (copied by mbcc into DIR/<name>/<save-api>/model/) made a bundle on this
        release: inputs, goldens, internals, probe.json; one JSON line as generate's (user.py).
    python -m mbcc_probe list
        the zoo and the save APIs as one JSON document (does not import mxnet).
    python -m mbcc_probe ops ROOT...
        the distinct operator names of every *-symbol.json under the ROOTs (stores or generate
        outputs), per producer line (1.x, 2.0) and combined, as JSON (does not import mxnet).
"""

import argparse
import json
import os
import sys
import traceback

from . import SCHEMA_VERSION, catalog, zoo


def _private_stdout():
    """A file for our JSON lines; fd 1 itself is pointed at stderr so nothing else (MXNet's
    prints, C++ logging) can corrupt the JSON stream."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1)


def cmd_list(args, out):
    doc = {
        "schema_version": SCHEMA_VERSION,
        "models": [m.to_json() for m in zoo.MODELS],
        "save_apis": [{"name": k, "description": v[0], "load_apis": v[1]} for k, v in catalog.SAVE_APIS.items()],
        "load_apis": [{"name": k, "description": v} for k, v in catalog.LOAD_APIS.items()],
    }
    out.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return 0


def cmd_generate(args, out):
    from . import generate

    generate.KEEP_FAILED = args.keep_failed

    def emit(r):
        out.write(json.dumps(r, sort_keys=True) + "\n")
        out.flush()

    generate.run(args.out, args.model or None, args.save_api or None, args.seed, emit=emit,
                 isolate=not args.in_process, jobs=max(1, args.jobs))
    return 0


def cmd_case(args, out):
    from . import generate

    generate.KEEP_FAILED = args.keep_failed
    r = generate.run_case(args.out, args.model[0], args.save_api[0], args.seed)
    out.write(json.dumps(r, sort_keys=True) + "\n")
    return 0


def cmd_add(args, out):
    from . import user

    def emit(r):
        out.write(json.dumps(r, sort_keys=True) + "\n")
        out.flush()

    user.run(args.spec, args.out, emit)
    return 0


def cmd_ops(args, out):
    from . import opcount

    doc = opcount.summary(args.root)
    out.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m mbcc_probe")
    sub = p.add_subparsers(dest="cmd")
    g = sub.add_parser("generate", help="write bundles for this release")
    g.add_argument("--out", required=True)
    g.add_argument("--model", action="append", choices=[m.name for m in zoo.MODELS])
    g.add_argument("--save-api", action="append", choices=list(catalog.SAVE_APIS))
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--keep-failed", action="store_true", help="keep the folders of failed cases")
    g.add_argument("--in-process", action="store_true",
                   help="run every case in this process (faster; 2.0 node names then depend on the selection)")
    g.add_argument("--jobs", type=int, default=1, help="cases run at once (one interpreter each)")
    c = sub.add_parser("_case")  # internal: one case, run by generate in a fresh interpreter
    c.add_argument("--out", required=True)
    c.add_argument("--model", action="append", required=True)
    c.add_argument("--save-api", action="append", required=True)
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--keep-failed", action="store_true")
    a = sub.add_parser("add", help="make a bundle of a user's saved model (run by mbcc add)")
    a.add_argument("--spec", required=True, help="the JSON spec mbcc wrote")
    a.add_argument("--out", required=True, help="the folder holding <name>/<save-api>/model/")
    sub.add_parser("list", help="print the zoo as JSON")
    o = sub.add_parser("ops", help="count the distinct operator names in the graphs under a folder (no mxnet)")
    o.add_argument("root", nargs="+", help="stores or generate output folders (their union is counted)")
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help(sys.stderr)
        return 2
    out = _private_stdout()
    try:
        if args.cmd == "list":
            return cmd_list(args, out)
        if args.cmd == "ops":
            return cmd_ops(args, out)
        if args.cmd == "_case":
            return cmd_case(args, out)
        if args.cmd == "add":
            return cmd_add(args, out)
        return cmd_generate(args, out)
    except Exception:  # noqa: the probe itself broke
        traceback.print_exc()
        return 2
