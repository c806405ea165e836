import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch


@pytest.mark.parametrize("name", ["expit", "erf", "erfc", "gammaln", "digamma", "ndtr", "log_ndtr", "log1p",
                                  "expm1", "exp2", "sinc", "entr", "i0"])
def test_unary(name, device):
    positive = name in ("gammaln", "digamma", "log1p", "entr")
    check_against_torch(lambda lib, x: getattr(lib.special, name)(x), (3, 4), positive=positive, device=device,
                        rtol=1e-6, atol=1e-8, grad=name != "i0")


def test_ranged(device):
    probs = lambda rng, s: rng.uniform(0.05, 0.95, s)     # noqa: E731
    for name in ("logit", "ndtri", "erfinv"):
        check_against_torch(lambda lib, x: getattr(lib.special, name)(x), (5,), make_input=probs, device=device)


def test_binary_and_reductions(device):
    check_against_torch(lambda lib, x, y: lib.special.xlogy(x, y), (4,), (4,), positive=True, device=device)
    check_against_torch(lambda lib, x, y: lib.special.xlog1py(x, y), (4,), (4,), positive=True, device=device)
    check_against_torch(lambda lib, x: lib.special.logsumexp(x, 1), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.special.softmax(x, 0), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.special.log_softmax(x, 1), (3, 4), device=device)


def test_entr_edge_values(device):
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -1.0, 0.5])
    out = flambeau.special.entr(flambeau.tensor(x, device=device))
    assert out.device.type == device
    np.testing.assert_allclose(out.cpu().numpy(),
                               torch.special.entr(torch.tensor(x)).numpy())
