"""mbcc_probe: what runs inside one MXNet release's environment.

It holds the model zoo, generates bundles through every save API the release offers
(``python -m mbcc_probe generate``), and loads bundles back through the Python load APIs
(``loaders.load_and_run``). Standard library + numpy + mxnet only; importing this package does
not import mxnet (``list`` works without it).
"""

SCHEMA_VERSION = 2
__version__ = "0.1.0"

# environment the probe runs under; __main__ sets it before mxnet is imported
DETERMINISM_ENV = {"MXNET_ENFORCE_DETERMINISM": "1", "OMP_NUM_THREADS": "1"}
