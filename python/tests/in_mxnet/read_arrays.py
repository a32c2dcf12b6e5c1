"""Runs inside an MXNet release's environment: loads an array file with that release's own
mx.nd.load and saves what it got as a NumPy .npz, so the test can compare it with NumPy alone.

    python read_arrays.py IN_FILE OUT_NPZ [--np-shape]
"""
import json
import sys

import mxnet as mx
import numpy as np

path, out = sys.argv[1], sys.argv[2]
np_shape = "--np-shape" in sys.argv[3:]
is_2x = int(mx.__version__.split(".")[0]) >= 2

if is_2x:
    mx.npx.reset_np()
if np_shape:
    with mx.util.np_shape(True):
        loaded = mx.nd.load(path)
else:
    loaded = mx.nd.load(path)

if isinstance(loaded, dict):
    items = sorted(loaded.items())
else:
    items = [("arr_%d" % i, a) for i, a in enumerate(loaded)]
result = {}
for name, array in items:
    values = array.asnumpy()
    if values.dtype.names:  # bfloat16 comes back as a structured uint16: keep its bits
        values = values.view(np.uint16).reshape(array.shape)
    result[name] = values
np.savez(out, **result)
print(json.dumps({"names": [n for n, _ in items], "dtypes": [str(a.dtype) for _, a in items]}))
