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

    def __init__(self, F):
        self.F = F

    def relu(self, x):
        return self.F.relu(x)

    def tanh(self, x):
        return self.F.tanh(x)


class _NpOps:
    """Operators for 2.0 (work both imperatively and under hybridize's deferred compute)."""

    def __init__(self, mx):
        self.npx = mx.npx
        self.np = mx.np

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
        if self.is2:
            # 2.0.0b1 turns np mode on at import; 2.0.0a0 does not. Same mode on both.
            mx.npx.set_np()
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
        self.HybridBlock, self.Block = self._make_bases()

    # ---- portable bases --------------------------------------------------------------
    def _make_bases(self):
        g = self.gluon
        mx = self.mx
        rt = self
        if self.is2:

            class HybridBlock(g.HybridBlock):
                def __init__(self, prefix=None):
                    super().__init__()

                def forward(self, x, *args):
                    return self.compute(_NpOps(mx), x, *args)

            class Block(g.Block):
                def __init__(self, prefix=None):
                    super().__init__()

                def forward(self, x, *args):
                    return self.compute(_NpOps(mx), x, *args)

        else:

            class HybridBlock(g.HybridBlock):
                def __init__(self, prefix=None):
                    super().__init__(prefix=prefix)

                def hybrid_forward(self, F, x, *args, **params):
                    return self.compute(_LegacyOps(F), x, *args)

            class Block(g.Block):
                def __init__(self, prefix=None):
                    super().__init__(prefix=prefix)

                def forward(self, x, *args):
                    return self.compute(_LegacyOps(rt.mx.nd), x, *args)

        return HybridBlock, Block

    def scope(self, block):
        """``with rt.scope(block):`` around child creation (name_scope in 1.x, nothing in 2.0)."""
        if hasattr(block, "name_scope"):
            return block.name_scope()
        return contextlib.nullcontext()

    def sequential(self, prefix, hybrid=True):
        cls = self.nn.HybridSequential if hybrid else self.nn.Sequential
        return cls() if self.is2 else cls(prefix=prefix)

    def is_hybrid(self, block):
        return isinstance(block, self.gluon.HybridBlock)

    def all_hybrid(self, blocks):
        return all(self.is_hybrid(b) for b in blocks)

    # ---- arrays ------------------------------------------------------------------------
    def array(self, a):
        """numpy -> the release's array type (mx.np in 2.0, mx.nd in 1.x), float32 kept."""
        if self.is2:
            return self.mx.np.array(a, dtype=a.dtype)
        return self.mx.nd.array(a, dtype=a.dtype)

    def nd_array(self, a):
        """numpy -> legacy mx.nd.NDArray (what mx.nd.save / Module want)."""
        if self.is2:
            return self.mx.np.array(a, dtype=a.dtype).as_nd_ndarray()
        return self.mx.nd.array(a, dtype=a.dtype)

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

    # ---- legacy-mode scopes (2.0) --------------------------------------------------------
    @contextlib.contextmanager
    def legacy_mode(self):
        """np_array(False) + np_shape(False) in 2.0 (to read V2 files); nothing in 1.x."""
        if not self.is2:
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
        if not self.is2:
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
        if self.is2:
            ex = sym._bind(mx.cpu(), args=args, grad_req="null", aux_states=aux)
        else:
            ex = sym.bind(mx.cpu(), args=args, grad_req="null", aux_states=aux)
        outs = ex.forward(is_train=False)
        if outs is None:
            outs = ex.outputs
        return [o.asnumpy() for o in outs]
