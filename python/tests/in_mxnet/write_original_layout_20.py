"""Runs inside an MXNet 2.0 environment: writes the models of the 2.0 branch's nightly checker
(tests/nightly/model_backwards_compatibility_check on apache/mxnet's master) the way its training
job does, from JOB_DIR as the working directory, into JOB_DIR/models/<mx.__version__>/<model_name>/,
the folder its upload step copies to the bucket.

    python write_original_layout_20.py JOB_DIR

What that job does differently from the 1.x one, and so what this writes: no Module model; the
networks are written for numpy mode (no name scopes, `mx.util.use_np`, a LeNet that flattens
with reshape(-1)); -data and -inference go through mx.npx.savez; and the Gluon parameters model
is saved with Block.save, which in 2.0 puts its parameters in MyModel-model.params in the
working directory (JOB_DIR), outside the folder. Seeded, so the files are the same each run.

Two steps of that job fail on the real releases, and this does what the release does:
- its export step first compares mx.__version__ with '1.1.0' by int() of each part, which
  raises on 2.0.0b1's '2.0.0beta1'; that comparison only chooses epoch=0 for every release from
  1.1.0 on, so this exports with epoch=0 without it;
- its LSTM step raises on 2.0.0b1 (Xavier on the LSTM's one-dimensional parameters) and on
  2.0.0a0 (numpy arrays into legacy operators), after making the folder: the folder stays
  empty, the error goes to stderr, and this still exits 0 so the test sees the rest.
"""
import os
import sys

import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.gluon import nn, rnn

mx.random.seed(7)
np.random.seed(7)
os.chdir(sys.argv[1])
OUT = os.path.join(os.getcwd(), "models", mx.__version__)


def folder(name):
    path = os.path.join(OUT, name)
    os.makedirs(path, exist_ok=True)
    return os.path.join(path, name)


def save_goldens(prefix, data, output):
    mx.npx.savez(prefix + "-data", data=data)
    mx.npx.savez(prefix + "-inference", inference=output)


def xavier():
    return mx.initializer.Xavier(magnitude=2.57)


def lenet_layers(block):
    block.conv1 = nn.Conv2D(20, kernel_size=(5, 5))
    block.pool1 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
    block.conv2 = nn.Conv2D(50, kernel_size=(5, 5))
    block.pool2 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
    block.fc1 = nn.Dense(500)
    block.fc2 = nn.Dense(2)


def lenet_forward(block, x):
    x = block.pool1(mx.np.tanh(block.conv1(x)))
    x = block.pool2(mx.np.tanh(block.conv2(x)))
    x = x.reshape(-1)  # as the 2.0 branch wrote it: one axis, not (batch, -1)
    return mx.np.tanh(block.fc2(mx.np.tanh(block.fc1(x))))


@mx.util.use_np
class Net(gluon.Block):
    def __init__(self, **kwargs):
        super(Net, self).__init__(**kwargs)
        lenet_layers(self)

    def forward(self, x):
        return lenet_forward(self, x)


@mx.util.use_np
class HybridNet(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super(HybridNet, self).__init__(**kwargs)
        lenet_layers(self)

    def forward(self, x):
        return lenet_forward(self, x)


class SimpleLSTMModel(gluon.Block):  # not use_np, as on the 2.0 branch
    def __init__(self, **kwargs):
        super(SimpleLSTMModel, self).__init__(**kwargs)
        self.model = nn.Sequential()
        for layer in (nn.Embedding(30, 10), rnn.LSTM(20), nn.Dense(100), nn.Dropout(0.5),
                      nn.Dense(2, flatten=True, activation="tanh")):
            self.model.add(layer)

    def forward(self, x):
        return self.model(x)


def lenet_gluon_save_params_api():
    prefix = folder("lenet_gluon_save_params_api")
    net = Net()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    data = mx.np.random.uniform(-1, 1, size=(20, 1, 30, 30))
    save_goldens(prefix, data, net(data))
    net.save(prefix + "-params")  # -params-model.json here; the parameters go to the cwd


@mx.util.use_np
def lenet_gluon_hybrid_export_api():
    prefix = folder("lenet_gluon_hybrid_export_api")
    net = HybridNet()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    net.hybridize()
    data = mx.np.array(np.random.uniform(-1, 1, size=(20, 1, 30, 30)))
    save_goldens(prefix, data, net(data))
    net.export(prefix, epoch=0)


def lstm_gluon_save_parameters_api():
    prefix = folder("lstm_gluon_save_parameters_api")
    net = SimpleLSTMModel()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    data = mx.np.array(np.random.uniform(-1, 1, size=(10, 30)))
    save_goldens(prefix, data, net(data))
    net.save_parameters(prefix + "-params")


lenet_gluon_save_params_api()
lenet_gluon_hybrid_export_api()
try:
    lstm_gluon_save_parameters_api()
except Exception as e:  # what the release does with the 2.0 branch's LSTM step
    print("lstm_gluon_save_parameters_api: %s: %s" % (type(e).__name__, e), file=sys.stderr)
print(OUT)
