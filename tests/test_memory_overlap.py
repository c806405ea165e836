"""Writes over their own operands, as PyTorch: an op that writes into a tensor (in place, out=,
copy_, item assignment) refuses an operand sharing part of the written memory, and accepts one
sharing all of it in the same layout (Note [Writes over their own operands])."""
import numpy as np
import pytest
import torch

import flambeau


def _flat(lib, a):
    return a.view(-1)


def _index(lib, a, values):
    return lib.tensor(values).to(a.device)


# Each case writes into tensors over a = arange(9.).view(3, 3) (and b, an unrelated 3x3 tensor).
CASES = {
    # operands over part of the written memory: refused
    "add_ transposed": lambda lib, a, b: a.add_(a.t()),
    "mul_ transposed": lambda lib, a, b: a.mul_(a.t()),
    "sub_ shifted": lambda lib, a, b: _flat(lib, a)[1:].sub_(_flat(lib, a)[:-1]),
    "add_ shifted alpha": lambda lib, a, b: _flat(lib, a)[1:].add_(_flat(lib, a)[:-1], alpha=2),
    "div_ row": lambda lib, a, b: a.div_(a[0]),
    "pow_ transposed": lambda lib, a, b: a.pow_(a.t()),
    "clamp_ min transposed": lambda lib, a, b: a.clamp_(min=a.t()),
    "lerp_ transposed": lambda lib, a, b: a.lerp_(a.t(), 0.5),
    "addcmul_ transposed": lambda lib, a, b: a.addcmul_(a.t(), b),
    "addcdiv_ transposed": lambda lib, a, b: a.addcdiv_(b, a.t()),
    "copy_ transposed": lambda lib, a, b: a.copy_(a.t()),
    "copy_ shifted": lambda lib, a, b: _flat(lib, a)[1:].copy_(_flat(lib, a)[:-1]),
    "setitem shifted": lambda lib, a, b: _flat(lib, a).__setitem__(slice(1, None), _flat(lib, a)[:-1]),
    "setitem rows": lambda lib, a, b: a.__setitem__(slice(0, 2), a[1:]),
    "add out transposed": lambda lib, a, b: lib.add(a, a.t(), out=a),
    "mul out shifted": lambda lib, a, b: lib.mul(_flat(lib, a)[:-1], 2, out=_flat(lib, a)[1:]),
    "exp out transposed": lambda lib, a, b: lib.exp(a.t(), out=a),
    "where out transposed": lambda lib, a, b: lib.where(b > 0, a.t(), b, out=a),
    "maximum out transposed": lambda lib, a, b: lib.maximum(a, a.t(), out=a),
    "cat out over an input": lambda lib, a, b: lib.cat([a[:1], b[1:]], out=_flat(lib, a)),
    "fmod_ transposed": lambda lib, a, b: a.fmod_(a.t()),
    "atan2_ transposed": lambda lib, a, b: a.atan2_(a.t()),
    "masked_fill_ own mask": lambda lib, a, b: a.masked_fill_(b > 0, 1.0),
    "eq_ transposed": lambda lib, a, b: a.eq_(a.t()),
    "logical_and_ transposed": lambda lib, a, b: a.logical_and_(a.t()),
    "copysign_ transposed": lambda lib, a, b: a.copysign_(a.t()),
    "xlogy_ transposed": lambda lib, a, b: a.xlogy_(a.t()),
    "gt out transposed": lambda lib, a, b: lib.gt(a, a.t(), out=a),
    "fmax out transposed": lambda lib, a, b: lib.fmax(a, a.t(), out=a),
    "clamp out transposed": lambda lib, a, b: lib.clamp(a.t(), 1, 5, out=a),
    "sub_ transposed alpha": lambda lib, a, b: a.sub_(a.t(), alpha=2),
    # index_put_, index_add_, index_copy_, scatter_ and put_ refuse any shared memory, even all of it
    "setitem index over part": lambda lib, a, b: a.__setitem__(_index(lib, a, [0, 1]), a[1:]),
    "setitem index over all": lambda lib, a, b: a.__setitem__(_index(lib, a, [0, 1, 2]), a),
    "setitem list over all": lambda lib, a, b: a.__setitem__([2, 1, 0], a),
    "setitem mask over part": lambda lib, a, b: a.__setitem__(a > 4, _flat(lib, a)[:4]),
    "index_add_ itself": lambda lib, a, b: a.index_add_(0, _index(lib, a, [0, 1, 2]), a),
    "index_add_ over part": lambda lib, a, b: a.index_add_(0, _index(lib, a, [0, 1]), a[1:]),
    "index_copy_ itself": lambda lib, a, b: a.index_copy_(0, _index(lib, a, [2, 1, 0]), a),
    "scatter_ itself": lambda lib, a, b: a.scatter_(0, _index(lib, a, [[2, 1, 0]]), a),
    "scatter_add_ itself": lambda lib, a, b: a.scatter_add_(0, _index(lib, a, [[2, 1, 0]]), a),
    "scatter_reduce_ itself": lambda lib, a, b: a.scatter_reduce_(0, _index(lib, a, [[2, 1, 0]]), a, "sum"),
    "put_ over part": lambda lib, a, b: a.put_(_index(lib, a, [0, 1]), _flat(lib, a)[1:3]),
    "stack out over an input": lambda lib, a, b: lib.stack([a[0], b[1]], out=a[:2]),
    # the same memory in the same layout, no shared memory, or memory not dense: accepted
    "add_ itself": lambda lib, a, b: a.add_(a),
    "mul_ same view": lambda lib, a, b: a[1].mul_(a[1]),
    "neg_": lambda lib, a, b: a.neg_(),
    "add_ other": lambda lib, a, b: a.add_(b.t()),
    "add_ disjoint rows": lambda lib, a, b: a[0].add_(a[2]),
    "add_ strided disjoint": lambda lib, a, b: _flat(lib, a)[0:8:2].add_(_flat(lib, a)[1:9:2]),
    "copy_ flipped (a copy)": lambda lib, a, b: a.copy_(a.flip(0)),
    "copy_ itself": lambda lib, a, b: a.copy_(a),
    "exp out itself": lambda lib, a, b: lib.exp(a, out=a),
    "add out itself": lambda lib, a, b: lib.add(a, a, out=a),
    "sum out a row": lambda lib, a, b: lib.sum(b, 0, out=a[0]),
    "relu_ transposed": lambda lib, a, b: lib.relu_(a.t()),
    "setitem mask one element": lambda lib, a, b: a.__setitem__(a > 4, _flat(lib, a)[2:3]),
    "setitem row itself": lambda lib, a, b: a.__setitem__(0, a[0]),
    "fill_ own element": lambda lib, a, b: a.fill_(a[1, 1]),
    "masked_fill_ own element": lambda lib, a, b: a.masked_fill_(a > 3, a[0, 1]),
    "index_fill_ own element": lambda lib, a, b: a.index_fill_(0, _index(lib, a, [0]), a[1, 1]),
    "index_copy_ from a copy": lambda lib, a, b: a.index_copy_(0, _index(lib, a, [2, 1, 0]), a.flip(0)),
}

# Not compared: PyTorch reads elements it has already written in mm(a, a, out=a), addmm_(a, a),
# sum(a, 0, out=a[0]), cumsum(a, 0, out=a), triu(a.t(), out=a) and masked_scatter_(mask, a), and where
# operands that are not dense overlap (a[2::2].add_(a[::2]), which it does not check), so its results
# there depend on its loops.


def _run(lib, name, device):
    a = lib.arange(9.).view(3, 3)
    b = lib.tensor([[1., -2., 3.], [-4., 5., 6.], [7., 8., -9.]])
    if lib is not torch:
        a, b = a.to(device), b.to(device)
    try:
        CASES[name](lib, a, b)
    except RuntimeError as e:
        return "error", str(e)
    return "ok", a.cpu().tolist()


@pytest.mark.parametrize("name", list(CASES))
def test_writes_over_own_operands_as_pytorch(name, device):
    got, want = _run(flambeau, name, device), _run(torch, name, "cpu")
    assert got[0] == want[0], (got, want)
    if got[0] == "error":
        assert got[1] == want[1]
    else:
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def test_overlap_error_names_the_remedy(device):
    a = flambeau.arange(9., device=device).view(3, 3)
    with pytest.raises(RuntimeError, match="refer to a single memory location. Please clone"):
        a.add_(a.t())
    assert a.tolist() == [[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]]      # nothing written
