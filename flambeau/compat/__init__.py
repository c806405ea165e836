"""Run unmodified PyTorch code on flambeau.

``install()`` makes ``import torch``, ``import torch.nn.functional as F``, ``from torch.utils.data
import DataLoader``, ``import torchvision`` (and their submodules) resolve to flambeau.
``python -m flambeau.compat SCRIPT.py [args]`` runs a script that way. Anything flambeau lacks
fails loudly: a missing module raises ModuleNotFoundError, a missing attribute AttributeError,
both naming what is missing — never a silent stand-in.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys
import types

__all__ = ["install", "uninstall", "run_script"]

# torch / torchvision module paths -> flambeau module paths
_PREFIXES = {"torch": "flambeau", "torchvision": "flambeau.vision"}
_RENAMES = {
    "torch.utils.data.dataloader": "flambeau.utils.data.dataloader",
    "torch.utils.data.dataset": "flambeau.utils.data.dataset",
    "torch.utils.data.sampler": "flambeau.utils.data.sampler",
    "torch.nn.modules": "flambeau.nn.modules",
    "torch.optim.lr_scheduler": "flambeau.optim.lr_scheduler",
}


def _target(name):
    if name in _RENAMES:
        return _RENAMES[name]
    for src, dst in _PREFIXES.items():
        if name == src or name.startswith(src + "."):
            return dst + name[len(src):]
    return None


_IMPORT_ATTRS = frozenset({"__name__", "__spec__", "__package__", "__loader__", "__path__", "__file__",
                           "__cached__"})


class _Alias(types.ModuleType):
    """The module a script sees as ``torch.xxx``: flambeau's module, with a clear error for gaps."""

    def __init__(self, name, real):
        super().__init__(name, real.__doc__)
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_torch_name", name)

    def __getattr__(self, attr):
        real = object.__getattribute__(self, "_real")
        try:
            value = getattr(real, attr)
        except AttributeError:
            pass
        else:
            if isinstance(value, types.ModuleType) and value.__name__ == f"{real.__name__}.{attr}":
                # a submodule reached as an attribute (torch.backends.x): its alias, so gaps are named too
                return importlib.import_module(f"{object.__getattribute__(self, '_torch_name')}.{attr}")
            return value
        sub = f"{real.__name__}.{attr}"
        try:
            return importlib.import_module(sub)
        except ImportError:
            pass
        raise AttributeError(f"{object.__getattribute__(self, '_torch_name')}.{attr} is not implemented in "
                             f"flambeau (looked for {real.__name__}.{attr})")

    def __setattr__(self, attr, value):
        # The import system records a submodule, and its own bookkeeping (__spec__, __package__,
        # __loader__...) on the alias: keep those here. Forwarded, they would rename the real module's
        # package to torch.*, and relative imports inside flambeau functions would then look in torch.*.
        if isinstance(value, _Alias) or attr in _IMPORT_ATTRS:
            self.__dict__[attr] = value
        else:
            setattr(object.__getattribute__(self, "_real"), attr, value)

    def __dir__(self):
        return dir(object.__getattribute__(self, "_real"))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if _target(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        dst = _target(spec.name)
        try:
            real = importlib.import_module(dst)
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(f"{spec.name} is not implemented in flambeau (no module {dst})",
                                      name=spec.name) from e
        mod = _Alias(spec.name, real)
        mod.__dict__["__path__"] = []
        return mod

    def exec_module(self, module):
        pass


_finder = _Finder()


def install():
    """Make torch/torchvision imports resolve to flambeau in this interpreter."""
    for name in list(sys.modules):
        if _target(name) is not None and not isinstance(sys.modules[name], _Alias):
            raise RuntimeError(f"flambeau.compat.install(): the real {name} is already imported in this "
                               "interpreter; install() must run before any import of torch")
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in list(sys.modules):
        if isinstance(sys.modules[name], _Alias):
            del sys.modules[name]


def run_script(path, argv=()):
    """Run a PyTorch script file on flambeau, as ``python path argv...`` would."""
    import runpy
    install()
    old_argv = sys.argv
    sys.argv = [path] + list(argv)
    try:
        # python makes the script's __file__ absolute (3.9+): warnings and tracebacks name it so
        runpy.run_path(os.path.abspath(path), run_name="__main__")
    finally:
        sys.argv = old_argv
