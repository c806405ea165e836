"""``flambeau.jit``: TorchScript's Python-side API, run eagerly.

flambeau has no compiler: what ``torch.jit.script`` and ``torch.jit.trace`` would compile runs as the
Python it is written in, which is what TorchScript's semantics are defined to match for the code it
accepts. So ``script`` and the decorators hand back what they are given, ``trace`` runs the function
once on its example inputs (as tracing does, so errors show at the same place) and hands it back, and
``is_scripting``/``is_tracing`` say False (so code with a branch for the compiler runs its Python
branch, which such code means to compute the same thing). What needs a compiled program — ``save``, ``load``,
``freeze``, a module's ``.graph`` or ``.code`` — is not offered: ``save``/``load`` raise
NotImplementedError (``flambeau.save`` stores a model's state_dict instead).
"""
from typing import Final  # noqa: F401  (torch.jit.Final is typing.Final)

__all__ = ["Final", "annotate", "export", "ignore", "is_scripting", "is_tracing", "load", "save", "script",
           "script_if_tracing", "trace", "trace_module", "unused"]


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """obj itself (a function, an nn.Module or a class), run eagerly."""
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    """func itself, after one run on example_inputs (a tensor or a tuple of them) as tracing would run it."""
    from ._tensor import Tensor
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("trace(): give example_inputs (a tensor or a tuple of tensors) or example_kwarg_inputs")
    args = (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(example_inputs or ())
    func(*args, **(example_kwarg_inputs or {}))
    return func


def trace_module(mod, inputs, *args, **kwargs):
    """mod itself, after running each method named in inputs ({name: example inputs}) once."""
    from ._tensor import Tensor
    for name, example in inputs.items():
        getattr(mod, name)(*((example,) if isinstance(example, Tensor) else tuple(example)))
    return mod


def script_if_tracing(fn):
    return fn


def ignore(drop=False, **kwargs):
    """@ignore or @ignore(drop=...): the function stays Python (as every function is here)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


def save(m, f, _extra_files=None):
    raise NotImplementedError("flambeau.jit.save: flambeau runs models eagerly and has no TorchScript program to "
                              "save; store the weights with flambeau.save(model.state_dict(), f)")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False, **kwargs):
    raise NotImplementedError("flambeau.jit.load: flambeau cannot run TorchScript programs; load a state_dict "
                              "saved with flambeau.save (or torch.save) into the model's class instead")
