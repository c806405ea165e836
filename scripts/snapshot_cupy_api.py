"""Write the API surface of the installed CuPy to tests/data/cupy_api.json.

The emulated cuda device of the test suite (tests/_emulated_cupy.py) accepts only the
names and keyword arguments that real CuPy has, read from this snapshot. Regenerate it
with a CuPy install (no GPU needed: CuPy imports without one):

    python3 -m pip install cupy-cuda12x && python3 scripts/snapshot_cupy_api.py
"""
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

NAMESPACES = ["cupy", "cupy.linalg", "cupy.random", "cupy.fft", "cupy.lib.stride_tricks",
              "cupyx", "cupyx.scipy.special"]
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "cupy_api.json"


def _params_from_signature(sig):
    params, varargs, varkw = [], False, False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            varargs = True
        elif p.kind is p.VAR_KEYWORD:
            varkw = True
        elif p.name != "self":
            params.append(p.name)
    return {"params": params, "varargs": varargs, "varkw": varkw}


def _params_from_docstring(obj):
    """Cython methods carry their signature on the docstring's first line."""
    first = (getattr(obj, "__doc__", None) or "").strip().splitlines()[:1]
    match = re.match(r"[\w.]+\((.*)\)", first[0]) if first else None
    if not match:
        return None
    params, varargs, varkw = [], False, False
    for part in filter(None, (s.strip() for s in match.group(1).split(","))):
        name = part.split("=")[0].strip()
        if name.startswith("**"):
            varkw = True
        elif name.startswith("*"):
            varargs = varargs or name != "*"
        elif name != "self":
            params.append(name)
    return {"params": params, "varargs": varargs, "varkw": varkw}


def describe(obj):
    if type(obj).__name__ == "ufunc":
        return {"ufunc": True, "nin": obj.nin, "nout": obj.nout,
                "methods": [m for m in ("at", "reduce", "accumulate", "outer", "reduceat") if hasattr(obj, m)]}
    if inspect.isclass(obj):
        return {"class": True}
    if not callable(obj):
        return {"value": True}
    try:
        return _params_from_signature(inspect.signature(obj))
    except (TypeError, ValueError):
        return _params_from_docstring(obj) or {"unknown": True}


def main():
    import cupy
    api = {"version": cupy.__version__, "namespaces": {}}
    for name in NAMESPACES:
        module = importlib.import_module(name)
        api["namespaces"][name] = {attr: describe(getattr(module, attr)) for attr in dir(module)
                                   if not attr.startswith("_")}
    api["ndarray"] = {attr: describe(getattr(cupy.ndarray, attr)) for attr in dir(cupy.ndarray)
                      if not attr.startswith("_") or attr in ("__dlpack__", "__dlpack_device__")}
    OUT.parent.mkdir(exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(api, indent=0, sort_keys=True) + "\n")
    tmp.replace(OUT)
    print(f"wrote {OUT} (CuPy {cupy.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
