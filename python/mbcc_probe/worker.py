"""The candidate-side Python worker: ``python -m mbcc_probe.worker`` inside one release's
environment, started and fed by mbcc's process pool (src/runners/pool.hpp).

Protocol (src/runners/protocol.hpp has the whole of it): JSON lines. The first line out is the
hello, ``{"hello": "python", "mxnet_version", "load_apis": [supported], "unsupported": {api:
reason}, …}``, or ``{"hello": "python", "error": {kind, message}}`` when mxnet cannot be imported
(then the worker exits 1). Then one answer per request line, in order, until stdin ends:

    request  {"id", "bundle_dir", "load_api", "inputs": [{"name", "file"}], "out_dir",
              "internals", ["symbol_file", "params_file"]}
    answer   {"id", "status": ok|unsupported|load_fail|run_fail|error, "outputs": [{"name",
              "file", "shape", "dtype"}], ["internals", "internals_error"], ["error": {"kind",
              "call", "message"}], "timings": {"load_ms", "run_ms"}}

With ``--fork-server`` the process imports MXNet once and forks each worker from itself
(fork_server.py has that protocol); every forked worker then speaks the protocol above.

load_fail or run_fail is decided by the phase that raised: reading files and putting the
parameters in place is ``load``; binding and forward are ``run``. ``error`` is the request's
fault (bad line, unreadable input, output folder not writable), not the candidate's.

The bundle is described by its probe.json; the inputs the request lists (and its symbol and
params files, when given) take the place of the ones probe.json lists. Without a probe.json (a
bundle of another layout) the request alone describes it, which is enough for the load APIs
that read a graph.

np-shape (docs: mxnet-api-evolution.md §3): a bundle saved in np mode is read in np mode where
the release has one, as ``loaders.load_and_run`` does. On 2.0, where Module is gone, a checkpoint
is loaded with ``mx.model.load_checkpoint`` and bound through the symbol's executor in the mode
its graph was saved in (``attrs.is_np_shape``): a 1.x graph with its V2 params under
np_array(False) + np_shape(False), as 2.0.0b1 cannot read V2 files with np-shape on.
"""

import contextlib
import json
import os
import platform
import sys
import time

from . import DETERMINISM_ENV, loaders, zoo
from .cli import _private_stdout
from .generate import _err

KNOWN_DTYPES = {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool", "int16",
                "uint16", "uint32", "uint64"}


class RequestError(Exception):
    """The request cannot be served as written: the caller's fault, not the candidate's."""


class Steps(object):
    """Where a load API is: the phase (load or run) that raises decides the status, the call is
    named in the error, and the time spent in each phase is the answer's timings."""

    def __init__(self):
        self.phase = "load"
        self.call = ""
        self.ms = {"load": 0.0, "run": 0.0}
        self._since = time.perf_counter()

    def __call__(self, phase, call):
        self._close()
        self.phase, self.call = phase, call

    def _close(self):
        now = time.perf_counter()
        self.ms[self.phase] += (now - self._since) * 1000.0
        self._since = now

    def timings(self):
        self._close()
        return {"load_ms": round(self.ms["load"], 3), "run_ms": round(self.ms["run"], 3)}


class RequestBundle(loaders.Bundle):
    """A bundle whose inputs were read once, up front, from the files the request names."""

    def __init__(self, bundle_dir, meta, arrays):
        super(RequestBundle, self).__init__(bundle_dir, meta)
        self.arrays = arrays

    def inputs(self, kinds=None):
        return [(i["name"], self.arrays[i["name"]]) for i in self.meta["inputs"]
                if kinds is None or i["kind"] in kinds]


# ---- the load APIs, each marking its phases ---------------------------------------------------


def _graph_is_np(symbol_file):
    """Whether the graph was saved with np-shape on (1.6+ stamps attrs.is_np_shape)."""
    with open(symbol_file) as f:
        attrs = json.load(f).get("attrs", {})
    flag = attrs.get("is_np_shape")
    return bool(flag) and int(flag[1]) != 0


def load_module_checkpoint(rt, bundle, step):
    mx = rt.mx
    prefix, epoch = loaders._checkpoint_prefix(bundle.file("symbol"), bundle.file("params"))
    if not rt.has_module:
        return _load_checkpoint_without_module(rt, bundle, prefix, epoch, step)
    step("load", "mx.model.load_checkpoint")
    sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, epoch)
    data = bundle.data_inputs()
    labels = [n for n, _ in bundle.inputs(kinds=("label",))]
    step("run", "Module.bind")
    mod = mx.mod.Module(sym, data_names=[n for n, _ in data], label_names=labels or None,
                        context=mx.cpu())
    mod.bind(data_shapes=[(n, a.shape) for n, a in data], for_training=False)
    step("load", "Module.set_params")
    mod.set_params(arg_params, aux_params)
    step("run", "Module.forward")
    mod.forward(mx.io.DataBatch(data=[mx.nd.array(a, dtype=a.dtype) for _, a in data]),
                is_train=False)
    return [o.asnumpy() for o in mod.get_outputs()]


def _load_checkpoint_without_module(rt, bundle, prefix, epoch, step):
    """2.0: mx.model.load_checkpoint is still there, Module is not; the symbol's own executor
    runs the checkpoint (in the mode checkpoint_mode chose)."""
    mx = rt.mx
    step("load", "mx.model.load_checkpoint")
    sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, epoch)
    values = dict(arg_params)
    values.update((n, rt.array(a)) for n, a in bundle.inputs())
    missing = [n for n in sym.list_arguments() if n not in values]
    missing += [n for n in sym.list_auxiliary_states() if n not in aux_params]
    if missing:
        raise RuntimeError("the checkpoint has no value for %s" % ", ".join(missing))
    step("run", "Symbol.bind" if rt.has_bind else "Symbol._bind")
    bind = sym.bind if rt.has_bind else sym._bind
    executor = bind(mx.cpu(), args={n: values[n] for n in sym.list_arguments()}, grad_req="null",
                    aux_states={n: aux_params[n] for n in sym.list_auxiliary_states()})
    step("run", "Executor.forward")
    outs = executor.forward(is_train=False)
    return [o.asnumpy() for o in (outs if outs is not None else executor.outputs)]


@contextlib.contextmanager
def checkpoint_mode(rt, bundle):
    """Where Module is gone (2.0) and np-shape is on (2.0.0b1), a graph saved without np-shape
    (1.x) is loaded and run with it off: its V2 params cannot be read with np-shape on, and
    np-shape reads the batch-0 begin states of 1.x RNN graphs as real zeros."""
    if rt.has_module or not rt.np_mode or _graph_is_np(bundle.file("symbol")):
        yield
        return
    with rt.legacy_mode():
        rt.np_mode = False  # so rt.array and rt.load_param_file make legacy arrays
        try:
            yield
        finally:
            rt.np_mode = True


def load_gluon_imports(rt, bundle, step):
    mx = rt.mx
    names = bundle.meta["import_input_names"]
    step("load", "SymbolBlock.imports")
    block = mx.gluon.SymbolBlock.imports(bundle.file("symbol"), names, bundle.file("params"), mx.cpu())
    by_name = dict(bundle.inputs())
    step("run", "SymbolBlock.forward")
    return loaders._outputs(rt, block(*[rt.array(by_name[n]) for n in names]))


def load_gluon_params(rt, bundle, step):
    net = loaders._rebuild(rt, bundle)
    step("load", "Block.load_params")
    net.load_params(bundle.file("params"), rt.mx.cpu())
    step("run", "Block.forward")
    return loaders._forward(rt, net, bundle)


def load_gluon_parameters(rt, bundle, step):
    net = loaders._rebuild(rt, bundle)
    step("load", "Block.load_parameters")
    net.load_parameters(bundle.file("params"), rt.mx.cpu())
    step("run", "Block.forward")
    return loaders._forward(rt, net, bundle)


def load_gluon_block(rt, bundle, step):
    net = loaders._rebuild(rt, bundle)
    model_json = bundle.file("model-json")
    prefix = os.path.basename(model_json)[: -len("-model.json")]
    step("load", "Block.load")
    # 2.0 reads the hard-coded MyModel-model.params from the cwd
    with loaders._cwd(os.path.dirname(model_json)):
        net.load(prefix)
    step("run", "Block.forward")
    return loaders._forward(rt, net, bundle)


def _as_is(rt, bundle):
    return contextlib.nullcontext()


def _lacks(present, what):
    return lambda rt: None if present(rt) else "%s does not exist on MXNet %s" % (what, rt.version)


# load API -> (why this release lacks it or None, the np mode to run it in, the loader, whether
# it reads a graph)
LOAD_APIS = {
    "module-load-checkpoint": (
        _lacks(lambda rt: rt.has_module or hasattr(rt.mx.model, "load_checkpoint"),
               "mx.model.load_checkpoint"),
        checkpoint_mode, load_module_checkpoint, True),
    "gluon-imports": (_lacks(lambda rt: rt.has_imports, "gluon.SymbolBlock.imports"),
                      _as_is, load_gluon_imports, True),
    "gluon-load-params": (_lacks(lambda rt: rt.has_save_params, "Block.load_params"),
                          _as_is, load_gluon_params, False),
    "gluon-load-parameters": (_lacks(lambda rt: rt.has_save_parameters, "Block.load_parameters"),
                              _as_is, load_gluon_parameters, False),
    "gluon-block-load": (_lacks(lambda rt: rt.has_block_save, "Block.load (1.9+)"),
                         _as_is, load_gluon_block, False),
}


def hello(rt):
    import numpy as np

    missing = {api: why(rt) for api, (why, _, _, _) in LOAD_APIS.items()}
    return {
        "hello": "python",
        "protocol": 1,
        "mxnet_version": rt.version,
        "mxget_version": rt.mxget_version(),
        "np_mode": rt.np_mode,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_apis": [api for api, why in missing.items() if why is None],
        "unsupported": {api: why for api, why in missing.items() if why is not None},
    }


# ---- one request --------------------------------------------------------------------------------


def _field(req, key, kind):
    if not isinstance(req.get(key), kind):
        raise RequestError("request member %r must be a %s" % (key, kind.__name__))
    return req[key]


def read_request(req):
    """(bundle, load API, out_dir, internals) for a request, its inputs read."""
    import numpy as np

    bundle_dir = _field(req, "bundle_dir", str)
    load_api = _field(req, "load_api", str)
    out_dir = _field(req, "out_dir", str)
    internals = req.get("internals", False)
    if not isinstance(internals, bool):
        raise RequestError("request member 'internals' must be true or false")
    probe = os.path.join(bundle_dir, "probe.json")
    if os.path.exists(probe):
        with open(probe) as f:
            meta = json.load(f)
    else:  # a bundle of another layout: what the request says is all there is
        meta = {"model": None, "model_files": [], "inputs": [], "load_apis": [load_api],
                "import_input_names": [i.get("name") for i in req.get("inputs", [])]}
    for key, role in (("symbol_file", "symbol"), ("params_file", "params")):
        if req.get(key):
            meta["model_files"] = [f for f in meta["model_files"] if f["role"] != role]
            meta["model_files"].append({"path": _field(req, key, str), "role": role})
    if req.get("inputs"):
        kinds = {i["name"]: i["kind"] for i in meta["inputs"]}
        meta["inputs"] = []
        for i in _field(req, "inputs", list):
            if not (isinstance(i, dict) and all(isinstance(i.get(k), str) for k in ("name", "file"))):
                raise RequestError("request inputs must be objects {name, file}")
            kind = kinds.get(i["name"], "float")
            meta["inputs"].append({"name": i["name"], "file": i["file"], "kind": kind})
    arrays = {}
    for i in meta["inputs"]:
        try:
            arrays[i["name"]] = np.load(os.path.join(bundle_dir, i["file"]))
        except Exception as e:  # noqa: an unreadable input is the request's fault
            raise RequestError("input %s: %s" % (i["name"], _err(e)))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise RequestError("output folder %s: %s" % (out_dir, e))
    return RequestBundle(bundle_dir, meta, arrays), load_api, out_dir, internals


def write_outputs(outs, out_dir):
    import numpy as np

    written = []
    for i, out in enumerate(outs):
        out = np.ascontiguousarray(out)
        if str(out.dtype) not in KNOWN_DTYPES:
            raise RequestError("output %d has dtype %s, which .npy files cannot say" % (i, out.dtype))
        path = os.path.join(os.path.abspath(out_dir), "output_%d.npy" % i)
        try:
            np.save(path, out)
        except OSError as e:
            raise RequestError("output %d: %s" % (i, e))
        written.append({"name": "output_%d" % i, "file": path, "shape": list(out.shape),
                        "dtype": str(out.dtype)})
    return written


def write_internals(rt, bundle, out_dir):
    """Every node's output of the bundle's graph, bound with its params on the inputs."""
    from . import internals

    index = internals.dump(rt, bundle.file("symbol"), bundle.file("params"), bundle.inputs(),
                           os.path.join(out_dir, "internals"), archive=False)
    out_dir = os.path.abspath(out_dir)
    return [{"index": e["index"], "name": e["name"], "file": os.path.join(out_dir, e["file"]),
             "shape": e["shape"], "dtype": e["dtype"]} for e in index["outputs"]]


def _failure(kind, call, e):
    return {"kind": kind, "call": call, "message": e if isinstance(e, str) else _err(e)}


def serve(rt, req):
    """The answer to one request, without its id."""
    answer = {"status": "ok", "outputs": []}
    try:
        bundle, load_api, out_dir, want_internals = read_request(req)
    except RequestError as e:
        return dict(answer, status="error", error=_failure("request", "", str(e)), timings=Steps().timings())
    steps = Steps()
    try:
        if load_api not in LOAD_APIS:
            raise loaders.Unsupported("%s is not a Python load API" % load_api)
        why_not, mode, load, reads_graph = LOAD_APIS[load_api]
        reason = why_not(rt)
        if reason:
            raise loaders.Unsupported(reason)
        if load_api not in bundle.meta.get("load_apis", []):
            raise loaders.Unsupported("load API %s does not apply to a %s bundle"
                                      % (load_api, bundle.meta.get("save_api")))
        # a bundle saved in np mode is read in np mode where the release has one, as its users would
        enter = bool(bundle.meta.get("np_mode")) and not rt.np_mode and rt.can_set_np
        if enter:
            rt.enter_np_mode()
        try:
            with mode(rt, bundle):
                outs = load(rt, bundle, steps)
                steps("run", "numpy.save")
                answer["outputs"] = write_outputs(outs, out_dir)
                if want_internals and reads_graph:
                    steps("run", "get_internals")
                    answer["internals"] = write_internals(rt, bundle, out_dir)
                elif want_internals:
                    answer["internals_error"] = _failure("internals", "", "%s reads no graph" % load_api)
        finally:
            if enter:
                rt.leave_np_mode()
    except (loaders.Unsupported, zoo.Unavailable) as e:
        answer.update(status="unsupported", error=_failure("unsupported", steps.call, str(e)))
    except RequestError as e:
        answer.update(status="error", error=_failure("output", steps.call, str(e)))
    except Exception as e:  # noqa: the candidate's own failure is the datum
        if steps.call == "get_internals":  # the outputs are there; only the extra is missing
            answer["internals_error"] = _failure("internals", steps.call, e)
        else:
            status = "load_fail" if steps.phase == "load" else "run_fail"
            answer.update(status=status, outputs=[], error=_failure(steps.phase, steps.call, e))
    answer["timings"] = steps.timings()
    return answer


def serve_requests(rt, greeting, answers=None):
    """Says hello on stdout, then answers each request line of stdin until it ends."""
    answers = answers or _private_stdout()

    def emit(obj):
        answers.write(json.dumps(obj) + "\n")
        answers.flush()

    emit(greeting)
    for line in iter(sys.stdin.readline, ""):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            emit({"id": None, "status": "error", "outputs": [],
                  "error": _failure("request", "", "not a request: %s" % e),
                  "timings": {"load_ms": 0, "run_ms": 0}})
            continue
        answer = serve(rt, req)
        emit(dict({"id": req.get("id")}, **answer))
    return 0


def main(argv=None):
    """A worker; with --fork-server, the server that forks workers (fork_server.py), whose
    stdout and stderr are not the pool's to read."""
    as_fork_server = "--fork-server" in (sys.argv[1:] if argv is None else argv)
    for key, value in DETERMINISM_ENV.items():  # before mxnet is imported, as for the producer
        os.environ[key] = value
    answers = None if as_fork_server else _private_stdout()
    try:
        from .runtime import Runtime

        rt = Runtime()
        greeting = hello(rt)
    except Exception as e:  # noqa: a release that does not import cannot serve
        greeting = {"hello": "python", "error": {"kind": "import", "message": _err(e)}}
        rt = None
    if as_fork_server:
        from . import fork_server

        if rt is None:
            fork_server.say(greeting)
            return 1
        return fork_server.serve_forks(greeting, lambda: serve_requests(rt, greeting))
    if rt is None:
        answers.write(json.dumps(greeting) + "\n")
        answers.flush()
        return 1
    return serve_requests(rt, greeting, answers)


if __name__ == "__main__":
    sys.exit(main())
