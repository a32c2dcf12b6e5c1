"""The model zoo: one definition per model, portable across MXNet 1.0-2.0.

A model is a ``ModelSpec``: static facts (what it covers, which real break it targets, its
inputs) plus ``build(rt)``. Gluon models return a Block built with the runtime adapter
(``rt.sequential``, ``rt.HybridBlock``, ``rt.scope``); symbol models return
``SymbolModel(symbol, data_names, label_names)``.

Naming: every top-level 1.x block gets an explicit prefix (``<model>_``) and children are made
inside its name scope, so parameter names never depend on what the process built before
(1.x counts unnamed top-level blocks globally). Symbol models name every op.

Sizes are small on purpose: params of at most about 250 KB a file (most a few KB) and inputs of
a few KB, so that every release x model x save API stays a corpus a repository can hold.
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
    def __init__(self, name, kind, covers, targets, inputs, build, tolerance=None, hybrid=True, save_apis=None,
                 finish=None):
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
        # (save APIs, why only those) for models that exist only in some files, else None
        self.save_apis = save_apis
        # finish(rt, net, xs) -> net: run on the seeded net before hybridizing (quantization)
        self.finish = finish

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


def model(name, kind, covers, targets, inputs, tolerance=None, hybrid=True, registry=MODELS, save_apis=None,
          finish=None):
    def deco(fn):
        registry.append(ModelSpec(name, kind, covers, targets, inputs, fn, tolerance, hybrid, save_apis, finish))
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


# ---- gluon.model_zoo.vision at tiny width ----------------------------------------------------
# The real architecture classes, so their graphs are the ones users exported. Each gets the
# model's prefix on 1.x (the zoo passes **kwargs to Block), so names do not depend on counters.


def layer(rt, name, first):
    """gluon.nn.<name>, or Unavailable naming the missing layer and the release that has it."""
    cls = getattr(rt.nn, name, None)
    if cls is None:
        raise Unavailable("gluon.nn.%s does not exist on MXNet %s (first in %s)" % (name, rt.version, first))
    return cls


def vision(rt, name, first):
    """gluon.model_zoo.vision.<name>, or Unavailable."""
    import importlib

    try:
        mod = importlib.import_module(rt.mx.__name__ + ".gluon.model_zoo.vision")
    except ImportError as e:
        raise Unavailable("gluon.model_zoo.vision does not import on MXNet %s: %s" % (rt.version, e))
    obj = getattr(mod, name, None)
    if obj is None:
        raise Unavailable("gluon.model_zoo.vision.%s does not exist on MXNet %s (first in %s)" % (name, rt.version, first))
    return mod, obj


def _zoo_kwargs(rt, spec):
    return {"prefix": spec.prefix} if rt.has_prefix else {}


@model(
    "resnet18-v1",
    "gluon",
    "gluon.model_zoo.vision.ResNetV1 (BasicBlockV1, [1,1,1,1], thumbnail) at width [4,4,8,16,32]",
    ["#11 #19580 1.x model-zoo parameter names on 2.0", "#7 #14421"],
    [F("data", (1, 3, 8, 8))],
)
def build_resnet18_v1(rt, spec):
    v, cls = vision(rt, "ResNetV1", "0.11.0")
    return cls(v.BasicBlockV1, [1, 1, 1, 1], [4, 4, 8, 16, 32], classes=10, thumbnail=True, **_zoo_kwargs(rt, spec))


@model(
    "resnet50-v2",
    "gluon",
    "gluon.model_zoo.vision.ResNetV2 (BottleneckV2, [1,1,1,1]) at width [4,8,16,32,64]: pre-activation, Flatten",
    ["#11 #19580 1.x model-zoo parameter names on 2.0"],
    [F("data", (1, 3, 16, 16))],
)
def build_resnet50_v2(rt, spec):
    v, cls = vision(rt, "ResNetV2", "0.11.0")
    return cls(v.BottleneckV2, [1, 1, 1, 1], [4, 8, 16, 32, 64], classes=10, **_zoo_kwargs(rt, spec))


@model(
    "densenet",
    "gluon",
    "gluon.model_zoo.vision.DenseNet(4, 4, [2]) with dropout 0.1: Concat of the dense layers, Dropout, fixed AvgPool2D(7)",
    ["#11 #19580", "HybridConcurrent moved in 1.1 (#9427) and 2.0"],
    [F("data", (1, 3, 28, 28))],
)
def build_densenet(rt, spec):
    _, cls = vision(rt, "DenseNet", "0.11.0")
    return cls(4, 4, [2], bn_size=1, dropout=0.1, classes=10, **_zoo_kwargs(rt, spec))


@model(
    "mobilenet-v1",
    "gluon",
    "gluon.model_zoo.vision.MobileNet(0.0625): depthwise convolutions (num_group = channels)",
    ["#8 #15337 #15784 grouped conv after the 1.5 JSON upgrade", "#11 #19580"],
    [F("data", (1, 3, 8, 8))],
    # 1.9.1's Module (MKLDNN depthwise kernels) differs from Gluon by 1.6e-4 on outputs of ~20
    tolerance={"rtol": 1e-4, "atol": 1e-4},
)
def build_mobilenet_v1(rt, spec):
    _, cls = vision(rt, "MobileNet", "0.12.0")
    return cls(0.0625, classes=10, **_zoo_kwargs(rt, spec))


@model(
    "mobilenet-v2",
    "gluon",
    "gluon.model_zoo.vision.MobileNetV2(0.0625): inverted residuals, ReLU6 as clip (1.3+; Activation in 1.2)",
    ["MobileNetV2 graph change at 1.3.0 (#10603)", "#11 #19580"],
    [F("data", (1, 3, 8, 8))],
)
def build_mobilenet_v2(rt, spec):
    _, cls = vision(rt, "MobileNetV2", "1.2.0")
    return cls(0.0625, classes=2, **_zoo_kwargs(rt, spec))


@model(
    "vgg-bn",
    "gluon",
    "the feature extractor of gluon.model_zoo.vision.VGG (batch_norm=True, [1,1] x [4,8]) + Dense/Dropout head",
    ["#11 #19580", "#7 #14421 BN drift"],
    [F("data", (2, 3, 16, 16))],
)
def build_vgg_bn(rt, spec):
    nn = rt.nn
    _, cls = vision(rt, "VGG", "0.11.0")
    # VGG's Dense(4096) head is not tiny; _make_features does not use self in any release
    return _seq(
        rt,
        spec,
        lambda: [
            cls._make_features(None, [1, 1], [4, 8], True),
            nn.Dense(16, activation="relu"),
            nn.Dropout(0.5),
            nn.Dense(10),
        ],
    )


# ---- Module-era symbol nets ------------------------------------------------------------------


@model(
    "inception-bn-sym",
    "symbol",
    "symbol-API Inception-BN/CaffeNet block: LRN, Pooling(full), a 3-branch Concat, add_n, SoftmaxOutput",
    ["MXNet Model Server zoo (Inception-BN, CaffeNet)", "#12 SoftmaxOutput missing in 2.0"],
    [F("data", (2, 3, 12, 12)), InputSpec("softmax_label", (2,), "label", 5)],
)
def build_inception_bn_sym(rt, spec):
    sym = rt.mx.sym
    x = sym.Convolution(sym.var("data"), num_filter=6, kernel=(3, 3), pad=(1, 1), name="conv1")
    x = sym.BatchNorm(x, fix_gamma=False, name="bn1")
    x = sym.Activation(x, act_type="relu", name="relu1")
    x = sym.LRN(x, nsize=3, alpha=1e-2, beta=0.75, knorm=2, name="lrn1")
    x = sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool1")
    b1 = sym.Convolution(x, num_filter=4, kernel=(1, 1), name="inc_1x1")
    b2 = sym.Convolution(x, num_filter=4, kernel=(3, 3), pad=(1, 1), name="inc_3x3")
    b3 = sym.Pooling(x, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", name="inc_pool")
    b3 = sym.Convolution(b3, num_filter=4, kernel=(1, 1), name="inc_proj")
    cat = sym.Concat(b1, b2, b3, dim=1, name="inc_concat")
    total = sym.add_n(b1, b2, b3, name="inc_sum")
    x = sym.Concat(cat, total, dim=1, name="concat2")
    x = sym.Pooling(x, kernel=(1, 1), global_pool=True, pool_type="avg", name="gpool")
    x = sym.Flatten(x, name="flatten")
    x = sym.FullyConnected(x, num_hidden=5, name="fc")
    x = op(rt, "SoftmaxOutput")(x, name="softmax")
    return SymbolModel(x, ["data"], ["softmax_label"])


@model(
    "global-pool-pad",
    "symbol",
    "global avg and max Pooling with pad=1 on a conv output: 1.0/1.1 count the padding, 1.2.0+ ignore it",
    ["#9730 #14421 global pooling ignores padding from 1.2.0 (NUMERIC_DRIFT)"],
    [F("data", (2, 3, 5, 5))],
)
def build_global_pool_pad(rt, spec):
    sym = rt.mx.sym
    x = sym.Convolution(sym.var("data"), num_filter=4, kernel=(3, 3), pad=(1, 1), name="conv")
    avg = sym.Pooling(x, kernel=(3, 3), pad=(1, 1), global_pool=True, pool_type="avg", name="gavg")
    mx_ = sym.Pooling(x, kernel=(3, 3), pad=(1, 1), global_pool=True, pool_type="max", name="gmax")
    x = sym.Concat(sym.Flatten(avg, name="flat_avg"), sym.Flatten(mx_, name="flat_max"), dim=1, name="concat")
    x = sym.FullyConnected(x, num_hidden=3, name="fc")
    return SymbolModel(x, ["data"], [])


@model(
    "grouped-conv-sym",
    "symbol",
    "symbol-API grouped Convolution and grouped Deconvolution (num_group=2, no_bias), depthwise conv",
    ["#8 #15337 #15784 grouped conv after the 1.5 JSON upgrade"],
    [F("data", (2, 4, 6, 6))],
)
def build_grouped_conv_sym(rt, spec):
    sym = rt.mx.sym
    x = sym.Convolution(sym.var("data"), num_filter=8, kernel=(3, 3), num_group=2, no_bias=True, name="gconv")
    x = sym.Deconvolution(x, num_filter=4, kernel=(3, 3), stride=(2, 2), num_group=2, no_bias=True, name="gdeconv")
    x = sym.Convolution(x, num_filter=4, kernel=(3, 3), num_group=4, name="dwconv")
    x = sym.Activation(x, act_type="sigmoid", name="sigmoid")
    x = sym.FullyConnected(sym.Flatten(x, name="flatten"), num_hidden=3, name="fc")
    return SymbolModel(x, ["data"], [])


# ---- hand-built Gluon nets ---------------------------------------------------------------------
# Each computes with the release's operators: ops.F (1.x legacy: mx.nd or mx.sym) or ops.np /
# ops.npx (np mode: 2.0.0b1, and the -np save APIs of 1.6-1.9 and 2.0.0a0). fn() picks one and
# says which operator a release lacks. Python arithmetic works on both and exports the
# release's own names (_plus_scalar / _npi_add_scalar, ...).


def fn(ops, legacy, np_name=None):
    """The operator ``legacy`` (dotted, under ops.F) or ``np_name`` ('npx.x' / 'np.x') in np
    mode; Unavailable when the running release does not have it. In np mode an operator
    without an np form (np_name None) is the legacy one, called on as_nd_ndarray() views and
    its result turned back with as_np_ndarray(), as 2.0 users do."""
    if ops.legacy or np_name is None:
        obj, path, where = ops.F, legacy, "F"
        if path.startswith("contrib.") and not hasattr(obj, "contrib"):
            # 0.11 has no F.contrib: its contrib operators are in mx.contrib.symbol / .ndarray
            import mxnet

            obj, path = getattr(mxnet.contrib, obj.__name__.rsplit(".", 1)[1]), path[len("contrib."):]
    else:
        where, path = np_name.split(".", 1)
        obj = getattr(ops, where)
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            import mxnet

            raise Unavailable("operator %s.%s does not exist on MXNet %s" % (where, path, mxnet.__version__))
    if ops.legacy or np_name is not None:
        return obj

    def legacy_on_np(*args, **kwargs):
        return obj(*[a.as_nd_ndarray() for a in args], **kwargs).as_np_ndarray()

    return legacy_on_np


def _hybrid_net(rt, spec, init, compute):
    """A HybridBlock with the model's prefix: ``init(net)`` makes the children (inside the name
    scope), ``compute(net, ops, *xs)`` is the forward."""

    class Net(rt.HybridBlock):
        def __init__(self):
            super(Net, self).__init__(prefix=spec.prefix)
            with rt.scope(self):
                init(self)

        def compute(self, ops, *xs):
            return compute(self, ops, *xs)

    return Net()


@model(
    "style-transfer",
    "gluon",
    "fast style transfer: ReflectionPad2D, InstanceNorm, strided conv, Conv2DTranspose, tanh, scalar ops",
    ["InstanceNorm/Pad(reflect) never covered", "#7 #14421"],
    [F("data", (1, 3, 12, 12))],
)
def build_style_transfer(rt, spec):
    nn = rt.nn
    pad, inorm = layer(rt, "ReflectionPad2D", "1.2.0"), layer(rt, "InstanceNorm", "1.2.0")

    def init(n):
        n.pad = pad(1)
        n.conv1 = nn.Conv2D(4, kernel_size=3, in_channels=3)
        n.in1 = inorm(in_channels=4)
        n.conv2 = nn.Conv2D(6, kernel_size=3, strides=2, padding=1, in_channels=4)
        n.in2 = inorm(in_channels=6)
        n.up = nn.Conv2DTranspose(3, kernel_size=4, strides=2, padding=1, in_channels=6)

    def compute(n, ops, x):
        y = ops.relu(n.in1(n.conv1(n.pad(x))))
        y = ops.relu(n.in2(n.conv2(y)))
        return ops.tanh(n.up(y)) * 127.5 + 127.5

    return _hybrid_net(rt, spec, init, compute)


@model(
    "bert-encoder",
    "gluon",
    "BERT-style encoder layer: token + position Embedding (arange_like), LayerNorm, 2-head self-attention "
    "(split, reshape, transpose, batch_dot, softmax), GELU feed-forward, first-token pooler",
    ["GluonNLP BERT (#18017 #17866 np renames)", "#11 #19580"],
    [T("data", (2, 6), 20)],
)
def build_bert_encoder(rt, spec):
    nn = rt.nn
    norm, gelu = layer(rt, "LayerNorm", "1.2.0"), layer(rt, "GELU", "1.6.0")
    D, H = 8, 2

    def init(n):
        n.tok = nn.Embedding(20, D)
        n.pos = nn.Embedding(6, D)
        n.ln0 = norm(in_channels=D)
        n.qkv = nn.Dense(3 * D, flatten=False, in_units=D)
        n.proj = nn.Dense(D, flatten=False, in_units=D)
        n.ln1 = norm(in_channels=D)
        n.ff1 = nn.Dense(2 * D, flatten=False, in_units=D)
        n.act = gelu()
        n.ff2 = nn.Dense(D, flatten=False, in_units=2 * D)
        n.ln2 = norm(in_channels=D)
        n.pooler = nn.Dense(D, activation="tanh", in_units=D)
        n.cls = nn.Dense(2, in_units=D)

    def heads(ops, t):  # (B, T, D) -> (B*H, T, D/H)
        if ops.legacy:
            F = ops.F
            t = F.transpose(F.reshape(t, shape=(0, 0, H, -1)), axes=(0, 2, 1, 3))
            return F.reshape(t, shape=(-3, 0, 0))
        t = ops.np.transpose(ops.npx.reshape(t, (-2, -2, H, -1)), (0, 2, 1, 3))
        return ops.npx.reshape(t, (-5, -2, -2))

    def merge(ops, t):  # (B*H, T, D/H) -> (B, T, D)
        if ops.legacy:
            F = ops.F
            t = F.transpose(F.reshape(t, shape=(-4, -1, H, 0, 0)), axes=(0, 2, 1, 3))
            return F.reshape(t, shape=(0, 0, -3))
        t = ops.np.transpose(ops.npx.reshape(t, (-6, -1, H, -2, -2)), (0, 2, 1, 3))
        return ops.npx.reshape(t, (-2, -2, -5))

    def compute(n, ops, x):
        pos = fn(ops, "contrib.arange_like", "npx.arange_like")(x, axis=1)
        add = fn(ops, "broadcast_add", "np.add")
        h = n.ln0(add(n.tok(x), n.pos(pos)))
        if ops.legacy:
            q, k, v = ops.F.split(n.qkv(h), num_outputs=3, axis=2)
        else:
            q, k, v = ops.np.split(n.qkv(h), 3, axis=2)
        bdot = fn(ops, "batch_dot", "npx.batch_dot")
        scores = bdot(heads(ops, q), heads(ops, k), transpose_b=True) / (D // H) ** 0.5
        att = fn(ops, "softmax", "npx.softmax")(scores, axis=-1)
        h = n.ln1(h + n.proj(merge(ops, bdot(att, heads(ops, v)))))
        h = n.ln2(h + n.ff2(n.act(n.ff1(h))))
        if ops.legacy:
            first = ops.F.slice_axis(h, axis=1, begin=0, end=1)
        else:
            first = ops.npx.slice(h, begin=(None, 0, None), end=(None, 1, None))
        return n.cls(n.pooler(first))

    return _hybrid_net(rt, spec, init, compute)


@model(
    "seq2seq-attn",
    "gluon",
    "seq2seq: bidirectional LSTM encoder masked by SequenceMask, GRU decoder, dot attention "
    "(batch_dot, softmax), Concat, log_softmax over the vocabulary",
    ["#3 #12046 RNN params", "#2 #11772", "GluonNLP NMT"],
    [T("data0", (2, 5), 12), T("data1", (2, 4), 12)],
    tolerance={"rtol": 1e-4, "atol": 1e-5},
    hybrid="rnn",
)
def build_seq2seq_attn(rt, spec):
    nn, rnn = rt.nn, rt.rnn
    if not rt.rnn_is_hybrid:
        raise Unavailable("gluon.rnn layers are not HybridBlocks on MXNet %s (1.3+; CPU GRU from 1.3)" % rt.version)

    def init(n):
        n.src_emb = nn.Embedding(12, 6)
        n.enc = rnn.LSTM(6, bidirectional=True, layout="NTC", input_size=6)
        n.tgt_emb = nn.Embedding(12, 6)
        n.dec = rnn.GRU(12, layout="NTC", input_size=6)
        n.out = nn.Dense(12, flatten=False, in_units=24)

    def compute(n, ops, src, tgt):
        enc = n.enc(n.src_emb(src))
        # tokens > 0 count as the source length, so SequenceMask zeroes the padded tail
        if ops.legacy:
            length = ops.F.sum(src > 0, axis=1)
        else:
            length = ops.np.sum((src > 0).astype("float32"), axis=1)
        mask = fn(ops, "SequenceMask", "npx.sequence_mask")
        enc = mask(enc, length, use_sequence_length=True, axis=1)
        dec = n.dec(n.tgt_emb(tgt))
        bdot = fn(ops, "batch_dot", "npx.batch_dot")
        att = fn(ops, "softmax", "npx.softmax")(bdot(dec, enc, transpose_b=True), axis=-1)
        if ops.legacy:
            both = ops.F.concat(bdot(att, enc), dec, dim=2)
        else:
            both = ops.np.concatenate([bdot(att, enc), dec], axis=2)
        return fn(ops, "log_softmax", "npx.log_softmax")(n.out(both), axis=-1)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "lstmcell-unroll",
    "gluon",
    "rnn.LSTMCell unrolled over 5 steps inside a HybridBlock: the cell's own sigmoid/tanh/"
    "elemwise_mul/SliceChannel graph and stacked outputs, then Dense",
    ["#3 #12046 (the unrolled form MBCC's lstm model predates)"],
    [F("data", (2, 5, 4))],
    tolerance={"rtol": 1e-4, "atol": 1e-5},
)
def build_lstmcell_unroll(rt, spec):
    nn, rnn = rt.nn, rt.rnn

    def init(n):
        n.cell = rnn.LSTMCell(6, input_size=4)
        n.out = nn.Dense(3, in_units=6)

    def compute(n, ops, x):
        outputs, states = n.cell.unroll(5, x, layout="NTC", merge_outputs=True)
        last = states[0]
        return n.out(last), outputs

    return _hybrid_net(rt, spec, init, compute)


@model(
    "arcface",
    "gluon",
    "ArcFace embedding + additive angular margin head: PReLU, L2Normalization, clip, arccos, cos, "
    "one_hot, pick (labels as a second input)",
    ["InsightFace arcface_mxnet"],
    [F("data0", (2, 3, 8, 8)), T("data1", (2,), 5)],
)
def build_arcface(rt, spec):
    nn = rt.nn
    prelu = layer(rt, "PReLU", "1.2.0")

    def init(n):
        n.conv = nn.Conv2D(6, kernel_size=3, padding=1, in_channels=3)
        n.bn = nn.BatchNorm(in_channels=6)
        n.act = prelu()
        n.pool = nn.GlobalAvgPool2D()
        n.emb = nn.Dense(8, in_units=6)
        n.fc = nn.Dense(5, use_bias=False, in_units=8)

    def compute(n, ops, x, label):
        e = n.emb(n.pool(n.act(n.bn(n.conv(x)))))
        if ops.legacy:
            e = ops.F.L2Normalization(e, mode="instance")
        else:
            e = e / ops.np.linalg.norm(e, axis=1, keepdims=True)
        cos_t = fn(ops, "clip", "np.clip")(n.fc(e), -0.999, 0.999)
        theta = fn(ops, "arccos", "np.arccos")(cos_t)
        target = fn(ops, "cos", "np.cos")(theta + 0.5)
        hot = fn(ops, "one_hot", "npx.one_hot")(label, 5)
        logits = (hot * target + (1 - hot) * cos_t) * 16.0
        return logits, fn(ops, "pick", "npx.pick")(logits, label, axis=1)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "groupnorm-se",
    "gluon",
    "GroupNorm (2 groups of 4 channels), squeeze-excitation (AdaptiveAvgPooling2D, 1x1 convs, "
    "hard_sigmoid), h-swish, broadcast_mul",
    ["#17139 #18199 GroupNorm gamma/beta shape (num_groups,) in 1.x vs (C,) in 2.0"],
    [F("data", (2, 3, 6, 6))],
)
def build_groupnorm_se(rt, spec):
    nn = rt.nn
    gnorm = layer(rt, "GroupNorm", "1.6.0")

    def init(n):
        n.conv = nn.Conv2D(8, kernel_size=3, padding=1, in_channels=3)
        n.gn = gnorm(num_groups=2)  # 1.x GroupNorm takes no in_channels
        # 1x1 convolutions keep the squeezed (B, C, 1, 1) shape: on 2.0.0b1 a hybridized multiply
        # by a reshaped or expand_dims'd (B, C) mean kills the process (SIGSEGV)
        n.squeeze = nn.Conv2D(2, kernel_size=1, activation="relu", in_channels=8)
        n.excite = nn.Conv2D(8, kernel_size=1, in_channels=2)
        n.pool = nn.GlobalAvgPool2D()
        n.out = nn.Dense(3, in_units=8)

    def compute(n, ops, x):
        y = n.gn(n.conv(x))
        hsig = fn(ops, "hard_sigmoid")  # no np form: the legacy operator in np mode too
        y = y * hsig(y)  # h-swish
        if ops.legacy:
            s = ops.F.contrib.AdaptiveAvgPooling2D(y, output_size=1)
            y = ops.F.broadcast_mul(y, hsig(n.excite(n.squeeze(s))))
        else:
            # on 2.0.0b1 pooling a broadcasting multiply's output fails hybridized (Check failed:
            # !is_view), so the gate is broadcast to y's shape first
            s = hsig(n.excite(n.squeeze(ops.np.mean(y, axis=(2, 3), keepdims=True))))
            y = y * ops.npx.broadcast_like(s, y)
        return n.out(n.pool(y))

    return _hybrid_net(rt, spec, init, compute)


@model(
    "unet-seg",
    "gluon",
    "U-Net/FCN segmentation: encoder, Conv2DTranspose (Deconvolution) skip joined by Crop + Concat, "
    "nearest UpSampling, BilinearResize2D of the logits",
    ["RetinaFace / GluonCV FCN decoders"],
    [F("data", (1, 3, 8, 8))],
)
def build_unet_seg(rt, spec):
    nn = rt.nn

    def init(n):
        n.enc1 = nn.Conv2D(4, kernel_size=3, padding=1, activation="relu", in_channels=3)
        n.pool = nn.MaxPool2D(2)
        n.enc2 = nn.Conv2D(6, kernel_size=3, padding=1, activation="relu", in_channels=4)
        n.up = nn.Conv2DTranspose(4, kernel_size=4, strides=2, padding=1, in_channels=6)
        n.side = nn.Conv2D(2, kernel_size=1, in_channels=6)
        n.head = nn.Conv2D(3, kernel_size=1, in_channels=10)

    def compute(n, ops, x):
        e1 = n.enc1(x)
        e2 = n.enc2(n.pool(e1))
        if ops.legacy:
            F = ops.F
            resize = fn(ops, "contrib.BilinearResize2D")  # before 1.2.0 there is none
            up = F.Crop(n.up(e2), e1, num_args=2, center_crop=True)
            side = F.UpSampling(n.side(e2), scale=2, sample_type="nearest", num_args=1)
            y = n.head(F.concat(up, e1, side, dim=1))
            return resize(y, height=12, width=12)
        np = ops.np
        side = np.repeat(np.repeat(n.side(e2), 2, axis=2), 2, axis=3)  # nearest upsampling
        y = n.head(np.concatenate([n.up(e2), e1, side], axis=1))
        return fn(ops, "contrib.BilinearResize2D")(y, height=12, width=12)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "ssd-head",
    "gluon",
    "SSD head: class and box convs, MultiBoxPrior anchors, transpose/reshape/softmax, MultiBoxDetection with NMS",
    ["GluonCV SSD"],
    [F("data", (1, 3, 8, 8))],
)
def build_ssd_head(rt, spec):
    nn = rt.nn
    A, C = 3, 2  # anchors per cell (2 sizes + 2 ratios - 1), classes without background

    def init(n):
        n.body = nn.Conv2D(6, kernel_size=3, padding=1, activation="relu", in_channels=3)
        n.cls = nn.Conv2D(A * (C + 1), kernel_size=3, padding=1, in_channels=6)
        n.loc = nn.Conv2D(A * 4, kernel_size=3, padding=1, in_channels=6)

    def compute(n, ops, x):
        feat = n.body(x)
        prior = fn(ops, "contrib.MultiBoxPrior", "npx.multibox_prior")
        detect = fn(ops, "contrib.MultiBoxDetection", "npx.multibox_detection")
        anchors = prior(feat, sizes=(0.3, 0.6), ratios=(1, 2))
        if ops.legacy:
            F = ops.F
            cls = F.reshape(F.transpose(n.cls(feat), axes=(0, 2, 3, 1)), shape=(0, -1, C + 1))
            prob = F.softmax(F.transpose(cls, axes=(0, 2, 1)), axis=1)
            loc = F.flatten(F.transpose(n.loc(feat), axes=(0, 2, 3, 1)))
        else:
            np, npx = ops.np, ops.npx
            cls = npx.reshape(np.transpose(n.cls(feat), (0, 2, 3, 1)), (-2, -1, C + 1))
            prob = npx.softmax(np.transpose(cls, (0, 2, 1)), axis=1)
            loc = npx.batch_flatten(np.transpose(n.loc(feat), (0, 2, 3, 1)))
        return detect(prob, loc, anchors, nms_threshold=0.45, nms_topk=20)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "deploy-topk",
    "gluon",
    "deployment wrapper: a uint8 image round trip (Cast), per-image mean/std normalisation "
    "(mean, broadcast_sub, sqrt, broadcast_div), a tiny CNN, softmax and topk indices",
    ["what users wrap around a model before export"],
    [F("data", (2, 3, 6, 6))],
)
def build_deploy_topk(rt, spec):
    nn = rt.nn

    def init(n):
        n.conv = nn.Conv2D(4, kernel_size=3, activation="relu", in_channels=3)
        n.pool = nn.GlobalMaxPool2D()
        n.fc = nn.Dense(6, in_units=4)

    def compute(n, ops, x):
        if ops.legacy:
            F = ops.F
            img = F.cast(F.cast(x * 127.5 + 127.5, dtype="uint8"), dtype="float32")
            mean = F.mean(img, axis=(1, 2, 3), keepdims=True)
            std = F.sqrt(F.mean(F.square(F.broadcast_sub(img, mean)), axis=(1, 2, 3), keepdims=True))
            y = F.broadcast_div(F.broadcast_sub(img, mean), std + 1e-3)
        else:
            np = ops.np
            img = (x * 127.5 + 127.5).astype("uint8").astype("float32")
            mean = np.mean(img, axis=(1, 2, 3), keepdims=True)
            std = np.sqrt(np.mean(np.square(img - mean), axis=(1, 2, 3), keepdims=True))
            y = (img - mean) / (std + 1e-3)
        prob = fn(ops, "softmax", "npx.softmax")(n.fc(n.pool(n.conv(y))), axis=-1)
        return prob, fn(ops, "topk", "npx.topk")(prob, k=2, ret_typ="indices", axis=-1)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "roi-head",
    "gluon",
    "Faster-RCNN ROI head: ROIPooling and ROIAlign of integer boxes (second input) on a conv feature map",
    ["GluonCV Faster/Mask R-CNN"],
    [F("data0", (4, 2, 6, 6)), T("data1", (3, 5), 4)],
)
def build_roi_head(rt, spec):
    nn = rt.nn

    def init(n):
        n.conv = nn.Conv2D(3, kernel_size=3, padding=1, activation="relu", in_channels=2)
        n.fc = nn.Dense(4, in_units=24)

    def compute(n, ops, x, rois):
        feat = n.conv(x)
        pooled = fn(ops, "ROIPooling", "npx.roi_pooling")(feat, rois, pooled_size=(2, 2), spatial_scale=1.0)
        aligned = fn(ops, "contrib.ROIAlign")(feat, rois, pooled_size=(2, 2), spatial_scale=1.0)
        if ops.legacy:
            both = ops.F.concat(pooled, aligned, dim=1)
        else:
            both = ops.np.concatenate([pooled, aligned], axis=1)
        return n.fc(both)

    return _hybrid_net(rt, spec, init, compute)


@model(
    "textcnn",
    "gluon",
    "TextCNN: Embedding, transpose to NCW, two Conv1D widths with GlobalMaxPool1D, Concat, Dense",
    ["1-D convolution and pooling never covered"],
    [T("data", (2, 7), 30)],
)
def build_textcnn(rt, spec):
    nn = rt.nn

    def init(n):
        n.emb = nn.Embedding(30, 6)
        n.conv3 = nn.Conv1D(4, kernel_size=3, activation="relu", in_channels=6)
        n.conv2 = nn.Conv1D(4, kernel_size=2, activation="relu", in_channels=6)
        n.pool = nn.GlobalMaxPool1D()
        n.out = nn.Dense(2, in_units=8)

    def compute(n, ops, x):
        e = n.emb(x)
        if ops.legacy:
            e = ops.F.transpose(e, axes=(0, 2, 1))
            both = ops.F.concat(n.pool(n.conv3(e)), n.pool(n.conv2(e)), dim=1)
        else:
            e = ops.np.transpose(e, (0, 2, 1))
            both = ops.np.concatenate([n.pool(n.conv3(e)), n.pool(n.conv2(e))], axis=1)
        return n.out(both)

    return _hybrid_net(rt, spec, init, compute)


def _quantize_int8(rt, net, xs):
    """quantize_net of the seeded float net with naive (min/max) calibration on the golden
    inputs: int8 convolutions need the MKLDNN/oneDNN kernels of the CPU wheel."""
    import importlib
    import inspect

    feats = rt.features() or {}
    if not (feats.get("MKLDNN") or feats.get("ONEDNN")):
        raise Unavailable("the CPU wheel of MXNet %s has no MKLDNN/oneDNN: no int8 CPU kernels" % rt.version)
    q = importlib.import_module(rt.mx.__name__ + ".contrib.quantization")
    quantize_net = getattr(q, "quantize_net", None)
    if quantize_net is None:
        raise Unavailable("contrib.quantization.quantize_net does not exist on MXNet %s (first in 1.6.0)" % rt.version)
    batch = xs[0].shape[0]
    if hasattr(q, "_as_data_iter"):  # 1.x: a DataIter (its DataLoader batches are not lists)
        loader = rt.mx.io.NDArrayIter(xs[0], batch_size=batch)
    else:  # 2.0: a gluon DataLoader only
        data = rt.gluon.data
        loader = data.DataLoader(data.ArrayDataset(xs[0]), batch_size=batch)
    params = inspect.signature(quantize_net).parameters
    kwargs = {"device" if "device" in params else "ctx": rt.mx.cpu()}
    if "num_calib_examples" in params:  # 1.x counts examples, 2.0 batches
        kwargs["num_calib_examples"] = batch
    else:
        kwargs["num_calib_batches"] = 1
    return quantize_net(net, quantized_dtype="auto", calib_mode="naive", calib_data=loader, **kwargs)


@model(
    "resnet18-v1-int8",
    "gluon",
    "resnet18-v1 quantized to int8 by contrib.quantization.quantize_net (naive calibration): "
    "quantize_v2, quantized pooling, fused MKLDNN/oneDNN conv and FC subgraph ops",
    ["int8 MKLDNN graph ops renamed _sg_mkldnn_* -> _sg_onednn_* in 2.0"],
    [F("data", (1, 3, 8, 8))],
    tolerance={"rtol": 1e-4, "atol": 1e-4},
    save_apis=(("gluon-export",), "an int8 net is the SymbolBlock quantize_net returns: only its exported graph carries it"),
    finish=_quantize_int8,
)
def build_resnet18_v1_int8(rt, spec):
    return build_resnet18_v1(rt, spec)


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
