"""Generate bundles: every selected model through every selected save API on this release.

Layout written under OUT (the C++ side adds manifest.json, sha256 and the creation time):

    OUT/<model>/<save-api>/model/...        files exactly as the save API wrote them
                           data/input_<i>.npy, data/output_<i>.npy   (numpy.save)
                           internals/...    (graph-carrying bundles only)
                           probe.json
    OUT/probe-report.json                    producer + every case's status (no timestamps)

A case that does not exist on this release is ``skipped``; a case that raised, or whose files
do not round-trip through the matching load API on the producer itself, is ``failed`` and its
folder is removed. Both come with a reason.
"""

import json
import os
import platform
import shutil
import sys
import traceback

import numpy as np

from . import DETERMINISM_ENV, SCHEMA_VERSION, __version__, catalog, internals, loaders, savers, weights, zoo

SELF_CHECK_RTOL = 1e-5
SELF_CHECK_ATOL = 1e-6


def producer_info(rt):
    return {
        "mxnet_version": rt.version,
        "mxget_version": rt.mxget_version(),
        "features": rt.features(),
        "np_mode": rt.is2,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "probe_version": __version__,
    }


def _err(e, limit=1500):
    text = "%s: %s" % (type(e).__name__, str(e).strip())
    if len(text) > limit:
        text = text[: limit // 2] + " ... " + text[-limit // 2 :]
    return text


def _compare(a, b, rtol, atol):
    """(ok, reason, max_abs_err) comparing one output with its golden."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False, "shape %s != golden %s" % (list(a.shape), list(b.shape)), None
    if a.size == 0:
        return True, "", 0.0
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    err = float(np.nanmax(diff))
    ok = bool(np.all(diff <= atol + rtol * np.abs(b.astype(np.float64))))
    if np.isnan(a).any() != np.isnan(b).any():
        ok = False
    return ok, ("" if ok else "max abs err %.3g > atol %g + rtol %g" % (err, atol, rtol)), err


def self_check(rt, bundle_dir, spec, golden, load_api):
    rtol = max(SELF_CHECK_RTOL, spec.tolerance.get("rtol", 0))
    atol = max(SELF_CHECK_ATOL, spec.tolerance.get("atol", 0))
    try:
        outs = loaders.load_and_run(bundle_dir, load_api, rt)
    except loaders.Unsupported as e:
        return {"load_api": load_api, "status": "unsupported", "reason": str(e)}
    except Exception as e:  # noqa: the candidate's own error is the datum
        return {"load_api": load_api, "status": "failed", "reason": _err(e)}
    if len(outs) != len(golden):
        return {
            "load_api": load_api,
            "status": "failed",
            "reason": "%d outputs, golden has %d" % (len(outs), len(golden)),
        }
    worst = 0.0
    for i, (o, g) in enumerate(zip(outs, golden)):
        ok, why, err = _compare(o, g, rtol, atol)
        if err is not None:
            worst = max(worst, err)
        if not ok:
            return {"load_api": load_api, "status": "failed", "reason": "output %d: %s" % (i, why)}
    return {"load_api": load_api, "status": "ok", "max_abs_err": worst}


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def _tensor_entry(path, name, arr, kind=None):
    e = {"file": path, "name": name, "shape": list(arr.shape), "dtype": str(arr.dtype)}
    if kind is not None:
        e["kind"] = kind
    return e


def generate_case(rt, spec, save_api, out_dir, seed, log):
    """Write one bundle; returns the result dict (status ok/skipped/failed)."""
    bundle_dir = os.path.join(out_dir, spec.name, save_api)
    result = {"model": spec.name, "save_api": save_api, "status": "ok", "dir": os.path.relpath(bundle_dir, out_dir)}
    if os.path.exists(bundle_dir):
        shutil.rmtree(bundle_dir)
    phase = "build"
    try:
        with rt.fresh_names(seed):
            rt.seed(seed)
            np.random.seed(seed)
            case = savers.Case(rt, spec, seed, hybridize=save_api in savers.HYBRIDIZE)
            model_dir = os.path.join(bundle_dir, "model")
            os.makedirs(model_dir)
            phase = "save"
            saved = savers.SAVERS[save_api](case, model_dir)
    except savers.Skip as e:
        shutil.rmtree(bundle_dir, ignore_errors=True)
        result.update(status="skipped", reason=str(e))
        return result
    except Exception as e:  # noqa: a release's own failure is data
        log("%s/%s: %s failed:\n%s" % (spec.name, save_api, phase, traceback.format_exc()))
        shutil.rmtree(bundle_dir, ignore_errors=True)
        result.update(status="failed", reason="%s: %s" % (phase, _err(e)))
        return result

    try:
        data_dir = os.path.join(bundle_dir, "data")
        os.makedirs(data_dir)
        inputs = []
        for i, (ispec, arr) in enumerate(zip(spec.inputs, case.inputs)):
            np.save(os.path.join(data_dir, "input_%d.npy" % i), arr)
            inputs.append(_tensor_entry("data/input_%d.npy" % i, ispec.name, arr, ispec.kind))
        outputs = []
        for i, arr in enumerate(case.golden):
            arr = np.ascontiguousarray(arr)
            np.save(os.path.join(data_dir, "output_%d.npy" % i), arr)
            outputs.append(_tensor_entry("data/output_%d.npy" % i, "output_%d" % i, arr))
        if spec.kind == "gluon":
            import_names = ["data"] if len(case.data_inputs()) == 1 else ["data%d" % i for i in range(len(case.data_inputs()))]
        else:
            import_names = case.symbol_model.data_names + case.symbol_model.label_names
        meta = {
            "schema_version": SCHEMA_VERSION,
            "model": spec.name,
            "model_kind": spec.kind,
            "save_api": save_api,
            "writer": saved.writer,
            "producer": producer_info(rt),
            "seeds": {"seed": seed, "numpy": seed, "mxnet": seed, "params": "crc32(seed/model/params)", "inputs": "crc32(seed/model/inputs)"},
            "env": dict(DETERMINISM_ENV),
            "hybridized": case.hybridized,
            "inputs": inputs,
            "outputs": outputs,
            "model_files": [{"path": p, "role": r} for p, r in saved.files],
            "load_apis": list(catalog.SAVE_APIS[save_api][1]),
            "import_input_names": import_names,
            "tolerance": dict(spec.tolerance),
        }
        _write_json(os.path.join(bundle_dir, "probe.json"), meta)

        phase = "internals"
        if saved.symbol_file:
            try:
                idx = internals.dump(
                    rt, saved.symbol_file, saved.params_file, case.named_inputs(), os.path.join(bundle_dir, "internals")
                )
                meta["internals"] = {"index": "internals/index.json", "count": idx["count"]}
            except Exception as e:  # noqa: internals are a bonus, never a reason to drop a bundle
                shutil.rmtree(os.path.join(bundle_dir, "internals"), ignore_errors=True)
                meta["internals"] = {"status": "failed", "reason": _err(e)}
                log("%s/%s: internals failed: %s" % (spec.name, save_api, _err(e)))
        else:
            meta["internals"] = {"status": "absent", "reason": "%s writes no graph" % save_api}

        phase = "self-check"
        checks = []
        primary = None
        for api in savers.SELF_CHECK[save_api]:
            r = self_check(rt, bundle_dir, spec, case.golden, api)
            if r["status"] != "unsupported":
                primary = r
                checks.append(r)
                break
            checks.append(r)
        # the other Python load APIs the producer offers: informative only
        for api in meta["load_apis"]:
            if api in catalog.PYTHON_LOAD_APIS and all(c["load_api"] != api for c in checks):
                r = self_check(rt, bundle_dir, spec, case.golden, api)
                r["informative"] = True
                checks.append(r)
        meta["self_check"] = checks
        _write_json(os.path.join(bundle_dir, "probe.json"), meta)
        if primary is None:
            raise RuntimeError("no load API on this release can read back a %s bundle" % save_api)
        if primary["status"] != "ok":
            raise RuntimeError("self-check through %s: %s" % (primary["load_api"], primary["reason"]))
        result["self_check"] = primary["load_api"]
        result["files"] = sorted(_walk(bundle_dir))
    except Exception as e:  # noqa
        log("%s/%s: %s failed: %s" % (spec.name, save_api, phase, _err(e)))
        result.update(status="failed", reason="%s: %s" % (phase, _err(e)))
        if not KEEP_FAILED:
            shutil.rmtree(bundle_dir, ignore_errors=True)
    return result


KEEP_FAILED = False


def _walk(root):
    for dirpath, _, files in os.walk(root):
        for f in files:
            yield os.path.relpath(os.path.join(dirpath, f), root)


def run(out_dir, models=None, save_apis=None, seed=weights.DEFAULT_SEED, emit=None, log=None):
    """Generate every selected case; ``emit(result)`` is called per case. Returns all results."""
    from .runtime import Runtime

    log = log or (lambda msg: sys.stderr.write(msg + "\n"))
    emit = emit or (lambda r: None)
    specs = [zoo.get(m) for m in models] if models else list(zoo.MODELS)
    apis = save_apis or list(catalog.SAVE_APIS)
    for a in apis:
        if a not in catalog.SAVE_APIS:
            raise KeyError("unknown save API %r (known: %s)" % (a, ", ".join(catalog.SAVE_APIS)))
    rt = Runtime()
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for spec in specs:
        for api in apis:
            log("[mbcc_probe] %s %s / %s" % (rt.version, spec.name, api))
            r = generate_case(rt, spec, api, out_dir, seed, log)
            results.append(r)
            emit(r)
    report = {
        "schema_version": SCHEMA_VERSION,
        "producer": producer_info(rt),
        "seed": seed,
        "env": dict(DETERMINISM_ENV),
        "results": [{k: v for k, v in r.items() if k != "files"} for r in results],
    }
    _write_json(os.path.join(out_dir, "probe-report.json"), report)
    return results
