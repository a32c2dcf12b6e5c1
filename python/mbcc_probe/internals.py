"""Per-node outputs: bind ``get_internals()`` of a saved graph with the saved params and the
golden inputs, run one inference forward, and save every non-variable output with numpy.

Files: ``internals/internals.npz``, one member ``<index>_<name>`` per output (index = position
in get_internals(), i.e. topological order), and ``internals/index.json`` listing every saved
output with its node, op, shape, dtype and member. One archive rather than a file per node: a
graph of a hundred nodes would otherwise be a hundred files in every bundle. Variables (inputs and
params) are skipped: their values are already in the bundle."""

import io
import json
import os
import re
import zipfile

import numpy as np

ARCHIVE = "internals.npz"
# Fixed member times and modes, so that equal arrays give equal archive bytes on every run
# (np.savez stamps the time of writing).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


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


def dump(rt, symbol_file, params_file, named_inputs, out_dir, archive=True):
    """Write internals for the graph in ``symbol_file``; returns the index dict. ``archive``:
    one npz (a bundle's), else one .npy per output (the candidate worker's, read at once)."""
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
    members = []
    width = max(3, len(str(len(names))))
    for i, (name, value) in enumerate(zip(names, outs)):
        node, op, out_index = _head(internals[i].tojson())
        if op == "null":
            continue
        value = np.ascontiguousarray(value)
        member = "%0*d_%s" % (width, i, _safe(name))
        if archive:
            members.append((member, value))
        else:
            np.save(os.path.join(out_dir, member + ".npy"), value)
        entries.append(
            {
                "index": i,
                "name": name,
                "node": node,
                "op": op,
                "output": out_index,
                "shape": list(value.shape),
                "dtype": str(value.dtype),
                "file": "internals/" + (ARCHIVE if archive else member + ".npy"),
            }
        )
        if archive:
            entries[-1]["member"] = member
    if archive:
        _write_npz(os.path.join(out_dir, ARCHIVE), members)
    index = {"symbol": os.path.basename(symbol_file), "count": len(entries), "outputs": entries}
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    return index


def _write_npz(path, members):
    """An npz archive numpy and mbcc read, deflated, with fixed member metadata."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in members:
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=False)
            archive.writestr(info, buffer.getvalue())
