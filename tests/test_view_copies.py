"""torch.X_copy: each view op's result in new contiguous memory, with the view's gradient; and the
other top-level spellings (get_device, vmap, as_strided_)."""
import pytest

import flambeau
from _oracle import need_torch, check_against_torch, assert_same

torch = need_torch()

# name, the input's shape, the view arguments
CASES = [
    ("view_copy", (2, 6), ((3, 4),)),
    ("t_copy", (3, 4), ()),
    ("transpose_copy", (2, 3, 4), (0, 2)),
    ("permute_copy", (2, 3, 4), ((2, 0, 1),)),
    ("unsqueeze_copy", (3, 4), (1,)),
    ("squeeze_copy", (3, 1, 4), (1,)),
    ("select_copy", (3, 4), (1, 2)),
    ("slice_copy", (5, 4), (0, 1, 4, 2)),
    ("diagonal_copy", (4, 5), (1,)),
    ("detach_copy", (3, 4), ()),
    ("expand_copy", (3, 1), ((3, 5),)),
    ("as_strided_copy", (12,), ((3, 3), (1, 3))),
    ("unfold_copy", (3, 8), (1, 3, 2)),
    ("alias_copy", (3, 4), ()),
    ("split_copy", (5, 4), (2,)),
    ("split_with_sizes_copy", (5, 4), ([2, 3],)),
    ("unbind_copy", (3, 4), (1,)),
]


@pytest.mark.parametrize("name,shape,args", CASES, ids=[c[0] for c in CASES])
def test_view_copy_values_gradients_and_layout(name, shape, args, device):
    check_against_torch(lambda lib, x: getattr(lib, name)(x, *args), shape, device=device,
                        grad=name != "detach_copy")
    x = flambeau.randn(*shape, device=device, requires_grad=True)
    out = getattr(flambeau, name)(x, *args)
    ref = getattr(torch, name)(torch.randn(*shape, requires_grad=True), *args)
    for o, r in zip(*((out, ref) if isinstance(out, tuple) else ((out,), (ref,)))):
        assert o.is_contiguous() and o.data_ptr() != x.data_ptr()
        if name == "detach_copy":
            # torch's result keeps requires_grad with a node that only raises ("NotImplemented");
            # flambeau's is detached, as detach()'s
            assert o.grad_fn is None and not o.requires_grad
        else:
            assert o.grad_fn.name() == r.grad_fn.name()


def test_view_copy_out_and_complex_views(device):
    x = flambeau.arange(6.0, device=device).reshape(2, 3)
    out = flambeau.empty(3, 2, device=device)
    assert flambeau.t_copy(x, out=out) is out
    assert_same(out, torch.t_copy(torch.arange(6.0).reshape(2, 3)))
    z = flambeau.view_as_complex_copy(flambeau.ones(3, 2, device=device))
    assert_same(z, torch.view_as_complex_copy(torch.ones(3, 2)))
    assert_same(flambeau.view_as_real_copy(z), torch.view_as_real_copy(torch.view_as_complex(torch.ones(3, 2))))


def test_get_device_vmap_and_as_strided_(device):
    x = flambeau.zeros(4, device=device)
    assert flambeau.get_device(x) == x.get_device() == (-1 if device == "cpu" else 0)
    assert flambeau.get_device(flambeau.zeros(1)) == torch.get_device(torch.zeros(1)) == -1
    assert_same(flambeau.vmap(lambda a: a.sum())(flambeau.ones(3, 2, device=device)),
                torch.vmap(lambda a: a.sum())(torch.ones(3, 2)))
    y = flambeau.as_strided_(flambeau.arange(6.0, device=device), (2, 2), (1, 2))
    assert_same(y, torch.as_strided_(torch.arange(6.0), (2, 2), (1, 2)))


def test_as_strided__refuses_what_requires_grad():
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.as_strided_(lib.zeros(6, requires_grad=True), (2, 2), (1, 2))
    with pytest.raises(NotImplementedError, match="as_strided"):
        flambeau.as_strided_(flambeau.zeros(6, requires_grad=True) * 1, (2, 2), (1, 2))
