"""Built-in ops, by family. Importing this package attaches their Tensor methods.

The core families load first (later ones build on them); any further module in this
package (a new op family) is loaded after them, in name order.
"""
import importlib
import pkgutil

from .. import _tensor
from . import _util, views, pointwise, creation, reduction, indexing, blas, conversion  # noqa: F401

CORE = ("_util", "views", "pointwise", "creation", "reduction", "indexing", "blas", "conversion")
FAMILIES = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in CORE and not _info.name.startswith("_"):
        FAMILIES.append(importlib.import_module(f"{__name__}.{_info.name}"))

_tensor._ops_dispatch = conversion
