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
        "np_mode": rt.np_mode,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "probe_version": __version__,
        "source_patches": rt.source_patches,
    }


def _err(e, limit=1500):
    """'Type: message' without MXNet's C++ backtrace lines, capped to ``limit`` characters."""
    lines = [
        l for l in str(e).strip().splitlines()
        if l.strip() and not l.lstrip().startswith(("[bt]", "Stack trace", "Traceback (most recent"))
        and not l.lstrip().startswith('File "')
    ]
    text = "%s: %s" % (type(e).__name__, " | ".join(l.strip() for l in lines))
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
    reason = savers.precheck(rt, spec, save_api)
    if reason:
        result.update(status="skipped", reason=reason)
        return result
    np_variant = catalog.base_save_api(save_api)[1]
    if np_variant:
        rt.enter_np_mode()
    try:
        return _generate_case(rt, spec, save_api, out_dir, seed, log, bundle_dir, result)
    finally:
        if np_variant:
            rt.leave_np_mode()


def _generate_case(rt, spec, save_api, out_dir, seed, log, bundle_dir, result):
    phase = "build"
    try:
        with rt.fresh_names(seed):
            rt.seed(seed)
            np.random.seed(seed)
            case = savers.Case(rt, spec, seed, hybridize=save_api in savers.HYBRIDIZE)
            model_dir = os.path.join(bundle_dir, "model")
            os.makedirs(model_dir)
            phase = "save"
            saved = savers.saver_for(save_api)(case, model_dir)
    except (savers.Skip, zoo.Unavailable) as e:
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
            "model_prefix": spec.prefix if (spec.kind == "gluon" and rt.has_prefix) else None,
            "save_api": save_api,
            "writer": saved.writer,
            "producer": producer_info(rt),
            "seeds": {"seed": seed, "numpy": seed, "mxnet": seed, "params": "crc32(seed/model/params)", "inputs": "crc32(seed/model/inputs)"},
            "env": dict(DETERMINISM_ENV),
            "hybridized": case.hybridized,
            "np_mode": rt.np_mode,
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
                result["internals_error"] = _err(e, 300)
                log("%s/%s: internals failed: %s" % (spec.name, save_api, _err(e)))
        else:
            meta["internals"] = {"status": "absent", "reason": "%s writes no graph" % save_api}

        phase = "self-check"
        # Read the bundle back through every Python load API this release offers for it, the
        # matching one first. It ships if at least one round-trips (the files are good); the
        # others' failures on the producer itself are kept: they are real breaks (e.g. #12486,
        # imports of a graph that reuses a block, fails on the release that exported it).
        order = list(savers.SELF_CHECK[save_api])
        order += [a for a in meta["load_apis"] if a in catalog.PYTHON_LOAD_APIS and a not in order]
        checks = [self_check(rt, bundle_dir, spec, case.golden, api) for api in order]
        meta["self_check"] = checks
        _write_json(os.path.join(bundle_dir, "probe.json"), meta)
        passed = [c for c in checks if c["status"] == "ok"]
        failed = [c for c in checks if c["status"] == "failed"]
        if not passed:
            if not failed:
                raise RuntimeError("no load API on MXNet %s can read back a %s bundle" % (rt.version, save_api))
            raise RuntimeError("; ".join("%s: %s" % (c["load_api"], c["reason"]) for c in failed))
        result["self_check"] = passed[0]["load_api"]
        if failed:
            result["producer_load_failures"] = [{"load_api": c["load_api"], "reason": c["reason"]} for c in failed]
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


def _producer_report(rt, seed, results):
    return {
        "schema_version": SCHEMA_VERSION,
        "producer": producer_info(rt),
        "seed": seed,
        "env": dict(DETERMINISM_ENV),
        "results": [{k: v for k, v in r.items() if k != "files"} for r in results],
    }


def _selection(models, save_apis):
    specs = [zoo.get(m) for m in models] if models else list(zoo.MODELS)
    apis = save_apis or list(catalog.SAVE_APIS)
    for a in apis:
        if a not in catalog.SAVE_APIS:
            raise KeyError("unknown save API %r (known: %s)" % (a, ", ".join(catalog.SAVE_APIS)))
    return specs, apis


def run_case(out_dir, model_name, save_api, seed=weights.DEFAULT_SEED, log=None):
    """One case in this process (the body of the per-case child)."""
    from .runtime import Runtime

    log = log or (lambda msg: sys.stderr.write(msg + "\n"))
    rt = Runtime()
    os.makedirs(out_dir, exist_ok=True)
    return generate_case(rt, zoo.get(model_name), save_api, out_dir, seed, log)


def _run_child(out_dir, spec, api, seed, keep_failed, log):
    """Run one case in a fresh interpreter: MXNet keeps process-wide counters (2.0 names graph
    nodes node_<N> from a C++ counter that nothing resets), so a case's files are reproducible
    only if every case starts from the same process state. Also isolates crashes."""
    import subprocess

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "mbcc_probe", "_case", "--out", out_dir, "--model", spec.name,
           "--save-api", api, "--seed", str(seed)]
    if keep_failed:
        cmd.append("--keep-failed")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.decode("utf-8", "replace")
    sys.stderr.write(err)
    lines = [l for l in proc.stdout.decode("utf-8", "replace").splitlines() if l.strip()]
    if proc.returncode == 0 and len(lines) == 1:
        return json.loads(lines[0])
    shutil.rmtree(os.path.join(out_dir, spec.name, api), ignore_errors=True)
    why = ("killed by signal %d" % -proc.returncode) if proc.returncode < 0 else ("exit code %d" % proc.returncode)
    tail = err.strip().splitlines()[-5:]
    return {"model": spec.name, "save_api": api, "status": "failed", "dir": os.path.join(spec.name, api),
            "reason": "crash: probe child %s; stderr tail: %s" % (why, " | ".join(tail))}


def run(out_dir, models=None, save_apis=None, seed=weights.DEFAULT_SEED, emit=None, log=None, isolate=True,
        jobs=1):
    """Generate every selected case; ``emit(result)`` is called per case. Returns all results.
    With ``isolate`` (the default) every case runs in its own interpreter."""
    from .runtime import Runtime

    log = log or (lambda msg: sys.stderr.write(msg + "\n"))
    emit = emit or (lambda r: None)
    specs, apis = _selection(models, save_apis)
    rt = Runtime()
    os.makedirs(out_dir, exist_ok=True)
    cases = [(spec, api) for spec in specs for api in apis]
    results = [None] * len(cases)

    def one(i):
        spec, api = cases[i]
        log("[mbcc_probe] %s %s / %s" % (rt.version, spec.name, api))
        reason = savers.precheck(rt, spec, api)
        if reason:  # no interpreter needed to say that
            return {"model": spec.name, "save_api": api, "status": "skipped", "reason": reason,
                    "dir": os.path.join(spec.name, api)}
        if isolate:
            return _run_child(out_dir, spec, api, seed, KEEP_FAILED, log)
        return generate_case(rt, spec, api, out_dir, seed, log)

    if isolate and jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, i) for i in range(len(cases))]
            for i, f in enumerate(futures):  # emitted in case order, whatever finished first
                results[i] = f.result()
                emit(results[i])
    else:
        for i in range(len(cases)):
            results[i] = one(i)
            emit(results[i])
    _write_json(os.path.join(out_dir, "probe-report.json"), _producer_report(rt, seed, results))
    return results
