"""Scatter-style ops write their source as is: torch refuses a source of another dtype, with each op's
own message (no silent cast)."""
import pytest

import flambeau
from _oracle import need_torch, same_error, on_device

torch = need_torch()

CASES = {
    "scatter": lambda L, a, s: a.scatter(0, L.zeros(2, 3, dtype=L.long), s),
    "scatter_": lambda L, a, s: a.clone().scatter_(0, L.zeros(2, 3, dtype=L.long), s),
    "scatter_add": lambda L, a, s: a.scatter_add(0, L.zeros(2, 3, dtype=L.long), s),
    "scatter_reduce": lambda L, a, s: a.scatter_reduce(0, L.zeros(2, 3, dtype=L.long), s, "amax"),
    "index_add": lambda L, a, s: a.index_add(0, L.tensor([0, 1]), s),
    "index_add_": lambda L, a, s: a.clone().index_add_(0, L.tensor([0, 1]), s),
    "index_copy": lambda L, a, s: a.index_copy(0, L.tensor([0, 1]), s),
    "index_reduce": lambda L, a, s: a.index_reduce(0, L.tensor([0, 1]), s, "prod"),
    "masked_scatter": lambda L, a, s: a.masked_scatter(a > 0, s),
    "index_put": lambda L, a, s: a.index_put((L.tensor([0, 1]),), s),
    "cross": lambda L, a, s: L.cross(a, s, dim=1),
    "linalg.cross": lambda L, a, s: L.linalg.cross(a, s),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtypes", [("float32", "float16"), ("float64", "float32"), ("int64", "int32")])
def test_a_source_of_another_dtype_errors_as_torch(name, dtypes, device):
    self_dtype, source_dtype = dtypes
    same_error(lambda L: CASES[name](L, L.ones(2, 3, dtype=getattr(L, self_dtype)),
                                     L.ones(2, 3, dtype=getattr(L, source_dtype))), device)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_dtype_still_works(name, device):
    lib = on_device(flambeau, device)
    out = CASES[name](lib, lib.ones(2, 3), lib.ones(2, 3))
    assert out.dtype is flambeau.float32 and out.device.type == device
