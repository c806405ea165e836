"""Corners of ops where flambeau differed from PyTorch: argument forms, dtypes kept through a reduction,
0-dim tensors, boolean and complex inputs. Each case runs under both; outcomes must match."""
import numpy as np
import pytest
import torch

import flambeau


def _outcome(result):
    if isinstance(result, (tuple, list)):
        return [_outcome(r) for r in result]
    if isinstance(result, (torch.Tensor, flambeau.Tensor)):
        return tuple(result.shape), str(result.dtype).split(".")[-1], result.detach().cpu().resolve_conj().numpy()
    return result


def _run(lib, device, case):
    try:
        return _outcome(CASES[case](lib, device if lib is flambeau else "cpu"))
    except Exception as e:          # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e)


def _same(a, b):
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, tuple) and len(a) == 3 and isinstance(a[2], np.ndarray):
        assert a[:2] == b[:2]
        tol = 1e-12 if a[2].dtype in (np.float64, np.complex128) else 1e-6      # (a float32 sum's order)
        np.testing.assert_allclose(a[2], b[2], rtol=tol, atol=tol)
    else:
        assert a == b


def _bools(lib, dev, values):
    return lib.tensor(values, device=dev)


CASES = {
    # tensor_split takes a tensor: 0-dim, a number of sections; 1-dim, indices (int64 only)
    "tensor_split 0-dim": lambda lib, dev: lib.tensor_split(lib.arange(7.0, device=dev), lib.tensor(3)),
    "tensor_split 1-dim": lambda lib, dev: lib.arange(6.0, device=dev).tensor_split(lib.tensor([1, 4])),
    "tensor_split float": lambda lib, dev: lib.tensor_split(lib.arange(6.0, device=dev), lib.tensor(2.0)),
    "tensor_split int32": lambda lib, dev: lib.tensor_split(lib.arange(6.0, device=dev),
                                                            lib.tensor([1], dtype=lib.int32)),
    "tensor_split 2-dim": lambda lib, dev: lib.tensor_split(lib.arange(6.0, device=dev), lib.tensor([[1]])),
    # sum_to_size(()) always sums (a bool to int64)
    "sum_to_size () bool": lambda lib, dev: lib.tensor(True, device=dev).sum_to_size(()),
    "sum_to_size () matrix": lambda lib, dev: lib.ones(2, 3, device=dev).sum_to_size([]),
    "cfloat memory_format": lambda lib, dev: lib.ones(2, device=dev).cfloat(memory_format=lib.preserve_format),
    "cdouble memory_format": lambda lib, dev: lib.ones(2, device=dev).cdouble(memory_format=lib.preserve_format),
    "gradient spacing None": lambda lib, dev: lib.gradient(lib.tensor([1.0, 4.0, 9.0, 16.0], device=dev),
                                                           spacing=None),
    # addbmm keeps small integer dtypes (NumPy's sum would widen them)
    "addbmm uint8": lambda lib, dev: lib.addbmm(lib.ones(2, 2, dtype=lib.uint8, device=dev),
                                                lib.full((4, 2, 3), 7, dtype=lib.uint8, device=dev),
                                                lib.full((4, 3, 2), 5, dtype=lib.uint8, device=dev)),
    "addbmm int16": lambda lib, dev: lib.addbmm(lib.ones(2, 2, dtype=lib.int16, device=dev),
                                                lib.full((3, 2, 3), -4, dtype=lib.int16, device=dev),
                                                lib.full((3, 3, 2), 5, dtype=lib.int16, device=dev)),
    # addr promotes its operands, and is logical on booleans
    "addr bool": lambda lib, dev: lib.addr(_bools(lib, dev, [[False, True], [False, False]]),
                                           _bools(lib, dev, [True, False]), _bools(lib, dev, [True, False])),
    "addr bool beta 0": lambda lib, dev: lib.addr(_bools(lib, dev, [[False, True], [False, False]]),
                                                  _bools(lib, dev, [True, False]), _bools(lib, dev, [True, True]),
                                                  beta=0),
    "addr bool alpha False": lambda lib, dev: lib.addr(_bools(lib, dev, [[False, True], [False, False]]),
                                                       _bools(lib, dev, [True, False]),
                                                       _bools(lib, dev, [True, False]), beta=True, alpha=False),
    "addr float and double": lambda lib, dev: lib.addr(lib.ones(2, 2, device=dev), lib.ones(2, device=dev),
                                                       lib.ones(2, dtype=lib.float64, device=dev)),
    "addr bool and long": lambda lib, dev: lib.addr(lib.ones(2, 2, dtype=lib.bool, device=dev),
                                                    _bools(lib, dev, [True, False]),
                                                    lib.ones(2, dtype=lib.int64, device=dev)),
    "addr int beta float": lambda lib, dev: lib.addr(lib.ones(2, 2, dtype=lib.int64, device=dev),
                                                     lib.ones(2, dtype=lib.int64, device=dev),
                                                     lib.ones(2, dtype=lib.int64, device=dev), beta=1.5),
    "addr int alpha bool": lambda lib, dev: lib.addr(lib.ones(2, 2, dtype=lib.int64, device=dev),
                                                     lib.ones(2, dtype=lib.int64, device=dev),
                                                     lib.ones(2, dtype=lib.int64, device=dev), alpha=True),
    # scatter_reduce on booleans; a mean of integers keeps their dtype
    "scatter_reduce bool amax no self": lambda lib, dev: _bools(lib, dev, [False, True, False, True]).scatter_reduce(
        0, lib.tensor([0, 0, 1, 3], device=dev), _bools(lib, dev, [True, False, True, False]), "amax",
        include_self=False),
    "scatter_reduce bool prod no self": lambda lib, dev: _bools(lib, dev, [False, True, False, True]).scatter_reduce(
        0, lib.tensor([0, 0, 1, 3], device=dev), _bools(lib, dev, [True, False, True, False]), "prod",
        include_self=False),
    "scatter_reduce bool mean": lambda lib, dev: _bools(lib, dev, [False, True]).scatter_reduce(
        0, lib.tensor([0, 0], device=dev), _bools(lib, dev, [True, False]), "mean"),
    "scatter_reduce mean int32": lambda lib, dev: lib.tensor([1, 2, 3], dtype=lib.int32, device=dev).scatter_reduce(
        0, lib.tensor([0, 0], device=dev), lib.tensor([4, 6], dtype=lib.int32, device=dev), "mean",
        include_self=False),
    "index_reduce mean uint8": lambda lib, dev: lib.tensor([1, 2, 3], dtype=lib.uint8, device=dev).index_reduce(
        0, lib.tensor([0, 0], device=dev), lib.tensor([4, 5], dtype=lib.uint8, device=dev), "mean"),
    # put on a 0-dim tensor stays 0-dim
    "put 0-dim": lambda lib, dev: lib.tensor(1.0, device=dev).put(lib.tensor(0, device=dev),
                                                                   lib.tensor(5.0, device=dev)),
    "put 0-dim accumulate": lambda lib, dev: lib.tensor(1.0, device=dev).put(
        lib.tensor(0, device=dev), lib.tensor(5.0, device=dev), accumulate=True),
    # silu of complex numbers: computed, never differentiated
    "silu complex": lambda lib, dev: lib.nn.functional.silu(lib.tensor([1 + 1j, -2j, 3.5 - 0.25j], device=dev)),
    "silu complex grad": lambda lib, dev: lib.nn.functional.silu(
        lib.tensor([1 + 1j], device=dev, requires_grad=True)),
    # complex log-sum-exp: a real shift (phase in (-pi, pi]); the running one accumulates its phase
    "logsumexp complex": lambda lib, dev: lib.logsumexp(
        lib.tensor([[-3 + 2j, 1 - 3j, 0.5 + 3j], [2 - 2.5j, 4 + 3.1j, -1 - 3.1j]], device=dev), 1),
    "logsumexp complex 0-dim": lambda lib, dev: lib.logsumexp(lib.tensor(3 + 5j, device=dev), 0),
    "logcumsumexp complex": lambda lib, dev: lib.logcumsumexp(
        lib.tensor([[-3 + 2j, 1 - 3j, 0.5 + 3j], [2 - 2.5j, 4 + 3.1j, -1 - 3.1j]], device=dev), 1),
    "logcumsumexp complex infinities": lambda lib, dev: lib.logcumsumexp(lib.tensor(
        [complex(-np.inf, 1), complex(-np.inf, 2), complex(np.inf, 0.5), complex(np.inf, 1), complex(np.nan, 0)],
        device=dev), 0),
    # histc bins as PyTorch computes them, (x - lo) * bins / (hi - lo) in the input's dtype
    "histc float16 near an edge": lambda lib, dev: lib.histc(
        lib.tensor([-8.4766, -1.7656, -4.3242, -2.4004, -7.9492], dtype=lib.float16, device=dev), min=-10, max=10),
    "histc float32": lambda lib, dev: lib.histc(lib.tensor(
        np.random.default_rng(3).uniform(-10, 10, 300).round(2), dtype=lib.float32, device=dev), bins=37, min=-10,
        max=10),
    "histc float64 data range": lambda lib, dev: lib.histc(lib.tensor(
        np.random.default_rng(4).uniform(-1, 1, 300).round(3), dtype=lib.float64, device=dev), bins=13),
    # diff of order 0 is a copy of input, prepend and append left out
    "diff n=0": lambda lib, dev: lib.diff(lib.ones(3, 2, device=dev), n=0, dim=0, prepend=lib.zeros(1, 2, device=dev),
                                          append=lib.zeros(2, 2, device=dev)),
    "matrix_rank atol": lambda lib, dev: lib.linalg.matrix_rank(
        lib.diag(lib.arange(1.0, 6.0, dtype=lib.float64, device=dev)), atol=1.0, rtol=None),
    "native_group_norm empty batch": lambda lib, dev: lib.native_group_norm(lib.ones(0, 6, 5, device=dev), None, None,
                                                                            0, 6, 5, 3, 1e-5),
    # in-place forms on 0-dim tensors and broadcast shapes
    "scatter_reduce_ 0-dim": lambda lib, dev: lib.tensor(2.0, device=dev).scatter_reduce_(
        0, lib.tensor(0, device=dev), lib.tensor(5.0, device=dev), "sum"),
    "index_reduce_ 0-dim": lambda lib, dev: lib.tensor(2.0, device=dev).index_reduce_(
        0, lib.tensor([0], device=dev), lib.tensor([5.0], device=dev), "prod"),
    "index_reduce source shape": lambda lib, dev: lib.ones(2, 3, device=dev).index_reduce(
        0, lib.tensor([0], device=dev), lib.ones(1, 2, device=dev), "amax"),
    "transpose_ 0-dim": lambda lib, dev: lib.tensor(2.0, device=dev).transpose_(-1, 0),
    "addcmul_ broadcast self": lambda lib, dev: lib.ones(1, device=dev).addcmul_(lib.ones(5, 5, device=dev),
                                                                               lib.ones(5, 5, device=dev)),
    "addcdiv_ broadcast other": lambda lib, dev: lib.ones(3, device=dev).addcdiv_(lib.ones(3, device=dev),
                                                                                lib.full((1,), 2.0, device=dev)),
    # an empty index of any dtype names no element: taken, as by PyTorch (a nonempty one is refused)
    "gather empty uint8 index": lambda lib, dev: lib.gather(lib.arange(5.0, device=dev), 0,
                                                            lib.zeros(0, dtype=lib.uint8, device=dev)),
    "gather empty float index 2-dim": lambda lib, dev: lib.ones(2, 2, device=dev).gather(
        1, lib.zeros(2, 0, device=dev)),
    "gather uint8 index": lambda lib, dev: lib.gather(lib.arange(5.0, device=dev), 0,
                                                      lib.zeros(2, dtype=lib.uint8, device=dev)),
    "scatter_add empty bool index": lambda lib, dev: lib.arange(5.0, device=dev).scatter_add(
        0, lib.zeros(0, dtype=lib.bool, device=dev), lib.zeros(0, device=dev)),
    "gather empty index of more dims": lambda lib, dev: lib.gather(lib.arange(5.0, device=dev), 0,
                                                                   lib.zeros(2, 0, dtype=lib.uint8, device=dev)),
    # complex() sets the parts: an infinite imaginary part stays inf (1j * inf would be nan + inf j)
    "complex of infinities": lambda lib, dev: lib.complex(
        lib.tensor([np.inf, np.inf, -np.inf, np.nan, 1.5], device=dev),
        lib.tensor([np.inf, np.nan, -np.inf, np.inf, -2.0], device=dev)),
    "complex broadcast": lambda lib, dev: lib.complex(lib.ones(1, 3, dtype=lib.float64, device=dev),
                                                      lib.arange(2.0, dtype=lib.float64, device=dev).reshape(2, 1)),
    # integer inputs give a floating loss: the margin is a float, as in PyTorch
    "margin_ranking_loss integers": lambda lib, dev: [lib.nn.functional.margin_ranking_loss(
        lib.tensor([[1, 2], [3, 4]], device=dev), lib.tensor([[2], [1]], device=dev),
        lib.tensor([[1], [-1]], device=dev), reduction=reduction) for reduction in ("none", "sum", "mean")],
}

# float16 products with an added term on the CPU: PyTorch's kernels each round in their own way (addmm,
# addmv, baddbmm once, in float32; addbmm after each batch; addr at each step of its elementwise formula)
HALF_PRODUCTS = {
    "addbmm": lambda lib, t, beta, alpha: lib.addbmm(t(2, 3), t(4, 2, 5), t(4, 5, 3), beta=beta, alpha=alpha),
    "baddbmm": lambda lib, t, beta, alpha: lib.baddbmm(t(4, 2, 3), t(4, 2, 5), t(4, 5, 3), beta=beta, alpha=alpha),
    "addmv": lambda lib, t, beta, alpha: lib.addmv(t(2), t(2, 5), t(5), beta=beta, alpha=alpha),
    "addr": lambda lib, t, beta, alpha: lib.addr(t(2, 3), t(2), t(3), beta=beta, alpha=alpha),
    "addmm": lambda lib, t, beta, alpha: lib.addmm(t(2, 3), t(2, 5), t(5, 3), beta=beta, alpha=alpha),
}


@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, 2), (0, 1), (1, -1.5)])
@pytest.mark.parametrize("op", sorted(HALF_PRODUCTS))
def test_float16_products_with_a_term_on_the_cpu(op, beta, alpha):
    results = []
    for lib in (torch, flambeau):
        rng = np.random.default_rng(0)
        results.append(HALF_PRODUCTS[op](lib, lambda *shape: lib.tensor(rng.standard_normal(shape) * 3,
                                                                        dtype=lib.float16), beta, alpha))
    np.testing.assert_array_equal(results[1].numpy(), results[0].numpy())


# in-place results that cannot be cast to self, and out= of the products, which PyTorch never casts
CASES.update({
    "addcmul_ long by float": lambda lib, dev: lib.tensor([1, 2, 3], device=dev).addcmul_(
        lib.tensor([1, 2, 3], device=dev), lib.tensor([0.5, 1.5, 2.5], device=dev)),
    "addcmul_ long by float value": lambda lib, dev: lib.tensor([1, 2, 3], device=dev).addcmul_(
        lib.tensor([1, 2, 3], device=dev), lib.tensor([1, 2, 3], device=dev), value=-1.7),
    "addcmul_ long by uint8": lambda lib, dev: lib.tensor([1, 2, 3], device=dev).addcmul_(
        lib.tensor([1, 2, 3], dtype=lib.uint8, device=dev), lib.tensor([4, 5, 6], dtype=lib.uint8, device=dev)),
    "addcmul_ half by float": lambda lib, dev: lib.tensor([1., 2.], dtype=lib.float16, device=dev).addcmul_(
        lib.tensor([0.5, 1.5], device=dev), lib.tensor([2., 3.], device=dev), value=0.5),
    "addcdiv_ integer division": lambda lib, dev: lib.tensor([1., 2.], device=dev).addcdiv_(
        lib.tensor([1, 2], device=dev), lib.tensor([2, 2], device=dev)),
    "addcdiv_ long by float": lambda lib, dev: lib.tensor([1, 2], device=dev).addcdiv_(
        lib.tensor([1., 2.], device=dev), lib.tensor([2., 2.], device=dev)),
    "clamp_ long by float": lambda lib, dev: lib.tensor([1, 2, 3], device=dev).clamp_(1.5),
    "clamp_ int8 by float max": lambda lib, dev: lib.tensor([1, 2], dtype=lib.int8, device=dev).clamp_(max=1.5),
    "clamp_ uint8 by float": lambda lib, dev: lib.tensor([1, 2], dtype=lib.uint8, device=dev).clamp_(0, 2.5),
    "clamp_ bool by complex": lambda lib, dev: lib.tensor([True], device=dev).clamp_(1j),
    "clamp_ long by float tensor": lambda lib, dev: lib.tensor([1, 2], device=dev).clamp_(
        lib.tensor([1.5, 0.5], device=dev)),
    "mm out double": lambda lib, dev: lib.mm(lib.ones(2, 2, device=dev), lib.ones(2, 2, device=dev),
                                             out=lib.empty(2, 2, dtype=lib.float64, device=dev)),
    "mm out int8": lambda lib, dev: lib.mm(lib.ones(2, 2, dtype=lib.long, device=dev),
                                           lib.ones(2, 2, dtype=lib.long, device=dev),
                                           out=lib.empty(2, 2, dtype=lib.int8, device=dev)),
    "bmm out half": lambda lib, dev: lib.bmm(lib.ones(1, 2, 2, device=dev), lib.ones(1, 2, 2, device=dev),
                                             out=lib.empty(1, 2, 2, dtype=lib.float16, device=dev)),
    "matmul batched out double": lambda lib, dev: lib.matmul(lib.ones(1, 2, 2, device=dev), lib.ones(2, 2, device=dev),
                                                             out=lib.empty(1, 2, 2, dtype=lib.float64, device=dev)),
    "matmul vector-matrix out bool": lambda lib, dev: lib.matmul(lib.ones(2, device=dev), lib.ones(2, 2, device=dev),
                                                                 out=lib.empty(2, dtype=lib.bool, device=dev)),
    "matmul out float32 kept": lambda lib, dev: lib.matmul(lib.ones(1, 2, 2, device=dev), lib.ones(2, device=dev),
                                                           out=lib.empty(1, 2, device=dev)),
    "mv out double": lambda lib, dev: lib.mv(lib.ones(2, 2, device=dev), lib.ones(2, device=dev),
                                             out=lib.empty(2, dtype=lib.float64, device=dev)),
    "dot out long": lambda lib, dev: lib.dot(lib.ones(2, device=dev), lib.ones(2, device=dev),
                                             out=lib.empty((), dtype=lib.long, device=dev)),
    "addmm out double": lambda lib, dev: lib.addmm(lib.ones(2, device=dev), lib.ones(2, 2, device=dev),
                                                   lib.ones(2, 2, device=dev),
                                                   out=lib.empty(2, 2, dtype=lib.float64, device=dev)),
    "addmv out long": lambda lib, dev: lib.addmv(lib.ones(2, device=dev), lib.ones(2, 2, device=dev),
                                                 lib.ones(2, device=dev), out=lib.empty(2, dtype=lib.long, device=dev)),
    "lerp 0-dim weight of another dtype": lambda lib, dev: lib.lerp(
        lib.zeros(3, device=dev), lib.tensor([1., 2., 4.], device=dev), lib.tensor(0.25, dtype=lib.float64, device=dev)),
    "lerp 0-dim integer weight": lambda lib, dev: lib.lerp(lib.zeros(2, device=dev), lib.ones(2, device=dev),
                                                           lib.tensor(1, device=dev)),
    "lerp_ 0-dim double weight": lambda lib, dev: lib.ones(2, device=dev).lerp_(
        lib.zeros(2, device=dev), lib.tensor(0.25, dtype=lib.float64, device=dev)),
    "lerp weight of another dtype": lambda lib, dev: lib.lerp(
        lib.ones(2, dtype=lib.float16, device=dev), lib.ones(2, dtype=lib.float16, device=dev), lib.ones(2, device=dev)),
    "lerp end double": lambda lib, dev: lib.lerp(lib.ones(2, device=dev), lib.ones(2, dtype=lib.float64, device=dev), 0.5),
    "lerp node names": lambda lib, dev: [lib.lerp(lib.ones(2, device=dev, requires_grad=True), lib.zeros(2, device=dev),
                                                  w).grad_fn.name() for w in (0.5, lib.tensor(0.5, device=dev))],
    "dist float and double": lambda lib, dev: lib.dist(lib.tensor([1., 2.], device=dev),
                                                       lib.tensor([0.5, 4.], dtype=lib.float64, device=dev), 3),
    "dist float and long": lambda lib, dev: lib.dist(lib.tensor([1., 2.], device=dev), lib.tensor([1, 3], device=dev)),
    "dist float and 0-dim double": lambda lib, dev: lib.dist(lib.tensor([1., 2.], device=dev),
                                                             lib.tensor(3., dtype=lib.float64, device=dev)),
    "dist longs": lambda lib, dev: lib.dist(lib.tensor([1, 3], device=dev), lib.tensor([1, 5], device=dev)),
    "dist bools": lambda lib, dev: lib.dist(lib.tensor([True], device=dev), lib.tensor([False], device=dev)),
    "dist float and bool": lambda lib, dev: lib.dist(lib.ones(1, device=dev), lib.tensor([False], device=dev)),
    "baddbmm out double": lambda lib, dev: lib.baddbmm(lib.ones(1, 2, 2, device=dev), lib.ones(1, 2, 2, device=dev),
                                                       lib.ones(1, 2, 2, device=dev),
                                                       out=lib.empty(1, 2, 2, dtype=lib.float64, device=dev)),
})


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_pytorch(case, device):
    expected = _run(torch, device, case)
    got = _run(flambeau, device, case)
    if isinstance(expected, tuple) and len(expected) == 2:          # an error
        assert got == expected
    else:
        _same(got, expected)


def test_complex_logcumsumexp_gradient(device):
    values = np.random.default_rng(0).standard_normal((3, 4)) + 1j * np.random.default_rng(1).standard_normal((3, 4))
    grads = []
    for lib, dev in ((torch, "cpu"), (flambeau, device)):
        x = lib.tensor(values, device=dev, requires_grad=True)
        lib.logcumsumexp(x, 1).abs().sum().backward()
        grads.append(x.grad.cpu().resolve_conj().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_index_reduce_warns_once_that_it_is_beta(device):
    import warnings
    from flambeau._ops import indexing
    indexing._index_reduce_warned[0] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            flambeau.ones(3, 2, device=device).index_reduce(0, flambeau.tensor([0, 0], device=device),
                                                            flambeau.ones(2, 2, device=device), "amax")
    assert [str(w.message) for w in caught] == ["index_reduce() is in beta and the API may change at any time."]
    assert caught[0].filename == __file__
