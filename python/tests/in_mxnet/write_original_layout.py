"""Runs inside an MXNet release's environment: writes the four models of the original MXNet
nightly checker (tests/nightly/model_backwards_compatibility_check in apache/mxnet) the way its
training job did, into OUT_ROOT/<mx.__version__>/<model_name>/: the same networks, names,
initialiser, input shapes and mx.nd.save dicts, seeded, so mbcc can be tested against that
layout without its bucket.

    python write_original_layout.py OUT_ROOT

The networks are written out here on purpose rather than taken from mbcc's zoo: they play the
foreign producer, and the zoo's copies must match what this file writes.
"""
import os
import sys

import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.gluon import nn, rnn

mx.random.seed(7)
np.random.seed(7)
OUT = os.path.join(sys.argv[1], mx.__version__)


def folder(name):
    path = os.path.join(OUT, name)
    os.makedirs(path, exist_ok=True)
    return os.path.join(path, name)


def save_goldens(prefix, data, output, labels=None):
    arrays = {"data": data} if labels is None else {"data": data, "labels": labels}
    mx.nd.save(prefix + "-data", arrays)
    mx.nd.save(prefix + "-inference", {"inference": output})


def xavier():
    return mx.initializer.Xavier(magnitude=2.57)


def module_checkpoint_api():
    prefix = folder("module_checkpoint_api")
    data = mx.nd.array(np.random.uniform(-1, 1, size=(20, 1)))
    labels = mx.nd.array(np.random.randint(0, 2, size=(20,)), dtype="float32")
    batches = mx.io.NDArrayIter(data, labels, batch_size=10)
    x = mx.sym.Flatten(data=mx.sym.Variable("data"))
    x = mx.sym.FullyConnected(data=x, name="fc1", num_hidden=128)
    x = mx.sym.Activation(data=x, name="relu1", act_type="relu")
    x = mx.sym.FullyConnected(data=x, name="fc2", num_hidden=2)
    x = mx.sym.SoftmaxOutput(data=x, name="softmax")
    mod = mx.mod.Module(symbol=x, context=mx.cpu(0), data_names=["data"],
                        label_names=["softmax_label"])
    mod.bind(data_shapes=batches.provide_data, label_shapes=batches.provide_label)
    mod.init_params(xavier())
    mod.save_checkpoint(prefix, 1)
    save_goldens(prefix, data, mod.predict(batches), labels)


def lenet_layers(block):
    with block.name_scope():
        block.conv1 = nn.Conv2D(20, kernel_size=(5, 5))
        block.pool1 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
        block.conv2 = nn.Conv2D(50, kernel_size=(5, 5))
        block.pool2 = nn.MaxPool2D(pool_size=(2, 2), strides=(2, 2))
        block.fc1 = nn.Dense(500)
        block.fc2 = nn.Dense(2)


def lenet_forward(block, F, x):
    x = block.pool1(F.tanh(block.conv1(x)))
    x = block.pool2(F.tanh(block.conv2(x)))
    x = x.reshape((0, -1))
    return F.tanh(block.fc2(F.tanh(block.fc1(x))))


class Net(gluon.Block):
    def __init__(self, **kwargs):
        super(Net, self).__init__(**kwargs)
        lenet_layers(self)

    def forward(self, x):
        return lenet_forward(self, mx.nd, x)


class HybridNet(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super(HybridNet, self).__init__(**kwargs)
        lenet_layers(self)

    def hybrid_forward(self, F, x):
        return lenet_forward(self, F, x)


class SimpleLSTMModel(gluon.Block):
    def __init__(self, **kwargs):
        super(SimpleLSTMModel, self).__init__(**kwargs)
        with self.name_scope():
            self.model = nn.Sequential(prefix="")
            with self.model.name_scope():
                self.model.add(nn.Embedding(30, 10))
                self.model.add(rnn.LSTM(20))
                self.model.add(nn.Dense(100))
                self.model.add(nn.Dropout(0.5))
                self.model.add(nn.Dense(2, flatten=True, activation="tanh"))

    def forward(self, x):
        return self.model(x)


def lenet_gluon_save_params_api():
    prefix = folder("lenet_gluon_save_params_api")
    net = Net()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    data = mx.nd.array(np.random.uniform(-1, 1, size=(20, 1, 30, 30)))
    save_goldens(prefix, data, net(data))
    net.save_params(prefix + "-params")


def lenet_gluon_hybrid_export_api():
    prefix = folder("lenet_gluon_hybrid_export_api")
    net = HybridNet()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    net.hybridize()
    data = mx.nd.array(np.random.uniform(-1, 1, size=(20, 1, 30, 30)))
    save_goldens(prefix, data, net(data))
    net.export(prefix, epoch=0)


def lstm_gluon_save_parameters_api():
    prefix = folder("lstm_gluon_save_parameters_api")
    net = SimpleLSTMModel()
    net.initialize(xavier(), ctx=[mx.cpu(0)])
    data = mx.nd.array(np.random.uniform(-1, 1, size=(10, 30)))
    save_goldens(prefix, data, net(data))
    net.save_parameters(prefix + "-params")


module_checkpoint_api()
lenet_gluon_save_params_api()
lenet_gluon_hybrid_export_api()
lstm_gluon_save_parameters_api()  # the original wrote it from 1.2.1 on, as here
print(OUT)
