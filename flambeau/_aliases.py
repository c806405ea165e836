"""Top-level names torch also offers: in-place functions (``torch.clamp_(x, ...)`` is ``x.clamp_(...)``),
nn.functional ops torch exports at the top, old norms, and process-wide settings."""
import warnings

from ._tensor import Tensor

__all__ = ["is_neg", "frobenius_norm", "nuclear_norm", "set_float32_matmul_precision",
           "get_float32_matmul_precision", "get_default_device", "set_default_device", "set_default_tensor_type", "set_flush_denormal", "set_warn_always",
           "is_warn_always_enabled", "get_num_interop_threads", "set_num_interop_threads", "init_num_threads",
           "set_deterministic_debug_mode", "get_deterministic_debug_mode",
           "is_deterministic_algorithms_warn_only_enabled", "set_anomaly_enabled", "is_anomaly_check_nan_enabled"]


# -- torch.xxx_(tensor, ...) is tensor.xxx_(...) -----------------------------------------------
_INPLACE = ("addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "clamp_", "clamp_max_",
            "clamp_min_", "clip_", "fix_", "nan_to_num_", "negative_", "round_", "xlogy_", "index_put_", "detach_",
            "gcd_", "lcm_", "ldexp_", "resize_as_")
_METHODS = ("detach", "is_conj", "is_signed", "resolve_conj", "resolve_neg", "ravel", "put")


def _method_as_function(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return fn


for _name in _INPLACE + _METHODS:
    if hasattr(Tensor, _name):
        globals()[_name] = _method_as_function(_name)
        __all__.append(_name)

# in-place arc functions: the Tensor methods under their arc- names
for _short, _long in (("acos_", "arccos_"), ("asin_", "arcsin_"), ("atan_", "arctan_"), ("acosh_", "arccosh_"),
                      ("asinh_", "arcsinh_"), ("atanh_", "arctanh_")):
    if hasattr(Tensor, _short) and not hasattr(Tensor, _long):
        setattr(Tensor, _long, getattr(Tensor, _short))
        globals()[_long] = _method_as_function(_long)
        __all__.append(_long)


def is_neg(input):
    """Always False: flambeau has no lazy negation bit (neg() computes)."""
    return False


Tensor.is_neg = is_neg


# -- torch's "unsafe" split family: the same splits (flambeau's views are always safe) -------------
for _name, _target in (("unsafe_chunk", "chunk"), ("unsafe_split", "split"),
                       ("unsafe_split_with_sizes", "split_with_sizes")):
    setattr(Tensor, _name, getattr(Tensor, _target))
    globals()[_name] = _method_as_function(_name)
    __all__.append(_name)


# -- nn.functional ops also at the top, with the same arguments ---------------------------------
def _functional_alias(name):
    def fn(*args, **kwargs):
        from .nn import functional
        return getattr(functional, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.nn.functional.{name}``."
    return fn


for _name in ("celu", "selu", "threshold", "hardshrink", "prelu", "rrelu", "pixel_shuffle", "pixel_unshuffle",
              "bilinear", "feature_alpha_dropout", "celu_", "selu_", "rrelu_", "threshold_"):
    globals()[_name] = _functional_alias(_name)
    __all__.append(_name)
Tensor.hardshrink = _functional_alias("hardshrink")
Tensor.prelu = _functional_alias("prelu")


# -- torch.igamma / igammac: torch.special.gammainc / gammaincc ------------------------------------
def igamma(input, other, *, out=None):
    from .special import gammainc
    return gammainc(input, other, out=out)


def igammac(input, other, *, out=None):
    from .special import gammaincc
    return gammaincc(input, other, out=out)


__all__ += ["igamma", "igammac"]


def channel_shuffle(input, groups):
    from .nn import functional
    return functional.channel_shuffle(input, groups)


__all__ += ["channel_shuffle"]


# -- old norms -----------------------------------------------------------------------------------
def frobenius_norm(input, dim=(-2, -1), keepdim=False, *, out=None):
    """The Frobenius norm over dim (torch.norm(p='fro') of old)."""
    from . import linalg
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return linalg.vector_norm(input, 2, dim=dims, keepdim=keepdim, out=out)


def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    """The sum of singular values of the matrices over dim (the last two by default)."""
    from . import linalg
    if isinstance(dim, bool):                  # nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    return linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim, out=out)


# -- process-wide settings -----------------------------------------------------------------------
_settings = {"float32_matmul_precision": "highest", "warn_always": False, "interop_threads": 1,
             "deterministic_debug_mode": 0}


def set_float32_matmul_precision(precision):
    """Recorded only: flambeau's float32 products are plain float32 BLAS products at any setting."""
    if precision not in ("highest", "high", "medium"):
        # PyTorch warns and keeps the current setting (its message runs two words together)
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _settings["float32_matmul_precision"] = precision


def get_float32_matmul_precision():
    return _settings["float32_matmul_precision"]


def get_default_device():
    """The device factory functions use when given none (an index is filled in for cuda)."""
    from . import _device
    return _device.reported_default()


def set_default_device(device):
    """Make factory functions (zeros, rand, tensor, nn layers' parameters, ...) create on ``device``
    when given none; None goes back to the CPU. ``with flambeau.device(d):`` does it for a block."""
    from . import _device
    _device.set_default(device)


# set_default_tensor_type's names: the legacy tensor types, by class or by 'torch.[cuda.]XTensor'
_FLOAT_TENSOR_TYPES = {"HalfTensor": "float16", "FloatTensor": "float32", "DoubleTensor": "float64"}


def set_default_tensor_type(t):
    """The legacy default: a floating tensor type sets the default dtype, and a cuda one the default
    device too (PyTorch deprecates it for set_default_dtype and set_default_device)."""
    import warnings
    from . import _dtype
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = t if isinstance(t, str) else f"torch.{'cuda.' if getattr(t, '_is_cuda', False) else ''}{t.__name__}"
    module, _, kind = name.rpartition(".")
    if module not in ("torch", "torch.cuda", "flambeau", "flambeau.cuda"):
        raise ModuleNotFoundError(f"No module named '{module or name}'")
    if kind not in _FLOAT_TENSOR_TYPES:
        raise TypeError("only floating-point types are supported as the default type")
    from . import _device
    _dtype.set_default_dtype(getattr(_dtype, _FLOAT_TENSOR_TYPES[kind]))
    _device.set_legacy_type_default("cuda" if module.endswith("cuda") else None)


def set_flush_denormal(mode):
    """False: flushing denormals is not available (as torch answers where the CPU does not support it)."""
    return False


def set_warn_always(b):
    _settings["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _settings["warn_always"]


def get_num_interop_threads():
    return _settings["interop_threads"]


def set_num_interop_threads(n):
    """Recorded only: flambeau runs no inter-op thread pool (ops run one after the other)."""
    if int(n) < 1:
        raise RuntimeError("Expected positive number of threads")
    _settings["interop_threads"] = int(n)


def init_num_threads():
    """Nothing to initialize: flambeau's threads start on first use."""


def set_deterministic_debug_mode(debug_mode):
    modes = {"default": 0, "warn": 1, "error": 2}
    mode = modes.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else int(debug_mode)
    if mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                           f"{debug_mode}")
    _settings["deterministic_debug_mode"] = mode


def get_deterministic_debug_mode():
    return _settings["deterministic_debug_mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _settings["deterministic_debug_mode"] == 1


def set_anomaly_enabled(enabled, check_nan=True):
    from .autograd.anomaly_mode import set_detect_anomaly
    set_detect_anomaly(enabled, check_nan)


def is_anomaly_check_nan_enabled():
    from .autograd.anomaly_mode import is_anomaly_check_nan_enabled as enabled
    return enabled()


# -- view ops' _copy variants: the same result, in new contiguous memory -------------------------
_VIEW_COPIES = ("view", "t", "transpose", "permute", "unsqueeze", "squeeze", "select", "diagonal", "detach",
                "expand", "split", "split_with_sizes", "unbind", "as_strided", "unfold", "view_as_real",
                "view_as_complex", "alias")


def _copy_of(view, node_name=None):
    """``view`` copied to fresh contiguous memory; its graph node is named as PyTorch's, XBackward0_copy."""
    from ._ops.creation import Clone, contiguous_format
    node = view.grad_fn
    if node is None:
        return view.clone(memory_format=contiguous_format)
    return Clone.named(f"{node_name or node.name()}_copy").apply(view, contiguous_format)


def _view_as_copy(name):
    def view_of(input, *args, **kwargs):
        if name == "alias":
            return input.view_as(input)
        if name == "slice":
            dim, start, end, step = (list(args) + [0, None, None, 1][len(args):])[:4]
            index = [slice(None)] * input.dim()
            index[dim] = slice(start, end, step)
            return input[tuple(index)]
        if name in ("view_as_real", "view_as_complex"):
            from ._ops import views
            return getattr(views, name)(input)
        return getattr(input, name)(*args, **kwargs)

    def fn(input, *args, out=None, **kwargs):
        from ._ops.pointwise import _out
        result = view_of(input, *args, **kwargs)
        if isinstance(result, (tuple, list)):
            copies = tuple(_copy_of(v) for v in result)
            if out is not None:
                return [_out(c, o) for c, o in zip(copies, out)]
            return copies
        return _out(_copy_of(result, "AliasBackward0" if name == "alias" else None), out)

    fn.__name__ = fn.__qualname__ = f"{name}_copy"
    fn.__doc__ = f"``torch.{name}_copy``: what {name} gives, in new memory (no view)."
    return fn


for _name in _VIEW_COPIES + ("slice",):
    globals()[f"{_name}_copy"] = _view_as_copy(_name)
    __all__.append(f"{_name}_copy")


def as_strided_(input, size, stride, storage_offset=None):
    """input itself, made to see its storage with these sizes and strides (from its own offset unless
    storage_offset is given)."""
    from .autograd.grad_mode import is_grad_enabled
    if input.requires_grad and is_grad_enabled():
        if input.is_leaf:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        raise NotImplementedError("as_strided_() on a tensor that is part of a graph is not supported; "
                                  "use as_strided(), which is differentiable")
    offset = input.storage_offset() if storage_offset is None else storage_offset
    input.set_(input.untyped_storage(), offset, size, stride)
    return input


Tensor.as_strided_ = as_strided_


def get_device(input):
    """The index of input's cuda device, -1 on the CPU."""
    return input.get_device()


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.vmap is torch.func.vmap."""
    from .func import vmap as func_vmap
    return func_vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


__all__ += ["as_strided_", "get_device", "vmap"]


# -- nonzero_static and dim_order ------------------------------------------------------------------
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero() with a fixed number of rows: the first ``size`` nonzero positions, padded with rows of
    ``fill_value``. Its shape does not depend on the values, so on cuda nothing is read back: each
    nonzero element's row is its rank among the nonzeros (a cumulative count), and the rows are
    scattered into place (the elements past ``size`` into a spare row that is dropped)."""
    from ._tensor import _make
    from . import _xp
    import numpy as np
    if not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    a = input._data
    xp = _xp.array_module(a)
    flat = (a != 0).reshape(-1)
    row = xp.cumsum(flat, dtype=np.int64) - 1
    destination = xp.where(flat & (row < size), row, size)
    positions = xp.full(size + 1, -1, dtype=np.int64)
    positions[destination] = xp.arange(flat.size, dtype=np.int64)
    positions = positions[:size]
    coords = [(positions // int(np.prod(a.shape[d + 1:], dtype=np.int64))) % n for d, n in enumerate(a.shape)]
    out = xp.stack(coords, axis=1) if coords else xp.zeros((size, 0), np.int64)
    return _make(xp.where(positions[:, None] >= 0, out, np.int64(fill_value)))


def dim_order(input, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory: dims sorted by stride, largest first (a stride
    tie goes to the longer dim; a zero stride, or a tie of equal lengths, keeps the logical order).
    With ambiguity_check (True, or a list of memory formats), a layout that more than one order
    describes raises, unless exactly one of the listed formats matches it."""
    from ._ops.creation import channels_last, memory_format
    bad_check = TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    if not isinstance(ambiguity_check, bool):
        if not isinstance(ambiguity_check, list) or not all(isinstance(f, memory_format) for f in ambiguity_check):
            raise bad_check
    shape, strides = input.shape, input.stride()
    if ambiguity_check is not False:
        formats = ambiguity_check if isinstance(ambiguity_check, list) else []
        several_orders = any(a == b for a, b in zip(strides, strides[1:])) or 1 in shape
        if several_orders and sum(input.is_contiguous(memory_format=f) for f in formats) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the "
                               "given memory formats.")
    nd = len(shape)
    if nd < 2:
        return tuple(range(nd))
    dense = input.is_contiguous()
    channels = input.is_contiguous(memory_format=channels_last)
    if dense and not channels:
        return tuple(range(nd))
    if channels and not dense:
        return (0, *range(2, nd), 1)

    def outside(a, b):
        """1 if dim a lies outside dim b in memory, -1 if inside, 0 if the strides cannot tell."""
        if strides[a] == 0 or strides[b] == 0:
            return 0
        if strides[a] != strides[b]:
            return 1 if strides[a] > strides[b] else -1
        return 1 if shape[a] > shape[b] else 0

    from ._ops._util import dims_inner_first
    order = dims_inner_first(shape, [strides])      # innermost first, ties kept in place
    if ambiguity_check and any(outside(a, b) != -1 for a, b in zip(order, order[1:])):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(order))


Tensor.nonzero_static = nonzero_static
Tensor.dim_order = dim_order
__all__ += ["nonzero_static"]
