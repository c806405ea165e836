"""``torch.backends.mha``: the switch of PyTorch's inference fast path for TransformerEncoder and
MultiheadAttention. flambeau has no fused kernels; the switch decides whether its
TransformerEncoder shows what that path shows (see Note [Encoder padding in inference] in
flambeau/nn/modules/transformer.py)."""

_enabled = [True]


def get_fastpath_enabled():
    """Whether the inference fast path is on (the default)."""
    return _enabled[0]


def set_fastpath_enabled(value):
    """Turn the inference fast path on or off."""
    _enabled[0] = bool(value)
