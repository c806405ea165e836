"""flambeau's own CUDA kernels (flambeau/cuda/_kernels.py), held to the array code they replace.

Without a GPU the kernels' CUDA source runs on the CPU (tests/_emulated_kernels.py), and nvcc,
where installed, compiles it for the GPU; on a GPU they run for real. Either way each kernel must
give what the array code gives: the same maxima and offsets bit for bit (NaN and ties included),
the same gradients, the same parameters after an SGD step.
"""
import shutil
import subprocess

import numpy as np
import pytest

import flambeau
from flambeau import nn
from flambeau._ops import pooling
from flambeau.cuda import _kernels

from conftest import CUDA_MODE

pytestmark = pytest.mark.skipif(not CUDA_MODE, reason="cuda runs are off")


@pytest.fixture
def array_code(monkeypatch):
    """A function running f(*args) with the kernels off, to get the array code's answer."""
    def run(f, *args):
        with monkeypatch.context() as m:
            m.setattr(_kernels, "_ENABLED", False)
            return f(*args)
    return run


def _launches():
    import _emulated_cupy
    return {k: v for k, v in _emulated_cupy.LAUNCHES.items() if k.startswith("RawKernel")}


def _input(rng, shape, dtype, special):
    x = rng.standard_normal(shape).astype(dtype)
    if special:      # ties, infinities and NaNs, where the offsets' rules show
        x = np.round(x)
        flat = x.reshape(-1)
        for value, share in ((np.nan, 0.05), (-np.inf, 0.1), (np.inf, 0.02)):
            flat[rng.random(flat.size) < share] = value
    return x


GEOMETRIES = [
    # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),       # the lecture's
    ((3, 3), (2, 2), (1, 1), (1, 1), False),
    ((3, 2), (1, 2), (1, 0), (1, 1), True),
    ((2, 3), (3, 1), (0, 1), (2, 1), True),
    ((3, 3), (1, 1), (1, 1), (2, 2), False),
    ((1, 1), (2, 2), (0, 0), (1, 1), True),
    ((4, 4), (3, 3), (2, 2), (1, 1), True),
    ((9, 8), (9, 8), (0, 0), (1, 1), False),       # one window over the whole plane
    ((5, 4), (2, 3), (2, 2), (1, 2), True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_max_pool2d_kernels_match_the_array_code(array_code, geometry, special, dtype):
    kernel, stride, padding, dilation, ceil_mode = geometry
    rng = np.random.default_rng(hash((geometry, special)) % 2**32)
    x = flambeau.tensor(_input(rng, (2, 3, 9, 8), dtype, special), device="cuda", requires_grad=True)

    def pool(x):
        y, idx = flambeau.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode,
                                                   return_indices=True)
        g = flambeau.tensor(rng_g.standard_normal(y.shape).astype(dtype), device="cuda")
        gx, = flambeau.autograd.grad(y, x, g)
        return y.detach().cpu().numpy(), idx.cpu().numpy(), gx.cpu().numpy()

    rng_g = np.random.default_rng(1)
    got = pool(x)
    rng_g = np.random.default_rng(1)
    want = array_code(pool, x)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_max_pool_runs_one_kernel_each_way():
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    x = flambeau.randn(4, 2, 8, 8, device="cuda", requires_grad=True)
    before = _launches()
    y = flambeau.nn.functional.max_pool2d(x, 2)
    y.sum().backward()
    after = _launches()
    assert after.get("RawKernel max_pool2d", 0) - before.get("RawKernel max_pool2d", 0) == 1
    assert after.get("RawKernel max_pool2d_backward", 0) - before.get("RawKernel max_pool2d_backward", 0) == 1


def test_max_pool_kernel_takes_non_contiguous_and_1d_and_3d(array_code):
    x = flambeau.randn(3, 2, 10, 12, device="cuda").transpose(2, 3)
    assert not x.is_contiguous()
    got = flambeau.nn.functional.max_pool2d(x, 3, 2, 1)
    want = array_code(flambeau.nn.functional.max_pool2d, x, 3, 2, 1)
    assert flambeau.equal(got, want)
    v = flambeau.randn(2, 3, 11, device="cuda")
    pool1d = flambeau.nn.functional.max_pool1d
    assert flambeau.equal(pool1d(v, 3, 2), array_code(pool1d, v, 3, 2))
    w = flambeau.randn(1, 2, 5, 6, 7, device="cuda")       # 3-D pooling stays array code
    assert flambeau.equal(flambeau.nn.functional.max_pool3d(w, 2).cpu(), flambeau.nn.functional.max_pool3d(w.cpu(), 2))


def test_max_pool_kernels_leave_other_dtypes_to_the_array_code():
    x = flambeau.randn(2, 2, 6, 6, device="cuda").half()
    assert not _kernels.usable(x._data)
    y = flambeau.nn.functional.max_pool2d(x, 2)
    assert flambeau.equal(y.float().cpu(), flambeau.nn.functional.max_pool2d(x.cpu().float(), 2))


def test_max_pool_double_backward_through_kernels(array_code):
    x = flambeau.randn(2, 2, 6, 7, device="cuda", dtype=flambeau.float64, requires_grad=True)

    def grads(x):
        y = flambeau.nn.functional.max_pool2d(x, 3, 2, 1)
        gx, = flambeau.autograd.grad((y * y).sum(), x, create_graph=True)
        gg, = flambeau.autograd.grad((gx * gx).sum(), x)
        return gx.detach(), gg
    got, want = grads(x), array_code(grads, x)
    assert flambeau.equal(got[0], want[0]) and flambeau.equal(got[1], want[1])


CONV_GEOMETRIES = [
    # input (N, C, H, W), weight (Co, C/G, kh, kw), stride, padding, dilation, groups
    ((4, 3, 8, 8), (5, 3, 5, 5), 1, 0, 1, 1),          # the lecture's second layer, smaller
    ((3, 4, 9, 7), (6, 2, 3, 3), 2, 1, 1, 2),
    ((2, 3, 10, 9), (4, 3, 3, 2), (1, 2), (2, 1), (2, 1), 1),
    ((3, 2, 7, 8), (4, 2, 4, 2), 1, "same", 1, 1),     # even kernel: more padding after than before
    ((2, 4, 6, 6), (4, 1, 3, 3), 1, 2, 3, 4),          # depthwise, windows mostly outside
    ((5, 1, 4, 4), (3, 1, 4, 4), 1, 0, 1, 1),          # one window over the whole plane
]


_RTOL = {flambeau.float32: 1e-5, flambeau.float64: 1e-12}


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_col2im_kernel_sums_as_the_array_code(geometry):
    # the input gradient's columns summed back into NCHW: the array code adds one kernel offset at a
    # time, the kernel gathers the offsets in that same order, so the sums round alike
    from flambeau._ops import conv
    xs, ws, stride, padding, dilation, groups = geometry
    kernel, n, c = ws[2:], xs[0], xs[1]
    geo = conv._geometry("conv2d", stride, padding, dilation, groups, kernel, 2)
    out = geo.out_size(xs[2:], kernel)
    rng = np.random.default_rng(0)
    cols = flambeau.tensor(rng.standard_normal((c * kernel[0] * kernel[1], out[0] * out[1] * n)), device="cuda")._data
    got = _kernels.col2im_batch_last(cols, xs[2:], n, kernel, geo.stride, geo.pad, geo.dilation, out)
    want = conv._col2im(cols.reshape((1, c) + kernel + out + (n,)), xs[2:], geo, "gemm")
    assert got.shape == want.shape and bool((got == want).all())


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_conv2d_kernels_match_the_array_code(array_code, geometry, with_bias, dtype):
    xs, ws, stride, padding, dilation, groups = geometry
    gen = flambeau.Generator().manual_seed(1)
    x = flambeau.randn(xs, generator=gen, dtype=dtype).cuda().requires_grad_()
    w = flambeau.randn(ws, generator=gen, dtype=dtype).cuda().requires_grad_()
    b = flambeau.randn(ws[0], generator=gen, dtype=dtype).cuda().requires_grad_() if with_bias else None

    def run():
        y = flambeau.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)
        grads = flambeau.autograd.grad((y * y).sum(), [x, w] + ([b] if with_bias else []))
        return [y.detach()] + list(grads)
    got, want = run(), array_code(run)
    # the same columns and products as the array code: equal bit for bit, but for the input's gradient,
    # which the array code makes as a full convolution where it can (another order of the same sums: their
    # rounding errors scale with the largest terms, not with each element, which may cancel to near zero)
    for k, (g, v) in enumerate(zip(got, want)):
        assert g.shape == v.shape
        scale = v.abs().max().item()
        assert flambeau.equal(g, v) if k != 1 else flambeau.allclose(g, v, rtol=0, atol=_RTOL[dtype] * scale)
    cpu = flambeau.nn.functional.conv2d(x.detach().cpu(), w.detach().cpu(),
                                        None if b is None else b.detach().cpu(), stride, padding, dilation, groups)
    assert flambeau.allclose(got[0].cpu(), cpu, rtol=1e-4, atol=1e-4)


def test_conv2d_kernels_take_non_contiguous_input_and_leave_1d_3d_and_half_to_the_array_code(array_code):
    conv2d = flambeau.nn.functional.conv2d
    x = flambeau.randn(3, 2, 7, 6, device="cuda").transpose(2, 3)
    w = flambeau.randn(4, 2, 3, 3, device="cuda")
    assert flambeau.equal(conv2d(x, w, padding=1), array_code(conv2d, x, w, None, 1, 1))
    v, k = flambeau.randn(3, 2, 9, device="cuda"), flambeau.randn(4, 2, 3, device="cuda")
    conv1d = flambeau.nn.functional.conv1d
    assert flambeau.equal(conv1d(v, k, padding=1), array_code(conv1d, v, k, None, 1, 1))
    h = flambeau.randn(3, 2, 6, 6, device="cuda").half()
    assert not _kernels.usable(h._data)
    assert flambeau.allclose(conv2d(h, w.half()).float().cpu(), conv2d(h.float().cpu(), w.cpu()), atol=2e-2)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_transpose2d_through_the_kernels(array_code, stride):
    # forward: a product and col2im (the array code: a full convolution at stride 1, its own col2im at 2);
    # backward: a convolution and a weight gradient, through the forward's kernels
    x = flambeau.randn(3, 4, 6, 5, device="cuda", dtype=flambeau.float64, requires_grad=True)
    w = flambeau.randn(4, 2, 3, 3, device="cuda", dtype=flambeau.float64, requires_grad=True)

    def run():
        y = flambeau.nn.functional.conv_transpose2d(x, w, stride=stride, padding=1)
        return [y.detach()] + list(flambeau.autograd.grad(y.square().sum(), [x, w]))
    got, want = run(), array_code(run)
    assert flambeau.allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    if stride == 2:
        assert flambeau.equal(got[0], want[0])         # the same sums in the same order
    for g, v in zip(got[1:], want[1:]):
        assert flambeau.allclose(g, v, rtol=1e-12, atol=1e-12)


def test_conv2d_step_launches_on_the_gpu_path():
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    x = flambeau.randn(4, 3, 8, 8, device="cuda", requires_grad=True)
    conv = nn.Conv2d(3, 5, 3, padding=1).cuda()
    conv(x).sum().backward()                         # the first call makes the gradients' buffers
    before = _launches()
    conv(x)
    after = _launches()
    # columns, one product, back to NCHW with the bias
    assert after.get("RawKernel im2col_batch_last", 0) - before.get("RawKernel im2col_batch_last", 0) == 1
    assert after.get("RawKernel batch_last_to_nchw", 0) - before.get("RawKernel batch_last_to_nchw", 0) == 1


def test_conv2d_backward_launches_on_the_gpu_path():
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    import _emulated_cupy
    x = flambeau.randn(4, 3, 8, 8, device="cuda", requires_grad=True)
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1).cuda()
    y = conv(x)
    gy = flambeau.ones_like(y)
    before = dict(_emulated_cupy.LAUNCHES)
    y.backward(gy)
    spent = {k: v - before.get(k, 0) for k, v in _emulated_cupy.LAUNCHES.items() if v != before.get(k, 0)}
    # gy made batch-last once for both products; the input's gradient gathered by col2im; the bias's summed
    assert spent == {"cupy.ascontiguousarray": 1, "cupy.matmul": 2, "RawKernel col2im_batch_last": 1,
                     "ndarray.sum": 1}, spent


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
def test_sgd_kernel_matches_the_array_code(array_code, dtype):
    def train(seed):
        flambeau.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).to("cuda", dtype)
        opt = flambeau.optim.SGD(model.parameters(), lr=0.1)
        x = flambeau.randn(5, 1, 8, 8, device="cuda", dtype=dtype)
        y = flambeau.tensor([0, 1, 2, 1, 0], device="cuda")
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().cpu() for p in model.parameters()]
    got, want = train(0), array_code(train, 0)
    for a, b in zip(got, want):
        assert flambeau.allclose(a, b, rtol=1e-6, atol=1e-7)     # fused or not: one rounding apart on a GPU


def test_sgd_kernel_updates_in_place_and_bumps_the_version():
    p = flambeau.ones(3, 4, device="cuda", requires_grad=True)
    p.grad = flambeau.full((3, 4), 2.0, device="cuda")
    storage, version = p.data_ptr(), p._version
    flambeau.optim.SGD([p], lr=0.25).step()
    assert p.data_ptr() == storage and p._version == version + 1
    assert flambeau.equal(p.detach().cpu(), flambeau.full((3, 4), 0.5))
    flambeau.optim.SGD([p], lr=0.25, maximize=True).step()
    assert flambeau.equal(p.detach().cpu(), flambeau.ones(3, 4))


@pytest.mark.parametrize("count", [1, 3, 8, 9, 17])
def test_sgd_kernel_updates_many_parameters_in_one_launch(count):
    gen = flambeau.Generator().manual_seed(3)
    sizes = [(i % 4) * 7 + (i % 3) if i else 5 for i in range(count)]     # the 13th is empty
    params = [flambeau.randn(n, generator=gen).cuda().requires_grad_() for n in sizes]
    for p in params:
        p.grad = flambeau.randn(p.shape, generator=gen).cuda()
    want = [(p.detach() - 0.125 * p.grad).cpu() for p in params]
    before = _launches().get("RawKernel sgd_update", 0)
    flambeau.optim.SGD(params, lr=0.125).step()
    for p, w in zip(params, want):
        assert flambeau.equal(p.detach().cpu(), w)
    if CUDA_MODE == "emulated":
        slots = _kernels.SGD_SLOTS
        assert _launches().get("RawKernel sgd_update", 0) - before == (count + slots - 1) // slots


def test_sgd_kernel_launches_per_dtype_and_one_by_one_for_parameters_sharing_memory():
    a = flambeau.zeros(4, device="cuda", requires_grad=True)
    b = flambeau.zeros(3, device="cuda", dtype=flambeau.float64, requires_grad=True)
    for p in (a, b):
        p.grad = flambeau.ones_like(p)
    before = _launches().get("RawKernel sgd_update", 0)
    flambeau.optim.SGD([a, b], lr=1.0).step()
    assert a.tolist() == [-1.0] * 4 and b.tolist() == [-1.0] * 3
    if CUDA_MODE == "emulated":
        assert _launches().get("RawKernel sgd_update", 0) - before == 2
    # two parameters over one storage: updated one after the other, each seeing the other's update
    base = flambeau.zeros(6, device="cuda")
    p, q = (nn.Parameter(base[:4]), nn.Parameter(base[2:]))
    p.grad, q.grad = flambeau.ones(4, device="cuda"), flambeau.ones(4, device="cuda")
    before = _launches().get("RawKernel sgd_update", 0)
    flambeau.optim.SGD([p, q], lr=1.0).step()
    assert base.tolist() == [-1.0, -1.0, -2.0, -2.0, -1.0, -1.0]
    if CUDA_MODE == "emulated":     # (the emulation runs threads in order: a race would not show)
        assert _launches().get("RawKernel sgd_update", 0) - before == 2


def test_sgd_kernel_takes_a_non_contiguous_gradient():
    p = flambeau.zeros(4, 3, device="cuda", requires_grad=True)
    g = flambeau.arange(12.0, device="cuda").reshape(3, 4)
    p.grad = g.t()
    flambeau.optim.SGD([p], lr=1.0).step()
    assert flambeau.equal(p.detach().cpu(), -flambeau.arange(12.0).reshape(3, 4).t())


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_gradient_kernels_match_the_array_code(array_code, name, dtype):
    gen = flambeau.Generator().manual_seed(5)
    x = (flambeau.randn(7, 9, generator=gen, dtype=dtype) * 4).cuda().requires_grad_()
    g = flambeau.randn(9, 7, generator=gen, dtype=dtype).cuda().t()            # not contiguous
    fn = getattr(flambeau, name)

    def grads():
        gx, = flambeau.autograd.grad(fn(x), x, g)
        return gx
    before = _launches().get(f"RawKernel {name}_backward", 0)
    got = grads()
    want = array_code(grads)
    exact = CUDA_MODE == "emulated"     # a GPU may fuse a multiply-add
    assert flambeau.equal(got, want) if exact else flambeau.allclose(got, want, rtol=1e-6, atol=1e-7)
    if CUDA_MODE == "emulated":
        assert _launches().get(f"RawKernel {name}_backward", 0) - before == 1
    # differentiated twice: the array code's ops, a graph of their own
    gx, = flambeau.autograd.grad(fn(x), x, g, create_graph=True)
    assert gx.requires_grad and flambeau.allclose(gx.detach(), got)
    assert flambeau.allclose(flambeau.autograd.grad(gx.sum(), x)[0], array_code(
        lambda: flambeau.autograd.grad(flambeau.autograd.grad(fn(x), x, g, create_graph=True)[0].sum(), x)[0]))


def test_emulated_raw_kernel_checks_argument_types():
    if CUDA_MODE != "emulated":
        pytest.skip("the emulated RawKernel's own checks")
    from _emulated_cupy import cupy_module as cp
    k = cp.RawKernel(_kernels.source("threshold_backward", np.float32), "threshold_backward")
    g, x, out = cp.ones(4, np.float32), cp.asarray(np.array([-1, 0, 1, 2], np.float32)), cp.zeros(4, np.float32)
    with pytest.raises(TypeError, match="needs a float32 scalar"):
        k((1,), (4,), (g, x, 0.5, out, np.int64(4)))            # a Python float is a double to CuPy
    with pytest.raises(TypeError, match="C-contiguous float32 array"):
        k((1,), (4,), (g, x.astype(np.float64), np.float32(0.5), out, np.int64(4)))
    with pytest.raises(TypeError, match="takes 5 arguments"):
        k((1,), (4,), (g, x, np.float32(0.5), out))
    k((1,), (4,), (g, x, np.float32(0.5), out, np.int64(4)))
    assert out.get().tolist() == [0, 0, 1, 1]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("name,dtype", [(name, dtype) for name in sorted(_kernels.SOURCES)
                                        for dtype in _kernels.dtypes(name)])
def test_kernel_sources_compile_for_the_gpu(tmp_path, name, dtype):
    """What NVRTC compiles on a GPU machine: no headers, device code only (nvcc checks the same C++)."""
    src = tmp_path / "k.cu"
    src.write_text(_kernels.source(name, dtype))
    done = subprocess.run(["nvcc", "--ptx", "-arch=sm_80", "-o", str(tmp_path / "k.ptx"), str(src)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f".entry {name}(" in (tmp_path / "k.ptx").read_text()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kernels_match_the_array_code(array_code, reduction, dtype):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((7, 5)).astype(dtype) * 4
    logits[2, 1] = np.nan           # a NaN row, an infinite row, a row of ties
    logits[4, 3] = np.inf
    logits[5] = 1.5
    target = flambeau.tensor([0, 4, 1, 2, 3, 2, 0], device="cuda")

    def loss_and_grad(x):
        x = x.detach().requires_grad_()
        loss = nn.functional.cross_entropy(x, target, reduction=reduction)
        g = flambeau.ones_like(loss) if reduction == "none" else None
        gx, = flambeau.autograd.grad(loss, x, g)
        return loss.detach().cpu().numpy(), gx.cpu().numpy()
    for x in (flambeau.tensor(logits, device="cuda"), flambeau.tensor(logits.T.copy(), device="cuda").t()):
        got, want = loss_and_grad(x), array_code(loss_and_grad, x)
        tol = 1e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(got[1], want[1], rtol=tol, atol=tol)


def test_cross_entropy_kernel_runs_once_and_gives_way_where_it_does_not_apply(array_code):
    x = flambeau.randn(6, 4, device="cuda", requires_grad=True)
    t = flambeau.tensor([0, 3, 1, 2, 2, 1], device="cuda")
    if CUDA_MODE == "emulated":
        before = _launches()
        nn.functional.cross_entropy(x, t).backward()
        after = _launches()
        assert after["RawKernel cross_entropy"] - before.get("RawKernel cross_entropy", 0) == 1
        assert after["RawKernel cross_entropy_backward"] - before.get("RawKernel cross_entropy_backward", 0) == 1
    # ignored targets, class weights, label smoothing, N-D inputs: the array code, same answers as the CPU
    ignored = flambeau.tensor([0, -100, 1, 2, -100, 1], device="cuda")
    cases = [dict(target=ignored), dict(target=t, weight=flambeau.rand(4, device="cuda")),
             dict(target=t, label_smoothing=0.1)]
    for kw in cases:
        cpu_kw = {k: v.cpu() if isinstance(v, flambeau.Tensor) else v for k, v in kw.items()}
        assert flambeau.allclose(nn.functional.cross_entropy(x, **kw).cpu(),
                                 nn.functional.cross_entropy(x.cpu(), **cpu_kw))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        nn.functional.cross_entropy(x, flambeau.tensor([0, 4, 1, 2, 2, 1], device="cuda"))


def test_cross_entropy_kernel_differentiates_twice(array_code):
    x = flambeau.randn(5, 3, device="cuda", dtype=flambeau.float64, requires_grad=True)
    t = flambeau.tensor([2, 0, 1, 1, 0], device="cuda")

    def second(x):
        gx, = flambeau.autograd.grad(nn.functional.cross_entropy(x, t), x, create_graph=True)
        return gx.detach(), flambeau.autograd.grad((gx ** 2).sum(), x)[0]
    got, want = second(x), array_code(second, x)
    assert flambeau.allclose(got[0], want[0], rtol=1e-13) and flambeau.allclose(got[1], want[1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
def test_threshold_backward_kernel_matches_the_array_code(array_code, dtype):
    x = flambeau.tensor([[-1.0, 0.0, -0.0, 2.0, float("nan")], [0.5, -3.0, float("inf"), -float("inf"), 1e-30]],
                        device="cuda", dtype=dtype)
    g = flambeau.tensor([[1.0, 2.0, 3.0, 4.0, 5.0], [float("inf"), 7.0, 8.0, float("nan"), 10.0]],
                        device="cuda", dtype=dtype)

    def grads(x):
        x = x.detach().requires_grad_()
        relu, = flambeau.autograd.grad(x.relu(), x, g)
        thr, = flambeau.autograd.grad(nn.functional.threshold(x, 0.5, -2.0), x, g)
        gx, = flambeau.autograd.grad(nn.functional.relu(x * x.detach()), x, g, create_graph=True)
        gg, = flambeau.autograd.grad(gx.nansum(), x, allow_unused=True)
        return [t.cpu() for t in (relu, thr, gx.detach(), gg if gg is not None else flambeau.zeros(1))]
    for a, b in zip(grads(x), array_code(grads, x)):
        assert flambeau.equal(a.nan_to_num(-7.0), b.nan_to_num(-7.0))
    if CUDA_MODE == "emulated":
        before = _launches().get("RawKernel threshold_backward", 0)
        y = x.detach().requires_grad_()
        y.relu().backward(g)
        assert _launches()["RawKernel threshold_backward"] == before + 1


def _optimizer_run(make, dtype, steps=4):
    """Parameters and optimizer state after a few steps of ``make(params)`` on cuda."""
    rng = np.random.default_rng(7)
    params = [flambeau.tensor(rng.standard_normal(s), device="cuda", dtype=dtype, requires_grad=True)
              for s in ((3, 5), (5,), (2, 3, 4))]
    opt = make(params)
    for k in range(steps):
        for p in params:
            p.grad = flambeau.tensor(rng.standard_normal(p.shape) * (k + 1), device="cuda", dtype=dtype)
        opt.step()
    state = [v.cpu() for s in opt.state.values() for v in s.values()
             if isinstance(v, flambeau.Tensor) and v.numel() > 1]
    return [p.detach().cpu() for p in params], state, [p._version for p in params]


OPTIMIZERS = {
    "sgd-momentum": lambda ps: flambeau.optim.SGD(ps, lr=0.1, momentum=0.9),
    "sgd-nesterov-wd": lambda ps: flambeau.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    "sgd-dampening-max": lambda ps: flambeau.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3, maximize=True),
    "adam": lambda ps: flambeau.optim.Adam(ps, lr=0.01),
    "adam-l2-amsgrad": lambda ps: flambeau.optim.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    "adam-beta1-large": lambda ps: flambeau.optim.Adam(ps, lr=0.01, betas=(0.3, 0.9), maximize=True),
    "adamw": lambda ps: flambeau.optim.AdamW(ps, lr=0.01, weight_decay=0.05),
}


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_kernels_match_the_array_code(array_code, name, dtype):
    got = _optimizer_run(OPTIMIZERS[name], dtype)
    want = array_code(_optimizer_run, OPTIMIZERS[name], dtype)
    assert len(got[1]) == len(want[1]) and got[2] == want[2]
    exact = CUDA_MODE == "emulated"     # the same roundings in the same order; a GPU may fuse a multiply-add
    for a, b in zip(got[0] + got[1], want[0] + want[1]):
        assert flambeau.equal(a, b) if exact else flambeau.allclose(a, b, rtol=1e-5, atol=1e-6)
    if CUDA_MODE == "emulated":
        before = sum(_launches().values())
        _optimizer_run(OPTIMIZERS[name], dtype, steps=1)
        assert sum(_launches().values()) - before == 1          # one launch for the three parameters


def test_adam_kernel_updates_many_parameters_in_few_launches(array_code):
    def run():
        gen = flambeau.Generator().manual_seed(11)
        sizes = [5, 0, 7, 3, 9, 1, 4, 6, 2]
        params = [flambeau.randn(n, generator=gen).cuda().requires_grad_() for n in sizes]
        params.append(flambeau.randn(4, generator=gen, dtype=flambeau.float64).cuda().requires_grad_())
        opt = flambeau.optim.Adam(params, lr=0.01, amsgrad=True)
        counts = []
        for k in range(3):
            for i, p in enumerate(params):
                # the fourth parameter misses the first step: its step count lags the others'
                p.grad = None if (i == 3 and k == 0) else flambeau.randn(p.shape, generator=gen, dtype=p.dtype).cuda()
            before = sum(_launches().values()) if CUDA_MODE == "emulated" else 0
            opt.step()
            counts.append(sum(_launches().values()) - before if CUDA_MODE == "emulated" else 0)
        return [p.detach().cpu() for p in params], counts
    (got, counts), (want, _) = run(), array_code(run)
    exact = CUDA_MODE == "emulated"
    for a, b in zip(got, want):
        assert flambeau.equal(a, b) if exact else flambeau.allclose(a, b, rtol=1e-5, atol=1e-6)
    if CUDA_MODE == "emulated":
        # the first step: 8 float32 parameters in 2 launches, the float64 one in its own; then the
        # lagging parameter's step count differs from the others', so it takes a launch of its own
        assert counts == [2 + 1, 2 + 1 + 1, 2 + 1 + 1]


@pytest.mark.parametrize("kernel,make", [
    ("sgd_momentum_update", lambda ps: flambeau.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("adam_update", lambda ps: flambeau.optim.Adam(ps, lr=0.1)),
], ids=["sgd-momentum", "adam"])
def test_optimizer_kernels_step_parameters_sharing_memory_one_by_one(array_code, kernel, make):
    def run():
        base = flambeau.arange(8.0, device="cuda")
        p, q = nn.Parameter(base[:5]), nn.Parameter(base[3:])
        opt = make([p, q])
        for _ in range(2):
            p.grad, q.grad = flambeau.ones(5, device="cuda"), flambeau.full((5,), -2.0, device="cuda")
            before = _launches().get(f"RawKernel {kernel}", 0) if CUDA_MODE == "emulated" else 0
            opt.step()
            if CUDA_MODE == "emulated" and _kernels._ENABLED:
                # (the emulation runs threads in order: a race would not show)
                assert _launches().get(f"RawKernel {kernel}", 0) - before == 2
        return base.cpu()
    got, want = run(), array_code(run)
    assert flambeau.equal(got, want) if CUDA_MODE == "emulated" else flambeau.allclose(got, want)


def test_written_arrays_must_stand_apart_from_every_other_array():
    cp = _kernels._xp.cupy
    a, b, c = cp.zeros(8), cp.zeros(8), cp.zeros(8)
    assert _kernels._written_apart([(a, b), (c, b)], written=(0,))          # a gradient read twice
    assert not _kernels._written_apart([(a, b), (b, c)], written=(0,))      # read by one, written by another
    assert not _kernels._written_apart([(a[:5], c), (a[4:], b)], written=(0,))
    assert _kernels._written_apart([(a[:4], c), (a[4:], b)], written=(0,))
    assert _kernels._written_apart([(a, b, c, c)], written=(0, 2, 3))        # one array for two columns


def test_optimizer_kernels_leave_odd_parameters_to_the_array_code(array_code):
    def run(make):
        p = flambeau.ones(4, 6, device="cuda").t().requires_grad_()     # not contiguous: updated in place as is
        q = flambeau.ones(3, device="cuda", dtype=flambeau.complex64, requires_grad=True)
        opt = make([p, q])
        for _ in range(2):
            p.grad = flambeau.full(p.shape, 0.5, device="cuda")
            q.grad = flambeau.full(q.shape, 0.5 + 1j, device="cuda", dtype=flambeau.complex64)
            opt.step()
        return p.detach().cpu(), q.detach().cpu()
    for make in (OPTIMIZERS["sgd-momentum"], OPTIMIZERS["adamw"]):
        got, want = run(make), array_code(run, make)
        assert flambeau.equal(got[0], want[0]) and flambeau.equal(got[1], want[1])


BATCH_NORM_CASES = [
    # input shape, affine, running statistics, momentum
    ((6, 5), True, True, 0.1),
    ((4, 3, 7), False, True, 0.3),
    ((3, 4, 5, 6), True, False, 0.1),
    ((2, 3, 150, 160), True, True, 0.1),        # 48000 values a channel: many chunks, a short last one
    ((5, 2, 2, 3, 3), True, True, 1.0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,affine,running,momentum", BATCH_NORM_CASES, ids=str)
def test_batch_norm_kernels_match_the_array_code(array_code, shape, affine, running, momentum, dtype):
    rng = np.random.default_rng(len(shape))
    c = shape[1]
    x0 = rng.standard_normal(shape).astype(dtype) * 3 + 1
    g0 = rng.standard_normal(shape).astype(dtype)

    def train_step(_):
        x = flambeau.tensor(x0, device="cuda", requires_grad=True)
        w = flambeau.tensor(rng_w.uniform(0.5, 1.5, c).astype(dtype), device="cuda", requires_grad=True) \
            if affine else None
        b = flambeau.tensor(rng_w.standard_normal(c).astype(dtype), device="cuda", requires_grad=True) \
            if affine else None
        rm = flambeau.zeros(c, device="cuda", dtype=x.dtype) if running else None
        rv = flambeau.ones(c, device="cuda", dtype=x.dtype) if running else None
        y = nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum, eps=1e-5)
        inputs = [x] + ([w, b] if affine else [])
        grads = flambeau.autograd.grad(y, inputs, flambeau.tensor(g0, device="cuda"))
        out = [y.detach()] + list(grads) + ([rm, rv] if running else [])
        return [t.cpu().double() for t in out]
    rng_w = np.random.default_rng(0)
    got = train_step(None)
    rng_w = np.random.default_rng(0)
    want = array_code(train_step, None)
    tol = 2e-4 if dtype == np.float32 else 1e-10          # the reductions add in another order
    for a, b in zip(got, want):
        assert flambeau.allclose(a, b, rtol=tol, atol=tol), (a - b).abs().max()


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
@pytest.mark.parametrize("shape,weight,bias", [((6, 5), True, True), ((4, 3, 7), False, False),
                                               ((3, 4, 5, 6), True, False), ((2, 3, 0, 4), True, True)], ids=str)
def test_batch_norm_eval_kernel_matches_the_array_code(array_code, shape, weight, bias, dtype):
    gen = flambeau.Generator().manual_seed(2)
    c = shape[1]
    x = (flambeau.randn(shape, generator=gen, dtype=dtype) * 3 + 1).cuda()
    rm = flambeau.randn(c, generator=gen, dtype=dtype).cuda()
    rv = flambeau.rand(c, generator=gen, dtype=dtype).cuda() + 0.5
    w = flambeau.randn(c, generator=gen, dtype=dtype).cuda() if weight else None
    b = flambeau.randn(c, generator=gen, dtype=dtype).cuda() if bias else None

    def run():
        return nn.functional.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)
    before = _launches().get("RawKernel batch_norm_eval", 0)
    got = run()
    want = array_code(run)
    exact = CUDA_MODE == "emulated"     # a GPU may fuse the multiply-add
    assert got.shape == want.shape and got.dtype == want.dtype
    assert flambeau.equal(got, want) if exact else flambeau.allclose(got, want, rtol=1e-6, atol=1e-6)
    if CUDA_MODE == "emulated" and x.numel():
        assert _launches().get("RawKernel batch_norm_eval", 0) - before == 1
    # differentiated: the array code, which keeps what the backward needs
    xg = x.clone().requires_grad_()
    gx, = flambeau.autograd.grad(nn.functional.batch_norm(xg, rm, rv, w, b, training=False, eps=1e-3).sum(), xg)
    xc = x.cpu().requires_grad_()
    cpu = [None if t is None else t.cpu() for t in (rm, rv, w, b)]
    nn.functional.batch_norm(xc, *cpu, training=False, eps=1e-3).sum().backward()
    assert flambeau.allclose(gx.cpu(), xc.grad, rtol=1e-5, atol=1e-6)


def test_batch_norm_kernels_launch_three_times_each_way_and_differentiate_twice(array_code):
    x = flambeau.randn(4, 3, 5, 5, device="cuda", dtype=flambeau.float64, requires_grad=True)
    bn = nn.BatchNorm2d(3).to("cuda", flambeau.float64)
    if CUDA_MODE == "emulated":
        before = sum(_launches().values())
        y = bn(x)
        middle = sum(_launches().values())
        y.backward(flambeau.ones_like(y))
        assert (middle - before, sum(_launches().values()) - middle) == (3, 3)

    def second(x):
        m = nn.BatchNorm2d(3).to("cuda", flambeau.float64)
        gx, = flambeau.autograd.grad((m(x) ** 3).sum(), x, create_graph=True)
        return gx.detach(), flambeau.autograd.grad(gx.sum(), x)[0], m.running_mean, m.running_var
    for a, b in zip(second(x), array_code(second, x)):
        assert flambeau.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [flambeau.float32, flambeau.float64])
def test_dropout_kernel_matches_the_array_code(array_code, dtype):
    x0 = flambeau.randn(6, 7, dtype=dtype)
    x0[0, :3] = flambeau.tensor([float("inf"), -1.0, float("nan")], dtype=dtype)

    def run(p, inplace):
        flambeau.manual_seed(5)
        x = x0.to("cuda").requires_grad_()
        y = nn.functional.dropout(x * 1, p, training=True, inplace=inplace)
        gx, = flambeau.autograd.grad(y, x, flambeau.full(y.shape, 2.0, device="cuda", dtype=dtype))
        return y.detach().cpu(), gx.cpu(), y.grad_fn.name()
    for p in (0.2, 0.5, 0.9):
        for inplace in (False, True):
            got, want = run(p, inplace), array_code(run, p, inplace)
            assert flambeau.equal(got[0].nan_to_num(7.0), want[0].nan_to_num(7.0)) and flambeau.equal(got[1], want[1])
            assert got[0].isnan().sum() == want[0].isnan().sum()
            if not inplace:
                assert (got[2], want[2]) == ("NativeDropoutBackward0", "MulBackward0")   # PyTorch's on CUDA and CPU


def test_cross_entropy_kernel_leaves_many_classes_to_the_array_code():
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    x = flambeau.randn(3, _kernels.CROSS_ENTROPY_MAX_CLASSES + 1, device="cuda")
    before = _launches().get("RawKernel cross_entropy", 0)
    loss = nn.functional.cross_entropy(x, flambeau.tensor([0, 5, 1024], device="cuda"))
    assert _launches().get("RawKernel cross_entropy", 0) == before
    assert flambeau.allclose(loss.cpu(), nn.functional.cross_entropy(x.cpu(), flambeau.tensor([0, 5, 1024])))


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000])
def test_index_range_kernel_matches_the_array_code(array_code, n, dtype):
    from flambeau._ops._util import index_range
    rng = np.random.default_rng(n)
    values = rng.integers(-2**31 + 1, 2**31 - 1, n).astype(dtype)
    a = flambeau.tensor(values, device="cuda")._data
    assert index_range(a) == array_code(index_range, a) == (int(values.min()), int(values.max()))
    assert index_range(a[::-1]) == (int(values.min()), int(values.max()))     # any layout
    if CUDA_MODE == "emulated":
        import _emulated_cupy
        before, syncs = _launches().get("RawKernel index_range", 0), _emulated_cupy.SYNCS[0]
        index_range(a)
        assert _launches()["RawKernel index_range"] == before + 1 and _emulated_cupy.SYNCS[0] == syncs + 1


def test_index_errors_still_raise_on_cuda_through_the_kernel():
    x = flambeau.arange(10.0, device="cuda")
    with pytest.raises(IndexError):
        x[flambeau.tensor([0, 10], device="cuda")]
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        nn.functional.cross_entropy(flambeau.randn(2, 5, device="cuda"), flambeau.tensor([1, 7], device="cuda"))
