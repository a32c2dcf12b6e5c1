"""Writes a tiny checkpoint with the running MXNet release, for the C API worker's tests.

FullyConnected(4) -> BatchNorm -> relu, grouped with the FullyConnected output, saved with
mx.model.save_checkpoint as OUT/tiny-symbol.json and OUT/tiny-0000.params; the input as
OUT/input_0.npy; the outputs computed by numpy (float64, then float32) as OUT/expected_<i>.npy.
Also Convolution -> BatchNorm -> relu as OUT/convbn-symbol.json, OUT/convbn-0000.params and
OUT/convbn_input.npy (no expected output): the graph MKLDNN fusion changes on 1.6+.
Runs unchanged on every release from 0.11 to 2.0.0b1.
"""
import os
import sys

import numpy as np
import mxnet as mx

EPS = 1e-3


def main(out):
    rng = np.random.RandomState(7)
    x = rng.uniform(-1, 1, (2, 5)).astype("float32")
    weight = rng.uniform(-1, 1, (4, 5)).astype("float32")
    bias = rng.uniform(-0.5, 0.5, (4,)).astype("float32")
    gamma = rng.uniform(0.5, 1.5, (4,)).astype("float32")
    beta = rng.uniform(-0.5, 0.5, (4,)).astype("float32")
    mean = rng.uniform(-0.5, 0.5, (4,)).astype("float32")
    var = rng.uniform(0.5, 1.5, (4,)).astype("float32")

    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data=data, num_hidden=4, name="fc")
    bn = mx.sym.BatchNorm(data=fc, fix_gamma=False, eps=EPS, name="bn")
    relu = mx.sym.Activation(data=bn, act_type="relu", name="relu")
    sym = mx.sym.Group([relu, fc])
    args = {"fc_weight": weight, "fc_bias": bias, "bn_gamma": gamma, "bn_beta": beta}
    aux = {"bn_moving_mean": mean, "bn_moving_var": var}
    mx.model.save_checkpoint(
        os.path.join(out, "tiny"),
        0,
        sym,
        dict((k, mx.nd.array(v)) for k, v in args.items()),
        dict((k, mx.nd.array(v)) for k, v in aux.items()),
    )

    fc_out = x.astype(np.float64).dot(weight.T.astype(np.float64)) + bias
    bn_out = (fc_out - mean) / np.sqrt(var.astype(np.float64) + EPS) * gamma + beta
    np.save(os.path.join(out, "input_0.npy"), x)
    np.save(os.path.join(out, "expected_0.npy"), np.maximum(bn_out, 0).astype("float32"))
    np.save(os.path.join(out, "expected_1.npy"), fc_out.astype("float32"))

    conv = mx.sym.Convolution(data=data, num_filter=4, kernel=(3, 3), name="conv")
    conv_bn = mx.sym.BatchNorm(data=conv, fix_gamma=False, eps=EPS, name="bn")
    conv_relu = mx.sym.Activation(data=conv_bn, act_type="relu", name="relu")
    conv_args = {
        "conv_weight": rng.uniform(-1, 1, (4, 2, 3, 3)).astype("float32"),
        "conv_bias": bias,
        "bn_gamma": gamma,
        "bn_beta": beta,
    }
    mx.model.save_checkpoint(
        os.path.join(out, "convbn"),
        0,
        conv_relu,
        dict((k, mx.nd.array(v)) for k, v in conv_args.items()),
        dict((k, mx.nd.array(v)) for k, v in aux.items()),
    )
    np.save(os.path.join(out, "convbn_input.npy"), rng.uniform(-1, 1, (1, 2, 6, 6)).astype("float32"))


if __name__ == "__main__":
    main(sys.argv[1])
