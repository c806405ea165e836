"""Top-level ops take a tensor first, as PyTorch's argument parser demands (a TypeError otherwise);
the arithmetic ones also take a number first, as a 0-dim tensor."""
import warnings

import numpy as np
import pytest
import torch

import flambeau
from flambeau import _tensor_first

CHECKED = sorted(name for name, value in vars(flambeau).items()
                 if getattr(value, "_tensor_first", False) and name not in _tensor_first.NUMBER_AS_TENSOR
                 and name not in _tensor_first.NUMBER_THEN_TENSOR)


def test_most_ops_are_checked():
    assert len(CHECKED) > 250 and {"eq", "sum", "where", "exp", "matmul", "rsub"} <= set(CHECKED)


@pytest.mark.parametrize("name", CHECKED)
def test_a_number_first_is_refused(name):
    x = flambeau.ones(3)
    with pytest.raises(TypeError, match=rf"^{name}\(\): argument '\w+' \(position 1\) must be Tensor, not int$"):
        getattr(flambeau, name)(2, x)
    reference = getattr(torch, name, None)
    if reference is not None:               # PyTorch refuses it too
        with warnings.catch_warnings(), pytest.raises(TypeError):
            warnings.simplefilter("ignore")
            reference(2, torch.ones(3))


def _same(ours, ref):
    assert str(ours.dtype) == str(ref.dtype) and tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.cpu().numpy(), ref.numpy())


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:          # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__
    return str(r.dtype).split(".")[-1], tuple(r.shape), r.cpu().numpy().tolist()


@pytest.mark.parametrize("name", sorted(_tensor_first.NUMBER_AS_TENSOR))
def test_arithmetic_takes_a_number_first(name, device):
    for first, second in ((2, [1, 2, 3]), (2.5, [1, 2, 3]), (2, 3), (7, [1.5, 2.0]), (3, [True, True])):
        ours_second = flambeau.tensor(second, device=device) if isinstance(second, list) else second
        ref_second = torch.tensor(second) if isinstance(second, list) else second
        assert _outcome(lambda: getattr(flambeau, name)(first, ours_second)) == \
            _outcome(lambda: getattr(torch, name)(first, ref_second))
    with pytest.raises(TypeError):
        getattr(flambeau, name)("2", flambeau.ones(2, device=device))


@pytest.mark.parametrize("name", sorted(_tensor_first.NUMBER_THEN_TENSOR))
def test_a_number_then_a_tensor(name, device):
    dtype = torch.float64 if name in ("pow", "float_power", "remainder", "xlogy") else torch.int64
    ours = getattr(flambeau, name)(3, flambeau.tensor([1, 2, 3], dtype=getattr(flambeau, str(dtype)[6:]),
                                                        device=device))
    _same(ours, getattr(torch, name)(3, torch.tensor([1, 2, 3], dtype=dtype)))
    for lib in (torch, flambeau):
        with pytest.raises(TypeError):
            getattr(lib, name)(3, 2)


def test_keyword_inputs_and_messages():
    x = flambeau.ones(3)
    assert flambeau.sum(input=x).item() == 3
    with pytest.raises(TypeError, match="where\\(\\): argument 'input' \\(position 1\\) must be Tensor, not int"):
        flambeau.where(1, x, x)
    with pytest.raises(TypeError, match="index_select\\(\\): argument 'input' \\(position 1\\) must be Tensor, not"):
        flambeau.index_select([1.0], 0, flambeau.tensor([0]))
