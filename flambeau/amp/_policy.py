"""Autocast's op lists, per device type, and the hooks that apply them.

Note [Autocast hooks]
PyTorch's autocast sits in its dispatcher: listed aten ops get a wrapper that casts their
floating inputs, then runs the op with autocast off (ops it calls are not cast again); unlisted
ops run as they are, and a composite op (one built in Python or C++ from other ops) is cast
wherever its parts are listed. flambeau has no dispatcher, so the same lists are applied at
the Python entry points: ``install()`` replaces each listed op's ``flambeau.<op>``,
``Tensor.<op>`` (operators included: ``@`` is matmul) and ``nn.functional.<op>`` by a wrapper
that first reads one count (``_active[0]``, see Note [Autocast state]) and calls the op
untouched while no thread has autocast on. Modules reach these through nn.functional at call
time (nn.Linear calls F.linear), so they are covered.

The lists below are PyTorch's, by aten op name (aten/src/ATen/autocast_mode.cpp and .h; the
"Autocast Op Reference" of the torch.amp docs). Two further lists say where flambeau's ops are
built differently from PyTorch's:
- COMPOSITES: ops PyTorch builds from listed ops (einsum from bmm on the CPU, cross_entropy from
  log_softmax and nll_loss on cuda...) that flambeau computes in one piece: they get the
  category their parts give them in PyTorch.
- OWN_KERNELS: flambeau functions built from listed ops whose PyTorch counterpart is one unlisted
  kernel (logsigmoid, instance_norm...): they run with autocast off inside, so their parts
  are not cast.
"""
import numpy as np

from .. import _dtype
from .._tensor import Tensor
from . import autocast_mode as _mode

LOWER = "lower_precision_fp"      # floating inputs to the region's dtype (float16)
FP32 = "fp32"                     # floating inputs to float32
SET_OPT_DTYPE = "fp32_set_opt_dtype"   # float32 unless a dtype is given (softmax, sum...)
APPEND_DTYPE = "fp32_append_dtype"     # float32 output (norm without a dtype)
PROMOTE = "promote"               # all floating inputs to the widest of them
BANNED = "banned"                 # refused inside autocast
OWN_KERNEL = "own_kernel"         # not cast, and not cast inside (see OWN_KERNELS)

_UPSAMPLE = ("upsample_nearest1d _upsample_nearest_exact1d upsample_nearest2d _upsample_nearest_exact2d "
             "upsample_nearest3d _upsample_nearest_exact3d upsample_linear1d upsample_bilinear2d "
             "_upsample_bilinear2d_aa upsample_trilinear3d upsample_bicubic2d _upsample_bicubic2d_aa")

# -- PyTorch's lists -------------------------------------------------------------------------------
CUDA = {
    LOWER: "_convolution conv1d conv2d conv3d conv_tbc conv_transpose1d conv_transpose2d conv_transpose3d "
           "convolution prelu addmm addmv addr matmul einsum mm mv linalg_vecdot linear addbmm baddbmm bmm "
           "chain_matmul linalg_multi_dot _thnn_fused_lstm_cell _thnn_fused_gru_cell lstm_cell gru_cell "
           "rnn_tanh_cell rnn_relu_cell _scaled_dot_product_flash_attention scaled_dot_product_attention "
           "cudnn_convolution cudnn_convolution_transpose",
    FP32: "acos asin cosh erfinv exp expm1 log log10 log2 log1p reciprocal rsqrt sinh tan pow softplus layer_norm "
          "native_layer_norm group_norm frobenius_norm nuclear_norm cosine_similarity poisson_nll_loss "
          "cosine_embedding_loss nll_loss nll_loss2d hinge_embedding_loss kl_div l1_loss smooth_l1_loss huber_loss "
          "mse_loss margin_ranking_loss multilabel_margin_loss soft_margin_loss triplet_margin_loss "
          "multi_margin_loss binary_cross_entropy_with_logits dist pdist cdist renorm logsumexp " + _UPSAMPLE,
    SET_OPT_DTYPE: "prod softmax log_softmax cumprod cumsum linalg_vector_norm linalg_matrix_norm sum",
    APPEND_DTYPE: "norm",
    PROMOTE: "addcdiv addcmul atan2 bilinear cross dot vdot grid_sampler index_put tensordot scatter_add",
    BANNED: "binary_cross_entropy",
}

CPU = {
    LOWER: "conv1d conv2d conv3d bmm mm linalg_vecdot baddbmm addmm _addmm_activation addbmm linear "
           "mkldnn_reorder_linear_weight _convolution matmul conv_tbc mkldnn_rnn_layer conv_transpose1d "
           "conv_transpose2d conv_transpose3d prelu scaled_dot_product_attention _native_multi_head_attention",
    FP32: "avg_pool3d binary_cross_entropy grid_sampler polar prod quantile nanquantile stft cdist grid_sampler_2d "
          "_grid_sampler_2d_cpu_fallback grid_sampler_3d trace view_as_complex cholesky cholesky_inverse "
          "cholesky_solve inverse lu_solve orgqr ormqr pinverse max_pool3d max_unpool2d max_unpool3d "
          "adaptive_avg_pool3d reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d "
          "replication_pad3d mse_loss cosine_embedding_loss nll_loss nll_loss2d hinge_embedding_loss "
          "poisson_nll_loss smooth_l1_loss cross_entropy_loss l1_loss huber_loss margin_ranking_loss "
          "soft_margin_loss triplet_margin_loss multi_margin_loss ctc_loss kl_div multilabel_margin_loss "
          "binary_cross_entropy_with_logits fft_fft fft_ifft fft_fft2 fft_ifft2 fft_fftn fft_ifftn fft_rfft "
          "fft_irfft fft_rfft2 fft_irfft2 fft_rfftn fft_irfftn fft_hfft fft_ihfft linalg_cond linalg_matrix_rank "
          "linalg_solve linalg_cholesky linalg_svdvals linalg_eigvals linalg_eigvalsh linalg_inv "
          "linalg_householder_product linalg_tensorinv linalg_tensorsolve fake_quantize_per_tensor_affine geqrf "
          "_lu_with_info qr svd triangular_solve fractional_max_pool2d fractional_max_pool3d adaptive_max_pool3d "
          "multilabel_margin_loss_forward linalg_qr linalg_cholesky_ex linalg_svd linalg_eig linalg_eigh "
          "linalg_lstsq linalg_inv_ex",
    PROMOTE: "stack cat index_copy",
}

# -- where flambeau is built differently -------------------------------------------------------
# Ops (aten names, or flambeau paths where there is none) and the category PyTorch's composition
# gives them.
COMPOSITES = {
    "cuda": {
        "cross_entropy_loss": FP32,              # log_softmax (float32) then nll_loss (float32)
        "softmin": SET_OPT_DTYPE,                # softmax of -input
        "inner": PROMOTE,                        # tensordot
        "nn.modules.rnn._rnn_step": LOWER,       # a step of RNN/LSTM/GRU and of their cells: lstm_cell...
    },                                           # and cuDNN's whole-sequence kernels run in float16
    "cpu": {
        "einsum": LOWER,                         # bmm
        "tensordot": LOWER, "inner": LOWER,      # mm
        "chain_matmul": LOWER, "linalg_multi_dot": LOWER,   # mm
        "bilinear": OWN_KERNEL,                  # _trilinear, unlisted (flambeau's calls einsum)
    },
}

# Ops that flambeau builds from hooked ones (matmul, exp, sum...) where PyTorch has a single
# unlisted kernel: run with autocast off inside.
OWN_KERNELS = {
    "cuda": "logsigmoid mish instance_norm adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d linalg_lu_solve "
            "linalg_lstsq nanmean vander ctc_loss",
    "cpu": "adaptive_avg_pool1d adaptive_avg_pool2d linalg_lu_solve",
}

# -- Python spellings of the aten ops ---------------------------------------------------------------
# By default an aten op ``name`` is hooked where flambeau has it among flambeau.<name>,
# Tensor.<name> and nn.functional.<name>; ``linalg_<name>`` at flambeau.linalg.<name> and
# ``fft_<name>`` at flambeau.fft.<name>. These are the other places (or the only ones).
SPELLINGS = {
    "matmul": ("matmul", "Tensor.matmul", "Tensor.__matmul__", "Tensor.__rmatmul__", "linalg.matmul"),
    "baddbmm": ("baddbmm", "Tensor.baddbmm", "nn._attention.baddbmm"),   # the last: multi_head_attention_forward's
    "pow": ("pow", "Tensor.pow", "Tensor.__pow__", "Tensor.__rpow__"),
    # torch computes other / t as t.reciprocal() * other
    "reciprocal": ("reciprocal", "Tensor.reciprocal", "Tensor.__rtruediv__"),
    "erfinv": ("erfinv", "Tensor.erfinv", "special.erfinv"),
    "expm1": ("expm1", "Tensor.expm1", "special.expm1"),
    "log1p": ("log1p", "Tensor.log1p", "special.log1p"),
    "logsumexp": ("logsumexp", "Tensor.logsumexp", "special.logsumexp"),
    "softmax": ("softmax", "Tensor.softmax", "nn.functional.softmax", "special.softmax"),
    "log_softmax": ("log_softmax", "Tensor.log_softmax", "nn.functional.log_softmax", "special.log_softmax"),
    "cross_entropy_loss": ("nn.functional.cross_entropy",),
    "grid_sampler": ("nn.functional.grid_sample",),
    "_lu_with_info": ("lu", "Tensor.lu"),
    "cat": ("cat", "concat", "concatenate"),
    "max_pool3d": ("max_pool3d", "nn.functional.max_pool3d"),
    "adaptive_max_pool3d": ("nn.functional.adaptive_max_pool3d", "nn.functional.adaptive_max_pool3d_with_indices"),
    "fractional_max_pool2d": ("nn.functional.fractional_max_pool2d",
                              "nn.functional.fractional_max_pool2d_with_indices"),
    "fractional_max_pool3d": ("nn.functional.fractional_max_pool3d",
                              "nn.functional.fractional_max_pool3d_with_indices"),
    "reflection_pad1d": ("nn.functional.pad",), "reflection_pad2d": ("nn.functional.pad",),
    "replication_pad1d": ("nn.functional.pad",), "replication_pad2d": ("nn.functional.pad",),
    "replication_pad3d": ("nn.functional.pad",),
}
SPELLINGS.update(dict.fromkeys(_UPSAMPLE.split(), ("nn.functional.interpolate",)))

# Listed aten ops that flambeau lacks, or reaches only through another op's entry point (nll_loss2d
# is F.nll_loss on images). Any of them that flambeau gains is hooked all the same.
NO_ENTRY_POINT = set(
    "_convolution conv_tbc convolution _thnn_fused_lstm_cell _thnn_fused_gru_cell lstm_cell gru_cell rnn_tanh_cell "
    "rnn_relu_cell _scaled_dot_product_flash_attention cudnn_convolution cudnn_convolution_transpose "
    "native_layer_norm nll_loss2d _addmm_activation mkldnn_reorder_linear_weight mkldnn_rnn_layer "
    "_native_multi_head_attention grid_sampler_2d _grid_sampler_2d_cpu_fallback grid_sampler_3d orgqr ormqr "
    "linalg_householder_product linalg_tensorinv linalg_tensorsolve fake_quantize_per_tensor_affine geqrf "
    "multilabel_margin_loss_forward".split())


def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


# Entry points that reach different aten ops depending on their arguments: rule(args, kwargs,
# device type, the category the lists give) -> the category for this call.
def _interpolate_rule(args, kwargs, device_type, listed):     # F.interpolate(input, size, scale_factor, mode)
    if _arg(args, kwargs, 3, "mode", "nearest") != "area":
        return listed or OWN_KERNEL                             # upsample_* kernels
    if device_type == "cpu" and _arg(args, kwargs, 0, "input").ndim == 5:
        return FP32                                             # adaptive_avg_pool3d, listed on the CPU
    return OWN_KERNEL                                           # adaptive_avg_pool1d/2d: unlisted


def _pad_rule(args, kwargs, device_type, listed):              # F.pad(input, pad, mode, value)
    mode = _arg(args, kwargs, 2, "mode", "constant")
    if mode == "replicate" or (mode == "reflect" and len(_arg(args, kwargs, 1, "pad")) <= 4):
        return listed                                           # replication_pad1d-3d, reflection_pad1d/2d
    return None                                                 # constant_pad_nd, reflection_pad3d...


def _max_pool3d_rule(args, kwargs, device_type, listed):       # F.max_pool3d(..., return_indices)
    return None if _arg(args, kwargs, 6, "return_indices", False) else listed   # max_pool3d_with_indices


ARGUMENT_RULES = {"nn.functional.interpolate": _interpolate_rule, "nn.functional.pad": _pad_rule,
                  "nn.functional.max_pool3d": _max_pool3d_rule}


def entry_points(op):
    """The places where flambeau exposes aten op ``op`` (paths as in SPELLINGS)."""
    if op in SPELLINGS:
        return SPELLINGS[op]
    if op.startswith("linalg_"):
        return ("linalg." + op[7:],)
    if op.startswith("fft_"):
        return ("fft." + op[4:],)
    return (op, "Tensor." + op, "nn.functional." + op)


def _resolve(path):
    """(owner, attribute name) of an entry point path, or None where flambeau has none."""
    import importlib
    import flambeau
    *parents, name = path.split(".")
    if parents[:1] == ["Tensor"]:
        owner = Tensor
    else:
        owner = flambeau
        for i, p in enumerate(parents):
            sub = getattr(owner, p, None)
            if sub is None:
                try:
                    sub = importlib.import_module(".".join(["flambeau"] + parents[:i + 1]))
                except ImportError:
                    return None
            owner = sub
    if name not in vars(owner):
        return None
    return owner, name


def policy_table():
    """{entry point path: {device type: category}} from the lists above."""
    table = {}
    for dev, lists in (("cuda", CUDA), ("cpu", CPU)):
        for category, ops in lists.items():
            for op in ops.split():
                for path in entry_points(op):
                    table.setdefault(path, {})[dev] = category
        own = dict.fromkeys(OWN_KERNELS[dev].split(), OWN_KERNEL)
        for op, category in list(COMPOSITES[dev].items()) + list(own.items()):
            for path in ((op,) if "." in op else entry_points(op)):
                table.setdefault(path, {})[dev] = category
    return table


# -- applying a category ------------------------------------------------------------------------------
_BCE_MESSAGE = ("torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
                "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
                "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
                "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
                "safe to autocast.")


def _first_tensor(args, kwargs):
    for a in args:
        if isinstance(a, Tensor):
            return a
        if type(a) is list or type(a) is tuple:
            for x in a:
                if isinstance(x, Tensor):
                    return x
    for a in kwargs.values():
        if isinstance(a, Tensor):
            return a
    return None


def _map_tensors(fn, args, kwargs):
    """args and kwargs with fn applied to every tensor, also inside lists and tuples (TensorLists)."""
    def one(a):
        if isinstance(a, Tensor):
            return fn(a)
        if type(a) is list or type(a) is tuple:
            return type(a)(fn(x) if isinstance(x, Tensor) else x for x in a)
        return a
    return tuple(one(a) for a in args), {k: one(v) for k, v in kwargs.items()}


def _each_tensor(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif type(a) is list or type(a) is tuple:
            yield from (x for x in a if isinstance(x, Tensor))


def _promote_type(lower, args, kwargs, device_type):
    """The widest floating type among the eligible inputs, starting from the region's dtype
    (float64 inputs are not eligible and do not count), as PyTorch's ``promote_type``."""
    current = lower
    for t in _each_tensor(args, kwargs):
        if _mode.is_eligible(t, device_type) and t._data.dtype == np.float32:
            return _dtype.float32
    return current


def _explicit_dtype(args, kwargs):
    if kwargs.get("dtype") is not None:
        return True
    return any(isinstance(a, _dtype.dtype) for a in args)


def call_autocast(categories, rule, fn, args, kwargs):
    """Run ``fn`` as autocast's category for its inputs' device type says."""
    state = _mode.state
    if state.in_op:
        return fn(*args, **kwargs)
    first = _first_tensor(args, kwargs)
    if first is None:
        return fn(*args, **kwargs)
    device_type = "cpu" if type(first._data) is np.ndarray else "cuda"
    if not state.enabled[device_type] or kwargs.get("out") is not None:
        return fn(*args, **kwargs)
    category = categories.get(device_type)
    if rule is not None:
        category = rule(args, kwargs, device_type, category)
    if category is None:
        return fn(*args, **kwargs)
    lower = state.dtype[device_type]
    if category == LOWER:
        to = lower
    elif category == FP32:
        to = _dtype.float32
    elif category in (SET_OPT_DTYPE, APPEND_DTYPE):
        to = None                            # a dtype given is kept; else float32, as if dtype=float32
        if not _explicit_dtype(args, kwargs) and _mode.is_eligible(first, device_type):
            cast = first.to(_dtype.float32)
            args, kwargs = _map_tensors(lambda t: cast if t is first else t, args, kwargs)
    elif category == PROMOTE:
        to = _promote_type(lower, args, kwargs, device_type)
    elif category == BANNED:
        raise RuntimeError(_BCE_MESSAGE)
    else:                   # OWN_KERNEL
        to = None
    if to is not None:
        args, kwargs = _map_tensors(lambda t: _mode.cast_for_autocast(t, to, device_type), args, kwargs)
    # whether or not it cast, a listed op runs as one kernel: the ops it is made of are not cast again
    state.in_op = True
    try:
        return fn(*args, **kwargs)
    finally:
        state.in_op = False


def _hook(path, fn, categories):
    import functools
    active = _mode._active
    rule = ARGUMENT_RULES.get(path)

    @functools.wraps(fn)
    def autocast_entry(*args, **kwargs):
        if active[0]:
            return call_autocast(categories, rule, fn, args, kwargs)
        return fn(*args, **kwargs)
    autocast_entry._autocast_categories = categories
    return autocast_entry


_installed = []


def install():
    """Hook every entry point of the table (once)."""
    if _installed:
        return
    for path, categories in policy_table().items():
        found = _resolve(path)
        if found is None:
            continue
        owner, name = found
        fn = vars(owner)[name]
        if not callable(fn) or isinstance(fn, (type, staticmethod, classmethod)):
            continue
        setattr(owner, name, _hook(path, fn, categories))
        _installed.append(path)
