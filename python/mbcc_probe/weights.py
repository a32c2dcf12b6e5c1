"""Deterministic inputs and parameter values, drawn by numpy only.

Nothing here depends on MXNet's RNG: every parameter is drawn from a numpy RandomState seeded
from (seed, model name), in the order the network lists its parameters, with a distribution
chosen by the parameter's role (its name's suffix). mx.random.seed is still set by the
generator, for any op that might draw at run time.
"""

import zlib

import numpy as np

DEFAULT_SEED = 7


def stream(seed, model_name, purpose):
    """A RandomState for one (seed, model, purpose); independent of process history."""
    key = ("%d/%s/%s" % (seed, model_name, purpose)).encode("utf-8")
    return np.random.RandomState(zlib.crc32(key) & 0xFFFFFFFF)


def make_inputs(spec, seed):
    """Golden inputs for a model: list of float32 numpy arrays, one per InputSpec."""
    rs = stream(seed, spec.name, "inputs")
    out = []
    for inp in spec.inputs:
        if inp.kind == "float":
            a = rs.uniform(-1.0, 1.0, size=inp.shape)
        elif inp.kind in ("tokens", "label"):
            a = rs.randint(0, inp.high, size=inp.shape)
        else:
            raise ValueError("unknown input kind %r" % inp.kind)
        out.append(np.ascontiguousarray(a, dtype=np.float32))
    return out


def _role(name):
    n = name.lower()
    for suffix, role in (
        ("running_var", "var"),
        ("moving_var", "var"),
        ("running_mean", "mean"),
        ("moving_mean", "mean"),
        ("gamma", "gamma"),
        ("beta", "beta"),
        ("bias", "bias"),
    ):
        if n.endswith(suffix):
            return role
    return "weight"


def draw_param(rs, name, shape):
    """One parameter's values (float32) by role: variances positive and small (so a lost BN
    epsilon shows), gammas around 1, weights scaled by fan-in."""
    shape = tuple(int(d) for d in shape)
    role = _role(name)
    if role == "var":
        a = rs.uniform(0.05, 0.5, size=shape)
    elif role == "gamma":
        a = rs.uniform(0.5, 1.5, size=shape)
    elif role in ("beta", "mean"):
        a = rs.uniform(-0.5, 0.5, size=shape)
    elif role == "bias":
        a = rs.uniform(-0.2, 0.2, size=shape)
    else:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
        bound = float(np.sqrt(3.0 / fan_in)) if fan_in > 0 else 0.3
        a = rs.uniform(-bound, bound, size=shape)
    return np.ascontiguousarray(a, dtype=np.float32)
