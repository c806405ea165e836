"""grid_sample and affine_grid, as PyTorch's grid_sampler_2d / grid_sampler_3d and affine_grid_generator.

Each output point reads the input at a point of the grid, in normalized coordinates (-1 and 1 are the
input's edges, or its corner pixels' centers with align_corners; grid[..., 0] is x, the last spatial dim).
Its value is a sum over taps, input pixels near the point, weighted by products of 1-D weights along each
spatial dim: one tap (weight 1) for nearest, two (1 - t, t) for bilinear, four (cubic convolution,
A = -0.75) for bicubic, t being the point's offset from the tap before it. A tap outside the input reads
an extra zero slot after the input's pixels, so it adds nothing and gets no gradient.

Coordinates follow PyTorch's grid_sampler_compute_source_index: unnormalize; then 'border' clips to
[0, size - 1] and 'reflection' reflects about the borders and clips. The derivative of that map (0 where
clipped, the borders themselves counting as clipped; -1 where reflected an odd number of times) scales
the grid's gradient. Bicubic only unnormalizes: its taps, not its point, are clipped or reflected.

The gradients are written once, for arrays (the usual backward) and for Tensors (under create_graph,
so that they differentiate again: the weights are then functions of the grid).
"""
import itertools
import math
import numbers
import warnings

import numpy as np

from .. import _xp
from .._tensor import Tensor, _make
from ..autograd import grad_mode
from ..autograd.function import Function
from .._ops import creation as _creation
from .._ops._util import check_same_device, _type_word
from .._ops.indexing import GatherByKey, IndexPutAccumulate

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


# -- coordinates -------------------------------------------------------------------------------
def _scale(size, align):
    """d(pixel coordinate) / d(normalized coordinate)."""
    return (size - 1) / 2 if align else size / 2


def _unnormalize(u, size, align):
    """[-1, 1] -> [0, size - 1] (pixel centers) with align_corners, else [-0.5, size - 0.5] (edges)."""
    if align:
        return (u + 1) * _scale(size, align)
    return (u + 1) * _scale(size, align) - 0.5


def _clip(xp, s, size):
    # fmax/fmin send NaN to the border as PyTorch's CPU kernel does (its max(x, 0) drops NaN)
    return xp.fmin(xp.fmax(s, 0), size - 1)


def _reflect(xp, s, size, align):
    """s reflected into [0, size - 1] (about the pixel centers) or [-0.5, size - 0.5] (the edges), and
    the sign of the map's derivative."""
    if align and size == 1:                  # no span to reflect in: every point is pixel 0
        return xp.zeros_like(s), xp.zeros_like(s)
    low = 0.0 if align else -0.5
    twice_span = 2.0 * (size - 1) if align else 2.0 * size
    rel = s - low
    dist = xp.abs(rel)
    extra = dist - xp.trunc(dist / twice_span) * twice_span
    flipped = twice_span - extra
    one_more_flip = extra > flipped
    sign = 1 - 2 * (one_more_flip ^ (rel < 0)).astype(s.dtype)
    return xp.where(one_more_flip, flipped, extra) + low, sign


def _pad_coordinates(xp, s, size, padding, align):
    """PyTorch's compute_coordinates: where a pixel coordinate reads under the padding mode."""
    if padding == "border":
        return _clip(xp, s, size)
    if padding == "reflection":
        return _clip(xp, _reflect(xp, s, size, align)[0], size)
    return s


def _source_index(xp, u, size, padding, align):
    """PyTorch's grid_sampler_compute_source_index, with the derivative of the map (its _set_grad)."""
    s = _unnormalize(u, size, align)
    mult = _scale(size, align)
    if padding == "zeros":
        return s, mult
    if padding == "reflection":
        s, sign = _reflect(xp, s, size, align)
        mult = sign * mult
    inside = ((s > 0) & (s < size - 1)).astype(s.dtype)     # on the border itself counts as clipped
    return _clip(xp, s, size), inside * mult


# -- where each point reads ----------------------------------------------------------------------
class _Plan:
    """The taps of every output point, from the grid; points are numbered n * P + p (P per batch entry).

    offsets[a][j]: (N * P,) offset of tap j along spatial axis a (index * stride), ``outside`` for a tap
    outside the input; t[a]: (N * P,) fractional positions (None for nearest); mult[a]: d(source
    coordinate)/d(grid coordinate), an array or a number.
    """
    __slots__ = ("mode", "sizes", "n", "p", "offsets", "t", "mult", "outside")

    def __init__(self, xp, grid, sizes, mode, padding, align):
        nd = len(sizes)
        g = grid.reshape(-1, nd)
        self.mode, self.sizes = mode, tuple(sizes)
        self.n, self.p = grid.shape[0], math.prod(grid.shape[1:-1])
        self.outside = math.prod(sizes)
        self.offsets, self.t, self.mult = [], [], []
        for a, size in enumerate(sizes):
            u = g[:, nd - 1 - a]               # grid[..., 0] is x: the last spatial axis
            if mode == "bicubic":
                s = _unnormalize(u, size, align)
                first = xp.floor(s)
                taps = [_pad_coordinates(xp, first + j, size, padding, align) for j in (-1, 0, 1, 2)]
                t, mult = s - first, _scale(size, align)
            else:
                s, mult = _source_index(xp, u, size, padding, align)
                if mode == "nearest":
                    taps, t = [xp.rint(s)], None          # rounds half to even, as nearbyint
                else:
                    first = xp.floor(s)
                    taps, t = [first, first + 1], s - first
            stride = math.prod(sizes[a + 1:])
            self.offsets.append([self._offset(xp, c, size, stride) for c in taps])
            self.t.append(t)
            self.mult.append(mult)

    def _offset(self, xp, c, size, stride):
        inside = (c >= 0) & (c <= size - 1)              # False for NaN
        index = xp.where(inside, c, 0).astype(np.int64)
        return xp.where(inside, index * stride, self.outside)

    def rows(self, xp):
        """Per combined tap (the order of itertools.product over the axes), the (N * P,) rows it reads in
        the padded input (N * (pixels + 1), C): past the input (its batch entry's zero row) when any of its
        1-D taps is, since the offsets of one that is then sum to outside or more."""
        batch = xp.repeat(xp.arange(self.n, dtype=np.int64) * (self.outside + 1), self.p)
        for taps in itertools.product(*self.offsets):
            total = taps[0]
            for more in taps[1:]:
                total = total + more
            yield xp.minimum(total, self.outside) + batch


def _cubic_slopes(t):
    """d/dt of the cubic convolution's 4 tap weights (interpolate's _cubic_weights, A = -0.75, as PyTorch)."""
    from .functional import _CUBIC_A as a          # functional imports this module: not at the top

    def near(x):                     # |x| <= 1
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):                      # 1 < |x| < 2
        return (3 * a * x - 10 * a) * x + 8 * a
    return far(t + 1), near(t), -near(1 - t), -far(2 - t)


def _axis_weights(mode, t):
    """(weights, their derivatives in t) of the 1-D taps along one axis; None stands for a weight 1."""
    if mode == "nearest":
        return (None,), (0,)
    if mode == "bilinear":
        return (1 - t, t), (-1, 1)
    from .functional import _cubic_weights
    return _cubic_weights(t), _cubic_slopes(t)


def _product(factors):
    """The product of factors, None (1) when all are None."""
    out = None
    for f in factors:
        if f is not None:
            out = f if out is None else out * f
    return out


def _tap_weights(mode, ts, slopes=False):
    """Per combined tap (in the order of _Plan.rows): its weight, and with slopes its
    derivative along each axis."""
    per_axis = [_axis_weights(mode, t) for t in ts]
    for js in itertools.product(*(range(len(w)) for w, _ in per_axis)):
        ws = [per_axis[a][0][j] for a, j in enumerate(js)]
        if not slopes:
            yield _product(ws), None
            continue
        yield _product(ws), [_product(ws[:a] + [per_axis[a][1][j]] + ws[a + 1:]) for a, j in enumerate(js)]


# -- the same formulas on arrays and on Tensors ----------------------------------------------------
# Taps read the input as rows (N * (pixels + 1), C), channels last, a zero row after each batch entry's
# pixels: a tap reads whole rows. They add their gradients to the input channels first, (N, C, pixels + 1):
# NumPy's add.at is fastest on scattered flat indices, and the output's gradient is channels first already.
class _Arrays:
    """On NumPy/CuPy arrays."""

    def __init__(self, xp):
        self.xp = xp
        # the rows are in range by construction: NumPy's 'wrap' skips its bounds check (CuPy has none)
        self.take = {"mode": "wrap"} if xp is np else {}

    def to_rows(self, x):
        """(N, C, Q) -> rows (N * Q, C)."""
        n, c, q = x.shape
        return x.transpose(0, 2, 1).reshape(n * q, c)

    def rows_of(self, x):
        """(N, C, *spatial) -> padded rows (N * (pixels + 1), C)."""
        xp = self.xp
        n, c = x.shape[:2]
        size = math.prod(x.shape[2:])
        pixels = x.reshape(n, c, size).transpose(0, 2, 1)
        return xp.concatenate((pixels, xp.zeros((n, 1, c), x.dtype)), axis=1).reshape(n * (size + 1), c)

    def from_rows(self, rows, n, shape):
        """Rows (N * P, C) -> (N, C, *shape)."""
        c = rows.shape[1]
        out = rows.reshape(n, math.prod(shape), c).transpose(0, 2, 1)
        return self.xp.ascontiguousarray(out).reshape((n, c) + tuple(shape))

    def gather(self, src, rows):
        return self.xp.take(src, rows, axis=0, **self.take)

    def row_dot(self, a, b):
        """(M, C), (M, C) -> (M,): one pass, no (M, C) product."""
        return self.xp.einsum("ij,ij->i", a, b)

    def scatter(self, shape, indices, values):
        """zeros(shape) plus each values[i] at the flat indices indices[i] (repeats accumulate)."""
        out = self.xp.zeros(math.prod(shape), values[0].dtype)
        for index, v in zip(indices, values):
            _xp.scatter_add(out, index.reshape(-1), v.reshape(-1))
        return out.reshape(shape)

    def stack(self, parts):
        return self.xp.stack(parts, axis=-1)

    def constant(self, a):
        return a


class _Tensors:
    """The same on Tensors, recorded by autograd (the indices are built in range: no checks, no reads)."""

    def to_rows(self, x):
        n, c, q = x.shape
        return x.transpose(1, 2).reshape(n * q, c)

    def rows_of(self, x):
        n, c = x.shape[:2]
        size = math.prod(x.shape[2:])
        zeros = _creation.zeros((n, 1, c), dtype=x.dtype, device=x.device)
        return _f().cat((x.reshape(n, c, size).transpose(1, 2), zeros), 1).reshape(n * (size + 1), c)

    def gather(self, src, rows):
        return _Take.apply(src, (rows,))

    def row_dot(self, a, b):
        return (a * b).sum(1)

    def scatter(self, shape, indices, values):
        key = (_xp.array_module(indices[0]).concatenate([i.reshape(-1) for i in indices]),)
        flat = _AddAt.apply(_f().cat([v.reshape(-1) for v in values]), (math.prod(shape),), key)
        return flat.reshape(shape)

    def stack(self, parts):
        return _f().stack(parts, -1)

    def constant(self, a):
        """An array or a number as an operand of Tensors (not converted through the host)."""
        return a if isinstance(a, numbers.Number) else _make(a)


# Gather and scatter by raw index arrays, each the other's backward: differentiable to any order with no
# read by the host (Tensor indexing, which IndexPutAccumulate's backward uses, checks the key on the host).
class _Take(GatherByKey):
    @staticmethod
    def backward(ctx, grad):
        return _AddAt.apply(grad, ctx.shape, ctx.key), None


class _AddAt(IndexPutAccumulate):
    @staticmethod
    def backward(ctx, grad):
        return _Take.apply(grad, ctx.key), None, None


def _f():
    import flambeau
    return flambeau


def _scaled(v, w, shape):
    """v times the per-point weights w (N * P,) reshaped to shape (None: 1)."""
    if w is None:
        return v
    return v * (w if isinstance(w, numbers.Number) else w.reshape(shape))


def _sample(ops, xp, src, plan):
    """Output rows (N * P, C): the sum over taps of weight * the input's row at the tap."""
    out = None
    for rows, (w, _) in zip(plan.rows(xp), _tap_weights(plan.mode, plan.t)):
        term = _scaled(ops.gather(src, rows), w, (-1, 1))
        out = term if out is None else out + term
    return out


def _gradients(ops, xp, go, src, plan, ts, need_input, need_grid):
    """Gradients of _sample for the output's gradient go (N, C, P): for the padded input channels first
    (N, C, pixels + 1), and per axis for the grid's coordinates (N * P,). src, the padded input rows, is
    needed for the grid's only."""
    n, c, p = go.shape
    size = plan.outside + 1
    indices, values = [], []
    per_axis = [None] * len(plan.sizes)
    slopes = need_grid and plan.mode != "nearest"
    if need_input:      # row r = n * size + offset -> flat index (n * C + channel) * size + offset
        base = ((xp.arange(n, dtype=np.int64) * (c - 1))[:, None] + xp.arange(c, dtype=np.int64)) * size
        base = base[:, :, None]
    if slopes:
        go_rows = ops.to_rows(go)
    for rows, (w, dw) in zip(plan.rows(xp), _tap_weights(plan.mode, ts, slopes)):
        if need_input:
            indices.append(rows.reshape(n, 1, p) + base)
            values.append(_scaled(go, w, (n, 1, p)))
        if slopes:
            r = ops.row_dot(go_rows, ops.gather(src, rows))
            for a, d in enumerate(dw):
                term = d * r
                per_axis[a] = term if per_axis[a] is None else per_axis[a] + term
    grad_src = ops.scatter((n, c, size), indices, values) if need_input else None
    if slopes:                      # d(source coordinate)/d(grid coordinate)
        per_axis = [g * ops.constant(m) for g, m in zip(per_axis, plan.mult)]
    return grad_src, per_axis


# -- the Functions -----------------------------------------------------------------------------------
class _GridSampler(Function):
    """out[n, c, p] = sum over the taps of grid point p of weight * input."""
    _node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, input, grid, mode, padding, align):
        x, g = input._data, grid._data
        xp = _xp.array_module(x)
        plan = _Plan(xp, g, x.shape[2:], mode, padding, align)
        ops = _Arrays(xp)
        out = _sample(ops, xp, ops.rows_of(x), plan)
        if any(ctx.needs_input_grad[:2]):
            ctx.save_for_backward(input, grid)
            ctx.plan = plan
        return ops.from_rows(out, plan.n, g.shape[1:-1])

    @staticmethod
    def backward(ctx, grad):
        input, grid = ctx.saved_tensors
        plan = ctx.plan
        need_input, need_grid = ctx.needs_input_grad[:2]
        n, c = input.shape[:2]
        xp = _xp.array_module(input._data)
        if grad_mode.is_grad_enabled():         # create_graph: on Tensors, differentiable again
            ops, wrap, x, go = _Tensors(), _same, input, grad
            ts = _grid_positions(plan, grid)
        else:
            ops, wrap, x, go = _Arrays(xp), _make, input._data, grad._data
            ts = plan.t
        src = ops.rows_of(x) if need_grid and plan.mode != "nearest" else None
        grad_src, per_axis = _gradients(ops, xp, go.reshape(n, c, plan.p), src, plan, ts, need_input, need_grid)
        grad_input = grad_grid = None
        if need_input:              # the padding slots dropped
            grad_input = wrap(grad_src[:, :, :plan.outside].reshape(input.shape))
        if need_grid:
            if plan.mode == "nearest":          # piecewise constant in the grid
                grad_grid = _creation.zeros(grid.shape, dtype=grid.dtype, device=grid.device)
            else:                               # the axes' gradients stacked as the grid's (x first)
                grad_grid = wrap(ops.stack(per_axis[::-1]).reshape(grid.shape))
        return grad_input, grad_grid, None, None, None


def _same(t):
    return t


def _grid_positions(plan, grid):
    """The fractional positions t as Tensors of the grid: their values, their derivative mult."""
    nd = len(plan.sizes)
    g = grid.reshape(-1, nd)
    ts = []
    for a, (t, mult) in enumerate(zip(plan.t, plan.mult)):
        if t is None:                       # nearest
            ts.append(None)
            continue
        t_tensor = _make(t)
        if grid.requires_grad:
            u = g[:, nd - 1 - a]
            # adds 0: only the derivative is new
            t_tensor = t_tensor + _Tensors().constant(mult) * (u - u.detach())
        ts.append(t_tensor)
    return ts


def _check_arguments(input, grid, mode):
    """PyTorch's checks, in its order (check_grid_sampler_common, then _2d / _3d, then the dtypes)."""
    check_same_device("grid_sampler", input, grid)
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if grid.ndim == 0 or input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but "
                           f"got grid with sizes {list(grid.shape)}")
    for d in range(2, input.ndim):
        if input.shape[d] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {d} being empty")
    nd = 2 if input.ndim == 4 else 3
    if input.ndim != nd + 2 or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected {nd + 2}D input and grid with same number of dimensions, "
                           f"but got {sizes}")
    if nd == 3 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype.is_complex or not input.dtype.is_floating_point:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if nd == 2 else "grid_sampler3d_cpu"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_word(input._data.dtype)}'")
    if grid.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_type_word(input._data.dtype)} but found "
                           f"{_type_word(grid._data.dtype)}")
    return nd


def _type_name(value):
    """A type as PyTorch's argument errors name it (C's tp_name: module-qualified for static types outside
    builtins, as numpy.ndarray; the bare name for classes defined in Python)."""
    t = type(value)
    if t.__flags__ & (1 << 9) or t.__module__ == "builtins":     # Py_TPFLAGS_HEAPTYPE: a Python class
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample input (N, C, H, W) or (N, C, D, H, W) at the points of grid (N, H_out, W_out, 2) or
    (N, D_out, H_out, W_out, 3), normalized coordinates in [-1, 1] (x first); see the module's docstring."""
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    for position, (name, value) in enumerate((("input", input), ("grid", grid)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"grid_sampler(): argument '{name}' (position {position}) must be Tensor, not "
                            f"{_type_name(value)}")
    if not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"grid_sampler(): argument 'align_corners' (position 5) must be bool, not "
                        f"{_type_name(align_corners)}")
    nd = _check_arguments(input, grid, mode)
    fn = _GridSampler if nd == 2 else _GridSampler.named("GridSampler3DBackward0")
    return fn.apply(input, grid, mode, padding_mode, bool(align_corners))


# -- affine_grid ---------------------------------------------------------------------------------------
def _centers(n, align, dt):
    """PyTorch's linspace_from_neg_one: the normalized coordinates of n pixels, in dtype dt."""
    if n <= 1:
        return np.zeros(1, dt.np)
    steps = _creation._linspace_values(-1, 1, n, dt)
    if not align:
        steps = steps * dt.np.type(n - 1) / dt.np.type(n)
    return steps


def _base_grid(spatial, align, dt):
    """(pixels, nd + 1) rows (x, y[, z], 1) for every output pixel, x varying fastest."""
    axes = [_centers(s, align, dt) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")                  # over (D,) H, W
    columns = [m.reshape(-1) for m in mesh[::-1]]              # x (W) first
    columns.append(np.ones(math.prod(spatial), dt.np))
    return np.stack(columns, axis=1)


class _AffineGrid(Function):
    """grid[n, p] = theta[n] @ (x_p, y_p[, z_p], 1)."""
    _node_name = "AffineGridGeneratorBackward0"

    @staticmethod
    def forward(ctx, theta, base, shape):
        th = theta._data
        xp = _xp.array_module(th)
        base = xp.asarray(base) if xp is not np else base
        ctx.base = base
        return xp.matmul(base, th.transpose(0, 2, 1)).reshape(shape)

    @staticmethod
    def backward(ctx, grad):                # grad_theta[n] = grad[n]^T @ base
        n, nd = grad.shape[0], grad.shape[-1]
        g = grad.reshape(n, ctx.base.shape[0], nd)
        return g.transpose(1, 2).matmul(_make(ctx.base)), None, None


def affine_grid(theta, size, align_corners=None):
    """The sampling grid (N, H, W, 2) or (N, D, H, W, 3) of the affine maps theta (N, 2, 3) or (N, 3, 4) for an
    output of size (N, C, H, W) or (N, C, D, H, W), in grid_sample's normalized coordinates."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    nd = len(size) - 2
    if theta.ndim != 3 or theta.shape[-2] != nd or theta.shape[-1] != nd + 1:
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size {size}. "
                         f"Got {theta.shape}.")
    spatial = [int(s) for s in size[2:]]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n = int(size[0])
    if theta.shape[0] != n:                 # PyTorch's bmm of its (N, pixels, nd + 1) base grid with theta
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {nd + 1}] but "
                           f"got: [{theta.shape[0]}, {nd + 1}].")
    base = _base_grid(spatial, bool(align_corners), theta.dtype)
    return _AffineGrid.apply(theta, base, tuple([n] + spatial + [nd]))
