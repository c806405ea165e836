import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch, assert_same, need_torch, gradcheck, on_device


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


def test_cov_weights(device):
    F = on_device(flambeau, device)
    torch = need_torch()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    fw = rng.integers(1, 4, 5)
    aw = rng.random(5)
    ours = flambeau.cov(F.tensor(x), fweights=F.tensor(fw), aweights=F.tensor(aw))
    ref = torch.cov(torch.tensor(x), fweights=torch.tensor(fw), aweights=torch.tensor(aw))
    assert_same(ours, ref, rtol=1e-10)
    assert ours.device.type == device


def test_cov_degrees_of_freedom_warning_points_at_the_caller(device):
    # the tensor-first wrapper stands between the user and cov(): the warning must still name this file
    import warnings
    for lib in (on_device(flambeau, device), need_torch()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.cov(lib.ones(2, 1))
            lib.ones(2, 1).cov()
        assert [w.filename for w in caught] == [__file__, __file__]
        assert all(str(w.message).startswith("cov(): degrees of freedom is <= 0.") for w in caught)


def test_vander(device):
    F = on_device(flambeau, device)
    torch = need_torch()
    x = np.array([1, 2, 3, 5])
    assert_same(flambeau.vander(F.tensor(x)), torch.vander(torch.tensor(x)))
    assert flambeau.vander(F.tensor(x)).device.type == device
    assert_same(flambeau.vander(F.tensor(x * 1.5), N=3, increasing=True),
                torch.vander(torch.tensor(x * 1.5), N=3, increasing=True))


def test_top_level_functional_aliases(device):
    F = on_device(flambeau, device)
    torch = need_torch()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert_same(flambeau.cosine_similarity(F.tensor(a), F.tensor(b)),
                torch.cosine_similarity(torch.tensor(a), torch.tensor(b)))
    assert_same(flambeau.pairwise_distance(F.tensor(a), F.tensor(b)),
                torch.pairwise_distance(torch.tensor(a), torch.tensor(b)))
    x = F.ones(100)
    assert flambeau.equal(flambeau.dropout(x, 0.5, False), x)
    kept = flambeau.dropout(x, 0.5, True)            # training: on x's device, zeros or 2
    assert kept.device.type == device and set(kept.unique().tolist()) <= {0.0, 2.0}


def test_errors(device):
    F = on_device(flambeau, device)
    with pytest.raises(RuntimeError, match="same number of columns"):
        flambeau.cdist(F.ones(2, 3), F.ones(2, 4))
    with pytest.raises(RuntimeError, match="2D"):
        flambeau.pdist(F.ones(3))


def test_gradcheck_cdist(device):
    gradcheck(lambda lib, a, b: lib.cdist(a, b), (3, 2), (4, 2), device=device)
