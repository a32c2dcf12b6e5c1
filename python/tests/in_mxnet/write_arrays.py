"""Runs inside an MXNet release's environment: writes array files the way that release writes
them, plus a NumPy reference of every array, and prints a JSON list of what it wrote.

    python write_arrays.py OUT_DIR
"""
import json
import os
import sys

import mxnet as mx
import numpy as np

OUT = sys.argv[1]
VERSION = tuple(int(p) for p in mx.__version__.split(".")[:2])
IS_2X = VERSION[0] >= 2


def dtypes():
    """Every dtype the release can hold in an NDArray (mxnet-formats.md §1.6, checked here)."""
    names = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64"]
    if VERSION >= (1, 6):
        names.append("bool")
    if IS_2X:
        names += ["int16", "uint16", "uint32", "uint64"]
    return names


def sample(dtype, shape, seed):
    rng = np.random.RandomState(seed)
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(np.bool_)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.randint(max(info.min, -100), min(info.max, 100), size=shape).astype(dtype)
    return rng.uniform(-10, 10, size=shape).astype(dtype)


def nd_array(values):
    """An mx.nd.NDArray even on 2.0, where mx.nd.array still exists for legacy saves."""
    return mx.nd.array(values, dtype=values.dtype)


def legacy_np_off():
    """np-shape semantics off, also on 2.0 where import turns them on."""
    if IS_2X:
        mx.npx.reset_np()


written = []


def record(name, kind, arrays, reference):
    np.savez(os.path.join(OUT, name + ".reference.npz"), **reference)
    written.append({"file": name, "kind": kind, "arrays": arrays})


def write_dense_v2():
    legacy_np_off()
    arrays, reference = {}, {}
    for i, dtype in enumerate(dtypes()):
        values = sample(dtype, (2, 3), i)
        arrays["arg:w_" + dtype] = nd_array(values)
        reference["arg:w_" + dtype] = values
    mx.nd.save(os.path.join(OUT, "dense_v2.params"), arrays)
    record("dense_v2.params", "V2", sorted(arrays), reference)
    # A list save: no names.
    values = [sample("float32", shape, 50 + k) for k, shape in enumerate([(7,), (1, 2, 3, 4)])]
    mx.nd.save(os.path.join(OUT, "list_v2.params"), [nd_array(v) for v in values])
    record("list_v2.params", "V2", [], {"arr_%d" % k: v for k, v in enumerate(values)})


def write_sparse_v2():
    legacy_np_off()
    dense = sample("float32", (6, 4), 99)
    dense[[1, 3, 4]] = 0
    rsp = mx.nd.array(dense).tostype("row_sparse")
    csr = mx.nd.array(dense).tostype("csr")
    mx.nd.save(os.path.join(OUT, "sparse_v2.params"), {"rsp": rsp, "csr": csr})
    reference = {
        "rsp/data": rsp.data.asnumpy(), "rsp/indices": rsp.indices.asnumpy(),
        "csr/data": csr.data.asnumpy(), "csr/indices": csr.indices.asnumpy(),
        "csr/indptr": csr.indptr.asnumpy(), "rsp/dense": dense, "csr/dense": dense,
    }
    record("sparse_v2.params", "V2-sparse", ["csr", "rsp"], reference)


def write_dense_v3():
    """np-shape semantics on: V3 records, which also hold 0-d and zero-size arrays."""
    if VERSION < (1, 5):
        return
    arrays, reference = {}, {}
    with mx.util.np_shape(True):
        for i, dtype in enumerate(dtypes()):
            values = sample(dtype, (3, 2), 20 + i)
            arrays["w_" + dtype] = nd_array(values)
            reference["w_" + dtype] = values
        scalar = np.array(3.5, dtype="float32")
        arrays["scalar"] = mx.nd.array(scalar)
        reference["scalar"] = scalar
        empty = np.zeros((0, 4), dtype="float32")
        arrays["empty"] = mx.nd.zeros((0, 4))
        reference["empty"] = empty
        mx.nd.save(os.path.join(OUT, "dense_v3.params"), arrays)
    record("dense_v3.params", "V3", sorted(arrays), reference)


def write_bfloat16():
    """bfloat16 (1.7 and later): the reference keeps its raw bits as uint16."""
    if VERSION < (1, 7):
        return
    legacy_np_off()
    values = sample("float32", (4, 3), 70)
    bf16 = np.dtype([("bfloat16", np.uint16)])
    array = mx.nd.array(values).astype(bf16)
    bits = array.asnumpy().view(np.uint16).reshape(values.shape)
    mx.nd.save(os.path.join(OUT, "bfloat16_v2.params"), {"w_bfloat16": array})
    record("bfloat16_v2.params", "V2", ["w_bfloat16"], {"w_bfloat16": bits})


def write_npz():
    """2.0 only: npx.savez writes .npz, npx.save one array as .npy."""
    if not IS_2X:
        return
    mx.npx.set_np()
    arrays, reference = {}, {}
    for i, dtype in enumerate(dtypes()):
        values = sample(dtype, (2, 2), 40 + i)
        arrays["w_" + dtype] = mx.np.array(values, dtype=values.dtype)
        reference["w_" + dtype] = values
    mx.npx.savez(os.path.join(OUT, "arrays.npz"), **arrays)
    record("arrays.npz", "npz", sorted(arrays), reference)
    single = sample("float32", (3, 5), 60)
    mx.npx.save(os.path.join(OUT, "single.npy"), mx.np.array(single))
    record("single.npy", "npy", [], {"arr_0": single})


def main():
    os.makedirs(OUT, exist_ok=True)
    for step in (write_dense_v2, write_sparse_v2, write_dense_v3, write_bfloat16, write_npz):
        try:
            step()
        except Exception as e:  # a release that cannot write a kind is data, not a crash
            written.append({"step": step.__name__, "error": "%s: %s" % (type(e).__name__, e)})
    print(json.dumps({"version": mx.__version__, "written": written}))


main()
