"""flambeau: a readable deep-learning framework with PyTorch's API, on NumPy (CPU) and CuPy (GPU).

``import flambeau as torch`` runs course code written for PyTorch.
"""
__version__ = "0.1.0"

from . import _malloc
_malloc.tune()                     # see Note [Keeping freed memory for the next step]

from ._dtype import (dtype, float16, half, float32, float, float64, double, uint8, int8, int16, short, int32,
                     int, int64, long, bool, complex64, cfloat, complex128, cdouble, get_default_dtype,
                     set_default_dtype, promote_types, result_type, can_cast, finfo, iinfo)
from ._device import device
from ._tensor import Tensor, Size
from ._storage import TypedStorage, UntypedStorage
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled)
from . import _ops
from ._ops.views import *          # noqa: F401,F403
from ._ops.pointwise import *      # noqa: F401,F403
from ._ops.creation import *       # noqa: F401,F403
from ._ops.reduction import *      # noqa: F401,F403
from ._ops.indexing import *       # noqa: F401,F403
from ._ops.blas import *           # noqa: F401,F403
for _name in _ops.FAMILIES:           # further op families export their public names too
    globals().update({k: getattr(_name, k) for k in getattr(_name, "__all__", ())})
from ._tensor_str import set_printoptions, get_printoptions
from . import autograd, linalg, nn, optim, utils, cuda, accelerator, random, testing, backends, special, fft, signal, jit  # noqa: F401,E501
from . import vision  # noqa: F401
from .serialization import save, load  # noqa: F401
from ._legacy import *          # noqa: F401,F403  (top-level LAPACK functions, 2019 APIs)
from ._lowrank import svd_lowrank, pca_lowrank  # noqa: F401
from ._aliases import *         # noqa: F401,F403  (torch.clamp_(x), torch.selu, settings)
# torch's rejection samplers (Note [torch's rejection samplers] in _ops/_cpu_rng.py)
from ._ops.creation import binomial, _standard_gamma, _sample_dirichlet  # noqa: F401,E402
from ._ops.creation import _standard_gamma_grad, _dirichlet_grad  # noqa: F401,E402

from ._ops.views import view_as_real, view_as_complex  # noqa: F401

from ._legacy_types import (FloatTensor, DoubleTensor, HalfTensor, ByteTensor, CharTensor, ShortTensor,  # noqa
                            IntTensor, LongTensor, BoolTensor)
from ._legacy_types import STORAGE_TYPES as _STORAGE_TYPES  # noqa: E402  (torch.FloatStorage and the others)
globals().update(_STORAGE_TYPES)
Storage = _STORAGE_TYPES["FloatStorage"]    # torch.Storage is torch.FloatStorage

from .cuda import OutOfMemoryError  # noqa: E402,F401  (torch.OutOfMemoryError is torch.cuda's)

from ._layout import layout, strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr, sparse_bsc, jagged  # noqa
inf = __import__("math").inf
nan = __import__("math").nan
pi = __import__("math").pi
e = __import__("math").e
newaxis = None


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_inference(input):
    """Whether input was made in inference mode (Note [Inference tensors])."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input.is_inference()


def is_storage(obj):
    return isinstance(obj, (TypedStorage, UntypedStorage))


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def is_nonzero(input):
    return input.is_nonzero()


def numel(input):
    return input.numel()


def typename(obj):
    """A tensor's type() string; else the qualified name of obj (a class or function) or of its
    class, without "builtins." (as torch.typename)."""
    if isinstance(obj, Tensor):
        return obj.type()
    if hasattr(obj, "__qualname__") or hasattr(obj, "__name__"):
        module, name = getattr(obj, "__module__", "") or "", getattr(obj, "__qualname__", None) or obj.__name__
    else:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None, name=None,
            disable=False, recompile_limit=None, isolate_recompiles=False, shapes_spec=None):
    """No compiler: flambeau runs every call eagerly. A module comes back wrapped as PyTorch's
    (``_dynamo.OptimizedModule``, its weights under "_orig_mod."), a function as a function calling it;
    the arguments PyTorch checks are checked."""
    if model is None:                              # @compile(mode=...) decorator
        def decorate(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, name=name, disable=disable, recompile_limit=recompile_limit,
                           isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
        return decorate
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if backend in (None, "inductor") and mode is not None and mode not in _COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_COMPILE_MODES)}")
    if disable:
        return model
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    from .nn.modules.module import Module
    if isinstance(model, Module):
        from ._dynamo import OptimizedModule
        return OptimizedModule(model)
    import functools

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return model(*args, **kwargs)
    return compiled


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded (as PyTorch's, the same setting as set_deterministic_debug_mode): flambeau's ops are
    deterministic already, so none warns or raises under it."""
    if type(mode) is not type(True):              # (flambeau.bool is the dtype)
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    set_deterministic_debug_mode(0 if not mode else 1 if warn_only else 2)


def are_deterministic_algorithms_enabled():
    return get_deterministic_debug_mode() > 0


from ._threads import get_num_threads, set_num_threads  # noqa: E402
from .autograd.anomaly_mode import is_anomaly_enabled, set_detect_anomaly  # noqa: E402,F401

# Last: autocast hooks the ops named above (flambeau.amp._policy), and cuda.amp / cpu.amp build on it.
from . import amp, cpu  # noqa: E402,F401
from .cuda import amp as _cuda_amp  # noqa: E402,F401  (makes flambeau.cuda.amp)
del _cuda_amp
from .amp.grad_scaler import _amp_foreach_non_finite_check_and_unscale_, _amp_update_scale_  # noqa: E402,F401
from .amp.autocast_mode import (autocast, is_autocast_enabled, set_autocast_enabled, get_autocast_dtype,  # noqa
                                set_autocast_dtype, is_autocast_cache_enabled, set_autocast_cache_enabled,
                                clear_autocast_cache, autocast_increment_nesting, autocast_decrement_nesting,
                                is_autocast_cpu_enabled, set_autocast_cpu_enabled, get_autocast_cpu_dtype,
                                set_autocast_cpu_dtype, get_autocast_gpu_dtype, set_autocast_gpu_dtype)


# The core classes under the names they are reached by (type(x) is <class 'flambeau.Tensor'>, as
# PyTorch's is <class 'torch.Tensor'>); pickles name them so too, and both names import.
for _cls in (Tensor, Size, dtype, device):
    _cls.__module__ = __name__
del _cls

# NumPy's axis= and keepdims= wherever PyTorch takes them, once every op above is in place.
from ._numpy_names import accept_numpy_names as _accept_numpy_names  # noqa: E402
_accept_numpy_names([__import__("sys").modules[__name__], linalg, special, fft], Tensor)
del _accept_numpy_names
from ._tensor_first import check_tensor_first as _check_tensor_first  # noqa: E402
_check_tensor_first(__import__("sys").modules[__name__])
del _check_tensor_first

# Packages loaded on first use (flambeau.distributions, flambeau.func): most programs never touch
# them, and they would add to every import.
_LAZY_SUBMODULES = ("distributions", "func")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
