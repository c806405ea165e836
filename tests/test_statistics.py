import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch, assert_same, need_torch, gradcheck


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, float("inf")])
def test_cdist(p, device):
    check_against_torch(lambda lib, a, b: lib.cdist(a, b, p=p), (4, 3), (5, 3), device=device,
                        grad=p not in (0.0,), rtol=1e-6, atol=1e-7)


def test_cdist_batched_and_pdist(device):
    check_against_torch(lambda lib, a, b: lib.cdist(a, b), (2, 4, 3), (2, 5, 3), device=device)
    check_against_torch(lambda lib, a: lib.pdist(a), (5, 3), device=device)


def test_cov_corrcoef(device):
    check_against_torch(lambda lib, a: lib.cov(a), (3, 6), device=device)
    check_against_torch(lambda lib, a: lib.cov(a, correction=0), (3, 6), device=device)
    check_against_torch(lambda lib, a: lib.corrcoef(a), (3, 6), device=device)
    check_against_torch(lambda lib, a: a.cov(), (6,), device=device)


def test_cov_weights():
    torch = need_torch()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    fw = rng.integers(1, 4, 5)
    aw = rng.random(5)
    ours = flambeau.cov(flambeau.tensor(x), fweights=flambeau.tensor(fw), aweights=flambeau.tensor(aw))
    ref = torch.cov(torch.tensor(x), fweights=torch.tensor(fw), aweights=torch.tensor(aw))
    assert_same(ours, ref, rtol=1e-10)


def test_vander():
    torch = need_torch()
    x = np.array([1, 2, 3, 5])
    assert_same(flambeau.vander(flambeau.tensor(x)), torch.vander(torch.tensor(x)))
    assert_same(flambeau.vander(flambeau.tensor(x * 1.5), N=3, increasing=True),
                torch.vander(torch.tensor(x * 1.5), N=3, increasing=True))


def test_top_level_functional_aliases():
    torch = need_torch()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert_same(flambeau.cosine_similarity(flambeau.tensor(a), flambeau.tensor(b)),
                torch.cosine_similarity(torch.tensor(a), torch.tensor(b)))
    assert_same(flambeau.pairwise_distance(flambeau.tensor(a), flambeau.tensor(b)),
                torch.pairwise_distance(torch.tensor(a), torch.tensor(b)))
    x = flambeau.ones(100)
    assert flambeau.equal(flambeau.dropout(x, 0.5, False), x)


def test_errors():
    with pytest.raises(RuntimeError, match="same number of columns"):
        flambeau.cdist(flambeau.ones(2, 3), flambeau.ones(2, 4))
    with pytest.raises(RuntimeError, match="2D"):
        flambeau.pdist(flambeau.ones(3))


def test_gradcheck_cdist():
    gradcheck(lambda lib, a, b: lib.cdist(a, b), (3, 2), (4, 2))
