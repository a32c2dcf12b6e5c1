"""Save APIs: build one model with seeded weights, compute its golden outputs, and write it
through one save API. Each save API is one function ``save_<api>(case, model_dir)`` returning a
``Saved``; it raises ``Skip`` when the API does not exist on this release or the model cannot
go through it (the reason is data for the report)."""

import os
from collections import namedtuple

from . import catalog, weights, zoo
from .loaders import _cwd

Saved = namedtuple("Saved", "files writer symbol_file params_file")
# files: [(path relative to the bundle, role)]; symbol_file/params_file: absolute paths of the
# graph + params that internals are computed from (None when the save API writes no graph)


class Skip(Exception):
    """This case does not exist on this release; the message says why."""


def is_hybrid(rt, spec):
    return spec.hybrid is True or (spec.hybrid == "rnn" and rt.rnn_is_hybrid)


def precheck(rt, spec, api):
    """Why ``spec`` cannot go through ``api`` on this release (a sentence), or None. Decided
    from the release's attributes and the model's kind without building anything."""
    v = rt.version
    full_api = api
    api, np_variant = catalog.base_save_api(api)
    if np_variant:
        if not rt.can_set_np:
            return "npx.set_np does not exist on MXNet %s (first in 1.6)" % v
        if rt.np_mode:
            return "np mode is already MXNet %s's default: %s covers it" % (v, api)
    if spec.save_apis is not None and full_api not in spec.save_apis[0]:
        return "%s: %s" % (spec.name, spec.save_apis[1])
    if api != "module-checkpoint" and spec.kind != "gluon":
        return "symbol-API model: there is no Gluon block to save"
    if api == "module-checkpoint":
        if spec.kind == "gluon" and not is_hybrid(rt, spec):
            return "not a HybridBlock on MXNet %s: the model has no symbol" % v
    elif api == "gluon-save-params" and not rt.has_save_params:
        return "Block.save_params does not exist on MXNet %s (removed in 2.0)" % v
    elif api == "gluon-save-parameters" and not rt.has_save_parameters:
        return "Block.save_parameters does not exist on MXNet %s (first in 1.2.1)" % v
    elif api == "gluon-export":
        if not rt.has_export:
            return "HybridBlock.export does not exist on MXNet %s (first in 0.12)" % v
        if not is_hybrid(rt, spec):
            return "not a HybridBlock on MXNet %s: cannot hybridize/export" % v
    elif api == "gluon-block-save" and not rt.has_block_save:
        return "Block.save does not exist on MXNet %s (1.9+)" % v
    return None


class Case(object):
    """One model, built on this release with seeded weights, and its golden outputs."""

    def __init__(self, rt, spec, seed, hybridize):
        self.rt = rt
        self.spec = spec
        self.seed = seed
        self.inputs = weights.make_inputs(spec, seed)
        self.net = None
        self.symbol_model = None
        self.arg_params = None  # symbol models: {name: numpy}
        self.aux_params = None
        self.module = None
        self.hybridized = False
        if spec.kind == "gluon":
            self._build_gluon(hybridize)
        else:
            self._build_symbol()

    # inputs ---------------------------------------------------------------------------
    def named_inputs(self, kinds=None):
        return [
            (s.name, a)
            for s, a in zip(self.spec.inputs, self.inputs)
            if kinds is None or s.kind in kinds
        ]

    def data_inputs(self):
        return self.named_inputs(kinds=("float", "tokens"))

    # gluon ------------------------------------------------------------------------------
    def _build_gluon(self, hybridize):
        rt = self.rt
        net = zoo.build(rt, self.spec)
        net.initialize()  # values are replaced below; the default context is the CPU
        xs = [rt.array(a) for _, a in self.data_inputs()]
        net(*xs)  # completes deferred shape inference
        rs = weights.stream(self.seed, self.spec.name, "params")
        for name, p in net.collect_params().items():
            p.set_data(rt.array(weights.draw_param(rs, name, p.shape)))
        if self.spec.finish is not None:
            net = self.spec.finish(rt, net, xs)
        if hybridize and rt.is_hybrid(net):
            net.hybridize()
            self.hybridized = True
        self.net = net
        self.golden = [rt.to_numpy(o) for o in rt.as_list(net(*xs))]

    # symbol -------------------------------------------------------------------------------
    def _build_symbol(self):
        rt = self.rt
        mx = rt.mx
        sm = zoo.build(rt, self.spec)
        self.symbol_model = sm
        sym = sm.symbol
        data = self.data_inputs()
        arg_shapes, _, aux_shapes = sym.infer_shape(**{n: a.shape for n, a in data})
        inputs = set(sm.data_names) | set(sm.label_names)
        rs = weights.stream(self.seed, self.spec.name, "params")
        self.arg_params = {}
        for n, s in zip(sym.list_arguments(), arg_shapes):
            if n not in inputs:
                self.arg_params[n] = weights.draw_param(rs, n, s)
        self.aux_params = {n: weights.draw_param(rs, n, s) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
        if rt.has_module:
            mod = mx.mod.Module(
                sym, data_names=sm.data_names, label_names=sm.label_names or None, context=mx.cpu()
            )
            mod.bind(data_shapes=[(n, a.shape) for n, a in data], for_training=False)
            mod.set_params(
                {k: rt.nd_array(v) for k, v in self.arg_params.items()},
                {k: rt.nd_array(v) for k, v in self.aux_params.items()},
            )
            mod.forward(mx.io.DataBatch(data=[rt.nd_array(a) for _, a in data]), is_train=False)
            self.module = mod
            self.golden = [o.asnumpy() for o in mod.get_outputs()]
        else:
            arrays = dict(self.arg_params)
            arrays.update(self.aux_params)
            arrays.update(dict(self.named_inputs()))
            self.golden = rt.run_symbol(sym, arrays)

    # the model as a symbol + params (for module-checkpoint of Gluon models) -----------------
    def gluon_symbol(self):
        """(symbol, {arg: nd}, {aux: nd}) of a hybridizable Gluon net, with input 'data'."""
        rt = self.rt
        mx = rt.mx
        if not rt.is_hybrid(self.net):
            raise Skip("not a HybridBlock on MXNet %s: the model has no symbol" % rt.version)
        if len(self.data_inputs()) != 1:
            raise Skip("module-checkpoint of Gluon models supports one input")
        if rt.is2:
            sym, params = self.net.export(None)
            arg = {k[4:]: rt.as_nd(v) for k, v in params.items() if k.startswith("arg:")}
            aux = {k[4:]: rt.as_nd(v) for k, v in params.items() if k.startswith("aux:")}
            return sym, arg, aux
        out = self.net(mx.sym.var("data"))
        outs = rt.as_list(out)
        sym = outs[0] if len(outs) == 1 else mx.sym.Group(outs)
        params = {p.name: p for p in self.net.collect_params().values()}
        arg = {n: params[n].data() for n in sym.list_arguments() if n != "data"}
        aux = {n: params[n].data() for n in sym.list_auxiliary_states()}
        return sym, arg, aux


def _precheck(case, api):
    reason = precheck(case.rt, case.spec, api)
    if reason:
        raise Skip(reason)


def save_module_checkpoint(case, model_dir):
    _precheck(case, "module-checkpoint")
    rt = case.rt
    mx = rt.mx
    prefix = os.path.join(model_dir, case.spec.name)
    if case.spec.kind == "symbol":
        if case.module is not None:
            case.module.save_checkpoint(prefix, 0)
            writer = "Module.save_checkpoint"
        else:
            mx.model.save_checkpoint(
                prefix,
                0,
                case.symbol_model.symbol,
                {k: rt.nd_array(v) for k, v in case.arg_params.items()},
                {k: rt.nd_array(v) for k, v in case.aux_params.items()},
            )
            writer = "mx.model.save_checkpoint"
    else:
        sym, arg, aux = case.gluon_symbol()
        mx.model.save_checkpoint(prefix, 0, sym, arg, aux)
        writer = "mx.model.save_checkpoint(" + ("HybridBlock.export(None)" if rt.is2 else "net(mx.sym.var('data'))") + ")"
    return _symbol_pair(case, model_dir, writer)


def _symbol_pair(case, model_dir, writer):
    sym_name = case.spec.name + "-symbol.json"
    params_name = case.spec.name + "-0000.params"
    for n in (sym_name, params_name):
        if not os.path.exists(os.path.join(model_dir, n)):
            raise RuntimeError("%s did not write %s" % (writer, n))
    return Saved(
        [("model/" + sym_name, "symbol"), ("model/" + params_name, "params")],
        writer,
        os.path.join(model_dir, sym_name),
        os.path.join(model_dir, params_name),
    )


def save_gluon_save_params(case, model_dir):
    _precheck(case, "gluon-save-params")
    name = case.spec.name + ".params"
    case.net.save_params(os.path.join(model_dir, name))
    return Saved([("model/" + name, "params")], "Block.save_params", None, None)


def save_gluon_save_parameters(case, model_dir):
    _precheck(case, "gluon-save-parameters")
    name = case.spec.name + ".params"
    case.net.save_parameters(os.path.join(model_dir, name))
    return Saved([("model/" + name, "params")], "Block.save_parameters", None, None)


def save_gluon_export(case, model_dir):
    _precheck(case, "gluon-export")
    rt = case.rt
    if not case.hybridized:
        raise Skip("not a HybridBlock on MXNet %s: cannot hybridize/export" % rt.version)
    case.net.export(os.path.join(model_dir, case.spec.name))
    return _symbol_pair(case, model_dir, "HybridBlock.export")


def save_gluon_block_save(case, model_dir):
    _precheck(case, "gluon-block-save")
    # Block.save writes <prefix>-model.json and <prefix>-model.params (1.9.x) or, whatever the
    # prefix, MyModel-model.params in the current directory (2.0 bug): save from inside model/.
    with _cwd(model_dir):
        case.net.save(case.spec.name)
    written = sorted(os.listdir(model_dir))
    json_name = case.spec.name + "-model.json"
    params = [n for n in written if n.endswith("-model.params")]
    if json_name not in written or len(params) != 1 or len(written) != 2:
        raise RuntimeError("Block.save wrote %s; expected %s and one *-model.params" % (written, json_name))
    return Saved([("model/" + json_name, "model-json"), ("model/" + params[0], "params")], "Block.save", None, None)


def saver_for(api):
    """The save function of ``api``; the -np variants reuse their base API's function (the
    generator enters np mode around them)."""
    return SAVERS[catalog.base_save_api(api)[0]]


SAVERS = {
    "module-checkpoint": save_module_checkpoint,
    "gluon-save-params": save_gluon_save_params,
    "gluon-save-parameters": save_gluon_save_parameters,
    "gluon-export": save_gluon_export,
    "gluon-block-save": save_gluon_block_save,
}

# save APIs that hybridize the net before the golden forward
HYBRIDIZE = {"module-checkpoint", "gluon-export", "gluon-block-save", "gluon-export-np"}

# the load API that must round-trip on the producer itself, in order of preference
SELF_CHECK = {
    "module-checkpoint": ["module-load-checkpoint", "gluon-imports"],
    "gluon-save-params": ["gluon-load-params"],
    "gluon-save-parameters": ["gluon-load-parameters"],
    "gluon-export": ["gluon-imports", "module-load-checkpoint"],
    "gluon-block-save": ["gluon-block-load"],
    "gluon-save-parameters-np": ["gluon-load-parameters"],
    "gluon-export-np": ["gluon-imports", "module-load-checkpoint"],
}
