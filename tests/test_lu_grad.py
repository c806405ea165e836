"""The LU family's gradients (linalg.lu_solve, lu_unpack, torch.lu, torch.lu_solve) and the _ex solvers
(linalg.solve_ex, inv_ex, cholesky_ex) against torch: values, nodes, first and second gradients for a random
cotangent, gradcheck and gradgradcheck in double precision, errors, and no read of the device on cuda."""
import re
import warnings

import numpy as np
import pytest

import flambeau
import torch
from _oracle import assert_same, no_host_reads, on_device

DTYPES = ["float64", "complex128"]


def _random(rng, shape, dtype):
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _leaves(arrays, device):
    """The arrays as flambeau leaves on device and torch leaves; floating ones require grad."""
    ours = [flambeau.tensor(a, device=device, requires_grad=a.dtype.kind in "fc") for a in arrays]
    ref = [torch.tensor(a, requires_grad=a.dtype.kind in "fc") for a in arrays]
    return ours, ref


def _compare(fn, arrays, device, node=None, rtol=1e-8, atol=1e-10, second=True):
    """fn(lib, *tensors) under flambeau (on device) and torch: the same outputs and node; the same input gradients
    for a random cotangent and (second) the same gradients of <those gradients, a random direction>. On cuda,
    flambeau's forward, backward and double backward read nothing back from the device."""
    rng = np.random.default_rng(7)
    ours, ref = _leaves(arrays, device)
    lib = on_device(flambeau, device)
    with no_host_reads(device):
        out = fn(lib, *ours)
    out_ref = fn(torch, *ref)
    assert_same(out, out_ref, rtol=rtol, atol=atol, device=device)
    outs, outs_ref = _as_tuple(out), _as_tuple(out_ref)
    if node is not None:
        assert type(outs_ref[0].grad_fn).__name__ == node
        assert type(outs[0].grad_fn).__name__ == node
    pairs = [(o, r) for o, r in zip(outs, outs_ref) if r.requires_grad]
    for o, r in zip(outs, outs_ref):
        assert o.requires_grad == r.requires_grad
    cots = [_random(rng, tuple(r.shape), str(r.dtype)[6:]) for _, r in pairs]
    wrt = [(a, b) for a, b in zip(ours, ref) if b.requires_grad]
    with no_host_reads(device):
        cots_ours = [flambeau.tensor(c, device=device) for c in cots]
        grads = flambeau.autograd.grad([o for o, _ in pairs], [a for a, _ in wrt], cots_ours, create_graph=second,
                                       allow_unused=True)
    grads_ref = torch.autograd.grad([r for _, r in pairs], [b for _, b in wrt], [torch.tensor(c) for c in cots],
                                    create_graph=second, allow_unused=True)
    for g, g_ref in zip(grads, grads_ref):
        assert (g is None) == (g_ref is None)
        if g is not None:
            assert_same(g, g_ref, rtol=rtol, atol=atol, device=device)
    if not second:
        return
    # second order: d/dx <grad, w> for a random direction w
    kept = [(g, g_ref) for g, g_ref in zip(grads, grads_ref) if g_ref is not None and g_ref.requires_grad]
    if not kept:                                    # the gradient is linear in the cotangent alone
        return
    ws = [_random(rng, tuple(g_ref.shape), str(g_ref.dtype)[6:]) for _, g_ref in kept]
    with no_host_reads(device):
        total = sum(((g * flambeau.tensor(w, device=device).conj()).sum().real for (g, _), w in zip(kept, ws)))
        second_ours = flambeau.autograd.grad(total, [a for a, _ in wrt], allow_unused=True)
    total_ref = sum(((g_ref * torch.tensor(w).conj()).sum().real for (_, g_ref), w in zip(kept, ws)))
    second_ref = torch.autograd.grad(total_ref, [b for _, b in wrt], allow_unused=True)
    for g, g_ref in zip(second_ours, second_ref):
        if g_ref is None:
            assert g is None or not np.any(g.detach().cpu().numpy())
        else:
            assert_same(g, g_ref, rtol=rtol * 100, atol=atol * 100, device=device)


def _gradchecks(fn, arrays, device, second=True):
    """gradcheck (and gradgradcheck) of fn(lib, *tensors) in double precision; complex inputs are checked as
    functions of their real and imaginary parts, complex outputs as view_as_real."""
    lib = on_device(flambeau, device)
    complex_in = [a.dtype.kind == "c" for a in arrays]
    parts = []
    for a, c in zip(arrays, complex_in):
        parts += [a.real.copy(), a.imag.copy()] if c else [a]
    leaves = [flambeau.tensor(p, device=device, requires_grad=p.dtype.kind == "f") for p in parts]

    def real_fn(*xs):
        ins, i = [], 0
        for c in complex_in:
            ins.append(flambeau.complex(xs[i], xs[i + 1]) if c else xs[i])
            i += 2 if c else 1
        outs = [o for o in _as_tuple(fn(lib, *ins)) if o.dtype.is_floating_point or o.dtype.is_complex]
        return tuple(flambeau.view_as_real(o) if o.is_complex() else o for o in outs)
    assert flambeau.autograd.gradcheck(real_fn, tuple(leaves))
    if second:
        assert flambeau.autograd.gradgradcheck(real_fn, tuple(leaves))


def _same_error(fn, device):
    """fn(lib) raises the same exception type and message under torch and flambeau."""
    with pytest.raises(Exception) as expected:
        fn(torch)
    kind = flambeau.linalg.LinAlgError if issubclass(expected.type, torch.linalg.LinAlgError) else expected.type
    with pytest.raises(kind, match=re.escape(str(expected.value))):
        fn(on_device(flambeau, device))


def _factor(rng, shape, dtype):
    """(A, LU, pivots) of a random A with lu_factor's result as arrays (pivots from torch)."""
    a = _random(rng, shape, dtype)
    LU, piv = torch.linalg.lu_factor(torch.tensor(a))
    return a, LU.numpy(), piv.numpy()


# -- linalg.lu_solve ---------------------------------------------------------------------------------------
LU_SOLVE_SHAPES = {"single": ((3, 3), (3, 2)), "batched": ((2, 3, 3), (2, 3, 4)),
                   "broadcast": ((2, 1, 3, 3), (3, 3, 2))}


def _rhs_shape(shape, left):
    return shape if left else shape[:-2] + (shape[-1], shape[-2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(LU_SOLVE_SHAPES))
@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_linalg_lu_solve_gradients(left, adjoint, case, dtype, device):
    rng = np.random.default_rng(1)
    lu_shape, b_shape = LU_SOLVE_SHAPES[case]
    _, LU, piv = _factor(rng, lu_shape, dtype)
    assert (piv != np.arange(1, 4)).any()           # the pivots permute rows
    b = _random(rng, _rhs_shape(b_shape, left), dtype)

    def fn(lib, LU_, piv_, b_):
        return lib.linalg.lu_solve(LU_, piv_, b_, left=left, adjoint=adjoint)
    _compare(fn, [LU, piv, b], device, node="LinalgLuSolveBackward0")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_linalg_lu_solve_gradcheck(left, adjoint, dtype, device):
    rng = np.random.default_rng(2)
    _, LU, piv = _factor(rng, (2, 3, 3), dtype)
    b = _random(rng, _rhs_shape((2, 3, 2), left), dtype)
    pivots = flambeau.tensor(piv, device=device)
    _gradchecks(lambda lib, LU_, b_: lib.linalg.lu_solve(LU_, pivots, b_, left=left, adjoint=adjoint), [LU, b],
                device, second=dtype == "float64")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("left,adjoint", [(True, False), (False, True)])
def test_lu_solve_through_lu_factor(left, adjoint, dtype, device):
    """A -> lu_factor_ex -> lu_solve: the gradient in A is the gradient of solve (LinalgLuFactorExBackward0)."""
    rng = np.random.default_rng(3)
    a = _random(rng, (2, 3, 3), dtype)
    b = _random(rng, _rhs_shape((2, 3, 2), left), dtype)

    def fn(lib, a_, b_):
        LU, piv, _ = lib.linalg.lu_factor_ex(a_)           # lu_factor reads info back, to raise
        return lib.linalg.lu_solve(LU, piv, b_, left=left, adjoint=adjoint)
    _compare(fn, [a, b], device, node="LinalgLuSolveBackward0")
    if device == "cpu" or dtype == "float64":
        _gradchecks(fn, [a, b], device, second=False)


def test_linalg_lu_solve_empty_and_out(device):
    rng = np.random.default_rng(4)
    _, LU, piv = _factor(rng, (3, 3), "float64")
    for lu_, piv_, b in [(LU, piv, np.zeros((3, 0))), (LU[:0, :0], piv[:0], np.zeros((0, 2))),
                         (LU, piv, np.zeros((0, 3, 3)))]:
        _compare(lambda lib, x, p, y: lib.linalg.lu_solve(x, p, y), [lu_, piv_, b], device, second=False)
    out = flambeau.empty(0, dtype=flambeau.float64, device=device)
    result = flambeau.linalg.lu_solve(flambeau.tensor(LU, device=device), flambeau.tensor(piv, device=device),
                                      flambeau.ones(3, 2, dtype=flambeau.float64, device=device), out=out)
    assert result is out
    assert_same(out, torch.linalg.lu_solve(torch.tensor(LU), torch.tensor(piv), torch.ones(3, 2, dtype=torch.float64)),
                device=device)


def test_linalg_lu_solve_errors(device):
    rng = np.random.default_rng(5)
    _, LU, piv = _factor(rng, (3, 3), "float64")

    def args(lib):
        return lib.tensor(LU), lib.tensor(piv)

    def rhs(lib, *shape, dtype="float64"):
        return lib.ones(*shape, dtype=getattr(lib, dtype))
    cases = [lambda lib: lib.linalg.lu_solve(*args(lib), rhs(lib, 3)),
             lambda lib: lib.linalg.lu_solve(*args(lib), rhs(lib, 4, 3, dtype="float32")),
             lambda lib: lib.linalg.lu_solve(*args(lib), rhs(lib, 4, 3, dtype="complex128")),
             lambda lib: lib.linalg.lu_solve(*args(lib), rhs(lib, 4, 3)),
             lambda lib: lib.linalg.lu_solve(*args(lib), rhs(lib, 3, 4), left=False),
             lambda lib: lib.linalg.lu_solve(args(lib)[0], args(lib)[1].long(), rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0], args(lib)[1][:2], rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0], args(lib)[1].expand(2, 3), rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0].expand(2, 3, 3), args(lib)[1], rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0][:, :2], args(lib)[1][:2], rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0][0], args(lib)[1], rhs(lib, 3, 3)),
             lambda lib: lib.linalg.lu_solve(args(lib)[0].int(), args(lib)[1], rhs(lib, 3, 3, dtype="int32")),
             lambda lib: lib.linalg.lu_solve(args(lib)[0].half(), args(lib)[1], rhs(lib, 3, 3, dtype="half")),
             lambda lib: lib.linalg.lu_solve(args(lib)[0].expand(2, 3, 3), args(lib)[1].expand(2, 3),
                                             rhs(lib, 3, 3, 2)),
             lambda lib: lib.linalg.lu_solve(*args(lib), [[1.0]])]
    for case in cases:
        _same_error(case, device)


# -- torch.lu_solve, Tensor.lu_solve, torch.lu, Tensor.lu ------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_top_level_lu_solve(dtype, device):
    rng = np.random.default_rng(6)
    a = _random(rng, (2, 3, 3), dtype)
    b = _random(rng, (2, 3, 2), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)

        def old(lib, a_, b_):
            LU, piv = lib.lu(a_)
            return lib.lu_solve(b_, LU, piv)

        def method(lib, a_, b_):
            LU, piv = a_.lu()
            return b_.lu_solve(LU, piv)
        for fn in (old, method):
            _compare(fn, [a, b], device, node="LinalgLuSolveBackward0")
        _same_error(lambda lib: lib.lu_solve(lib.ones(3, 2, dtype=lib.float32), *lib.lu(lib.eye(3, dtype=lib.float64))),
                    device)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (2, 3, 5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_lu_gradients_and_results(shape, dtype, device):
    rng = np.random.default_rng(7)
    a = _random(rng, shape, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _compare(lambda lib, x: lib.lu(x)[0], [a], device, node="LinalgLuFactorExBackward0")
        _compare(lambda lib, x: x.lu(get_infos=True)[0], [a], device, node="LinalgLuFactorExBackward0")
        x = flambeau.tensor(a, device=device, requires_grad=True)
        plain, infos = flambeau.lu(x), flambeau.lu(x, get_infos=True)
        ref_plain, ref_infos = torch.lu(torch.tensor(a)), torch.lu(torch.tensor(a), get_infos=True)
    assert type(plain) is tuple and type(ref_plain) is tuple
    assert type(infos).__name__ == type(ref_infos).__name__ == "_lu_with_info"
    assert infos._fields == ("LU", "pivots", "info")
    assert_same(tuple(infos), tuple(ref_infos), device=device)
    assert not infos.pivots.requires_grad and not infos.info.requires_grad


def test_torch_lu_singular_warning_and_errors(device):
    singular = np.stack([np.ones((3, 3)), np.eye(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours = flambeau.lu(flambeau.tensor(singular, device=device), get_infos=True)
        assert_same(tuple(ours), tuple(torch.lu(torch.tensor(singular), get_infos=True)), device=device)
        assert_same(flambeau.lu(flambeau.tensor(singular, device=device)), torch.lu(torch.tensor(singular)),
                    device=device)           # no error without get_infos either, as torch
        for case in [lambda lib: lib.lu(lib.ones(5)), lambda lib: lib.lu(lib.ones(3, 3, dtype=lib.long)),
                     lambda lib: lib.lu(lib.ones(3, 3, dtype=lib.half))]:
            _same_error(case, device)
        if device == "cpu":
            _same_error(lambda lib: lib.lu(lib.ones(3, 3), pivot=False), device)
    # deprecated, with torch's warning, once (TORCH_WARN_ONCE)
    eye = flambeau.eye(2, device=device)
    for key, call, message in [("lu", lambda: flambeau.lu(eye), "torch.lu is deprecated in favor of torch.linalg."
                                "lu_factor"),
                               ("lu_solve", lambda: flambeau.lu_solve(eye, *flambeau.linalg.lu_factor(eye)),
                                "torch.lu_solve is deprecated in favor of torch.linalg.lu_solve")]:
        flambeau._legacy._warned.discard(key)
        with pytest.warns(UserWarning, match=re.escape(message)):
            call()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call()


# -- lu_unpack --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (2, 3, 5), (0, 3, 3), (2, 0, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lu_unpack_gradients(shape, dtype, device):
    rng = np.random.default_rng(8)
    a = _random(rng, shape, dtype)
    LU, piv = torch.linalg.lu_factor(torch.tensor(a))
    node = "LuUnpackBackward0"
    _compare(lambda lib, x, p: lib.lu_unpack(x, p), [LU.numpy(), piv.numpy()], device, node=None)
    for i in (1, 2):
        _compare(lambda lib, x, p: lib.lu_unpack(x, p)[i], [LU.numpy(), piv.numpy()], device, node=node)
    # A -> lu_factor -> lu_unpack: the gradient of linalg.lu
    _compare(lambda lib, x: lib.lu_unpack(*lib.linalg.lu_factor_ex(x)[:2])[1:], [a], device, node=node)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (2, 3, 5)])
def test_lu_unpack_gradcheck(shape, device):
    rng = np.random.default_rng(9)
    for dtype in DTYPES:
        LU, piv = torch.linalg.lu_factor(torch.tensor(_random(rng, shape, dtype)))
        pivots = flambeau.tensor(piv.numpy(), device=device)
        _gradchecks(lambda lib, x: lib.lu_unpack(x, pivots)[1:], [LU.numpy()], device)


def test_lu_unpack_flags_and_dtypes(device):
    rng = np.random.default_rng(10)
    LU, piv = torch.linalg.lu_factor(torch.tensor(rng.standard_normal((2, 5, 3))))
    arrays = [LU.numpy(), piv.numpy()]
    _compare(lambda lib, x, p: lib.lu_unpack(x, p, unpack_pivots=False), arrays, device)
    for flags in [(False, True), (False, False)]:
        ours = flambeau.lu_unpack(flambeau.tensor(arrays[0], device=device, requires_grad=True),
                                  flambeau.tensor(arrays[1], device=device), *flags)
        ref = torch.lu_unpack(LU.clone().requires_grad_(), piv, *flags)
        assert_same(tuple(ours), tuple(ref), device=device)
        for o, r in zip(ours, ref):
            assert o.requires_grad == r.requires_grad and (o.grad_fn is None) == (r.grad_fn is None)
        # L and U are empty: torch's backward refuses them (naming tril or triu for a square LU; for this tall one
        # its engine crashes, so it is not run here)
        for i, op in ((1, "tril"), (2, "triu")):
            x = flambeau.tensor(arrays[0], device=device, requires_grad=True)
            with pytest.raises(RuntimeError, match=f"^{op}: input tensor must have at least 2 dimensions$"):
                flambeau.lu_unpack(x, flambeau.tensor(arrays[1], device=device), *flags)[i].sum().backward()
    # pivots are only read when unpacked; LU of any dtype
    assert_same(flambeau.lu_unpack(flambeau.tensor(arrays[0], device=device),
                                   flambeau.tensor(arrays[1], device=device).float(), unpack_pivots=False),
                torch.lu_unpack(LU, piv.float(), unpack_pivots=False), device=device)
    for dt in ("float32", "int32", "bool"):
        assert_same(flambeau.lu_unpack(flambeau.tensor(arrays[0], device=device).to(getattr(flambeau, dt)),
                                       flambeau.tensor(arrays[1], device=device)),
                    torch.lu_unpack(LU.to(getattr(torch, dt)), piv), device=device)
    out = tuple(flambeau.empty(0, dtype=flambeau.float64, device=device) for _ in range(3))
    result = flambeau.lu_unpack(flambeau.tensor(arrays[0], device=device), flambeau.tensor(arrays[1], device=device),
                                out=out)
    assert result.P is out[0] and result.U is out[2]
    assert result._fields == ("P", "L", "U")


def test_lu_unpack_errors(device):
    rng = np.random.default_rng(11)
    LU, piv = torch.linalg.lu_factor(torch.tensor(rng.standard_normal((2, 5, 3))))

    def args(lib):
        return lib.tensor(LU.numpy()), lib.tensor(piv.numpy())
    cases = [lambda lib: lib.lu_unpack(args(lib)[0][0, 0], args(lib)[1]),
             lambda lib: lib.lu_unpack(args(lib)[0], args(lib)[1].long()),
             lambda lib: lib.lu_unpack(args(lib)[0], args(lib)[1].float(), unpack_data=False)]
    if device == "cpu":          # the range of the pivots: torch's cuda kernel asserts on the device
        cases += [lambda lib: lib.lu_unpack(args(lib)[0], args(lib)[1] + 5),
                  lambda lib: lib.lu_unpack(args(lib)[0], args(lib)[1] * 0)]
    for case in cases:
        _same_error(case, device)
    for wrong in (piv[..., :2], piv[:1], piv[0]):     # torch reads out of bounds there (or crashes)
        with pytest.raises(RuntimeError, match=re.escape("torch.lu_unpack: Expected LU_pivots of shape [2, 3]")):
            flambeau.lu_unpack(*(flambeau.tensor(x.numpy(), device=device) for x in (LU, wrong)))


# -- linalg.solve_ex ----------------------------------------------------------------------------------------
SOLVE_CASES = {"matrix": ((2, 3, 3), (2, 3, 2), True), "right": ((2, 3, 3), (2, 4, 3), False),
               "vector": ((3, 3), (3,), True), "batched_vector": ((2, 3, 3), (2, 3), True),
               "broadcast": ((2, 1, 3, 3), (3, 3, 2), True), "broadcast_right": ((3, 3), (2, 4, 3), False)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(SOLVE_CASES))
def test_solve_ex_gradients(case, dtype, device):
    a_shape, b_shape, left = SOLVE_CASES[case]
    rng = np.random.default_rng(12)
    a, b = _random(rng, a_shape, dtype), _random(rng, b_shape, dtype)
    _compare(lambda lib, x, y: lib.linalg.solve_ex(x, y, left=left), [a, b], device, node="LinalgSolveExBackward0")
    if device == "cpu":          # linalg.solve: the same node, gradients read nothing back either
        _compare(lambda lib, x, y: lib.linalg.solve(x, y, left=left), [a, b], device, node="LinalgSolveExBackward0")


@pytest.mark.parametrize("left", [True, False])
def test_solve_ex_gradcheck(left, device):
    rng = np.random.default_rng(13)
    for dtype in DTYPES:
        a = _random(rng, (2, 3, 3), dtype)
        b = _random(rng, (2, 3, 2) if left else (2, 2, 3), dtype)
        _gradchecks(lambda lib, x, y: lib.linalg.solve_ex(x, y, left=left).result, [a, b], device,
                    second=dtype == "float64")


def test_solve_backward_reads_nothing(device):
    """linalg.solve reads the device to report a singular matrix (as torch); its backward does not."""
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 2))
    ours, ref = _leaves([a, b], device)
    out = flambeau.linalg.solve(*ours)
    out_ref = torch.linalg.solve(*ref)
    cot = rng.standard_normal((2, 3, 2))
    with no_host_reads(device):
        grads = flambeau.autograd.grad(out, ours, flambeau.tensor(cot, device=device), create_graph=True)
        second = flambeau.autograd.grad(sum(g.sum() for g in grads), ours)
    grads_ref = torch.autograd.grad(out_ref, ref, torch.tensor(cot), create_graph=True)
    assert_same(grads, grads_ref, rtol=1e-8, atol=1e-10, device=device)
    assert_same(second, torch.autograd.grad(sum(g.sum() for g in grads_ref), ref), rtol=1e-7, atol=1e-9,
                device=device)


SINGULAR = np.stack([[[1.0, 2.0], [2.0, 4.0]], np.zeros((2, 2)), [[0.5, 1.0], [-1.0, 3.0]]])


def test_solve_ex_singular(device):
    """A singular matrix: info is the zero on U's diagonal, the result the substitutions' inf and nan, and the
    gradients of the others are finite, as torch's."""
    rng = np.random.default_rng(15)
    b = rng.standard_normal((3, 2, 2))
    for left in (True, False):
        _compare(lambda lib, x, y: lib.linalg.solve_ex(x, y, left=left), [SINGULAR, b], device, second=False)
    _compare(lambda lib, x, y: lib.linalg.solve_ex(x, y), [SINGULAR, b[:, :, 0]], device, second=False)
    _same_error(lambda lib: lib.linalg.solve_ex(lib.tensor(SINGULAR), lib.tensor(b), check_errors=True), device)


def test_solve_ex_errors(device):
    d = "float64"

    def ones(lib, *shape, dtype=d):
        return lib.ones(*shape, dtype=getattr(lib, dtype))
    S = lambda lib: lib.tensor(SINGULAR[:2])        # noqa: E731
    cases = [lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 2), left=False),
             lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 2, 2), left=False),
             lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 3, 2)),
             lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 2, 3), left=False),
             lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 2, 2, dtype="float32")),
             lambda lib: lib.linalg.solve_ex(S(lib), ones(lib, 3, 2, 2)),
             lambda lib: lib.linalg.solve_ex(ones(lib, 2, 3), ones(lib, 2, 2)),
             lambda lib: lib.linalg.solve_ex(ones(lib, 3, 3, dtype="long"), ones(lib, 3, 2, dtype="long")),
             lambda lib: lib.linalg.solve_ex(ones(lib, 3, 3, dtype="half"), ones(lib, 3, 2, dtype="half")),
             lambda lib: lib.linalg.solve(ones(lib, 3, 3), ones(lib, 3, 2, dtype="long")),
             lambda lib: lib.linalg.solve(ones(lib, 3, 3), lib.tensor(1.0, dtype=lib.float64)),
             lambda lib: lib.linalg.solve(ones(lib, 2, 1, 1), ones(lib, 2, 1), left=False)]
    for case in cases:
        _same_error(case, device)
    for shapes in [((0, 0), (0, 2)), ((2, 2), (2, 0)), ((0, 2, 2), (0, 2, 1))]:
        _compare(lambda lib, x, y: lib.linalg.solve_ex(x, y), [np.eye(*shapes[0][-2:]) * np.ones(shapes[0]),
                                                                np.ones(shapes[1])], device, second=False)


# -- linalg.inv_ex -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (0, 2, 2), (0, 0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inv_ex_gradients(shape, dtype, device):
    a = _random(np.random.default_rng(16), shape, dtype)
    _compare(lambda lib, x: lib.linalg.inv_ex(x), [a], device, node="LinalgInvExBackward0")
    if shape == (2, 3, 3):
        _gradchecks(lambda lib, x: lib.linalg.inv_ex(x).inverse, [a], device, second=dtype == "float64")


def test_inv_ex_singular_and_errors(device):
    _compare(lambda lib, x: lib.linalg.inv_ex(x), [SINGULAR], device, second=False)
    cases = [lambda lib: lib.linalg.inv_ex(lib.tensor(SINGULAR), check_errors=True),
             lambda lib: lib.linalg.inv_ex(lib.tensor(SINGULAR[0]), check_errors=True),
             lambda lib: lib.linalg.inv_ex(lib.ones(2, 3)), lambda lib: lib.linalg.inv_ex(lib.ones(3)),
             lambda lib: lib.linalg.inv_ex(lib.ones(3, 3, dtype=lib.long)),
             lambda lib: lib.linalg.inv_ex(lib.ones(3, 3, dtype=lib.half))]
    for case in cases:
        _same_error(case, device)
    out = (flambeau.empty(0, dtype=flambeau.float64, device=device), flambeau.empty(0, dtype=flambeau.int32,
                                                                                    device=device))
    assert flambeau.linalg.inv_ex(flambeau.tensor(SINGULAR, device=device), out=out).inverse is out[0]
    assert_same(out, tuple(torch.linalg.inv_ex(torch.tensor(SINGULAR))), device=device)


# -- linalg.cholesky_ex -------------------------------------------------------------------------------------
def _hermitian_pd(rng, shape, dtype):
    x = _random(rng, shape, dtype)
    return x @ np.conj(np.swapaxes(x, -1, -2)) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky_ex_gradients(upper, dtype, device):
    rng = np.random.default_rng(17)
    a = _hermitian_pd(rng, (2, 3, 3), dtype)
    _compare(lambda lib, x: lib.linalg.cholesky_ex(x, upper=upper), [a], device, node="LinalgCholeskyExBackward0")
    if device == "cpu":
        _compare(lambda lib, x: lib.linalg.cholesky(x, upper=upper), [a], device, node="LinalgCholeskyExBackward0")
    # a function of an unconstrained matrix: gradcheck sees the whole Jacobian
    x = _random(rng, (2, 3, 3), dtype)

    def fn(lib, y):
        eye = lib.eye(3, dtype=y.dtype)
        return lib.linalg.cholesky_ex(y @ y.mH + 3 * eye, upper=upper).L
    _compare(fn, [x], device, node="LinalgCholeskyExBackward0")
    _gradchecks(fn, [x], device, second=dtype == "float64")


def test_cholesky_ex_partial_factor_and_upper_triangle(device):
    """Where A is not positive-definite, L is LAPACK's partial factor and info the order of the failing minor;
    upper=True reads A's upper triangle, as torch."""
    rng = np.random.default_rng(18)
    for dtype in DTYPES:
        good = _hermitian_pd(rng, (4, 5, 5), dtype)
        for i in range(4):
            good[i, i + 1, i + 1] -= 100                # the minor of order i + 2 fails
        skewed = _hermitian_pd(rng, (5, 5), dtype) + np.triu(_random(rng, (5, 5), dtype), 1)
        for a in (good, skewed, np.stack([np.eye(2), [[1.0, 2.0], [2.0, 1.0]], [[-1.0, 0], [0, 1]]]).astype(dtype)):
            for upper in (False, True):
                _compare(lambda lib, x: lib.linalg.cholesky_ex(x, upper=upper), [a], device, second=False)
    for case in [lambda lib: lib.linalg.cholesky_ex(lib.tensor(SINGULAR), check_errors=True),
                 lambda lib: lib.linalg.cholesky_ex(lib.tensor(SINGULAR), upper=True, check_errors=True),
                 lambda lib: lib.linalg.cholesky_ex(lib.ones(2, 3)), lambda lib: lib.linalg.cholesky_ex(lib.ones(3)),
                 lambda lib: lib.linalg.cholesky_ex(lib.ones(3, 3, dtype=lib.long)),
                 lambda lib: lib.linalg.cholesky_ex(lib.ones(3, 3, dtype=lib.half)),
                 lambda lib: lib.linalg.cholesky(lib.ones(3, 3, dtype=lib.half))]:
        _same_error(case, device)
    for shape in [(0, 0), (0, 3, 3)]:
        _compare(lambda lib, x: lib.linalg.cholesky_ex(x), [np.zeros(shape)], device, second=False)
