"""Python load APIs: read a bundle back and run it on its golden inputs.

``load_and_run(bundle_dir, load_api, rt=None) -> list of numpy outputs`` is the whole contract;
each load API is one small function, so the candidate worker can reuse them as they are. A load
API that does not exist on the running release raises ``Unsupported`` (a verdict, not a bug).
The c-* load APIs are run by mbcc's C API worker and raise ``Unsupported`` here.
"""

import contextlib
import json
import os

import numpy as np

from . import zoo


class Unsupported(Exception):
    """The load API does not exist on this release, or does not apply to this bundle."""


class Bundle(object):
    """A bundle directory and its probe.json."""

    def __init__(self, bundle_dir, meta=None):
        self.dir = os.path.abspath(bundle_dir)
        if meta is None:
            with open(os.path.join(self.dir, "probe.json")) as f:
                meta = json.load(f)
        self.meta = meta

    @property
    def model(self):
        return self.meta["model"]

    def file(self, role):
        hits = [f["path"] for f in self.meta["model_files"] if f["role"] == role]
        if len(hits) != 1:
            raise Unsupported("bundle has %d model files with role %r" % (len(hits), role))
        return os.path.join(self.dir, hits[0])

    def has_role(self, role):
        return any(f["role"] == role for f in self.meta["model_files"])

    def inputs(self, kinds=None):
        """[(name, numpy array)] in input order, optionally only some kinds."""
        out = []
        for inp in self.meta["inputs"]:
            if kinds is None or inp["kind"] in kinds:
                out.append((inp["name"], np.load(os.path.join(self.dir, inp["file"]))))
        return out

    def data_inputs(self):
        return self.inputs(kinds=("float", "tokens"))


def _checkpoint_prefix(symbol_file, params_file):
    if not symbol_file.endswith("-symbol.json"):
        raise Unsupported("symbol file %s is not named PREFIX-symbol.json" % symbol_file)
    prefix = symbol_file[: -len("-symbol.json")]
    tail = params_file[len(prefix) + 1 :]
    if not (params_file.startswith(prefix + "-") and tail.endswith(".params")):
        raise Unsupported("params file %s is not PREFIX-NNNN.params" % params_file)
    return prefix, int(tail[: -len(".params")])


def _outputs(rt, out):
    return [np.asarray(rt.to_numpy(o)) for o in rt.as_list(out)]


def _forward(rt, block, bundle, kinds=None):
    xs = [rt.array(a) for _, a in (bundle.inputs(kinds) if kinds else bundle.data_inputs())]
    return _outputs(rt, block(*xs))


def _user_block(rt, bundle):
    """A user's Block (``mbcc add --block``), rebuilt from the copy of its code the bundle holds:
    the bundle's folder ``origin.block.path`` goes first on sys.path, ``MODULE:CALLABLE`` is called
    with the recorded keyword arguments, and the copy is dropped from sys.modules afterwards so
    that two bundles' packages of one name never mix."""
    import importlib
    import sys

    block = bundle.meta["origin"]["block"]
    module_name, _, attr = block["callable"].partition(":")
    root = os.path.join(bundle.dir, block["path"])
    sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)(**block["kwargs"])
    finally:
        sys.path.remove(root)
        for name in list(sys.modules):
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(root + os.sep):
                del sys.modules[name]


def _rebuild(rt, bundle):
    if (bundle.meta.get("origin") or {}).get("block"):
        return _user_block(rt, bundle)
    spec = zoo.get(bundle.model)
    if spec.kind != "gluon":
        raise Unsupported("model %s is a symbol model; it has no Gluon block" % spec.name)
    return zoo.build(rt, spec)


@contextlib.contextmanager
def _cwd(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_module_checkpoint(rt, bundle):
    mx = rt.mx
    if not rt.has_module:
        raise Unsupported("mx.mod.Module does not exist on MXNet %s" % rt.version)
    prefix, epoch = _checkpoint_prefix(bundle.file("symbol"), bundle.file("params"))
    sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, epoch)
    data = bundle.data_inputs()
    labels = [n for n, _ in bundle.inputs(kinds=("label",))]
    mod = mx.mod.Module(
        sym, data_names=[n for n, _ in data], label_names=labels or None, context=mx.cpu()
    )
    mod.bind(data_shapes=[(n, a.shape) for n, a in data], for_training=False)
    mod.set_params(arg_params, aux_params)
    mod.forward(mx.io.DataBatch(data=[mx.nd.array(a, dtype=a.dtype) for _, a in data]), is_train=False)
    return [o.asnumpy() for o in mod.get_outputs()]


def load_gluon_imports(rt, bundle):
    mx = rt.mx
    if not rt.has_imports:
        raise Unsupported("gluon.SymbolBlock.imports does not exist on MXNet %s" % rt.version)
    names = bundle.meta["import_input_names"]
    blk = mx.gluon.SymbolBlock.imports(bundle.file("symbol"), names, bundle.file("params"), mx.cpu())
    by_name = dict(bundle.inputs())
    return _outputs(rt, blk(*[rt.array(by_name[n]) for n in names]))


def load_gluon_params(rt, bundle):
    if not rt.has_save_params:
        raise Unsupported("Block.load_params does not exist on MXNet %s" % rt.version)
    net = _rebuild(rt, bundle)
    net.load_params(bundle.file("params"), rt.mx.cpu())
    return _forward(rt, net, bundle)


def load_gluon_parameters(rt, bundle):
    if not rt.has_save_parameters:
        raise Unsupported("Block.load_parameters does not exist on MXNet %s" % rt.version)
    net = _rebuild(rt, bundle)
    net.load_parameters(bundle.file("params"), rt.mx.cpu())
    return _forward(rt, net, bundle)


def load_gluon_block(rt, bundle):
    if not rt.has_block_save:
        raise Unsupported("Block.load does not exist on MXNet %s (1.9+)" % rt.version)
    net = _rebuild(rt, bundle)
    model_json = bundle.file("model-json")
    prefix = os.path.basename(model_json)[: -len("-model.json")]
    # Block.load reads <prefix>-model.json and the hard-coded MyModel-model.params from the cwd
    with _cwd(os.path.dirname(model_json)):
        net.load(prefix)
    return _forward(rt, net, bundle)


def _c_api(rt, bundle):
    raise Unsupported("C API load paths are run by mbcc's C API worker, not by the probe")


LOADERS = {
    "module-load-checkpoint": load_module_checkpoint,
    "gluon-imports": load_gluon_imports,
    "gluon-load-params": load_gluon_params,
    "gluon-load-parameters": load_gluon_parameters,
    "gluon-block-load": load_gluon_block,
    "c-predict": _c_api,
    "c-executor": _c_api,
    "c-cachedop": _c_api,
}


def load_and_run(bundle_dir, load_api, rt=None):
    """Load the bundle at ``bundle_dir`` through ``load_api`` and return its outputs (numpy) on
    the bundle's golden inputs, in inference mode."""
    if load_api not in LOADERS:
        raise Unsupported("unknown load API %r" % load_api)
    if rt is None:
        from .runtime import Runtime

        rt = Runtime()
    bundle = bundle_dir if isinstance(bundle_dir, Bundle) else Bundle(bundle_dir)
    if load_api not in bundle.meta.get("load_apis", []):
        raise Unsupported("load API %s does not apply to a %s bundle" % (load_api, bundle.meta.get("save_api")))
    # a bundle saved in np mode is read back in np mode where the release has one (what its
    # user would do); elsewhere (<= 1.5) it is read as is, and V3 files fail there: a verdict
    enter = bool(bundle.meta.get("np_mode")) and not rt.np_mode and rt.can_set_np
    if enter:
        rt.enter_np_mode()
    try:
        return LOADERS[load_api](rt, bundle)
    finally:
        if enter:
            rt.leave_np_mode()
