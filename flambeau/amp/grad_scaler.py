"""``torch.amp.GradScaler``: loss scaling for float16 training, and the two kernels it runs.

Gradients of small float16 values underflow to zero. The scaler multiplies the loss by a large
factor before backward, divides the gradients by it before the optimizer step, skips the step
when a gradient came out inf or NaN (the factor was too large) and then halves the factor; after
``growth_interval`` clean steps it doubles it again.

On cuda the scale, the growth tracker and the inf flags stay on the device: unscaling and
updating the scale are array operations there, and the host reads the inf flag once per step
and device, in ``step()`` (to decide whether to call the optimizer), as PyTorch does.
"""
import inspect
import warnings
from collections import abc, defaultdict
from enum import Enum

import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad

__all__ = ["OptState", "GradScaler"]


# -- the kernels (torch._amp_foreach_non_finite_check_and_unscale_, torch._amp_update_scale_) ---
def _check_one_element(t, name, kind, kind_word):
    if t._data.size != 1:
        raise RuntimeError(f"{name} must be a 1-element tensor.")
    if t._data.dtype != kind:
        raise RuntimeError(f"{name} must be a{kind_word} tensor.")


def _amp_foreach_non_finite_check_and_unscale_(scaled_grads, found_inf, inv_scale):
    """Multiply every gradient by inv_scale in place; set found_inf to 1.0 if any held an inf or NaN
    (it is never cleared here: several calls accumulate into it)."""
    _check_one_element(found_inf, "found_inf", np.float32, " float")
    _check_one_element(inv_scale, "inv_scale", np.float32, " float")
    if not scaled_grads:
        return None
    on_cpu = type(found_inf._data) is np.ndarray
    for g in scaled_grads:
        if g._data.dtype.kind != "f":
            raise NotImplementedError(f'"_amp_foreach_non_finite_check_and_unscale_{"cpu" if on_cpu else "cuda"}" '
                                      f"not implemented for '{_type_name(g.dtype)}'")
        if (type(g._data) is np.ndarray) != on_cpu or g.device != found_inf.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{g.device} and {found_inf.device}!")
    xp = _xp.array_module(found_inf._data)
    inv = inv_scale._data.reshape(())
    nonfinite = None
    for g in scaled_grads:
        d = g._data
        bad = ~xp.isfinite(d).all()
        nonfinite = bad if nonfinite is None else nonfinite | bad
        d *= inv                          # computed in float32, stored in the gradient's dtype
        g._version_counter[0] += 1
    flag = found_inf._data
    flag[...] = xp.where(nonfinite, xp.float32(1.0), flag)
    found_inf._version_counter[0] += 1
    return None


def _amp_update_scale_(current_scale, growth_tracker, found_inf, scale_growth_factor, scale_backoff_factor,
                       growth_interval):
    """After a step with an inf/NaN gradient: scale *= backoff, tracker = 0. Otherwise tracker += 1,
    and when it reaches growth_interval: scale *= growth (if that stays finite), tracker = 0.
    In place, on the scale's device; returns current_scale."""
    _check_one_element(growth_tracker, "growth_tracker", np.int32, "n int")
    _check_one_element(current_scale, "current_scale", np.float32, " float")
    _check_one_element(found_inf, "found_inf", np.float32, " float")
    xp = _xp.array_module(current_scale._data)
    scale, tracker = current_scale._data, growth_tracker._data
    found = found_inf._data.reshape(scale.shape) != 0
    successful = tracker + 1
    grow = ~found & (successful == growth_interval)
    wide = scale.astype(np.float64)        # float scale times double factor, as PyTorch's kernel
    grown = (wide * scale_growth_factor).astype(np.float32)
    backed_off = (wide * scale_backoff_factor).astype(np.float32)
    new_scale = xp.where(found, backed_off, xp.where(grow & xp.isfinite(grown), grown, scale))
    tracker[...] = xp.where(found | grow, 0, successful).astype(np.int32)
    scale[...] = new_scale
    current_scale._version_counter[0] += 1
    growth_tracker._version_counter[0] += 1
    return current_scale


def _type_name(dt):
    return {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(dt.name, dt.name)


# -- the scaler --------------------------------------------------------------------------------
class _MultiDeviceReplicator:
    """A tensor, and copies of it made on demand for other devices (one each)."""

    def __init__(self, master_tensor):
        self.master = master_tensor
        self._per_device_tensors = {}

    def get(self, device):
        copy = self._per_device_tensors.get(device)
        if copy is None:
            copy = self.master.to(device=device, non_blocking=True, copy=True)
            self._per_device_tensors[device] = copy
        return copy


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, dtype, device):
    from .._ops.creation import full
    return full((), value, dtype=dtype, device=device)


class GradScaler:
    """Dynamic loss scaling: ``scaler.scale(loss).backward()``, ``scaler.step(optimizer)``,
    ``scaler.update()``. ``step`` unscales the gradients (unless ``unscale_`` already did) and skips
    ``optimizer.step()`` when one is inf or NaN; ``update`` then multiplies the scale by
    ``backoff_factor``, or by ``growth_factor`` after ``growth_interval`` steps in a row without
    infs. With ``enabled=False`` every method is a pass-through."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled:
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                              stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None                 # made on the device of the first scaled output
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev):
        if self._growth_tracker is not None:
            raise AssertionError("_growth_tracker initialized before _scale")
        self._scale = _full(self._init_scale, _dtype.float32, dev)
        self._growth_tracker = _full(self._init_growth_tracker, _dtype.int32, dev)

    def scale(self, outputs):
        """outputs (a tensor, or an iterable of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device, non_blocking=True)

        stash = []          # one replicator of the scale for all the outputs

        def apply_scale(val):
            if isinstance(val, Tensor):
                if not stash:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val.device)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                scaled = map(apply_scale, val)
                return type(val)(scaled) if isinstance(val, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16):
        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        # one kernel call per (device, dtype) group of gradients
        groups = defaultdict(lambda: defaultdict(list))
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if not isinstance(param, Tensor):
                        raise AssertionError(f"expected param to be torch.Tensor, got {type(param).__name__}")
                    if param.grad is None:
                        continue
                    if not allow_fp16 and param.grad.dtype is _dtype.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    grad = param.grad
                    groups[grad.device][grad.dtype].append(grad)
            for device, per_dtype in groups.items():
                for grads in per_dtype.values():
                    _amp_foreach_non_finite_check_and_unscale_(grads, per_device_found_inf.get(device),
                                                                per_device_inv_scale.get(device))
        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale now (to clip or inspect them before ``step``);
        once per optimizer between two ``update`` calls."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        with no_grad():          # the reciprocal in float64, as PyTorch (float32 division can be inexact)
            inv_scale = self._scale.double().reciprocal().float()
        found_inf = _full(0.0, _dtype.float32, self._scale.device)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        # the one read of the device per step and device: was any gradient inf or NaN?
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients (unless ``unscale_`` did) and run ``optimizer.step(*args, **kwargs)``
        unless one of them is inf or NaN; returns what optimizer.step returned (None if skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._step_scaling_optimizer(optimizer, optimizer_state, args, kwargs)
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, optimizer_state, *args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def _step_scaling_optimizer(self, optimizer, optimizer_state, args, kwargs):
        """An optimizer that unscales and skips by itself: it gets the scaler (older protocol: a
        ``grad_scaler`` argument of its step) or the ``grad_scale`` and ``found_inf`` tensors."""
        has_grad_scaler_kwarg = "grad_scaler" in inspect.signature(optimizer.step).parameters
        if has_grad_scaler_kwarg:
            warnings.warn("GradScaler is going to stop passing itself as a keyword argument to the passed "
                          "optimizer. In the near future GradScaler registers `grad_scale: Tensor` and "
                          "`found_inf: Tensor` to the passed optimizer and let the optimizer use them directly.",
                          FutureWarning, stacklevel=3)
            kwargs = dict(kwargs, grad_scaler=self)
        else:
            if optimizer_state["stage"] is OptState.READY:
                self._check_inf_per_device(optimizer)
            scale = self._get_scale_async()
            found_inf = sum(t.to(scale.device, non_blocking=True)
                            for t in optimizer_state["found_inf_per_device"].values())
            optimizer.grad_scale = (getattr(optimizer, "grad_scale", None)
                                    if optimizer_state["stage"] is OptState.UNSCALED
                                    else scale * getattr(optimizer, "grad_scale", 1))
            optimizer.found_inf = found_inf
        retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        if not has_grad_scaler_kwarg:
            del optimizer.grad_scale
            del optimizer.found_inf
        return retval

    def update(self, new_scale=None):
        """Set the scale for the next iteration: ``new_scale`` if given, else backed off (a step was
        skipped) or grown (``growth_interval`` clean steps in a row)."""
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if (not isinstance(new_scale, Tensor) or new_scale.device.type != self._device
                        or new_scale.numel() != 1 or new_scale.requires_grad):
                    raise AssertionError(reason)
                self._scale.copy_(new_scale)
        else:
            found_infs = [found_inf.to(device=_scale.device, non_blocking=True)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            found_inf_combined = found_infs[0]
            with no_grad():
                for other in found_infs[1:]:
                    found_inf_combined += other
            _amp_update_scale_(_scale, _growth_tracker, found_inf_combined, self._growth_factor,
                               self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self):
        """The current scale as a Python float (a read of the device on cuda); 1.0 when disabled."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())
        return 0

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """scale, growth_factor, backoff_factor, growth_interval and _growth_tracker ({} when disabled)."""
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            # the tensors are made again, lazily, by the unpickled scaler
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def _check_inf_per_device(self, optimizer):
        _scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        dummy_inv_scale = _full(1.0, _dtype.float32, _scale.device)
        found_inf = _full(0.0, _dtype.float32, _scale.device)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = self._unscale_grads_(
            optimizer, dummy_inv_scale, found_inf, True)
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer):
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]


class _DeviceSpelling(GradScaler):
    """``torch.cuda.amp.GradScaler`` / ``torch.cpu.amp.GradScaler``: PyTorch's older spellings, with the
    device fixed by the subclass (deprecated there: a FutureWarning)."""
    _device_type = None

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        d = self._device_type
        warnings.warn(f"`torch.{d}.amp.GradScaler(args...)` is deprecated. Please use "
                      f"`torch.amp.GradScaler('{d}', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__(d, init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                         growth_interval=growth_interval, enabled=enabled)
