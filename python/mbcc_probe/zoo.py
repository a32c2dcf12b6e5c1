"""The model zoo: one definition per model, portable across MXNet 1.0-2.0.

A model is a ``ModelSpec``: static facts (what it covers, which real break it targets, its
inputs) plus ``build(rt)``. Gluon models return a Block built with the runtime adapter
(``rt.sequential``, ``rt.HybridBlock``, ``rt.scope``); symbol models return
``SymbolModel(symbol, data_names, label_names)``.

Naming: every top-level 1.x block gets an explicit prefix (``<model>_``) and children are made
inside its name scope, so parameter names never depend on what the process built before
(1.x counts unnamed top-level blocks globally). Symbol models name every op.

Sizes are small on purpose (each model's params are a few KB) so that the whole corpus,
~17 releases x all models x all save APIs, stays well under 30 MB.
"""

from collections import namedtuple

InputSpec = namedtuple("InputSpec", "name shape kind high")
# kind: "float" (uniform [-1, 1)), "tokens" (integer ids in [0, high) stored as float32, the
# dtype MXNet's Embedding takes), "label" (class ids in [0, high) as float32, only needed by
# loaders that feed every graph input: gluon-imports, c-cachedop)

SymbolModel = namedtuple("SymbolModel", "symbol data_names label_names")


class Unavailable(Exception):
    """The model cannot be built on this release (e.g. an operator it needs does not exist)."""


def op(rt, name):
    """mx.sym.<name>, or Unavailable naming the missing operator."""
    fn = getattr(rt.mx.sym, name, None)
    if fn is None:
        raise Unavailable("operator %s does not exist on MXNet %s" % (name, rt.version))
    return fn


class ModelSpec(object):
    def __init__(self, name, kind, covers, targets, inputs, build, tolerance=None, hybrid=True):
        self.name = name
        self.kind = kind  # "gluon" | "symbol"
        # Gluon models: True (a HybridBlock everywhere), False (a plain Block), or "rnn" (holds
        # gluon.rnn layers, which are HybridBlocks only from 1.3)
        self.hybrid = hybrid if kind == "gluon" else None
        self.covers = covers
        self.targets = targets  # prior-art.md section 2 rows, e.g. ["#11091"]
        self.inputs = inputs
        self.build = build
        self.tolerance = tolerance or {}

    @property
    def prefix(self):
        """1.x top-level prefix, e.g. 'lenethybrid_'."""
        return self.name.replace("-", "") + "_"

    def to_json(self):
        return {
            "name": self.name,
            "kind": self.kind,
            "covers": self.covers,
            "targets": self.targets,
            "inputs": [{"name": i.name, "shape": list(i.shape), "kind": i.kind} for i in self.inputs],
            "tolerance": self.tolerance,
            "hybrid": self.hybrid,
        }


def F(name, shape):
    return InputSpec(name, tuple(shape), "float", None)


def T(name, shape, high):
    return InputSpec(name, tuple(shape), "tokens", high)


MODELS = []
# The networks of the original MXNet nightly checker, for bundles converted from its bucket
# layout (mbcc check --store-layout original). Never generated: they are only loaded.
ORIGINAL_MODELS = []


def model(name, kind, covers, targets, inputs, tolerance=None, hybrid=True, registry=MODELS):
    def deco(fn):
        registry.append(ModelSpec(name, kind, covers, targets, inputs, fn, tolerance, hybrid))
        return fn

    return deco


def get(name):
    for m in MODELS + ORIGINAL_MODELS:
        if m.name == name:
            return m
    known = ", ".join(m.name for m in MODELS + ORIGINAL_MODELS)
    raise KeyError("unknown model %r (known: %s)" % (name, known))


def _seq(rt, spec, children, hybrid=True):
    """A (Hybrid)Sequential with the model's prefix holding ``children()`` (a thunk, so the
    children are created inside the name scope). Models holding gluon.rnn layers pass
    ``hybrid=rt.rnn_is_hybrid``: before 1.3 those layers are plain Blocks, which a
    HybridSequential refuses."""
    net = rt.sequential(spec.prefix, hybrid=hybrid)
    with rt.scope(net):
        for k in children():
            net.add(k)
    return net


# ---- symbol-API models ---------------------------------------------------------------------


@model(
    "mlp",
    "symbol",
    "symbol API + Module: FullyConnected/Activation, checkpoint arg: keys",
    ["MBCC module_checkpoint_api", "#14421"],
    [F("data", (2, 12))],
)
def build_mlp(rt, spec):
    sym = rt.mx.sym
    data = sym.var("data")
    x = sym.FullyConnected(data, num_hidden=24, name="fc1")
    x = sym.Activation(x, act_type="relu", name="relu1")
    x = sym.FullyConnected(x, num_hidden=16, name="fc2")
    x = sym.Activation(x, act_type="tanh", name="tanh2")
    x = sym.FullyConnected(x, num_hidden=4, name="fc3")
    return SymbolModel(x, ["data"], [])


@model(
    "softmax-output",
    "symbol",
    "symbol with a SoftmaxOutput loss head and its softmax_label input",
    ["#12 SoftmaxOutput missing in 2.0 (#18531, #19597)"],
    [F("data", (2, 10)), InputSpec("softmax_label", (2,), "label", 5)],
)
def build_softmax_output(rt, spec):
    sym = rt.mx.sym
    data = sym.var("data")
    x = sym.FullyConnected(data, num_hidden=16, name="fc1")
    x = sym.Activation(x, act_type="relu", name="relu1")
    x = sym.FullyConnected(x, num_hidden=5, name="fc2")
    x = op(rt, "SoftmaxOutput")(x, name="softmax")
    return SymbolModel(x, ["data"], ["softmax_label"])


# ---- Gluon models ------------------------------------------------------------------------


def _lenet_children(rt):
    nn = rt.nn
    return [
        nn.Conv2D(4, kernel_size=3, activation="relu"),
        nn.MaxPool2D(pool_size=2, strides=2),
        nn.Conv2D(8, kernel_size=3, activation="relu"),
        nn.MaxPool2D(pool_size=2, strides=2),
        nn.Flatten(),
        nn.Dense(16, activation="relu"),
        nn.Dense(10),
    ]


@model(
    "lenet",
    "gluon",
    "plain (non-hybrid) gluon.Block with conv/pool/dense as attributes, imperative forward",
    ["MBCC lenet_gluon_save_params_api", "#1 #11091 save_params naming (1.1/1.2.0/1.2.1)"],
    [F("data", (2, 1, 12, 12))],
    hybrid=False,
)
def build_lenet(rt, spec):
    nn = rt.nn

    class LeNet(rt.Block):
        def __init__(self):
            super(LeNet, self).__init__(prefix=spec.prefix)
            with rt.scope(self):
                self.conv1 = nn.Conv2D(4, kernel_size=3)
                self.pool1 = nn.MaxPool2D(pool_size=2, strides=2)
                self.conv2 = nn.Conv2D(8, kernel_size=3)
                self.pool2 = nn.MaxPool2D(pool_size=2, strides=2)
                self.fc1 = nn.Dense(16)
                self.fc2 = nn.Dense(10)

        def compute(self, ops, x):
            x = self.pool1(ops.relu(self.conv1(x)))
            x = self.pool2(ops.relu(self.conv2(x)))
            x = ops.relu(self.fc1(x))
            return self.fc2(x)

    return LeNet()


@model(
    "lenet-hybrid",
    "gluon",
    "HybridSequential LeNet: conv+pool+dense, hybridize/export/imports",
    ["MBCC lenet_gluon_hybrid_export_api"],
    [F("data", (2, 1, 12, 12))],
)
def build_lenet_hybrid(rt, spec):
    return _seq(rt, spec, lambda: _lenet_children(rt))


@model(
    "lstm",
    "gluon",
    "Embedding + LSTM (NTC) + Dense; RNN op / rnn_param flattening",
    ["MBCC lstm_gluon_save_parameters_api", "#3 #12046 RNN HybridBlock key shim"],
    [T("data", (2, 6), 20)],
    tolerance={"rtol": 1e-4, "atol": 1e-5},
    hybrid="rnn",
)
def build_lstm(rt, spec):
    nn, rnn = rt.nn, rt.rnn
    return _seq(
        rt,
        spec,
        lambda: [nn.Embedding(20, 8), rnn.LSTM(8, layout="NTC", input_size=8), nn.Dense(5)],
        hybrid=rt.rnn_is_hybrid,
    )


@model(
    "bn-cnn",
    "gluon",
    "CNN with two BatchNorms: aux states (running_mean/var, aux: keys), global pooling",
    ["#7 #14421 Module BN/conv drift 1.0->1.4", "MBCC never covered aux states"],
    [F("data", (2, 3, 10, 10))],
)
def build_bn_cnn(rt, spec):
    nn = rt.nn
    return _seq(
        rt,
        spec,
        lambda: [
            nn.Conv2D(6, kernel_size=3),
            nn.BatchNorm(),
            nn.Activation("relu"),
            nn.MaxPool2D(pool_size=2),
            nn.Conv2D(8, kernel_size=3),
            nn.BatchNorm(),
            nn.Activation("relu"),
            nn.GlobalAvgPool2D(),
            nn.Dense(4),
        ],
    )


@model(
    "residual-shared",
    "gluon",
    "residual block that calls one child Dense twice (shared params, duplicate node names)",
    ["#6 #12486 duplicate output names on imports"],
    [F("data", (2, 6))],
)
def build_residual_shared(rt, spec):
    nn = rt.nn

    class SharedResidual(rt.HybridBlock):
        def __init__(self):
            super(SharedResidual, self).__init__()
            with rt.scope(self):
                self.body = nn.Dense(8, in_units=8)

        def compute(self, ops, x):
            y = ops.relu(self.body(x))
            y = self.body(y)
            return ops.relu(y + x)

    return _seq(rt, spec, lambda: [nn.Dense(8, activation="relu"), SharedResidual(), nn.Dense(4)])


@model(
    "grouped-conv",
    "gluon",
    "grouped (num_group=2) and depthwise (num_group=channels) convolutions",
    ["#8 #15337 #15784 grouped conv simple_bind after 1.5 shape change"],
    [F("data", (2, 4, 8, 8))],
)
def build_grouped_conv(rt, spec):
    nn = rt.nn
    return _seq(
        rt,
        spec,
        lambda: [
            nn.Conv2D(8, kernel_size=3, groups=2, in_channels=4, activation="relu"),
            nn.Conv2D(8, kernel_size=3, groups=8, in_channels=8, activation="relu"),
            nn.GlobalAvgPool2D(),
            nn.Dense(3),
        ],
    )


@model(
    "bilstm-gru",
    "gluon",
    "2-layer bidirectional LSTM and a GRU nested in an inner Sequential, then Dense",
    ["#2 #11772 nested bidirectional RNN names", "#3 #12046"],
    [F("data", (2, 5, 4))],
    tolerance={"rtol": 1e-4, "atol": 1e-5},
    hybrid="rnn",
)
def build_bilstm_gru(rt, spec):
    nn, rnn = rt.nn, rt.rnn

    def inner():
        # the inner container gets its own (1.x) prefix inside the outer scope
        return _seq(
            rt,
            spec_inner,
            lambda: [
                rnn.LSTM(6, num_layers=2, bidirectional=True, layout="NTC", input_size=4),
                rnn.GRU(6, layout="NTC", input_size=12),
            ],
            hybrid=rt.rnn_is_hybrid,
        )

    spec_inner = ModelSpec("encoder", "gluon", "", [], [], None)
    return _seq(rt, spec, lambda: [inner(), nn.Dense(3)], hybrid=rt.rnn_is_hybrid)


@model(
    "bn-eps-axis",
    "gluon",
    "BatchNorm with epsilon=0.25 and axis=2 (both far from the defaults, so losing them shows)",
    ["#14 #18373 export drops BN eps/axis"],
    [F("data", (2, 3, 4, 5))],
)
def build_bn_eps_axis(rt, spec):
    nn = rt.nn
    return _seq(rt, spec, lambda: [nn.BatchNorm(axis=2, epsilon=0.25, in_channels=4), nn.Dense(6)])


@model(
    "embedding-dense",
    "gluon",
    "Embedding (token ids) + Dense on the flattened embeddings",
    ["#11 #19580 1.x names vs 2.0 structural names"],
    [T("data", (2, 5), 30)],
)
def build_embedding_dense(rt, spec):
    nn = rt.nn
    return _seq(rt, spec, lambda: [nn.Embedding(30, 6), nn.Dense(4)])


# ---- the original nightly checker's networks -------------------------------------------------
# Same layers, in the same order, as its Net, HybridNet and SimpleLSTMModel, so that the names
# its files hold match: save_params strips the top-level prefix (children are conv0_, dense0_,
# ... in creation order), save_parameters uses structural names (model.0.weight), and export's
# symbol carries its own names.


def _orig_lenet(rt, spec, base):
    """The original Net (base rt.Block) or HybridNet (base rt.HybridBlock)."""
    nn = rt.nn

    class Net(base):
        def __init__(self):
            super(Net, self).__init__(prefix=spec.prefix)
            with rt.scope(self):
                self.conv1 = nn.Conv2D(20, kernel_size=(5, 5))
                self.pool1 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
                self.conv2 = nn.Conv2D(50, kernel_size=(5, 5))
                self.pool2 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
                self.fc1 = nn.Dense(500)
                self.fc2 = nn.Dense(2)

        def compute(self, ops, x):
            x = self.pool1(ops.tanh(self.conv1(x)))
            x = self.pool2(ops.tanh(self.conv2(x)))
            x = x.reshape((0, -1))
            x = ops.tanh(self.fc1(x))
            return ops.tanh(self.fc2(x))

    return Net()


@model(
    "orig-lenet",
    "gluon",
    "the original checker's LeNet (gluon.Block Net): conv 20/50 5x5, max pool, dense 500/2, tanh",
    ["MBCC lenet_gluon_save_params_api"],
    [F("data", (20, 1, 30, 30))],
    hybrid=False,
    registry=ORIGINAL_MODELS,
)
def build_orig_lenet(rt, spec):
    return _orig_lenet(rt, spec, rt.Block)


@model(
    "orig-lenet-hybrid",
    "gluon",
    "the original checker's HybridNet: the same LeNet as a HybridBlock, exported",
    ["MBCC lenet_gluon_hybrid_export_api"],
    [F("data", (20, 1, 30, 30))],
    registry=ORIGINAL_MODELS,
)
def build_orig_lenet_hybrid(rt, spec):
    return _orig_lenet(rt, spec, rt.HybridBlock)


@model(
    "orig-lstm",
    "gluon",
    "the original checker's SimpleLSTMModel: Embedding(30, 10), LSTM(20), Dense(100), "
    "Dropout(0.5), Dense(2, tanh) in a Sequential named model",
    ["MBCC lstm_gluon_save_parameters_api"],
    [F("data", (10, 30))],
    tolerance={"rtol": 1e-4, "atol": 1e-5},
    hybrid=False,
    registry=ORIGINAL_MODELS,
)
def build_orig_lstm(rt, spec):
    nn, rnn = rt.nn, rt.rnn

    class SimpleLSTMModel(rt.Block):
        def __init__(self):
            super(SimpleLSTMModel, self).__init__(prefix=spec.prefix)
            with rt.scope(self):
                self.model = rt.sequential("", hybrid=False)
                with rt.scope(self.model):
                    for layer in (nn.Embedding(30, 10), rnn.LSTM(20), nn.Dense(100),
                                  nn.Dropout(0.5), nn.Dense(2, flatten=True, activation="tanh")):
                        self.model.add(layer)

        def compute(self, ops, x):
            return self.model(x)

    return SimpleLSTMModel()


def build(rt, spec):
    return spec.build(rt, spec)
