"""python -m mbcc_probe {generate,list} ... (see cli.py)."""

import os

# must happen before anything imports mxnet
from . import DETERMINISM_ENV

for _k, _v in DETERMINISM_ENV.items():
    os.environ[_k] = _v

from .cli import main  # noqa: E402

raise SystemExit(main())
