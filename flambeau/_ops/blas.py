"""Matrix products (BLAS): mm, mv, bmm, matmul, dot, outer, addmm and friends, einsum."""
import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor, _make
from .._threads import parallel_loops
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import broadcast_shapes, check_same_device, register, recording, scalar_as, _BY_NP
from .pointwise import _out, handles_out

__all__ = ["mm", "mv", "bmm", "matmul", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addbmm",
           "baddbmm", "addr", "einsum", "tensordot", "kron", "chain_matmul"]


_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}


def _product_out(result, out, like):
    """out= of mm, bmm and their add- forms: PyTorch writes no cast, out must have the operands' dtype."""
    if out is not None and out.dtype is not like.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_C_NAMES[like.dtype.name]}, but got "
                           f"{_C_NAMES[out.dtype.name]} instead")
    return _out(result, out)


def _same_dtype(name, a, b):
    if a.dtype is not b.dtype:
        raise RuntimeError(_dtype_mismatch(name, a, b))
    if a.device != b.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a.device} and {b.device}! ({name})")
    if a.dtype is _dtype.bool:      # PyTorch has no boolean products; its message names the kernel
        kernel = _BOOL_KERNELS.get(name) or _BOOL_KERNELS[_matmul_kind(a.ndim, b.ndim)]
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


_BOOL_KERNELS = {"mm": "addmm_impl_cpu_", "addmm": "addmm_impl_cpu_", "mv": "addmv_impl_cpu", "dot": "dot",
                 "bmm": "bmm"}


def _dtype_mismatch(name, a, b):
    """PyTorch's message for operands a, b of different dtypes: its wording is the kernel's that notices."""
    if name == "matmul":        # matmul hands its operands on to dot, mv, mm or bmm, by their dimensions
        da, db = a.ndim, b.ndim
        name = "dot" if da == 1 and db == 1 else "mv" if db == 1 else "mm" if db == 2 else "bmm"
    if name == "mv":            # mv is addmv into a result of vec's dtype
        return _addmv_dtype_mismatch(b.dtype, a.dtype, b.dtype)
    if name == "mm":
        return (f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES.get(a.dtype.name, a.dtype.name)} "
                f"!= {_C_NAMES.get(b.dtype.name, b.dtype.name)}")
    if name == "bmm":
        return f"expected scalar type {_w(a.dtype)} but found {_w(b.dtype)}"
    if name == "addmm":
        return f"mat1 and mat2 must have the same dtype, but got {_w(a.dtype)} and {_w(b.dtype)}"
    return f"{name} : expected both vectors to have same dtype, but found {_w(a.dtype)} and {_w(b.dtype)}"


def _addmv_dtype_mismatch(self_dtype, mat_dtype, vec_dtype):
    return (f"addmv input tensors must have the same dtype, but got {_w(self_dtype)}, {_w(mat_dtype)}, and "
            f"{_w(vec_dtype)}")


def _matmul_kind(da, db):
    """The product matmul dispatches to, by the operands' dimensions."""
    if da == 1 and db == 1:
        return "dot"
    if da == 2 and db == 1:
        return "mv"
    return "bmm" if da >= 3 and db >= 3 else "mm"


def _w(dt):
    from ._util import _type_word
    return _type_word(dt)


def _conj(t):
    return t.conj() if t.is_complex() else t


def _transposed(array):
    """Whether a 2-D array is laid out as the transpose of a contiguous one (w.t() of a weight)."""
    return array.ndim == 2 and not array.flags.c_contiguous and array.flags.f_contiguous


# Note [Gradients in their operand's layout]
# For y = x @ w.t() (a linear layer), dL/d(w.t()) = x^T grad comes out row-major, so its
# transpose, the weight's gradient, would be column-major and copied once more when stored in
# w.grad. Computed as (grad^T x)^T instead, the same product lands in w's own layout: the
# transpose the t() backward takes is then contiguous and w.grad keeps it without a copy.

def _mat1_grad(grad, m2, transposed):
    """dL/dm1 = grad @ m2^H, laid out as the transpose of a contiguous matrix when m1 was one."""
    if not grad_mode._enabled[0] and grad._data.dtype == m2._data.dtype:
        g, m = grad._data, _conj_array(m2._data)        # no graph to record: the arrays' products
        return _make(_mT(_matmul_arrays(m, _mT(g))) if transposed else _matmul_arrays(g, _mT(m)))
    return _conj(m2).matmul(grad.mT).mT if transposed else grad.matmul(_conj(m2).mT)


def _mat2_grad(m1, grad, transposed):
    """dL/dm2 = m1^H @ grad, laid out as the transpose of a contiguous matrix when m2 was one."""
    if not grad_mode._enabled[0] and grad._data.dtype == m1._data.dtype:
        g, m = grad._data, _conj_array(m1._data)
        return _make(_mT(_matmul_arrays(_mT(g), m)) if transposed else _matmul_arrays(_mT(m), g))
    return grad.mT.matmul(_conj(m1)).mT if transposed else _conj(m1).mT.matmul(grad)


def _mT(a):
    return a.swapaxes(-1, -2)


def _conj_array(a):
    return a.conj() if a.dtype.kind == "c" else a


# Note [Batched products on the CPU]
# NumPy multiplies a batch of matrices by calling BLAS once per matrix. A multi-threaded
# OpenBLAS starts and joins its threads on each of those calls, which for many small matrices
# (attention heads, bmm) costs more than the products: 3-8x slower than one thread here. A
# batch with the same batch shape on both sides therefore runs on a single-threaded BLAS, in two
# halves on two threads when large enough (Note [Two halves of a batch on two threads]).
_BATCH_MIN_MATRICES = 4
_ONE_THREAD_MIN_PRODUCTS = 1 << 20     # below: switching BLAS threads (~7 us) costs more than it saves
_SPLIT_MIN_PRODUCTS = 1 << 24          # multiply-adds below which one thread does the whole batch
_PARALLEL_MIN_PRODUCTS = 1 << 20       # (a size check before asking for the parallel loops)


# Note [float16 products on the CPU]
# NumPy has no BLAS for float16: its products (and a bias added after them) round at every step,
# which near cancellations costs tens of ulps. As PyTorch's CPU kernels, flambeau computes float16
# products, with their bias, in float32 and rounds once, through float32's BLAS (also far faster).
# On the GPU, cuBLAS already accumulates float16 products in float32; convolutions go through
# float32 there too (_ops/conv.py), so that their bias is not rounded a second time.
def half_on_cpu(*arrays):
    """Whether the arrays are NumPy float16 arrays (see the Note above)."""
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype.char != "e":
            return False
    return True


def _matmul_arrays(a, b):
    """a @ b for engine arrays (see the Note above for NumPy batches)."""
    if a.dtype.char == "e" and half_on_cpu(a, b):
        return _matmul_arrays(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim >= 2 and b.ndim >= 2
            and a.size * b.shape[-1] >= _PARALLEL_MIN_PRODUCTS and parallel_loops()):
        from . import loops                     # Note [Parallel loops] in _threads.py
        out = loops.matmul(a, b)
        if out is not None:
            return out
    if (type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim < 3 or a.shape[:-2] != b.shape[:-2]
            or a.shape[0] < _BATCH_MIN_MATRICES or a.size * b.shape[-1] < _ONE_THREAD_MIN_PRODUCTS):
        return _xp.array_module(a).matmul(a, b)
    from .conv import split_batch
    from .._threads import single_threaded_blas
    out = np.empty(a.shape[:-1] + b.shape[-1:], np.result_type(a, b))

    def half(lo, hi):
        np.matmul(a[lo:hi], b[lo:hi], out=out[lo:hi])
    with single_threaded_blas():
        if out.size * a.shape[-1] < _SPLIT_MIN_PRODUCTS:       # a thread hand-off costs more than it saves
            half(0, a.shape[0])
        else:
            split_batch(half, a.shape[0], out.size, a)
    return out


class Mm(Function):
    """out = a @ b for matrices (and batched, broadcast matrices)"""
    _node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        ctx.layouts = (_transposed(a._data), _transposed(b._data))
        return _matmul_arrays(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):                     # dA = grad B^T, dB = A^T grad
        a, b = ctx.saved_tensors
        ga = _mat1_grad(grad, b, ctx.layouts[0]) if ctx.needs_input_grad[0] else None
        gb = _mat2_grad(a, grad, ctx.layouts[1]) if ctx.needs_input_grad[1] else None
        return ga, gb


class Bmm(Mm):
    _node_name = "BmmBackward0"


class Mv(Function):
    """out = M @ v"""
    _node_name = "MvBackward0"

    @staticmethod
    def forward(ctx, m, v):
        ctx.save_for_backward(m, v)
        return _matmul_arrays(m._data, v._data)

    @staticmethod
    def backward(ctx, grad):                     # dM = grad v^T, dv = M^T grad
        m, v = ctx.saved_tensors
        gm = outer(grad, _conj(v)) if ctx.needs_input_grad[0] else None
        gv = _conj(m).mT.mv(grad) if ctx.needs_input_grad[1] else None
        return gm, gv


class Dot(Function):
    """out = sum(a * b) for vectors"""
    _node_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp.array_module(a._data).asarray(_xp.array_module(a._data).dot(a._data, b._data))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * _conj(b), grad * _conj(a)


@register("mm")
def mm(input, mat2, *, out=None):
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _same_dtype("mm", input, mat2)
    if recording(input, mat2):
        return _product_out(Mm.apply(input, mat2), out, input)
    return _product_out(_make(_matmul_arrays(input._data, mat2._data)), out, input)


@register("mv")
def mv(input, vec, *, out=None):
    _check_mv(input, vec)
    if out is not None and out.dtype is not input.dtype:     # mv runs on addmv, with out as its self
        raise RuntimeError(_addmv_dtype_mismatch(out.dtype, input.dtype, vec.dtype))
    return _out(Mv.apply(input, vec), out)


def _check_mv(input, vec, self_dtype=None):
    """self_dtype: addmv's self; mv adds into a result of vec's dtype."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}),"
                           f" vec ({vec.shape[0]})")
    self_dtype = vec.dtype if self_dtype is None else self_dtype
    if not (self_dtype is input.dtype is vec.dtype):
        raise RuntimeError(_addmv_dtype_mismatch(self_dtype, input.dtype, vec.dtype))
    _same_dtype("mv", input, vec)


@register("bmm")
def bmm(input, mat2, *, out=None):
    _check_bmm(input, mat2)
    return _product_out(Bmm.apply(input, mat2), out, input)


def _check_bmm(input, mat2):
    if input.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError(f"batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    _same_dtype("bmm", input, mat2)


@register("dot")
def dot(input, tensor, *, out=None):
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{tensor.shape[0]}] to have the same number of elements, but got {input.shape[0]} and "
                           f"{tensor.shape[0]} elements respectively")
    _same_dtype("dot", input, tensor)
    if out is not None and out.dtype is not input.dtype:
        raise RuntimeError(f"result dtype {_w(out.dtype)} does not match input dtype {_w(input.dtype)}")
    return _out(Dot.apply(input, tensor), out)


@register("vdot")
def vdot(input, other, *, out=None):
    return dot(_conj(input), other, out=out)


@register("inner")
@handles_out
def inner(input, other, *, out=None):
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return matmul(input, other.movedim(-1, 0) if other.ndim > 1 else other) if other.ndim <= 2 else \
        tensordot(input, other, dims=([-1], [-1]))


@register("matmul")
def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch broadcasting rules for 1-D and batched operands."""
    if not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
    a, b = input._data, other._data
    if (a.ndim == 2 and b.ndim == 2 and out is None and a.dtype == b.dtype and a.dtype.kind in "fc"
            and a.shape[1] == b.shape[0]
            and (type(a) is np.ndarray and type(b) is np.ndarray
                 or type(a) is not np.ndarray and type(b) is not np.ndarray and _xp.device_of(a) is _xp.device_of(b))):
        # the common 2-D product, checked once: a layer's forward, or a backward pass without a graph
        if recording(input, other):
            return Mm.apply(input, other)
        return _make(_matmul_arrays(a, b))
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    _same_dtype("matmul", input, other)
    if da == 1 and db == 1:
        return dot(input, other, out=out)
    if da == 2 and db == 1:
        return mv(input, other, out=out)
    if da == 1 and db == 2:
        if input.shape[0] != other.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied (1x{input.shape[0]} and "
                               f"{other.shape[0]}x{other.shape[1]})")
        return _product_out(mv(other.t(), input), out, input)
    if da == 2 and db == 2:
        return mm(input, other, out=out)
    a = input.unsqueeze(0) if da == 1 else input
    b = other.unsqueeze(-1) if db == 1 else other
    if a.shape[-1] != b.shape[-2]:
        nb = int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))) if a.ndim > 2 else 1
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {a.shape[-1]}] but got: [{nb}, {b.shape[-2]}].")
    broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))       # torch's message when they do not
    if recording(a, b):
        r = Bmm.apply(a, b) if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0] else Mm.apply(a, b)
    else:
        r = _make(_matmul_arrays(a._data, b._data))
    if da == 1:
        r = r.squeeze(-2)
    if db == 1:
        r = r.squeeze(-1)
    return _product_out(r, out, input)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)


@register("outer", "ger")
def outer(input, vec2, *, out=None):
    _check_outer(input, vec2)
    return _out(input.unsqueeze(1) * vec2.unsqueeze(0), out)


def _check_outer(input, vec2):
    for what, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {what}, but got {t.ndim}-D")


ger = outer


class Addmm(Function):
    """out = beta * input + alpha * (m1 @ m2)"""
    _node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, input, m1, m2, beta, alpha):
        ctx.save_for_backward(m1 if ctx.needs_input_grad[2] else None, m2 if ctx.needs_input_grad[1] else None)
        ctx.beta, ctx.alpha = beta, alpha
        ctx.layouts = (_transposed(m1._data), _transposed(m2._data))
        xp = _xp.array_module(m1._data)
        a, b, c = m1._data, m2._data, input._data
        half = half_on_cpu(a, b, c)        # Note [float16 products on the CPU]: rounded once, at the end
        if half:
            a, b, c = a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)
        prod = _matmul_arrays(a, b)
        if alpha != 1:
            prod *= alpha
        if beta == 0:
            if prod.shape != np.broadcast_shapes(prod.shape, c.shape):
                prod = xp.broadcast_to(prod, np.broadcast_shapes(prod.shape, c.shape)).copy()
        else:
            prod += c if beta == 1 else c * beta
        return prod.astype(np.float16) if half else prod

    @staticmethod
    def backward(ctx, grad):
        m1, m2 = ctx.saved_tensors
        gi = (grad if ctx.beta == 1 else grad * ctx.beta) if ctx.needs_input_grad[0] else None
        g1 = g2 = None
        if ctx.needs_input_grad[1]:
            g1 = _mat1_grad(grad, m2, ctx.layouts[0])
            if ctx.alpha != 1:
                g1 = g1 * ctx.alpha
        if ctx.needs_input_grad[2]:
            g2 = _mat2_grad(m1, grad, ctx.layouts[1])
            if ctx.alpha != 1:
                g2 = g2 * ctx.alpha
        return gi, g1, g2, None, None


@register("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError("mat1 must be a matrix, got {}-D tensor".format(mat1.ndim) if mat1.ndim != 2 else
                           "mat2 must be a matrix, got {}-D tensor".format(mat2.ndim))
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _addmm_dtypes(input, mat1, mat2)
    check_same_device("addmm", input, mat1)
    target = (mat1.shape[0], mat2.shape[1])
    if tuple(input.shape) != target and (input.ndim > 2 or any(
            n != t and n != 1 for n, t in zip(input.shape[::-1], target[::-1]))):
        from .views import expand
        expand(input.detach(), target)      # input must expand to the product's shape: torch's errors
    return _product_out(Addmm.apply(input, mat1, mat2, beta, alpha), out, mat1)


Tensor.addmm_ = lambda self, mat1, mat2, *, beta=1, alpha=1: self.copy_(addmm(self, mat1, mat2, beta=beta,
                                                                                alpha=alpha))


class _AddProduct(Function):
    """out = beta * input + alpha * product(a, b); with beta = 0, input is ignored (its NaN and inf do not
    propagate), as in PyTorch. Subclasses give the product and its two gradients."""

    @classmethod
    def forward(cls, ctx, input, a, b, beta, alpha):
        ctx.save_for_backward(a if ctx.needs_input_grad[2] else None, b if ctx.needs_input_grad[1] else None)
        ctx.beta, ctx.alpha = beta, alpha
        x, y, c = a._data, b._data, input._data
        if half_on_cpu(x, y, c):           # Note [float16 products on the CPU]
            return cls.combine_half(c, x, y, beta, alpha)
        return cls.combine(c, x, y, beta, alpha)

    @classmethod
    def combine_half(cls, c, x, y, beta, alpha):
        """combine for float16 NumPy arrays, as PyTorch's CPU kernel rounds: here in float32, once."""
        f32 = np.float32
        return cls.combine(c.astype(f32), x.astype(f32), y.astype(f32), beta, alpha).astype(np.float16)

    @classmethod
    def combine(cls, c, x, y, beta, alpha):
        """beta * c + alpha * product(x, y), for arrays."""
        out = cls.product(_xp.array_module(x), x, y)
        if alpha != 1:
            out *= scalar_as(alpha, _BY_NP[out.dtype])
        if beta == 0:
            return out
        out += c if beta == 1 else c * scalar_as(beta, _BY_NP[out.dtype])
        return out

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        gi = (grad if ctx.beta == 1 else grad * ctx.beta) if ctx.needs_input_grad[0] else None
        ga = cls.grad_a(grad, b) if ctx.needs_input_grad[1] else None
        gb = cls.grad_b(grad, a) if ctx.needs_input_grad[2] else None
        if ctx.alpha != 1:
            ga = ga * ctx.alpha if ga is not None else None
            gb = gb * ctx.alpha if gb is not None else None
        return gi, ga, gb, None, None


class Addmv(_AddProduct):
    """out = beta * input + alpha * (mat @ vec)"""
    _node_name = "AddmvBackward0"
    product = staticmethod(lambda xp, m, v: _matmul_arrays(m, v))
    grad_a = staticmethod(lambda grad, v: outer(grad, _conj(v)))
    grad_b = staticmethod(lambda grad, m: _conj(m).mT.mv(grad))


class Addr(_AddProduct):
    """out = beta * input + alpha * outer(vec1, vec2)"""
    _node_name = "AddrBackward0"
    product = staticmethod(lambda xp, u, v: xp.multiply.outer(u, v))
    grad_a = staticmethod(lambda grad, v: grad.mv(_conj(v)))
    grad_b = staticmethod(lambda grad, u: grad.mT.mv(_conj(u)))

    @staticmethod
    def combine_half(c, u, v, beta, alpha):
        # PyTorch's elementwise kernel, (alpha * u) * v + beta * c, rounding to float16 at each step
        out = np.multiply.outer(np.float16(alpha) * u, v)
        return out if beta == 0 else out + np.float16(beta) * c


class Baddbmm(_AddProduct):
    """out = beta * input + alpha * bmm(batch1, batch2)"""
    _node_name = "BaddbmmBackward0"
    product = staticmethod(lambda xp, a, b: _matmul_arrays(a, b))
    grad_a = staticmethod(lambda grad, b: grad.bmm(_conj(b).mT))
    grad_b = staticmethod(lambda grad, a: _conj(a).mT.bmm(grad))


class Addbmm(_AddProduct):
    """out = beta * input + alpha * sum_b batch1[b] @ batch2[b]"""
    _node_name = "AddbmmBackward0"
    product = staticmethod(lambda xp, a, b: xp.matmul(a, b).sum(0, dtype=a.dtype))     # (NumPy widens small ints)
    grad_a = staticmethod(lambda grad, b: grad.expand(b.shape[0], *grad.shape).bmm(_conj(b).mT))
    grad_b = staticmethod(lambda grad, a: _conj(a).mT.bmm(grad.expand(a.shape[0], *grad.shape)))

    @staticmethod
    def combine_half(c, x, y, beta, alpha):
        # PyTorch adds the batches' products one at a time onto beta * input, each in float32 and rounded
        # to float16
        shape = x.shape[1:2] + y.shape[2:]
        out = (np.broadcast_to(c.astype(np.float32) * np.float32(beta), shape) if beta != 0
               else np.zeros(shape, np.float32)).astype(np.float16)
        for xk, yk in zip(x.astype(np.float32), y.astype(np.float32)):
            out = (out.astype(np.float32) + np.float32(alpha) * (xk @ yk)).astype(np.float16)
        return out


def _addmm_dtypes(input, mat1, mat2):
    """addmm's (and addbmm's) dtype checks, in PyTorch's order: self against mat2, then mat1 against mat2."""
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_w(input.dtype)} and {_w(mat2.dtype)}")
    _same_dtype("addmm", mat1, mat2)


def _add_product(fn_cls, name, input, a, b, beta, alpha, out_shape):
    if input.dtype is not a.dtype:
        raise RuntimeError(f"{name}: expected self and the product to have the same dtype, but got "
                           f"{_w(input.dtype)} and {_w(a.dtype)}")
    check_same_device(name, input, a)
    try:
        shape = np.broadcast_shapes(tuple(input.shape), out_shape)
    except ValueError:
        raise RuntimeError(f"{name}: the size of self {list(input.shape)} does not broadcast to the size of the "
                           f"product {list(out_shape)}") from None
    if shape != out_shape:
        raise RuntimeError(f"{name}: the expanded size of self {list(shape)} must match the size of the product "
                           f"{list(out_shape)}")
    return fn_cls.apply(input, a, b, beta, alpha)


@register("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec)"""
    _check_mv(mat, vec, input.dtype)
    return _product_out(_add_product(Addmv, "addmv", input, mat, vec, beta, alpha, (mat.shape[0],)), out, mat)


@register("addr")
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2)"""
    _check_outer(vec1, vec2)
    check_same_device("addr", input, vec1, vec2)
    common = _dtype.result_type(input, vec1, vec2)      # unlike the other products, addr promotes its operands
    for name, scalar in (("beta", beta), ("alpha", alpha)):
        if isinstance(scalar, bool) and common is not _dtype.bool:
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if isinstance(scalar, float) and not (common.is_floating_point or common.is_complex):
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    input, vec1, vec2 = (t.to(common) for t in (input, vec1, vec2))     # (a boolean addr is logical: or of ands)
    return _out(_add_product(Addr, "addr", input, vec1, vec2, beta, alpha, (vec1.shape[0], vec2.shape[0])), out)


@register("baddbmm")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * bmm(batch1, batch2)"""
    if input.dtype is not batch1.dtype:      # checked before batch1 against batch2, as PyTorch does
        raise RuntimeError(f"Input dtypes must be the same, got: input {_C_NAMES[input.dtype.name]}, batch1: "
                           f"{_C_NAMES[batch1.dtype.name]}, batch2: {_C_NAMES[batch2.dtype.name]}")
    _check_bmm(batch1, batch2)
    shape = (batch1.shape[0], batch1.shape[1], batch2.shape[2])
    return _product_out(_add_product(Baddbmm, "baddbmm", input, batch1, batch2, beta, alpha, shape), out, batch1)


@register("addbmm")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]"""
    _addmm_dtypes(input, batch1, batch2)     # PyTorch's addbmm runs on addmm: its messages are addmm's
    _check_bmm(batch1, batch2)
    shape = (batch1.shape[1], batch2.shape[2])
    return _out(_add_product(Addbmm, "addbmm", input, batch1, batch2, beta, alpha, shape), out)


def _inplace(fn):
    def method(self, *args, beta=1, alpha=1):
        return self.copy_(fn(self, *args, beta=beta, alpha=alpha))
    method.__name__ = fn.__name__ + "_"
    return method


Tensor.addmv_ = _inplace(addmv)
Tensor.addr_ = _inplace(addr)
Tensor.baddbmm_ = _inplace(baddbmm)
Tensor.addbmm_ = _inplace(addbmm)


def chain_matmul(*matrices, out=None):
    from .._legacy import _warn_once     # _legacy imports this module
    _warn_once("chain_matmul", "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
               "Use torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
               "parameters.")
    return _out(_chain_matmul(*matrices), out)


def _chain_matmul(*matrices):
    from ..linalg import multi_dot
    return multi_dot(list(matrices))


# -- einsum and tensordot: built from permute/reshape/matmul, so autograd comes for free --------
def _sublist_equation(args):
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]) -> ("AB,BC->AC", [op0, op1]); 0-25 are A-Z, 26-51 a-z."""
    def letters(sub):
        out = ""
        for n in sub:
            if n is Ellipsis:
                out += "..."
            elif isinstance(n, int) and 0 <= n < 52:
                out += chr(ord("A") + n) if n < 26 else chr(ord("a") + n - 26)
            else:
                raise ValueError(f"einsum(): expected subscript to be within the range [0, 52), but got {n}")
        return out
    ops, terms = list(args[0::2]), [letters(sub) for sub in args[1::2]]
    rhs = None
    if len(args) % 2 == 1:                      # a trailing sublist names the output
        rhs = letters(args[-1])
        ops = ops[:-1]
    eq = ",".join(terms[:len(ops)]) + ("->" + rhs if rhs is not None else "")
    return eq, ops


def einsum(equation, *operands):
    """Einstein summation, computed by pairwise contraction into matmuls (differentiable)."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    # PyTorch's order of checks: the inputs' subscripts, their counts, the output's, then the sizes
    terms = _einsum_input_subscripts(equation, len(operands))
    ell_len = 0
    for k, (t, op) in enumerate(zip(terms, operands)):
        n = len(t) - ("..." in t)
        if n > op.ndim if "..." in t else n != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) "
                               + (f"is more than the number of dimensions ({op.ndim}) for operand {k}"
                                  if "..." in t else
                                  f"does not match the number of dimensions ({op.ndim}) for operand {k} and no "
                                  f"ellipsis was given"))
        if "..." in t:
            ell_len = max(ell_len, op.ndim - n)
    rhs = _einsum_output_subscripts(equation, terms)
    _einsum_check_sizes(terms, operands, ell_len)
    # an ellipsis becomes fresh letters, right-aligned across the operands as in broadcasting
    used = set(c for t in terms for c in t if c != "...")
    free = [c for c in _EINSUM_LETTERS if c not in used]
    if len(free) < ell_len:
        raise NotImplementedError("einsum(): an ellipsis beside this many distinct subscripts is not supported")
    ell = "".join(free[:ell_len])
    terms = ["".join(ell[ell_len - (op.ndim - len(t) + 1):] if c == "..." else c for c in t)
             for t, op in zip(terms, operands)]
    if rhs is None:             # implicit output: the ellipsis, then the letters seen once, A-Z before a-z
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        rhs = "".join(ell if c == "..." else c for c in rhs)
    diag = [_einsum_diag(op, t) for op, t in zip(operands, terms)]
    ops, terms = [d[0] for d in diag], [d[1] for d in diag]
    cur, cur_t = ops[0], terms[0]
    for i in range(1, len(ops)):
        keep = set(rhs)
        for later in terms[i + 1:]:
            keep |= set(later)
        cur, cur_t = _contract(cur, cur_t, ops[i], terms[i], keep)
    # sum out letters not in the output
    extra = [i for i, c in enumerate(cur_t) if c not in rhs]
    if extra:
        cur = cur.sum(dim=extra)
        cur_t = "".join(c for c in cur_t if c in rhs)
    if cur_t != rhs:
        cur = cur.permute(*[cur_t.index(c) for c in rhs])
    return cur


_EINSUM_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_input_subscripts(equation, n_operands):
    """Each operand's subscripts in equation, a list of letters and "..." (spaces dropped)."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    terms, i = [[]], 0
    while i < len(lhs):
        c = lhs[i]
        if c == ".":
            if "..." in terms[-1]:
                raise RuntimeError(f"einsum(): found '.' for operand {len(terms) - 1} for which an ellipsis was "
                                   f"already found")
            if lhs[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {len(terms) - 1} that is not part of any "
                                   f"ellipsis")
            terms[-1].append("...")
            i += 2
        elif c == ",":
            if len(terms) == n_operands:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
            terms.append([])
        elif c != " ":
            if c not in _EINSUM_LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, "
                                   f"subscripts must be in [a-zA-Z]")
            terms[-1].append(c)
        i += 1
    if len(terms) < n_operands:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return terms


def _einsum_output_subscripts(equation, terms):
    """The output's subscripts after "->" (a list as the inputs'), None when the equation has no arrow."""
    arrow = equation.find("->")
    if arrow < 0:
        return None
    rhs, out, i = equation[arrow + 2:], [], 0
    while i < len(rhs):
        c = rhs[i]
        if c == ".":
            if "..." in out:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            if rhs[i:i + 3] != "...":
                raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis (...)")
            out.append("...")
            i += 2
        elif c != " ":
            if c not in _EINSUM_LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index {arrow + 2 + i} in the equation "
                                   f"string, subscripts must be in [a-zA-Z]")
            if c in out:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in t for t in terms):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   f"input operand")
            out.append(c)
        i += 1
    return out


def _einsum_check_sizes(terms, operands, ell_len):
    """A letter repeated in one operand names dims of one size; across operands, and in the ellipsis
    (right-aligned), sizes broadcast. Checked operand by operand, dim by dim, as PyTorch does."""
    sizes, ell_sizes = {}, [1] * ell_len
    for k, (t, op) in enumerate(zip(terms, operands)):
        first, d = {}, 0
        for c in t:
            if c == "...":
                n_ell = op.ndim - len(t) + 1
                for e in range(n_ell):
                    n, seen = op.shape[d + e], ell_sizes[ell_len - n_ell + e]
                    if n != seen and n != 1 and seen != 1:
                        raise RuntimeError(f"einsum(): dimension {e} covered by ellipsis in operand {k}has size "
                                           f"{n} which does not broadcast with previously seen ellipsis with size "
                                           f"{seen} for the respective dimension")
                    ell_sizes[ell_len - n_ell + e] = max(n, seen) if n != 1 and seen != 1 else n * seen
                d += n_ell
                continue
            n = op.shape[d]
            if c in first:
                if n != op.shape[first[c]]:
                    raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                                       f"match, {n} != {op.shape[first[c]]}")
            else:
                first[c] = d
                seen = sizes.get(c, 1)
                if n != seen and n != 1 and seen != 1:
                    raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                                       f"broadcast with previously seen size {seen}")
                sizes[c] = n if seen == 1 else seen
            d += 1


def _einsum_diag(op, t):
    """Repeated letters within one operand take the diagonal: (operand, its letters)."""
    while len(set(t)) != len(t):
        for i, c in enumerate(t):
            j = t.find(c, i + 1)
            if j > 0:
                op = op.diagonal(0, i, j)
                t = t[:i] + t[i + 1:j] + t[j + 1:] + c
                break
    return op, t


def _contract(a, ta, b, tb, keep):
    """Contract two operands over the letters they share that are not kept."""
    shared = [c for c in ta if c in tb]
    summed = [c for c in shared if c not in keep]
    batch = [c for c in shared if c in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    # sum letters that appear in only one operand and nowhere else
    a_sum = [c for c in a_only if c not in keep]
    b_sum = [c for c in b_only if c not in keep]
    if a_sum:
        a = a.sum(dim=[ta.index(c) for c in a_sum])
        ta = "".join(c for c in ta if c not in a_sum)
        a_only = [c for c in a_only if c not in a_sum]
    if b_sum:
        b = b.sum(dim=[tb.index(c) for c in b_sum])
        tb = "".join(c for c in tb if c not in b_sum)
        b_only = [c for c in b_only if c not in b_sum]
    a = a.permute(*[ta.index(c) for c in batch + a_only + summed])
    b = b.permute(*[tb.index(c) for c in batch + summed + b_only])
    if not summed:          # PyTorch multiplies then (promoting dtypes); a sum over shared letters is a bmm
        nb = len(batch)
        a = a.reshape(*a.shape, *[1] * len(b_only))
        b = b.reshape(*b.shape[:nb], *[1] * len(a_only), *b.shape[nb:])
        return a * b, "".join(batch + a_only + b_only)
    _same_dtype("bmm", a, b)
    bs = [max(a.shape[i], b.shape[i]) for i in range(len(batch))]
    na = a.shape[len(batch):len(batch) + len(a_only)]
    nb = b.shape[len(batch) + len(summed):]
    # a summed letter may have size 1 in one operand (it broadcasts): both expand to the larger size
    ks = [max(n, m) for n, m in zip(a.shape[len(batch) + len(a_only):],
                                    b.shape[len(batch):len(batch) + len(summed)])]
    import math
    A = a.expand(*bs, *na, *ks).reshape(*bs, math.prod(na), math.prod(ks))
    B = b.expand(*bs, *ks, *nb).reshape(*bs, math.prod(ks), math.prod(nb))
    out = A.matmul(B).reshape(*bs, *na, *nb)
    return out, "".join(batch + a_only + b_only)


def tensordot(a, b, dims=2, out=None):
    if isinstance(dims, Tensor) and dims.ndim == 0:
        dims = int(dims.item())
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        if isinstance(dims, Tensor):
            dims = dims.tolist()
        if len(dims) != 2:
            raise RuntimeError(f"tensordot expects dims to be a pair of dimension lists, got {dims}")
        da, db = dims
        da = [da] if isinstance(da, (int, np.integer)) else list(da)
        db = [db] if isinstance(db, (int, np.integer)) else list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    import math
    k = math.prod(a.shape[d] for d in da)
    A = a.permute(*(fa + da)).reshape(math.prod(a.shape[d] for d in fa), k)
    B = b.permute(*(db + fb)).reshape(k, math.prod(b.shape[d] for d in fb))
    r = A.mm(B).reshape(*[a.shape[d] for d in fa], *[b.shape[d] for d in fb])
    return _out(r, out)


@register("kron")
def kron(input, other, *, out=None):
    return _out(_kron(input, other), out)


def _kron(input, other):
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    inter_a, inter_b = [], []
    for n, m in zip(a.shape, b.shape):
        inter_a += [n, 1]
        inter_b += [1, m]
    r = a.reshape(inter_a) * b.reshape(inter_b)
    from .views import unsafe_view
    return unsafe_view(r, [n * m for n, m in zip(a.shape, b.shape)])
