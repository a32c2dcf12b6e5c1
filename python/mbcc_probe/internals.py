"""Per-node outputs: bind ``get_internals()`` of a saved graph with the saved params and the
golden inputs, run one inference forward, and save every non-variable output with numpy.

Files: ``internals/<index>_<name>.npy`` (index = position in get_internals(), i.e. topological
order) and ``internals/index.json`` listing every saved output with its node, op, shape, dtype.
Variables (inputs and params) are skipped: their values are already in the bundle."""

import json
import os
import re

import numpy as np


def _head(sym_json):
    g = json.loads(sym_json)
    nid, idx = g["heads"][0][0], g["heads"][0][1]
    node = g["nodes"][nid]
    return node["name"], node["op"], idx


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]


def _run_unfused(rt, sym, arrays):
    """Per-node values of the graph as written: no subgraph (MKLDNN) fusion for this bind; with
    fusion on, 1.9.1 cannot even bind get_internals() (arg_names.size() == in_args_map.size()).
    1.6+ understands MXNET_SUBGRAPH_BACKEND=NONE; before that the value is looked up as a
    backend name and fails, while an unset variable means no fusion."""
    old = os.environ.get("MXNET_SUBGRAPH_BACKEND")
    try:
        os.environ["MXNET_SUBGRAPH_BACKEND"] = "NONE"
        try:
            return rt.run_symbol(sym, arrays)
        except Exception as e:  # noqa
            if "NONE is not found" not in str(e):
                raise
        del os.environ["MXNET_SUBGRAPH_BACKEND"]
        return rt.run_symbol(sym, arrays)
    finally:
        if old is None:
            os.environ.pop("MXNET_SUBGRAPH_BACKEND", None)
        else:
            os.environ["MXNET_SUBGRAPH_BACKEND"] = old


def dump(rt, symbol_file, params_file, named_inputs, out_dir):
    """Write internals for the graph in ``symbol_file``; returns the index dict."""
    mx = rt.mx
    sym = mx.sym.load(symbol_file)
    internals = sym.get_internals()
    names = internals.list_outputs()
    params = rt.load_param_file(params_file)
    arrays = {}
    for k, v in params.items():
        key = k.split(":", 1)[1] if k.startswith(("arg:", "aux:")) else k
        arrays[key] = rt.to_numpy(v)
    arrays.update(dict(named_inputs))
    missing = [n for n in internals.list_arguments() + internals.list_auxiliary_states() if n not in arrays]
    if missing:
        raise RuntimeError("internals: no value for %s" % ", ".join(missing))
    outs = _run_unfused(rt, internals, arrays)
    if len(outs) != len(names):
        raise RuntimeError("internals: %d outputs for %d names" % (len(outs), len(names)))
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    width = max(3, len(str(len(names))))
    for i, (name, value) in enumerate(zip(names, outs)):
        node, op, out_index = _head(internals[i].tojson())
        if op == "null":
            continue
        value = np.ascontiguousarray(value)
        fname = "%0*d_%s.npy" % (width, i, _safe(name))
        np.save(os.path.join(out_dir, fname), value)
        entries.append(
            {
                "index": i,
                "name": name,
                "node": node,
                "op": op,
                "output": out_index,
                "shape": list(value.shape),
                "dtype": str(value.dtype),
                "file": "internals/" + fname,
            }
        )
    index = {"symbol": os.path.basename(symbol_file), "count": len(entries), "outputs": entries}
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    return index
