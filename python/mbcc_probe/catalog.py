"""Static catalogue: the save APIs and load APIs the probe knows, and which load APIs apply to a
bundle written by each save API. Data only; nothing here imports mxnet."""

# save API -> (one-line description, load APIs that apply to its bundles)
SAVE_APIS = {
    "module-checkpoint": (
        "Module.save_checkpoint (symbol models, <=1.9) or mx.model.save_checkpoint of the "
        "model's symbol: PREFIX-symbol.json + PREFIX-0000.params with arg:/aux: keys",
        ["module-load-checkpoint", "gluon-imports", "c-predict", "c-executor", "c-cachedop"],
    ),
    "gluon-save-params": (
        "Block.save_params (0.11-1.9.1; structural names on 1.2.0 only): PREFIX.params",
        ["gluon-load-params", "gluon-load-parameters"],
    ),
    "gluon-save-parameters": (
        "Block.save_parameters (1.2.1+; npz in 2.0 np mode): PREFIX.params",
        ["gluon-load-parameters"],
    ),
    "gluon-export": (
        "HybridBlock.export after hybridize + forward (0.12+): PREFIX-symbol.json + PREFIX-0000.params",
        ["gluon-imports", "module-load-checkpoint", "c-predict", "c-executor", "c-cachedop"],
    ),
    "gluon-save-parameters-np": (
        "Block.save_parameters after npx.set_np() (1.6-1.9, 2.0.0a0): V3 records (npz on 2.0)",
        ["gluon-load-parameters"],
    ),
    "gluon-export-np": (
        "HybridBlock.export after npx.set_np() (1.6-1.9, 2.0.0a0): V3 params (npz on 2.0), "
        "is_np_shape in the JSON",
        ["gluon-imports", "module-load-checkpoint", "c-predict", "c-executor", "c-cachedop"],
    ),
    "gluon-block-save": (
        "Block.save (1.9+): PREFIX-model.json + PREFIX-model.params (1.9) or MyModel-model.params "
        "(2.0: hard-coded name, written in the cwd)",
        ["gluon-block-load"],
    ),
}

# load API -> one-line description. The c-* ones are run by mbcc's C API worker, not by Python.
LOAD_APIS = {
    "module-load-checkpoint": "mx.model.load_checkpoint + Module(bind for_training=False, set_params, forward) (<=1.9)",
    "gluon-imports": "gluon.SymbolBlock.imports(symbol, input_names, params) (1.2.1+) + forward",
    "gluon-load-params": "zoo net rebuilt with the same prefix + Block.load_params (<=1.9) + forward",
    "gluon-load-parameters": "zoo net rebuilt + Block.load_parameters (1.2.1+) + forward",
    "gluon-block-load": "zoo net rebuilt + Block.load (1.9+; 2.0 reads MyModel-model.params from the cwd) + forward",
    "c-predict": "C predict API (MXPredCreate...) (1.x only)",
    "c-executor": "C executor API (MXExecutorBind...) (1.x only)",
    "c-cachedop": "C CachedOp API (MXCreateCachedOp / MXInvokeCachedOp)",
}

PYTHON_LOAD_APIS = [k for k in LOAD_APIS if not k.startswith("c-")]

NP_SUFFIX = "-np"


def base_save_api(api):
    """'gluon-export-np' -> ('gluon-export', True); others -> (api, False)."""
    if api.endswith(NP_SUFFIX):
        return api[: -len(NP_SUFFIX)], True
    return api, False
