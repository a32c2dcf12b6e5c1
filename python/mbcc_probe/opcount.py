"""Distinct operator names in the graphs of a store or of a probe's output folder.

Every ``*-symbol.json`` under the root (the graphs of module-checkpoint and gluon-export
bundles) is read; its producer comes from the ``probe.json`` of its bundle (the folder above
``model/``). Names are grouped by the producer's line: "1.x" or "2.0". No mxnet needed."""

import json
import os


def producer_line(version):
    return "2.0" if version.startswith("2.") else "1.x"


def _producer(symbol_path):
    probe = os.path.join(os.path.dirname(os.path.dirname(symbol_path)), "probe.json")
    try:
        with open(probe) as f:
            return json.load(f)["producer"]["mxnet_version"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError("%s: no producer version in %s (%s)" % (symbol_path, probe, e))


def graph_ops(symbol_path):
    """The set of operator names of one symbol JSON file (variables excluded)."""
    with open(symbol_path) as f:
        try:
            graph = json.load(f)
        except ValueError as e:
            raise ValueError("%s: not JSON: %s" % (symbol_path, e))
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list):
        raise ValueError("%s: not a symbol JSON file (no nodes list)" % symbol_path)
    return {n["op"] for n in nodes if n.get("op") not in (None, "null")}


def count(root):
    """{'1.x': {op: [model, ...]}, '2.0': {...}} over every graph under ``root``."""
    lines = {"1.x": {}, "2.0": {}}
    found = 0
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith("-symbol.json"):
                continue
            path = os.path.join(dirpath, name)
            found += 1
            by_op = lines[producer_line(_producer(path))]
            model = name[: -len("-symbol.json")]
            for o in graph_ops(path):
                models = by_op.setdefault(o, [])
                if model not in models:
                    models.append(model)
    if not found:
        raise ValueError("%s: no *-symbol.json file under it" % root)
    return lines


def summary(roots):
    """Counts over one folder or several (the union of their graphs)."""
    roots = [roots] if isinstance(roots, str) else list(roots)
    one, two = set(), set()
    for root in roots:
        lines = count(root)
        one |= set(lines["1.x"])
        two |= set(lines["2.0"])
    return {
        "roots": roots,
        "1.x": len(one),
        "2.0": len(two),
        "combined": len(one | two),
        "only_2.0": sorted(two - one),
        "ops_1.x": sorted(one),
        "ops_2.0": sorted(two),
    }
