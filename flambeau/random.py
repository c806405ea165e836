"""``flambeau.random``: the default generator's seed and state."""
from ._ops.creation import manual_seed, seed, initial_seed, get_rng_state, set_rng_state, default_generator  # noqa

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng"]

import contextlib


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, device_type="cuda", **kwargs):
    """Restore on exit the default generator's state and those of the cuda devices given (all of
    them when devices is None, as torch does)."""
    if not enabled:
        yield
        return
    from . import cuda
    if device_type != "cuda":
        raise RuntimeError(f"fork_rng: device_type {device_type!r} is not supported, only 'cuda'")
    if devices is None:
        devices = range(cuda.device_count())
    devices = list(devices)
    state = get_rng_state()
    device_states = [cuda.get_rng_state(d) for d in devices]
    try:
        yield
    finally:
        set_rng_state(state)
        for d, s in zip(devices, device_states):
            cuda.set_rng_state(s, d)
