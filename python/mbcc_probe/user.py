"""A team's own saved model made a bundle (``mbcc add``): the C++ side has recognised the files,
copied them into ``<bundle>/model/`` byte for byte and planned the inputs; here, on the producer
release, the missing input shapes are inferred, the seeded input values drawn (or the user's
arrays read), the files loaded through the load API that matches how they were saved, and the
outputs, inputs and internals written as generate writes them for the zoo.

The spec (JSON, written by mbcc) holds: name, save_api, model_kind, writer, np_mode, seed,
model_files [{path, role}], inputs [{name, shape|null, dtype, kind, range|null, file|null,
member|null, consumer}], origin (copied to probe.json; its block {callable, kwargs, path} is
what loaders rebuild a user's Block from).
One JSON line on stdout, as generate's cases: {model, save_api, status, reason?, dir}.
"""

import json
import os
import sys
import traceback
import types

import numpy as np

from . import DETERMINISM_ENV, SCHEMA_VERSION, catalog, generate, internals, loaders, weights

# The load API whose outputs are the goldens, per save API: the one the files were written for.
PRIMARY_LOAD_API = {
    "module-checkpoint": ["module-load-checkpoint", "gluon-imports"],
    "gluon-export": ["gluon-imports", "module-load-checkpoint"],
    "gluon-save-parameters": ["gluon-load-parameters"],
    "gluon-block-save": ["gluon-block-load"],
}


class UserError(Exception):
    """The user's files or options cannot make a bundle; the message says which and why."""


def _shape_known(shape):
    return shape is not None and len(shape) > 0 and all(d is not None and d > 0 for d in shape)


def infer_shapes(rt, symbol_file, params, inputs):
    """Fills the shape of every input the spec left open, from the graph, the params' shapes
    and the inputs whose shapes are known, with the release's own infer_shape_partial."""
    open_inputs = [i for i in inputs if i["shape"] is None]
    if not open_inputs:
        return
    sym = rt.mx.sym.load(symbol_file)
    known = {i["name"]: tuple(i["shape"]) for i in inputs if i["shape"] is not None}
    for key, value in params.items():
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        known[name] = tuple(value.shape)
    args = set(sym.list_arguments())
    try:
        arg_shapes, _, _ = sym.infer_shape_partial(**{k: v for k, v in known.items() if k in args})
    except Exception as e:  # noqa: MXNet's message names the node whose shapes disagree
        raise UserError("the graph rejects the shapes of its parameters or inputs: %s" % generate._err(e))
    by_name = dict(zip(sym.list_arguments(), arg_shapes or []))
    for i in open_inputs:
        shape = by_name.get(i["name"])
        shape = None if shape is None else [int(d) for d in shape]
        if not _shape_known(shape):
            raise UserError(
                "input %s: its shape cannot be inferred from the graph and the parameters (it feeds %s; "
                "MXNet infers %s); give --input %s=D1,D2,..." % (i["name"], i["consumer"], shape, i["name"]))
        i["shape"] = shape


def _read_user_array(rt, entry):
    path, member = entry["file"], entry["member"]
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            return archive[member]
    return rt.to_numpy(rt.load_param_file(path)[member])


def input_values(rt, name, inputs, seed):
    """One numpy array per input: the user's own, or drawn from the recorded seed (uniform in
    [-1, 1) for floats, integers in the input's range for tokens and labels)."""
    rs = weights.stream(seed, name, "inputs")
    values = []
    for i in inputs:
        dtype = np.dtype(i["dtype"])
        if i["file"]:
            a = np.asarray(_read_user_array(rt, i))
            if list(a.shape) != list(i["shape"]):
                raise UserError("input %s: %s holds shape %s, mbcc read %s" % (i["name"], i["file"], list(a.shape), i["shape"]))
        elif i["range"] is not None:
            a = rs.randint(i["range"][0], i["range"][1], size=i["shape"])
        else:
            a = rs.uniform(-1.0, 1.0, size=i["shape"])
        values.append(np.ascontiguousarray(a, dtype=dtype))
    return values


def _tolerance_free():
    return types.SimpleNamespace(tolerance={})


def make_bundle(rt, spec, bundle_dir, log):
    """Writes data/, internals/ and probe.json beside the model/ mbcc copied; returns the
    probe.json written."""
    files = {f["role"]: os.path.join(bundle_dir, f["path"]) for f in spec["model_files"]}
    inputs = spec["inputs"]
    if "symbol" in files:
        params = rt.load_param_file(files["params"])
        infer_shapes(rt, files["symbol"], params, inputs)
    values = input_values(rt, spec["name"], inputs, spec["seed"])
    data_dir = os.path.join(bundle_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    entries = []
    for n, (i, a) in enumerate(zip(inputs, values)):
        np.save(os.path.join(data_dir, "input_%d.npy" % n), a)
        entries.append(generate._tensor_entry("data/input_%d.npy" % n, i["name"], a, i["kind"]))
    save_api = spec["save_api"]
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model": spec["name"],
        "model_kind": spec["model_kind"],
        "model_prefix": None,
        "save_api": save_api,
        "writer": spec["writer"],
        "producer": generate.producer_info(rt),
        "seeds": {"seed": spec["seed"], "inputs": "crc32(seed/name/inputs)"},
        "env": dict(DETERMINISM_ENV),
        "hybridized": spec["model_kind"] == "symbol",
        "np_mode": spec["np_mode"],
        "inputs": entries,
        "outputs": [],
        "model_files": spec["model_files"],
        "load_apis": list(catalog.SAVE_APIS[save_api][1]),
        "import_input_names": [i["name"] for i in inputs],
        "tolerance": {},
        "origin": spec["origin"],
    }
    generate._write_json(os.path.join(bundle_dir, "probe.json"), meta)

    # The goldens: the outputs of the first load API the release has for these files.
    golden, first_error = None, None
    for load_api in PRIMARY_LOAD_API[save_api]:
        try:
            golden = loaders.load_and_run(bundle_dir, load_api, rt)
            break
        except loaders.Unsupported as e:
            first_error = first_error or e
        except Exception as e:  # noqa: the user's model failing on its own release is the error
            log(traceback.format_exc())
            raise UserError("%s on MXNet %s: %s" % (load_api, rt.version, generate._err(e)))
    if golden is None:
        raise UserError("MXNet %s cannot load a %s bundle: %s" % (rt.version, save_api, first_error))
    for n, a in enumerate(golden):
        a = np.ascontiguousarray(a)
        np.save(os.path.join(data_dir, "output_%d.npy" % n), a)
        meta["outputs"].append(generate._tensor_entry("data/output_%d.npy" % n, "output_%d" % n, a))

    if "symbol" in files:
        try:
            idx = internals.dump(rt, files["symbol"], files["params"], list(zip([i["name"] for i in inputs], values)),
                                 os.path.join(bundle_dir, "internals"))
            meta["internals"] = {"index": "internals/index.json", "count": idx["count"]}
        except Exception as e:  # noqa: internals are a bonus, as for the zoo
            meta["internals"] = {"status": "failed", "reason": generate._err(e)}
    else:
        meta["internals"] = {"status": "absent", "reason": "%s writes no graph" % save_api}
    apis = [a for a in meta["load_apis"] if a in catalog.PYTHON_LOAD_APIS]
    meta["self_check"] = [generate.self_check(rt, bundle_dir, _tolerance_free(), golden, a) for a in apis]
    generate._write_json(os.path.join(bundle_dir, "probe.json"), meta)
    return meta


def run(spec_path, out_dir, emit, log=None):
    from .runtime import Runtime

    log = log or (lambda msg: sys.stderr.write(msg + "\n"))
    with open(spec_path) as f:
        spec = json.load(f)
    rel = os.path.join(spec["name"], spec["save_api"])
    result = {"model": spec["name"], "save_api": spec["save_api"], "status": "ok", "dir": rel}
    rt = Runtime()
    rt.seed(spec["seed"])
    np.random.seed(spec["seed"])
    enter = spec["np_mode"] and not rt.np_mode and rt.can_set_np
    if enter:
        rt.enter_np_mode()
    try:
        make_bundle(rt, spec, os.path.join(out_dir, rel), log)
    except UserError as e:
        result.update(status="failed", reason=str(e))
    except Exception as e:  # noqa: MXNet's own failure, with its message
        log(traceback.format_exc())
        result.update(status="failed", reason=generate._err(e))
    finally:
        if enter:
            rt.leave_np_mode()
    emit(result)
