"""skip_init: a module built without running its parameter initialisation."""
import inspect

from ... import random as _random

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialised (flambeau's
    uninitialised memory reads as zeros) and the random generator untouched, as if no initialisation
    had run. The module must take a ``device`` argument, as PyTorch requires."""
    from ..modules.module import Module
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    # built on the CPU, whose generator is put back after the initialisation's draws, then moved:
    # no generator of any device has moved on
    device = kwargs.pop("device", None)
    state = _random.get_rng_state()
    try:
        module = module_cls(*args, device="cpu", **kwargs)
    finally:
        _random.set_rng_state(state)
    for tensor in list(module.parameters()) + list(module.buffers()):
        tensor.data.zero_()
    return module if device is None else module.to(device)
