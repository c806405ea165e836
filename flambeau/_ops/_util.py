"""Shared machinery of the built-in ops: operands, promotion, method registration, in-place.

Every op module builds on these few helpers so that the rules (PyTorch's type promotion,
device checks, in-place semantics with autograd) are written once.
"""
import functools
import numbers
import os
import re
import sys

import numpy as np

from .. import _dtype, _xp
from ..cuda import _kernels as _cuda_kernels
from .._tensor import Tensor, _make, _wrap_dim, _nests, _contiguous_strides
from ..autograd import grad_mode
from ..autograd.grad_mode import _inference, _InferenceVersion, INPLACE_ON_INFERENCE_TENSOR

_ndarray = np.ndarray
_BY_NP = _dtype._BY_NP
_enabled = grad_mode._enabled


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def caller_level():
    """warnings.warn's stacklevel of the first frame outside flambeau (the user's call): a
    fixed level would point inside flambeau when autocast's wrapper or nn.functional stands
    between the user and the op."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def register(*names):
    """Decorator: also expose the function as Tensor methods ``names`` (first arg is self)."""
    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn
    return deco


def recording(*tensors):
    """Whether an op over these operands must record a backward node."""
    if not _enabled[0]:
        return False
    for t in tensors:
        if type(t) is not int and type(t) is not float and isinstance(t, Tensor) and t._requires_grad:
            return True
    return False


def is_scalar(x):
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, Tensor)


def xp_of(t):
    return np if type(t._data) is _ndarray else _xp.array_module(t._data)


def check_same_device(op, *tensors):
    """Raise RuntimeError naming both devices if the tensors among ``tensors`` are on two devices."""
    dev = None
    for t in tensors:
        if isinstance(t, Tensor):
            d = t.device
            if dev is None:
                dev = d
            elif d != dev:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                                   f"devices, {dev} and {d}! ({op}(): move one with .to())")
    return dev


def index_range(a):
    """(min, max) of a non-empty integer array as Python ints, in one read by the host."""
    if type(a) is _ndarray:
        return int(a.min()), int(a.max())
    found = _cuda_kernels.index_range(a)        # one launch for the usual small index arrays
    if found is not None:
        return found
    lo, hi = _xp.array_module(a).stack((a.min(), a.max())).tolist()
    return lo, hi


def result_dtype(a, b):
    """PyTorch's promotion for a Tensor and a Tensor-or-scalar (fast paths first)."""
    if isinstance(b, Tensor):
        da, db = _BY_NP[a._data.dtype], _BY_NP[b._data.dtype]
        if da is db:
            return da
        return _dtype.result_type(a, b)
    da = _BY_NP[a._data.dtype]
    t = type(b)
    if t is float:
        return da if da._category >= 2 else _dtype.get_default_dtype()
    if t is int:
        return da if da._category >= 1 else _dtype.int64
    if t is bool:
        return da
    return _dtype.result_type(a, b)


def operand(x, dt, dev_like=None):
    """x (Tensor or Python scalar) as an array or scalar of dtype ``dt``."""
    if isinstance(x, Tensor):
        d = x._data
        if d.dtype != dt.np:
            d = d.astype(dt.np)
        if dev_like is not None and type(d) is not type(dev_like):
            d = _move_scalar_tensor(d, dev_like)
        return d
    return scalar_as(x, dt)


def data_on_device_of(t, like):
    """t's array where the array ``like`` is: a 0-dim CPU tensor moves there (a scalar), other mixes raise."""
    d = t._data
    return d if type(d) is type(like) else _move_scalar_tensor(d, like)


def _move_scalar_tensor(d, like):
    # A 0-dim CPU tensor may take part in a CUDA op (PyTorch allows it, as a scalar); not the other way round.
    if d.ndim == 0 and type(d) is _ndarray:
        return _xp.from_host(_xp.array_module(like), _xp.to_host(d))
    raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                       f"{_xp.device_of(like)} and {_xp.device_of(d)}!")


def scalar_as(x, dt):
    """A Python number as a NumPy scalar of dtype dt (wrapping out-of-range ints as PyTorch does)."""
    if isinstance(x, Tensor):
        return x._data.astype(dt.np)
    try:
        return dt.np.type(x)
    except OverflowError:       # a NumPy scalar, not a 0-d array: CuPy takes scalars, never host arrays
        return np.array(x).astype(dt.np)[()]
    except TypeError:
        if dt.is_complex or not isinstance(x, complex):
            raise
        raise TypeError(f"cannot convert complex {x} to {dt}") from None


def unwrap(x):
    return x._data if isinstance(x, Tensor) else x


def wrap_dims(dims, ndim):
    if dims is None:
        return None
    if isinstance(dims, (int, np.integer)):
        return (_wrap_dim(int(dims), ndim),)
    out = tuple(_wrap_dim(int(d), ndim) for d in dims)
    if len(set(out)) != len(out):
        repeated = next(d for i, d in enumerate(out) if d in out[:i])
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return out


def check_inplace_dtype(op, self, dt):
    if dt is not _BY_NP[self._data.dtype] and not _dtype.can_cast(dt, _BY_NP[self._data.dtype]):
        raise RuntimeError(f"result type {_type_word(dt)} can't be cast to the desired output type "
                           f"{_type_word(_BY_NP[self._data.dtype])}")


def _type_word(dt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}[dt.name]


_NO_GRAD_VIEW = ("A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
                 "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
                 "code by moving both the view and the inplace either both inside the no_grad block (if you "
                 "don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).")


def mark_no_grad_view(view, src):
    """Remember a view of a tensor that requires grad made while grad mode is off: PyTorch refuses
    to modify it in place once grad mode is back on (it could not tell whether to track that)."""
    if (not _enabled[0] and src._requires_grad) or src.__dict__.get("_no_grad_view"):
        view.__dict__["_no_grad_view"] = True     # views of such a view inherit it
    elif _enabled[0] and "_custom_view" in src.__dict__:
        view.__dict__["_custom_view"] = src.__dict__["_custom_view"]


# Note [Views returned by custom Functions]
# A custom Function's output that is one of its inputs returned as is, or a view made inside its
# forward, is a view whose history is the Function's node. An in-place op on it would have to rebase
# that history through the view (CopySlices), bypassing the Function's own backward, so PyTorch forbids
# it (views of it made with grad mode on inherit the ban). ``_custom_view`` holds which message:
# "single" for a Function with one output, "multi" for one with several.
_CUSTOM_VIEW_ADVICE = {
    "single": " This view was created inside a custom Function (or because an input was returned as-is) and "
              "the autograd logic to handle view+inplace would override the custom backward associated with the "
              "custom Function, leading to incorrect gradients. This behavior is forbidden. You can fix this by "
              "cloning the output of the custom Function.",
    "multi": " This view is the output of a function that returns multiple views. Such functions do not allow "
             "the output views to be modified inplace. You should replace the inplace operation by an "
             "out-of-place one.",
}


def _custom_view_error(self, kind):
    grad_fn = self.grad_fn
    if grad_fn is None or self.__dict__.get("_no_grad_view"):
        head = "A view was created in no_grad mode and is being modified inplace with grad mode enabled."
    else:
        # PyTorch names the node without its "Backward<n>" suffix: Output 0 of Split, of MyFunction
        name = re.sub(r"Backward\d*$", "", grad_fn.name())
        number = self.__dict__.get("_view_output_nr", self._output_nr)
        head = f"Output {number} of {name} is a view and is being modified inplace."
    return RuntimeError(head + _CUSTOM_VIEW_ADVICE[kind])


def check_inplace_autograd(self):
    """PyTorch's rules for in-place ops on tensors in a graph (and on inference tensors, in any mode)."""
    if type(self._version_counter) is _InferenceVersion and not _inference[0]:     # (inlined: on every in-place op)
        raise RuntimeError(INPLACE_ON_INFERENCE_TENSOR)
    if not _enabled[0]:
        return
    if self._base is not None and "_custom_view" in self.__dict__:
        raise _custom_view_error(self, self.__dict__["_custom_view"])
    if self._base is not None and self.__dict__.get("_no_grad_view"):
        made_from = self.__dict__["_no_grad_view"]
        if made_from is True:
            raise RuntimeError(_NO_GRAD_VIEW)
        raise RuntimeError(f"Output {self._output_nr} of {made_from} is a view of a view which was created in no_grad "
                           "mode" + _NO_GRAD_VIEW[len("A view was created in no_grad mode"):])
    if self._base is not None and self._requires_grad and self._data.dtype != self._base._data.dtype:
        raise NotImplementedError(
            f"in-place ops through a view of another dtype ({self.dtype} over {self._base.dtype}: x.real, "
            f"x.imag, view(dtype), view_as_real) are not tracked by flambeau's autograd; use an out-of-place "
            f"op instead")
    if self._requires_grad and self._grad_fn is None and self._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    # a view that does not require grad (detach(), made under no_grad) only shares the version
    if self._base is not None and self._requires_grad and self._base._requires_grad and self._base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def apply_inplace(self, fn_cls, *args):
    """Run ``fn_cls`` out of place and write the result into self, rebasing self's history.

    Note [In-place ops and autograd]: the recorded node sees a snapshot of self's old value
    (needed by backwards such as mul's), then self takes the node as its grad_fn. When self
    is a view, its base's history is rebased through CopySlices (see views.py).
    """
    check_inplace_autograd(self)
    if recording(self, *args):
        old = snapshot(self)
        result = fn_cls.apply(old, *args)
        write_inplace(self, result._data, fn_cls.__name__.lower())
        from .views import rebase_history
        rebase_history(self, result)
        node = result._grad_fn
        if node is not None and node._out_version is not None:
            # the op's result is self now: modifying self again invalidates this backward
            node._out_version = (self._version_counter, self._version_counter[0]) + node._out_version[2:]
        return self
    result = fn_cls.apply(self, *args)
    write_inplace(self, result._data, fn_cls.__name__.lower())
    return self


def snapshot(t):
    """A tensor with a copy of t's data and t's place in the graph (for in-place backward)."""
    s = _make(t._data.copy(), t._requires_grad)
    if t._requires_grad:
        s._grad_fn = t.grad_fn
        s._output_nr = t._output_nr
    return s


def dims_argument(name, dims, kwargs):
    """The dims given as positions (x.flip(0, 1), torch.flip(x, (0, 1))) or as dims= (PyTorch's name)."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError(f"{name}() got an unexpected keyword argument {next(k for k in kwargs if k != 'dims')!r}"
                            if set(kwargs) - {"dims"} else f"{name}() got multiple values for argument 'dims'")
        dims = (kwargs["dims"],)
    return dims


def check_writable(t):
    """What PyTorch checks of a tensor before an op writes into it (in place, out=): not an inference
    tensor outside inference mode (Note [Inference tensors]), and no two elements over one memory
    location (an expand(); a tensor without elements has none to share)."""
    if type(t._version_counter) is _InferenceVersion and not _inference[0]:
        raise RuntimeError(INPLACE_ON_INFERENCE_TENSOR)
    a = t._data
    if a.size and 0 in a.strides:
        for n, st in zip(a.shape, a.strides):
            if st == 0 and n > 1:
                raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                                   "a single memory location. Please clone() the tensor before performing the "
                                   "operation.")


# Note [Writes over their own operands]
# PyTorch refuses an operand over part of the memory an op writes (in place, out=, copy_, item
# assignment): x.add_(x.t()), x[1:].copy_(x[:-1]). Its loops would read elements they have already
# written. An operand over the same memory in the same layout (x.add_(x)) is accepted: each element is
# read before it is written. index_put_, index_add_, index_copy_, scatter_, put_ and cat's out= refuse
# any shared memory. Only tensors that are dense, with no overlap of their own, are compared; empty
# ones never overlap. flambeau computes into fresh memory before it writes (NumPy and CuPy also copy
# inputs that overlap an output), so its values would not be wrong: the checks make it answer as
# PyTorch answers.
_OVERLAP_ERROR = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                  "single memory location. Please clone() the tensor before performing the operation.")


def memory_overlap(a, b):
    """How arrays a and b share memory, as PyTorch tells it: "full" (the same elements, laid out
    alike), "partial", or None (no shared memory, or not told: empty, or a layout not dense)."""
    if a is b:
        return "full"
    if not a.size or not b.size or type(a) is not type(b):
        return None
    if not (np if type(a) is _ndarray else _xp.array_module(a)).may_share_memory(a, b):   # bounds only
        return None
    from .conversion import _non_overlapping_and_dense
    steps_a = [s // a.itemsize for s in a.strides]
    steps_b = [s // b.itemsize for s in b.strides]
    if not (_non_overlapping_and_dense(a.shape, steps_a) and _non_overlapping_and_dense(b.shape, steps_b)):
        return None
    begin_a, begin_b = _xp.address(a), _xp.address(b)
    end_a, end_b = begin_a + a.nbytes, begin_b + b.nbytes
    if begin_a == begin_b and end_a == end_b:
        return "full" if steps_a == steps_b else "partial"
    return "partial" if begin_a < end_b and begin_b < end_a else None


def check_no_partial_overlap(written, *operands):
    """PyTorch's error for an operand over part of the tensor an op writes (see the Note above)."""
    w = written._data
    for t in operands:
        if isinstance(t, Tensor):
            d = t._data
            if d is w or (type(w) is _ndarray and w.base is None and d.base is None):
                continue            # the same array, or two NumPy arrays each owning its memory
            if memory_overlap(w, d) == "partial":
                raise RuntimeError(_OVERLAP_ERROR)


def check_no_overlap(written, *operands):
    """As check_no_partial_overlap, and an operand over all of it refused too (cat's out=)."""
    w = written._data
    for t in operands:
        if isinstance(t, Tensor) and memory_overlap(w, t._data) is not None:
            raise RuntimeError(_OVERLAP_ERROR)


def write_inplace(self, array, op="op", operands=()):
    """Write array (an op's result over operands) into self, as the op's in-place form."""
    check_writable(self)
    check_no_partial_overlap(self, *operands)
    dt = _BY_NP[array.dtype]
    check_inplace_dtype(op, self, dt)
    if array.shape != self._data.shape:
        try:
            array = _xp.array_module(array).broadcast_to(array, self._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(array.shape)}") from None
    if self._data.ndim == 0 and type(self._data) is _ndarray:
        self._data[...] = array
    else:
        self._data[...] = array
    self._version_counter[0] += 1
    return self


def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(_broadcast_error(shapes)) from None


def _broadcast_error(shapes):
    a, b = shapes[0], shapes[1] if len(shapes) > 1 else ()
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return (f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                    f"dimension {max(len(a), len(b)) - i}")
    return f"shapes {[list(s) for s in shapes]} cannot be broadcast together"


# Note [Elementwise results keep their operands' layout]
# PyTorch lays an elementwise result out as its operands are laid out (TensorIterator): a transposed
# or channels-last input gives a transposed or channels-last result. NumPy's ufuncs do the same
# (order='K'); CuPy's allocate their results row-major whatever the inputs, so on the GPU the result
# of operands that are not all row-major is moved to PyTorch's layout (one copy). On the CPU too where
# NumPy's order differs: it ignores dims of size 1, and falls back to row-major when operands disagree.
def elementwise_strides(shape, arrays, scalar=False):
    """The element strides PyTorch gives the result of an elementwise op over arrays (and a Python
    number when scalar) broadcast to shape. When every operand has the result's shape: channels-last
    when all are, row-major when all are, the operands' own strides when all share one dense layout.
    Else the dims in the order of the operands' strides (dims an operand broadcasts ignored, the first
    operand that tells deciding, and of two dims with equal strides the smaller one inside), laid out
    densely in that order."""
    nd = len(shape)
    steps = []
    for a in arrays:
        item, lead = a.itemsize, nd - a.ndim
        steps.append([0] * lead + [0 if n == 1 and shape[lead + i] != 1 else s // item
                                   for i, (n, s) in enumerate(zip(a.shape, a.strides))])
    if not scalar and all(a.shape == shape for a in arrays):
        inner_first = range(nd - 1, -1, -1)
        if all(_nests(shape, s, inner_first) for s in steps):
            return _nested(shape, inner_first)
        if nd == 4 and all(_nests(shape, s, (1, 3, 2, 0)) for s in steps):
            return _nested(shape, (1, 3, 2, 0))
        first = steps[0]
        from .conversion import _non_overlapping_and_dense
        if all(s == first for s in steps) and _non_overlapping_and_dense(shape, first):
            return tuple(first)

    return _nested(shape, dims_inner_first(shape, steps))


def dims_inner_first(shape, steps):
    """The dims of shape, innermost first, in the order of the operands' element strides steps
    (TensorIterator's): dims an operand broadcasts (stride 0) ignored, the first operand that tells
    deciding, and of two dims with equal strides the smaller one inside."""
    def order(d0, d1):          # > 0: d0 goes outside d1; < 0: inside; 0: the operands cannot tell
        for s in steps:
            s0, s1 = s[d0], s[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0
    nd = len(shape)
    inner_first = list(range(nd - 1, -1, -1))
    for i in range(1, nd):      # an insertion sort that leaves what cannot be told in place
        j = i
        for k in range(i - 1, -1, -1):
            c = order(inner_first[k], inner_first[j])
            if c > 0:
                inner_first[k], inner_first[j] = inner_first[j], inner_first[k]
                j = k
            elif c < 0:
                break
    return inner_first


def _nested(shape, inner_first):
    """The strides laying shape out densely with its dims nested in the order inner_first."""
    strides, step = [0] * len(shape), 1
    for d in inner_first:
        strides[d] = step
        step *= shape[d]
    return tuple(strides)


def laid_out_as_operands(out, args, rule):
    """A Function's forward result (an array, or a tuple of them with rule "rows") in PyTorch's layout,
    for the Functions with a _result_layout (Function.apply calls this): "operands", an elementwise
    op's (the Note above); "like", empty_like(first argument)'s, which some ops (hardtanh) write into;
    "rows", row-major, as PyTorch makes the results of reductions, scans and softmax."""
    if rule == "rows":
        return tuple(map(row_major, out)) if isinstance(out, tuple) else row_major(out)
    if not _xp.is_array(out):
        return out
    if rule == "like":
        return laid_out_like(out, args[0]._data)
    arrays = [a._data for a in args if isinstance(a, Tensor)]
    return in_operand_layout(out, arrays) if arrays else out


def laid_out_like(result, a):
    """result (of a's shape) laid out as empty_like(a): a's strides when a is dense, else dense in
    a's order of dims."""
    from .conversion import _copy_strides
    return _relaid(result, _copy_strides(a.shape, tuple(st // a.itemsize for st in a.strides)))


def row_major(a):
    """a, or a row-major copy of it (see laid_out_as_operands)."""
    if not _xp.is_array(a) or a.flags.c_contiguous:
        return a
    return _xp.array_module(a).ascontiguousarray(a)


def in_operand_layout(result, arrays, scalar=False):
    """result, an elementwise op's over arrays (and a Python number when scalar), moved to PyTorch's
    layout (see the Note above) where the engine laid it out otherwise."""
    if result.ndim < 2 or not result.size:
        return result
    if 1 not in result.shape:
        for a in arrays:
            if not a.flags.c_contiguous:
                break
        else:
            return result      # (row-major operands give a row-major result, but for dims of size 1)
    elif result.strides == _row_major_bytes(result.shape, result.itemsize):
        for a in arrays:
            if a.strides != _row_major_bytes(a.shape, a.itemsize):
                break
        else:
            return result      # (and those too when every stride is row-major's)
    return _relaid(result, elementwise_strides(result.shape, arrays, scalar))


@functools.lru_cache(maxsize=1024)
def _row_major_bytes(shape, itemsize):
    """The byte strides of a row-major array, those of dims of size 1 included."""
    return tuple(itemsize * s for s in _contiguous_strides(shape))


def _relaid(result, strides):
    """result, or a copy of it with these element strides."""
    if tuple(s * result.itemsize for s in strides) == result.strides or not result.size:
        return result
    from .creation import _empty_laid_out
    xp = _xp.array_module(result)
    out = _empty_laid_out(xp, result.shape, result.dtype, strides)
    xp.copyto(out, result)
    return out
