"""``flambeau.backends.cuda``: cuBLAS switches PyTorch code sets before training on a GPU.
flambeau's cuda device computes through CuPy; the switches are recorded, and ``matmul.allow_tf32``
is a view of ``flambeau.get_float32_matmul_precision()``, as in PyTorch."""

__all__ = ["is_built", "matmul"]


def is_built():
    """Whether flambeau can serve the cuda device here (CuPy with a GPU), PyTorch's 'built with CUDA'."""
    from .. import _xp
    return _xp.cuda_available()


class _CublasSwitches:
    """``torch.backends.cuda.matmul``: fixed attribute names; an unknown one raises."""

    _reduced_precision = {"allow_fp16_reduced_precision_reduction": True,
                          "allow_bf16_reduced_precision_reduction": True}

    def __getattr__(self, name):
        if name == "allow_tf32":             # TF32 products are what "high" and "medium" allow
            from .. import get_float32_matmul_precision
            return get_float32_matmul_precision() != "highest"
        if name in self._reduced_precision:
            return self._reduced_precision[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            from .. import set_float32_matmul_precision
            set_float32_matmul_precision("high" if value else "highest")
        elif name in self._reduced_precision:
            # a bool, or (allow_reduced_precision, allow_split_k): flambeau has no split-K to switch
            if isinstance(value, (tuple, list)) and value and all(isinstance(v, bool) for v in value):
                value = value[0]
            if not isinstance(value, bool):
                raise TypeError(f"{name} expects a bool or a tuple/list of bools, but got {type(value)}")
            self._reduced_precision[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _CublasSwitches()
