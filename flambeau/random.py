"""``flambeau.random``: the default generator's seed and state."""
from ._ops.creation import manual_seed, seed, initial_seed, get_rng_state, set_rng_state, default_generator  # noqa

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng"]

import contextlib


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, **kwargs):
    """Restore the default generator's state on exit."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
