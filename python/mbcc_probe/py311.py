"""Make old MXNet Python sources importable on Python 3.8+ without touching the venv.

Some releases ship modules that no longer compile: 1.2.x ``gluon/data/dataloader.py`` has
``lambda: [(yield f(batch)) for batch in sampler]``, a SyntaxError since Python 3.8, and
``import mxnet`` imports it. An import hook compiles every ``mxnet.*`` module as usual and,
only when that raises SyntaxError, applies the textual fixes below (each one keeps the code's
meaning) and compiles again. Patched modules are never written to ``__pycache__``, so the
venv stays as pip left it. ``PATCHED`` lists what was patched, for the report.
"""

import importlib.abc
import importlib.machinery
import re
import sys

PATCHED = []

# (description, pattern, replacement)
FIXES = [
    (
        "yield inside a list comprehension -> generator expression",
        re.compile(r"lambda:\s*\[\(yield (?P<expr>.*?)\)\s*\n(?P<indent>\s*)for (?P<rest>[^\n]*?)\]", re.S),
        lambda m: "lambda: ((%s)\n%sfor %s)" % (m.group("expr"), m.group("indent"), m.group("rest")),
    ),
]


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    _patched = False

    def source_to_code(self, data, path, *, _optimize=-1):
        try:
            return super().source_to_code(data, path, _optimize=_optimize)
        except SyntaxError:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            applied = []
            for desc, pattern, repl in FIXES:
                text, n = pattern.subn(repl, text)
                if n:
                    applied.append(desc)
            if not applied:
                raise
            self._patched = True
            PATCHED.append("%s: %s" % (self.name, "; ".join(applied)))
            return super().source_to_code(text.encode("utf-8"), path, _optimize=_optimize)

    def set_data(self, path, data, *args, **kwargs):
        if not self._patched:  # never cache a patched module's bytecode in the venv
            super().set_data(path, data, *args, **kwargs)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "mxnet" and not fullname.startswith("mxnet."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _PatchingLoader(fullname, spec.origin)
        return spec


def install():
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
