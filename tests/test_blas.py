"""Matrix products against torch: matmul broadcasting, addmm family, einsum, tensordot, kron, errors."""
import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch, gradcheck, assert_same, need_torch, on_device
import _oracle

torch = need_torch()


# -- matmul: every broadcasting case -------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [
    ((4,), (4,)),                    # 1-D x 1-D: dot
    ((3, 4), (4,)),                  # 2-D x 1-D: mv
    ((4,), (4, 5)),                  # 1-D x 2-D
    ((3, 4), (4, 5)),                # mm
    ((4,), (2, 4, 5)),               # 1-D x N-D
    ((2, 3, 4), (4,)),               # N-D x 1-D
    ((2, 3, 4), (2, 4, 5)),          # bmm
    ((2, 1, 3, 4), (5, 4, 2)),       # batched broadcast
    ((3, 4), (2, 4, 5)),             # 2-D x N-D
    ((2, 3, 4), (4, 5)),             # N-D x 2-D
])
def test_matmul_broadcasting(device, sa, sb):
    check_against_torch(lambda lib, a, b: lib.matmul(a, b), sa, sb, device=device)
    check_against_torch(lambda lib, a, b: a @ b, sa, sb, device=device)


def test_matmul_non_contiguous_and_float32(device):
    check_against_torch(lambda lib, a, b: a.mT @ b[:, ::2], (4, 3), (4, 6), device=device)
    check_against_torch(lambda lib, a, b: a.expand(2, 3, 4) @ b, (3, 4), (2, 4, 2), device=device)
    out = check_against_torch(lambda lib, a, b: a @ b, (2, 3, 4), (4, 2), device=device, dtype="float32",
                              rtol=1e-5, atol=1e-6)
    assert out.dtype is flambeau.float32


def test_matmul_integers_and_out(device):
    F = on_device(flambeau, device)
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    assert_same(flambeau.matmul(F.tensor(a), F.tensor(b)), torch.matmul(torch.tensor(a),
                                                                                     torch.tensor(b)))
    out = F.empty(2, 4, dtype=flambeau.int64)
    flambeau.mm(F.tensor(a), F.tensor(b), out=out)
    assert_same(out, torch.tensor(a) @ torch.tensor(b))


@pytest.mark.parametrize("sa,sb", [((0, 3), (3, 4)), ((2, 0), (0, 4)), ((2, 0, 3), (3, 1)), ((0,), (0,)),
                                   ((3, 0), (0,))])
def test_zero_size(device, sa, sb):
    check_against_torch(lambda lib, a, b: a @ b, sa, sb, device=device)


def test_mm_mv_bmm_dot_methods(device):
    check_against_torch(lambda lib, a, b: lib.mm(a, b), (3, 4), (4, 2), device=device)
    check_against_torch(lambda lib, a, b: a.mv(b), (3, 4), (4,), device=device)
    check_against_torch(lambda lib, a, b: lib.bmm(a, b), (2, 3, 4), (2, 4, 5), device=device)
    check_against_torch(lambda lib, a, b: a.dot(b), (5,), (5,), device=device)


def test_vdot_inner_outer(device):
    check_against_torch(lambda lib, a, b: lib.vdot(a, b), (5,), (5,), device=device)
    check_against_torch(lambda lib, a, b: lib.outer(a, b), (3,), (4,), device=device)
    check_against_torch(lambda lib, a, b: a.ger(b), (3,), (4,), device=device)
    for sa, sb in [((4,), (4,)), ((2, 4), (4,)), ((4,), (3, 4)), ((2, 3, 4), (5, 4)), ((2, 4), (3, 2, 4))]:
        check_against_torch(lambda lib, a, b: lib.inner(a, b), sa, sb, device=device)
    check_against_torch(lambda lib, a, b: lib.inner(a, b), (), (3,), device=device)


def test_vdot_complex_conjugates_first(device):
    F = on_device(flambeau, device)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    b = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    assert_same(flambeau.vdot(F.tensor(a), F.tensor(b)), torch.vdot(torch.tensor(a),
                                                                                 torch.tensor(b)))
    assert_same(flambeau.dot(F.tensor(a), F.tensor(b)), torch.dot(torch.tensor(a), torch.tensor(b)))


# -- addmm and friends ------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1.5), (2, 0)])
def test_add_family(device, beta, alpha):
    kw = dict(beta=beta, alpha=alpha)
    check_against_torch(lambda lib, i, a, b: lib.addmm(i, a, b, **kw), (3, 2), (3, 4), (4, 2), device=device)
    check_against_torch(lambda lib, i, a, b: lib.addmm(i, a, b, **kw), (2,), (3, 4), (4, 2), device=device)
    check_against_torch(lambda lib, i, a, b: lib.addmv(i, a, b, **kw), (3,), (3, 4), (4,), device=device)
    check_against_torch(lambda lib, i, a, b: lib.addr(i, a, b, **kw), (3, 4), (3,), (4,), device=device)
    check_against_torch(lambda lib, i, a, b: lib.baddbmm(i, a, b, **kw), (2, 3, 5), (2, 3, 4), (2, 4, 5),
                        device=device)
    check_against_torch(lambda lib, i, a, b: lib.addbmm(i, a, b, **kw), (3, 5), (2, 3, 4), (2, 4, 5),
                        device=device)
    check_against_torch(lambda lib, i, a, b: i.addmm(a, b, **kw), (3, 2), (3, 4), (4, 2), device=device)


def test_beta_zero_ignores_nan_in_input(device):
    F = on_device(flambeau, device)
    nan3 = np.full((3, 2), np.nan)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    for name, args in [("addmm", (nan3, a, b)), ("addmv", (nan3[:, 0], a, b[:, 0])),
                       ("addr", (nan3, a[:, 0], b[0])),
                       ("baddbmm", (nan3[None], a[None], b[None])), ("addbmm", (nan3, a[None], b[None]))]:
        ours = getattr(flambeau, name)(*[F.tensor(x) for x in args], beta=0)
        assert ours.device.type == device
        ref = getattr(torch, name)(*[torch.tensor(x) for x in args], beta=0)
        assert_same(ours, ref)


def test_inplace_add_family(device):
    F = on_device(flambeau, device)
    rng = np.random.default_rng(2)
    for name, shapes in [("addmm_", ((3, 2), (3, 4), (4, 2))), ("addmv_", ((3,), (3, 4), (4,))),
                         ("addr_", ((3, 4), (3,), (4,))), ("baddbmm_", ((2, 3, 5), (2, 3, 4), (2, 4, 5))),
                         ("addbmm_", ((3, 5), (2, 3, 4), (2, 4, 5)))]:
        arrays = [rng.standard_normal(s) for s in shapes]
        ours = [F.tensor(x) for x in arrays]
        ref = [torch.tensor(x) for x in arrays]
        r1 = getattr(ours[0], name)(*ours[1:], beta=0.5, alpha=2)
        r2 = getattr(ref[0], name)(*ref[1:], beta=0.5, alpha=2)
        assert r1 is ours[0]
        assert_same(ours[0], r2)


def test_add_family_gradcheck(device):
    gradcheck(lambda lib, i, a, b: lib.addmm(i, a, b, beta=0.3, alpha=-2), (3, 2), (3, 4), (4, 2), device=device)
    gradcheck(lambda lib, i, a, b: lib.baddbmm(i, a, b, beta=2, alpha=0.5), (1, 3, 2), (2, 3, 4), (2, 4, 2),
              device=device)


# -- einsum, tensordot, kron -------------------------------------------------------------------------------
@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),                    # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),        # batch matmul
    ("ii->i", [(4, 4)]),                              # diagonal
    ("ii", [(4, 4)]),                                 # trace
    ("ii->", [(4, 4)]),
    ("bii->b", [(3, 4, 4)]),                          # batched traces
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),     # ellipsis with broadcasting
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("...i,...i", [(2, 3), (3,)]),
    ("ij,ij,ij->i", [(3, 4), (3, 4), (3, 4)]),        # repeated terms
    ("ijk,jl,kl->il", [(2, 3, 4), (3, 5), (4, 5)]),
    ("ab,ab->ab", [(2, 3), (2, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear
    ("i j , j k -> i k", [(2, 3), (3, 2)]),           # spaces
])
def test_einsum_matches_torch(device, eq, shapes):
    check_against_torch(lambda lib, *ops: lib.einsum(eq, *ops), *shapes, device=device)


def test_einsum_list_operands_and_broadcast_one(device):
    check_against_torch(lambda lib, a, b: lib.einsum("ij,jk->ik", [a, b]), (2, 3), (3, 4), device=device)
    check_against_torch(lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b), (1, 2, 3), (4, 3, 2), device=device)


def test_einsum_errors(device):
    F = on_device(flambeau, device)
    with pytest.raises(RuntimeError):
        flambeau.einsum("ij,jk->ik", F.ones(2, 3))
    with pytest.raises(RuntimeError):
        flambeau.einsum("ij->ij", F.ones(2, 3, 4))
    with pytest.raises(RuntimeError):
        flambeau.einsum("ij,jk->ik", F.ones(2, 3), F.ones(4, 2))


EINSUM_MISTAKES = [
    ("ij->ii", [(3, 3)]), ("ij->k", [(3, 3)]), ("ij->IJ", [(3, 3)]), ("...ij->......", [(2, 3, 3)]),
    ("i.j->ij", [(3, 3)]), ("ij->i.", [(3, 3)]), ("i1->i", [(3, 3)]), ("ij-ji", [(3, 3)]), ("ij->ji->i", [(3, 3)]),
    ("...i...->i", [(2, 3, 4)]), ("...ijk", [(3, 3)]), ("ij,jk", [(3, 3), (3, 3), (3, 3)]), ("ij,jk,", [(3, 3)] * 2),
    ("ii->i", [(2, 3)]), ("i,ii", [(5,), (3, 4)]), ("...,...", [(2, 3, 4), (5, 4)]), ("...,...", [(2, 3, 4), (3, 5)]),
    ("ijk->ii", [(3, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_MISTAKES)
def test_einsum_errors_match_torch(device, eq, shapes):
    _oracle.same_error(lambda lib: lib.einsum(eq, *[lib.ones(s) for s in shapes]), device)     # type and message


def test_einsum_without_operands_is_a_value_error():
    _oracle.same_error(lambda lib: lib.einsum("i"))


@pytest.mark.parametrize("eq,shapes", [("ij->...i", [(3, 3)]), ("ij,ij->ij...", [(3, 3), (3, 1)]),
                                       ("i,i", [(3,), (1,)]), ("ij,j", [(3, 1), (4,)]), ("->", [()])])
def test_einsum_broadcast_and_empty_ellipsis_match_torch(device, eq, shapes):
    check_against_torch(lambda lib, *ops: lib.einsum(eq, *ops), *shapes, device=device)


def test_einsum_promotes_without_a_contraction_and_refuses_mixed_bmm(device):
    F = on_device(flambeau, device)
    for lib in (torch, F):      # a pure product multiplies (promoting); a contraction is a bmm
        out = lib.einsum("i,j->ij", lib.ones(2), lib.ones(3, dtype=lib.float64))
        assert out.dtype == lib.float64 and tuple(out.shape) == (2, 3)
    _oracle.same_error(lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64)), device)


@pytest.mark.parametrize("dims,sa,sb", [(2, (2, 3, 4), (3, 4, 5)), (1, (2, 3), (3, 4)), (0, (2,), (3,)),
                                        (([1, 0], [0, 1]), (3, 4, 5), (4, 3, 2)), (([2], [0]), (2, 3, 4), (4, 2))])
def test_tensordot(device, dims, sa, sb):
    check_against_torch(lambda lib, a, b: lib.tensordot(a, b, dims=dims), sa, sb, device=device)


def test_tensordot_zero_size(device):
    check_against_torch(lambda lib, a, b: lib.tensordot(a, b, dims=1), (0, 3), (3, 2), device=device)
    check_against_torch(lambda lib, a, b: lib.tensordot(a, b, dims=1), (2, 0), (0, 2), device=device)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((2,), (3,)), ((2, 3), (4,)), ((2, 1, 3), (2, 2))])
def test_kron(device, sa, sb):
    check_against_torch(lambda lib, a, b: lib.kron(a, b), sa, sb, device=device)


def test_chain_matmul(device):
    F = on_device(flambeau, device)
    check_against_torch(lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), (2, 3), (3, 4), (4, 2), device=device)
    ours = flambeau.chain_matmul(*[F.ones(2, 2)] * 3)
    assert_same(ours, torch.ones(2, 2) @ torch.ones(2, 2) @ torch.ones(2, 2))


# -- errors -----------------------------------------------------------------------------------------------
def same_error(fn, *arrays, device="cpu"):
    ours = [flambeau.tensor(a, device=device) for a in arrays]
    ref = [torch.tensor(a) for a in arrays]
    with pytest.raises(Exception) as e_ref:
        fn(torch, *ref)
    with pytest.raises(Exception) as e_ours:
        fn(on_device(flambeau, device), *ours)
    assert e_ours.type is e_ref.type, (e_ours.value, e_ref.value)
    return str(e_ours.value), str(e_ref.value)


def test_dtype_mismatch_errors(device):
    f32, f64 = np.ones((2, 2), dtype=np.float32), np.ones((2, 2))
    for fn in [lambda lib, a, b: lib.mm(a, b), lambda lib, a, b: a @ b, lambda lib, a, b: lib.matmul(a, b[0]),
               lambda lib, a, b: lib.bmm(a[None], b[None]), lambda lib, a, b: lib.dot(a[0], b[0]),
               lambda lib, a, b: lib.mv(a, b[0]), lambda lib, a, b: lib.addmm(b, a, b)]:
        same_error(fn, f32, f64, device=device)


def test_shape_errors(device):
    for fn, sa, sb in [(lambda lib, a, b: lib.mm(a, b), (2, 3), (2, 3)),
                       (lambda lib, a, b: a @ b, (2, 3), (2, 3)),
                       (lambda lib, a, b: a @ b, (3,), (4,)),
                       (lambda lib, a, b: a @ b, (2, 3, 4), (3, 4, 2)),
                       (lambda lib, a, b: a @ b, (), (3,)),
                       (lambda lib, a, b: lib.mv(a, b), (2, 3), (2,)),
                       (lambda lib, a, b: lib.bmm(a, b), (2, 3, 4), (3, 4, 2)),
                       (lambda lib, a, b: lib.dot(a, b), (3,), (4,)),
                       (lambda lib, a, b: lib.tensordot(a, b, dims=1), (2, 3), (4, 2))]:
        msg, ref = same_error(fn, np.ones(sa), np.ones(sb), device=device)
    msg, ref = same_error(lambda lib, a, b: lib.mm(a, b), np.ones((2, 3)), np.ones((2, 3)), device=device)
    assert msg == ref


def test_einsum_sublist_format(device):
    check_against_torch(lambda lib, a, b: lib.einsum(a, [0, 1], b, [1, 2], [0, 2]), (2, 3), (3, 4), device=device)
    check_against_torch(lambda lib, a, b: lib.einsum(a, [0, 1], b, [1, 27]), (2, 3), (3, 4), device=device)
    check_against_torch(lambda lib, a, b: lib.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2]), (5, 2, 3), (3, 4),
                        device=device)


@pytest.mark.parametrize("expr", ["a @ a", "a @ v", "v @ v", "v @ a", "a[None] @ a[None]", "L.matmul(a[None], a)",
                                  "L.addmm(a, a, a)", "L.mm(a, a)", "L.mv(a, v)", "L.dot(v, v)", "L.bmm(a[None], a[None])"])
def test_boolean_products_raise_as_torch(expr, device):
    outcomes = []
    for L in (torch, on_device(flambeau, device)):
        a, v = L.tensor([[True, False], [True, True]]), L.tensor([True, False])
        with pytest.raises(NotImplementedError) as caught:
            eval(expr)
        outcomes.append(str(caught.value))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("shapes", [((2, 3, 4, 5), (2, 2, 5, 6)), ((3, 4, 5), (2, 5, 6)), ((4, 1, 2, 3), (5, 3, 4))])
def test_matmul_batch_dims_that_do_not_broadcast(shapes):
    messages = []
    for lib in (flambeau, torch):
        try:
            lib.matmul(lib.zeros(*shapes[0]), lib.zeros(*shapes[1]))
            messages.append(None)
        except RuntimeError as e:
            messages.append(str(e))
    assert messages[0] == messages[1]



@pytest.mark.parametrize("shape", [(2,), (1, 1, 1), (2, 1), (3, 2)])
def test_addmm_input_must_expand_to_the_product(shape, device):
    """addmm's input expands to (n, m), it does not broadcast with it: torch's expand errors, in RuntimeError."""
    ours, ref = same_error(lambda lib, x: lib.addmm(x, lib.ones(3, 1), lib.ones(1, 1)), np.ones(shape, np.float32),
                           device=device)
    assert ours == ref or device != "cpu"       # (torch on the CPU names a CPU tensor type)


@pytest.mark.parametrize("dtype", ["float16", "float32", "int64", "uint8", "bool", "complex64"])
def test_expand_error_names_the_tensor_type(dtype, device):
    ours, ref = same_error(lambda lib, x: x.expand(3), np.ones((2, 2), dtype), device=device)
    assert ours == (ref if device == "cpu" else ref.replace("torch.", "torch.cuda.").replace("CPU", "CUDA"))


@pytest.mark.parametrize("da, db", [(a, b) for a in (1, 2, 3, 4) for b in (1, 2, 3, 4)])
def test_matmul_dtype_mismatch_message_is_the_kernels_it_reaches(da, db, device):
    # dot, addmv, mm or bmm notices the mismatch, each in its own words, operands in either order
    shapes = {1: (3,), 2: (3, 3), 3: (2, 3, 3), 4: (2, 2, 3, 3)}
    for first, second in ((np.float32, np.float64), (np.float64, np.float32)):
        ours, ref = same_error(lambda lib, a, b: lib.matmul(a, b), np.ones(shapes[da], first),
                               np.ones(shapes[db], second), device=device)
        assert ours == ref


@pytest.mark.parametrize("expr", [
    "L.bmm(b32, b64)", "L.bmm(b64, b32)", "L.bmm(b32, b32.long())", "L.mv(m32, v64)", "L.mv(m64, v32)",
    "L.dot(v32, v64)", "L.dot(v32, v32.long())", "L.vdot(v32, v64)",
    "L.addmv(v64, m32, v32)", "L.addmv(v32, m64, v32)", "L.addmv(v32, m32, v64)",
    "L.addmm(m64, m32, m32)", "L.addmm(m32, m64, m32)", "L.addmm(m32, m32, m64)",
    "L.addbmm(m64, b32, b32)", "L.addbmm(m32, b64, b32)", "L.addbmm(m32, b32, b64)",
    "L.baddbmm(b32, b32, b64)", "L.baddbmm(b64, b32, b32)", "L.baddbmm(b32, b64, b32)", "L.baddbmm(b32.long(), b32, b32)",
])
def test_product_dtype_mismatch_messages_match_torch(expr, device):
    def run(L, b32):
        b64, m32, v32 = b32.double(), b32[0], b32[0, 0]
        m64, v64 = m32.double(), v32.double()
        return eval(expr)
    ours, ref = same_error(run, np.ones((2, 3, 3), np.float32), device=device)
    assert ours == ref
