"""The small adapter that lets one model definition run on every MXNet from 1.0 to 2.0.

1.x Gluon: blocks take ``prefix=``, children are made inside ``name_scope()``, a HybridBlock
implements ``hybrid_forward(F, x, **params)`` and arrays are ``mx.nd``.
2.0 Gluon: no prefixes and no name_scope (structural names only), a HybridBlock implements
``forward(x)``, arrays are ``mx.np`` (np-shape and np-array mode on).

Zoo models subclass ``rt.HybridBlock`` / ``rt.Block`` and implement ``compute(ops, x, ...)``;
``ops`` is the operator namespace of the running release (``F`` in 1.x, ``npx`` in 2.0).
Feature flags are probed by attribute, never assumed from the version number.
"""

import contextlib
import random
import re
import uuid as _uuid_module


def parse_version(text):
    """'1.9.1' -> (1, 9, 1); '2.0.0beta1' -> (2, 0, 0); unknown -> (0, 0, 0)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return (0, 0, 0)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


class _LegacyOps:
    """Operators for 1.x: F is mx.nd or mx.sym."""

    legacy = True

    def __init__(self, F):
        self.F = F

    def relu(self, x):
        return self.F.relu(x)

    def tanh(self, x):
        return self.F.tanh(x)


class _NpOps:
    """Operators in np mode: F.np/F.npx inside a 1.x hybrid_forward (F is mx.nd or mx.sym),
    mx.np/mx.npx in a 2.0 forward (imperative or deferred compute)."""

    legacy = False

    def __init__(self, mx, F=None):
        src = F if (F is not None and hasattr(F, "npx")) else mx
        self.npx = src.npx
        self.np = src.np
        # the legacy namespace beside np/npx, for operators that have no np form
        self.F = F if F is not None else mx.nd

    def relu(self, x):
        return self.npx.relu(x)

    def tanh(self, x):
        return self.np.tanh(x)


class _SeededUUID:
    """Stands in for the ``uuid`` module inside mxnet.gluon.parameter (2.0), so parameter
    uuids (which Block.save writes into -model.json) are reproducible."""

    def __init__(self, seed):
        self._rng = random.Random(seed)

    def uuid4(self):
        return _uuid_module.UUID(int=self._rng.getrandbits(128), version=4)

    def __getattr__(self, name):
        return getattr(_uuid_module, name)


class Runtime:
    """Everything the zoo, the savers and the loaders need to know about the running MXNet."""

    def __init__(self):
        from . import py311

        py311.install()
        import mxnet as mx  # noqa: deliberately late: `list` must work without mxnet

        self.source_patches = list(py311.PATCHED)

        self.mx = mx
        self.version = getattr(mx, "__version__", "unknown")
        self.vtuple = parse_version(self.version)
        self.is2 = self.vtuple[0] >= 2
        # the release's own default, never forced: 2.0.0b1 turns np mode on at import,
        # 2.0.0a0 does not (Gluon then takes mx.nd arrays and writes V2 files), 1.x never does
        util = getattr(mx, "util", None)
        self.np_mode = bool(util is not None and hasattr(util, "is_np_array") and util.is_np_array())
        g = mx.gluon
        self.gluon = g
        self.nn = g.nn
        self.rnn = g.rnn
        self.has_module = hasattr(mx, "mod") and hasattr(mx.mod, "Module")
        self.has_save_params = hasattr(g.Block, "save_params")
        self.has_save_parameters = hasattr(g.Block, "save_parameters")
        self.has_export = hasattr(g.HybridBlock, "export")
        self.has_imports = hasattr(g.SymbolBlock, "imports")
        # Block.save/load: 1.9.x (PREFIX-model.params) and 2.0 (hard-coded MyModel-model.params)
        self.has_block_save = hasattr(g.Block, "save") and hasattr(g.Block, "load")
        self.rnn_is_hybrid = issubclass(g.rnn.LSTM, g.HybridBlock)
        # Gluon 1 style (hybrid_forward(F, ...)): every 1.x and 2.0.0a0; 2.0.0b1 only has forward
        self.has_hybrid_forward = hasattr(g.HybridBlock, "hybrid_forward")
        import inspect

        try:
            self.has_prefix = "prefix" in inspect.signature(g.Block.__init__).parameters
        except (TypeError, ValueError):
            self.has_prefix = True
        self.has_bind = hasattr(mx.sym.Symbol, "bind")
        self.HybridBlock, self.Block = self._make_bases()

    # ---- portable bases --------------------------------------------------------------
    def _make_bases(self):
        g = self.gluon
        rt = self

        def init_kwargs(prefix):
            return {"prefix": prefix} if rt.has_prefix else {}

        def ops(F=None):
            if rt.np_mode:
                return _NpOps(rt.mx, F)
            return _LegacyOps(F if F is not None else rt.mx.nd)

        if self.has_hybrid_forward:

            class HybridBlock(g.HybridBlock):
                def __init__(self, prefix=None):
                    super().__init__(**init_kwargs(prefix))

                def hybrid_forward(self, F, x, *args, **params):
                    return self.compute(ops(F), x, *args)

        else:

            class HybridBlock(g.HybridBlock):
                def __init__(self, prefix=None):
                    super().__init__(**init_kwargs(prefix))

                def forward(self, x, *args):
                    return self.compute(ops(), x, *args)

        class Block(g.Block):
            def __init__(self, prefix=None):
                super().__init__(**init_kwargs(prefix))

            def forward(self, x, *args):
                return self.compute(ops(), x, *args)

        return HybridBlock, Block

    def scope(self, block):
        """``with rt.scope(block):`` around child creation (name_scope in 1.x, nothing in 2.0)."""
        if hasattr(block, "name_scope"):
            return block.name_scope()
        return contextlib.nullcontext()

    def sequential(self, prefix, hybrid=True):
        cls = self.nn.HybridSequential if hybrid else self.nn.Sequential
        return cls(prefix=prefix) if self.has_prefix else cls()

    def is_hybrid(self, block):
        return isinstance(block, self.gluon.HybridBlock)

    def all_hybrid(self, blocks):
        return all(self.is_hybrid(b) for b in blocks)

    # ---- arrays ------------------------------------------------------------------------
    def array(self, a):
        """numpy -> the array type Gluon takes here (mx.np in np mode, else mx.nd), dtype kept."""
        if self.np_mode:
            return self.mx.np.array(a, dtype=a.dtype)
        return self.mx.nd.array(a, dtype=a.dtype)

    def nd_array(self, a):
        """numpy -> legacy mx.nd.NDArray (what mx.nd.save / Module want)."""
        return self.mx.nd.array(a, dtype=a.dtype)

    def as_nd(self, x):
        """An mx.np array as mx.nd (no-op for mx.nd arrays)."""
        np_mod = getattr(self.mx, "np", None)
        if np_mod is not None and isinstance(x, getattr(np_mod, "ndarray", ())):
            return x.as_nd_ndarray()
        return x

    @staticmethod
    def to_numpy(x):
        return x.asnumpy()

    @staticmethod
    def as_list(out):
        if isinstance(out, (list, tuple)):
            res = []
            for o in out:
                res.extend(Runtime.as_list(o))
            return res
        return [out]

    # ---- determinism -------------------------------------------------------------------
    @contextlib.contextmanager
    def fresh_names(self, seed):
        """Fresh auto-name counters and (2.0) seeded parameter uuids for one case, so a case's
        files do not depend on what the process built before it."""
        mx = self.mx
        patched = None
        try:
            import mxnet.gluon.parameter as gp

            if hasattr(gp, "uuid"):
                patched = gp.uuid
                gp.uuid = _SeededUUID(seed)
        except ImportError:
            gp = None
        try:
            with mx.name.NameManager():
                yield
        finally:
            if patched is not None:
                gp.uuid = patched

    def seed(self, seed):
        self.mx.random.seed(seed)

    # ---- producer facts ----------------------------------------------------------------
    def mxget_version(self):
        import ctypes

        try:
            out = ctypes.c_int(0)
            rc = self.mx.base._LIB.MXGetVersion(ctypes.byref(out))
            return int(out.value) if rc == 0 else None
        except Exception:  # noqa: absent in 0.11
            return None

    def features(self):
        try:
            feats = self.mx.runtime.Features()
        except Exception:  # noqa: mx.runtime is 1.5+
            return None
        try:
            return {name: bool(f.enabled) for name, f in feats.items()}
        except Exception:
            return None

    # ---- np mode ------------------------------------------------------------------------
    @property
    def can_set_np(self):
        npx = getattr(self.mx, "npx", None)
        return npx is not None and hasattr(npx, "set_np") and hasattr(npx, "reset_np")

    def enter_np_mode(self):
        """npx.set_np() (np shape + np array), as a user of 1.6-1.9 / 2.0.0a0 would."""
        self.mx.npx.set_np()
        self.np_mode = True

    def leave_np_mode(self):
        self.mx.npx.reset_np()
        self.np_mode = False

    # ---- legacy-mode scopes (2.0) --------------------------------------------------------
    @contextlib.contextmanager
    def legacy_mode(self):
        """np_array(False) + np_shape(False) in np mode (to read V2 files); else nothing."""
        if not self.np_mode:
            yield
            return
        mx = self.mx
        with mx.util.np_array(False):
            with mx.util.np_shape(False):
                yield

    def load_param_file(self, path):
        """Load an NDArray-list / npz file into {key: release array}. In 2.0 the np loader is
        tried first, then the legacy loader outside np mode (V2 files), as Gluon does."""
        mx = self.mx
        if not self.np_mode:
            return dict(mx.nd.load(path))
        try:
            loaded = mx.npx.load(path)
            return dict(loaded)
        except Exception as first:  # noqa
            try:
                with self.legacy_mode():
                    loaded = mx.nd.load(path)
                    loaded = {k: v.asnumpy() for k, v in dict(loaded).items()}
                return {k: mx.np.array(v, dtype=v.dtype) for k, v in loaded.items()}
            except Exception:
                raise first

    # ---- symbol execution ----------------------------------------------------------------
    def run_symbol(self, sym, arrays):
        """Bind ``sym`` with {name: numpy array} for every argument and aux state and run one
        forward in inference mode; returns numpy outputs in list_outputs order."""
        mx = self.mx
        args = {n: self.array(arrays[n]) for n in sym.list_arguments()}
        aux = {n: self.array(arrays[n]) for n in sym.list_auxiliary_states()}
        bind = sym.bind if self.has_bind else sym._bind  # 2.0 made it private
        ex = bind(mx.cpu(), args=args, grad_req="null", aux_states=aux)
        outs = ex.forward(is_train=False)
        if outs is None:
            outs = ex.outputs
        return [o.asnumpy() for o in outs]
