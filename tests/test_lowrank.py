"""svd_lowrank and pca_lowrank against PyTorch. Both draw a random projection, and flambeau's random
numbers are not PyTorch's, so values are compared where the projection cannot matter: on matrices
of rank at most q, whose leading singular triplets any basis of their range recovers exactly."""
import numpy as np
import pytest
import torch

import flambeau
from flambeau.autograd import gradcheck


def _outcome(fn):
    try:
        result = fn()
    except Exception as e:          # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e)
    return type(result).__name__, [(tuple(t.shape), str(t.dtype)) for t in result]


CALLS = {
    "pca default": lambda lib, A: lib.pca_lowrank(A),
    "pca q too large": lambda lib, A: lib.pca_lowrank(A, q=9),
    "pca q negative": lambda lib, A: lib.pca_lowrank(A, q=-1),
    "pca niter negative": lambda lib, A: lib.pca_lowrank(A, niter=-1),
    "pca q=2 uncentered": lambda lib, A: lib.pca_lowrank(A, q=2, center=False),
    "pca integer": lambda lib, A: lib.pca_lowrank(A.long(), q=3),
    "svd default": lambda lib, A: lib.svd_lowrank(A),
    "svd q above rank": lambda lib, A: lib.svd_lowrank(A, q=9),
    "svd q None": lambda lib, A: lib.svd_lowrank(A, q=None, niter=None),
    "svd tall": lambda lib, A: lib.svd_lowrank(A.t(), q=3),
    "svd batch": lambda lib, A: lib.svd_lowrank(A.expand(2, 3, 5, 7), q=3),
    "svd M": lambda lib, A: lib.svd_lowrank(A, q=4, M=A.mean(0)),
    "svd complex": lambda lib, A: lib.svd_lowrank(A.to(lib.complex64), q=3),
    "svd integer": lambda lib, A: lib.svd_lowrank(A.long(), q=3),
    "svd 1-D": lambda lib, A: lib.svd_lowrank(A[0], q=3),
}


@pytest.mark.parametrize("case", sorted(CALLS))
def test_shapes_dtypes_and_errors(case, device):
    A = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    expected = _outcome(lambda: CALLS[case](torch, torch.tensor(A)))
    assert _outcome(lambda: CALLS[case](flambeau, flambeau.tensor(A, device=device))) == expected


def _low_rank(rng, shape, rank, dtype=np.float64):
    """A matrix (or batch) of the given rank with well separated singular values."""
    *batch, m, n = shape
    u = np.linalg.qr(rng.standard_normal((*batch, m, rank)))[0]
    v = np.linalg.qr(rng.standard_normal((*batch, n, rank)))[0]
    s = np.array([8.0, 4.0, 2.0, 1.0, 0.5][:rank])
    return ((u * s) @ np.swapaxes(v, -1, -2)).astype(dtype)


def _check_triplets(ours, ref, rank):
    """Same leading singular values, and the same singular vectors up to a sign (phase) each."""
    (U, S, V), (tU, tS, tV) = [[t.detach().cpu().resolve_conj().numpy() for t in r] for r in (ours, ref)]
    np.testing.assert_allclose(S[..., :rank], tS[..., :rank], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(S[..., rank:], 0, atol=1e-9)
    for a, b in ((U, tU), (V, tV)):
        a, b = a[..., :rank], b[..., :rank]
        phase = (np.conj(b) * a).sum(-2, keepdims=True)
        np.testing.assert_allclose(np.abs(phase), 1, rtol=1e-9)
        np.testing.assert_allclose(a, b * phase, atol=1e-9)


@pytest.mark.parametrize("shape, rank, q", [((9, 6), 3, 4), ((6, 9), 3, 3), ((2, 8, 7), 2, 5), ((12, 5), 5, 5)])
def test_svd_lowrank_recovers_a_low_rank_matrix(shape, rank, q, device):
    A = _low_rank(np.random.default_rng(1), shape, rank)
    ours = flambeau.svd_lowrank(flambeau.tensor(A, device=device), q=q)
    ref = torch.svd_lowrank(torch.tensor(A), q=q)
    _check_triplets(ours, ref, rank)
    U, S, V = (t.cpu().numpy() for t in ours)
    np.testing.assert_allclose((U * S[..., None, :]) @ np.swapaxes(V, -1, -2), A, atol=1e-9)


def test_svd_lowrank_complex(device):
    rng = np.random.default_rng(2)
    A = _low_rank(rng, (7, 6), 2) + 1j * _low_rank(rng, (7, 6), 2)
    ours = flambeau.svd_lowrank(flambeau.tensor(A, device=device), q=4)
    ref = torch.svd_lowrank(torch.tensor(A), q=4)
    assert ours[0].dtype == flambeau.complex128 and ours[1].dtype == flambeau.float64
    rank = int((ref[1] > 1e-9).sum())
    _check_triplets(ours, ref, rank)


def test_svd_lowrank_of_a_matrix_minus_its_broadcast_mean(device):
    rng = np.random.default_rng(3)
    mean = rng.standard_normal(6)
    A = _low_rank(rng, (10, 6), 3) + mean
    ours = flambeau.svd_lowrank(flambeau.tensor(A, device=device), q=3, M=flambeau.tensor(mean, device=device))
    ref = torch.svd_lowrank(torch.tensor(A), q=3, M=torch.tensor(mean))
    _check_triplets(ours, ref, 3)


def test_pca_lowrank_principal_directions(device):
    # samples spread along 3 directions around a common offset: centering removes the offset
    rng = np.random.default_rng(4)
    A = _low_rank(rng, (40, 8), 3) + rng.standard_normal(8) * 10
    ours = flambeau.pca_lowrank(flambeau.tensor(A, device=device), q=4)
    ref = torch.pca_lowrank(torch.tensor(A), q=4)
    _check_triplets(ours, ref, 3)
    centered = A - A.mean(0)
    variances = np.linalg.eigvalsh(centered.T @ centered / 39)[::-1][:3]
    np.testing.assert_allclose(ours[1].cpu().numpy()[:3] ** 2 / 39, variances, rtol=1e-9)


def test_a_seed_makes_it_repeatable(device):
    A = flambeau.tensor(np.random.default_rng(5).standard_normal((8, 8)), device=device)
    runs = []
    for _ in range(2):
        flambeau.manual_seed(7)
        runs.append(flambeau.svd_lowrank(A, q=3, niter=0)[1].cpu().numpy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_gradient(device):
    # With q = min(m, n) the basis spans A's whole range: the result is A's SVD, whatever was drawn,
    # and its gradient PyTorch's.
    A = np.random.default_rng(6).standard_normal((6, 4))
    ours = flambeau.tensor(A, device=device, requires_grad=True)
    ref = torch.tensor(A, requires_grad=True)
    for lib, x in ((flambeau, ours), (torch, ref)):
        U, S, V = lib.svd_lowrank(x, q=4)
        (S * lib.arange(1.0, 5.0, dtype=lib.float64, device=x.device)).sum().backward()
    np.testing.assert_allclose(ours.grad.cpu().numpy(), ref.grad.numpy(), atol=1e-10)

    def top_values(x):
        flambeau.manual_seed(0)
        return flambeau.pca_lowrank(x, q=2)[1]
    assert gradcheck(top_values, (flambeau.tensor(A, device=device, requires_grad=True),))
