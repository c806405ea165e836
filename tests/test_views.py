"""View ops against PyTorch: shapes, strides, offsets, contiguity, shared storage, errors, gradients."""
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import check_against_torch, on_device

BASES = {
    "contig": "torch.arange(24.).reshape(2, 3, 4)",
    "transposed": "torch.arange(24.).reshape(2, 3, 4).transpose(0, 2)",
    "sliced": "torch.arange(60.).reshape(3, 4, 5)[1:, ::2, 1:]",
    "expanded": "torch.arange(4.).reshape(1, 4, 1).expand(2, 4, 3)",
    "ones": "torch.arange(6.).reshape(1, 6, 1)",
    "empty": "torch.zeros(2, 0, 3)",
}

VIEWS = [
    "x.view(-1)", "x.view(x.shape[0], -1)", "x.view(1, *x.shape)", "x.view_as(x)", "x.reshape(-1)", "x.reshape(x.shape[-1], -1)",
    "x.flatten()", "x.flatten(1)", "x.flatten(0, 1)", "x.unflatten(0, (1, -1))", "x.narrow(1, 1, x.shape[1] - 1)",
    "x.narrow(-1, 0, 1)", "x.expand(2, *x.shape)", "x.expand_as(x)", "x.transpose(0, 2)", "x.transpose(-1, 1)",
    "x.permute(2, 0, 1)", "x.permute(-1, -2, -3)", "x.squeeze()", "x.squeeze(0)", "x.squeeze((0, 2))",
    "x.squeeze(-1)", "x.unsqueeze(0)", "x.unsqueeze(-1)", "x.unsqueeze(2)", "x.select(1, 0)", "x.select(-1, -1)",
    "x[0]", "x[:, 1:]", "x[..., ::2]", "x[None, :, None]", "x[1:, None, ..., None]", "x[:, -1]", "x[::2, ::3, 1::2]",
    "x.diagonal()", "x.diagonal(1, 0, 2)", "x.diagonal(-1, -1, 0)", "x.unfold(1, 1, 1)", "x.unfold(-1, 2, 1)",
    "x.as_strided((2, 2), (1, 2))", "x.as_strided((3,), (0,), 1)", "x.chunk(2, 1)[-1]", "x.split(1, -1)[0]",
    "x.split([1, x.shape[0] - 1])[1]", "x.unbind(1)[0]", "x.movedim(0, -1)", "x.movedim((0, 1), (2, 0))",
    "x.T", "x.mT", "x.swapaxes(0, 1)", "x.contiguous()", "x.t() if x.dim() == 2 else x[0].t()",
    "x[0].T", "x[0, 0].t()", "x.reshape(x.shape)", "x.tensor_split(2, 1)[0]", "x.hsplit(1)[0]",
]


def _geometry(t):
    return (tuple(t.shape), t.stride(), t.storage_offset() if t.numel() else None, t.is_contiguous(),
            t.storage().size() if t.numel() else None)


@pytest.mark.parametrize("base", BASES, ids=str)
def test_views_match_torch(base, device):
    F = on_device(flambeau, device)
    for code in VIEWS:
        results = []
        for lib in (torch, F):
            x = eval(BASES[base], {"torch": lib})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    results.append(eval(code, {"x": x, "torch": lib}))
                except Exception as e:          # noqa: BLE001 - the exception type is what is compared
                    results.append(e)
        ref, ours = results
        if isinstance(ref, Exception):
            assert type(ours) is type(ref), f"{base}: {code}: torch raised {ref!r}, flambeau gave {ours!r}"
            continue
        assert not isinstance(ours, Exception), f"{base}: {code}: flambeau raised {ours!r}"
        assert _geometry(ours) == _geometry(ref), f"{base}: {code}"
        assert ours.device.type == device, f"{base}: {code}: on {ours.device}"
        np.testing.assert_array_equal(ours.cpu().numpy(), ref.cpu().numpy(), err_msg=f"{base}: {code}")


@pytest.mark.parametrize("code", VIEWS[:-6])
def test_views_share_memory_and_grad_fn_names(code, device):
    F = on_device(flambeau, device)
    a = np.arange(24.).reshape(2, 3, 4)
    names = []
    for lib in (torch, F):
        x = lib.tensor(a, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = eval(code, {"x": x, "torch": lib})
        names.append(type(v.grad_fn).__name__)
        if lib is not torch and code != "x.contiguous()" and "reshape" not in code and v.numel():
            start = x.data_ptr()                 # the view's first element lies in x's memory
            assert start <= v.data_ptr() < start + x.numel() * x.element_size(), code
    assert names[1] == names[0], code


def test_writing_through_views_reaches_the_base(device):
    F = on_device(flambeau, device)
    outs = []
    for lib in (torch, F):
        x = lib.zeros(2, 4)
        y = x.view(2, 2, 2)
        y[1, 1, 0] = 7.0
        y.narrow(0, 0, 1).fill_(3.0)
        x.t()[1].add_(1)
        x[:, ::3].mul_(-1)
        x.diagonal().sub_(10)
        x.unfold(1, 2, 2)[1, 0].fill_(5)
        x.unsqueeze(0).squeeze(0).select(1, 2).zero_()
        outs.append(x.cpu().numpy().copy())
        assert lib is torch or x.device.type == device
    np.testing.assert_array_equal(outs[1], outs[0])


def test_view_errors_match_torch(device):
    F = on_device(flambeau, device)
    cases = [
        "torch.zeros(100, 100).t().view(-1)", "torch.zeros(4, 6)[:, ::2].view(12)", "torch.zeros(2, 3).view(4)",
        "torch.zeros(2, 3).view(-1, -1)", "torch.zeros(2, 3).view(-2, 3)", "torch.zeros(2, 3).reshape(5, -1)",
        "torch.zeros(2, 3).narrow(1, 2, 2)", "torch.zeros(2, 3).narrow(2, 0, 1)", "torch.zeros(2, 3).narrow(1, 4, 0)",
        "torch.zeros(2, 3).expand(3, 3)", "torch.zeros(2, 3).expand(3)", "torch.zeros(2, 3).expand(-1, 2, 3)",
        "torch.zeros(2, 3).permute(0, 0)", "torch.zeros(2, 3).permute(0)", "torch.zeros(2, 3).transpose(0, 2)",
        "torch.zeros(2, 3).squeeze(2)", "torch.zeros(2, 3).unsqueeze(3)", "torch.zeros(2, 3).select(0, 2)",
        "torch.zeros(2, 3).select(2, 0)", "torch.zeros(2, 3).diagonal(0, 1, 1)", "torch.zeros(2, 3).unfold(1, 4, 1)",
        "torch.zeros(2, 3).unfold(1, 2, 0)", "torch.zeros(2, 3).as_strided((3, 3), (3, 1))", "torch.zeros(2, 3, 4).t()",
        "torch.zeros(2, 3).chunk(0)", "torch.zeros(2, 3).split([1, 1])", "torch.zeros(2, 3).movedim(0, 2)",
        "torch.zeros(2, 3).flatten(1, 0)", "torch.zeros(2, 3).unflatten(1, (2, 2))", "torch.zeros(()).narrow(0, 0, 1)",
        "torch.zeros(3).mT", "torch.zeros(2, 3).view(2, 3.0)",
    ]
    for code in cases:
        errs = []
        for lib in (torch, F):
            try:
                eval(code, {"torch": lib})
                errs.append(None)
            except Exception as e:          # noqa: BLE001
                errs.append(type(e))
        assert errs[1] is errs[0], f"{code}: torch {errs[0]}, flambeau {errs[1]}"


@pytest.mark.parametrize("code", [
    "t.permute(0, 1, 1)", "t.permute(0, -2, 1)", "t.movedim((0, -3), (1, 2))", "t.movedim((0, 0), (1,))",
    "t.movedim((0, 1), (-2, 1))", "t.sum((1, -2))", "t.mean((2, 0, 2))", "t.flip(0, 0)", "t.squeeze((0, 0))",
    "t.view(4, -2)", "t.view(-1, -1, -2)", "torch.zeros(0, 3).view(-1, 0)", "torch.zeros(0, 3).reshape(2, 0, -1)",
    "t.unflatten(1, (2, -1))", "t.unflatten(1, (2, -2))", "t.unflatten(1, (-1, -1))", "t.unflatten(1, ())",
    "torch.zeros(()).unflatten(0, ())", "torch.zeros(0, 3).unflatten(0, (-1, 0))",
])
def test_dim_list_and_shape_error_messages_match_torch(code, device):
    errors = []
    for lib in (torch, on_device(flambeau, device)):
        with pytest.raises(Exception) as e:
            eval(code, {"torch": lib, "t": lib.zeros(2, 3, 4)})
        errors.append((e.type, str(e.value).split("\nException raised from")[0]))    # torch's C++ trace
    assert errors[1] == errors[0]


def test_lecture_view_error_message(device):
    F = on_device(flambeau, device)
    y = F.empty(100, 100).t()
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        y.view(-1)
    assert y.contiguous().view(-1).shape == (10000,)
    assert y.reshape(-1).shape == (10000,)


def test_reshape_views_when_possible_and_copies_otherwise(device):
    F = on_device(flambeau, device)
    x = F.arange(12.).reshape(3, 4)
    v = x.reshape(2, 6)
    assert v.data_ptr() == x.data_ptr()
    c = x.t().reshape(12)
    assert c.data_ptr() != x.data_ptr()
    np.testing.assert_array_equal(c.cpu().numpy(), np.arange(12.).reshape(3, 4).T.reshape(12))


def test_chunk_split_unbind_match_torch(device):
    F = on_device(flambeau, device)
    for code in ["x.chunk(3)", "x.chunk(4, 1)", "x.chunk(7, 1)", "x.split(2)", "x.split([1, 4], 1)", "x.unbind(1)",
                 "torch.zeros(0, 3).chunk(2)", "torch.zeros(0, 3).split(2)", "x.tensor_split([1, 3], 1)",
                 "x.tensor_split(3, 1)"]:
        outs = []
        for lib in (torch, F):
            x = lib.arange(15.).reshape(3, 5)
            outs.append([(tuple(p.shape), p.stride(), p.storage_offset()) for p in eval(code, {"x": x, "torch": lib})])
        assert outs[1] == outs[0], code


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.view(4, 6) * 2, lambda lib, x: x.t().reshape(-1), lambda lib, x: x.transpose(0, 1).flatten(),
    lambda lib, x: x.narrow(1, 1, 3), lambda lib, x: x[1:, ::2], lambda lib, x: x.unsqueeze(1).expand(4, 3, 6),
    lambda lib, x: x.permute(1, 0).contiguous(), lambda lib, x: x.diagonal(1), lambda lib, x: x.unfold(1, 3, 2),
    lambda lib, x: x.as_strided((3, 3), (2, 5), 1), lambda lib, x: x.chunk(2, 1)[1], lambda lib, x: x.split([1, 3])[1],
    lambda lib, x: x.unbind(1)[2], lambda lib, x: x.movedim(0, 1)[2:], lambda lib, x: x[None, :, None].squeeze(),
    lambda lib, x: x.select(0, 2)[:4] + x.select(1, -1), lambda lib, x: x.unflatten(1, (2, 3)).sum(2),
    lambda lib, x: x.mT[::2], lambda lib, x: x.repeat(2, 1)[3:],
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_view_gradients_match_torch(fn, device):
    check_against_torch(fn, (4, 6), device=device)


def test_in_place_on_view_gradient_matches_torch(device):
    def fn(lib, x):
        y = x * 1
        y[:, 1].mul_(3)
        y.t()[0].add_(x[0, :4])
        return y
    check_against_torch(fn, (4, 4), device=device)


def test_deepcopy_of_views_keeps_them_sharing_one_storage(device):
    """copy.deepcopy copies each storage once: views copied together still share it, as in torch."""
    import copy

    def copied(lib):
        x = lib.arange(12.).view(3, 4)
        a, row, t, flipped = copy.deepcopy([x, x[1], x.t(), x.flip(0)])
        row[0] = -1.0                        # seen through the copy of x, never through x itself
        a.add_(1)
        same_storage = a.untyped_storage().data_ptr() == row.untyped_storage().data_ptr()
        return [a.tolist(), row.tolist(), t.tolist(), flipped.tolist(), x.tolist(), t.stride(), row.storage_offset(),
                same_storage, row._version, a._version]
    assert copied(on_device(flambeau, device)) == copied(torch)


def test_deepcopy_of_a_non_leaf_names_the_rule(device):
    import copy
    lib = on_device(flambeau, device)
    w = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as ours:
        copy.deepcopy(w * 2)
    with pytest.raises(RuntimeError) as ref:
        copy.deepcopy(torch.ones(2, requires_grad=True) * 2)
    assert str(ours.value) == str(ref.value)


def test_pickle_keeps_offset_and_strides_like_torch(device):
    """A pickled tensor carries its whole storage with its offset and strides; views pickled
    together come back as separate storages, as in torch."""
    import pickle

    def unpickled(lib):
        x = lib.arange(6.)
        whole, part = pickle.loads(pickle.dumps([x, x[2:4]]))
        part[0] = -1.0
        t = pickle.loads(pickle.dumps(lib.arange(6).view(2, 3).t()))
        flipped = pickle.loads(pickle.dumps(lib.arange(3.).flip(0)))
        w = pickle.loads(pickle.dumps(lib.ones(2, requires_grad=True) * 2))
        return [whole.tolist(), part.tolist(), part.storage_offset(), t.stride(), t.is_contiguous(), t.tolist(),
                flipped.tolist(), flipped.stride(), w.requires_grad, w.is_leaf, str(whole.device)]
    assert unpickled(on_device(flambeau, device)) == [
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [-1.0, 3.0], 2, (1, 3), False, [[0, 3], [1, 4], [2, 5]],
        [2.0, 1.0, 0.0], (1,), True, True, device if device == "cpu" else "cuda:0"]
    assert unpickled(torch)[:-1] == unpickled(on_device(flambeau, device))[:-1]


def test_data_has_its_own_version_counter_detach_shares_it(device):
    # .data aliases like detach(), but in-place changes through it are hidden from autograd
    lib_results = []
    for lib in (torch, on_device(flambeau, device)):
        p = lib.ones(3, requires_grad=True)
        through_data, through_detach = p.data, p.detach()
        through_data[0] = 5.0
        through_detach[1] = 6.0
        versions = (p._version, through_data._version, through_detach._version)
        out = lib.ones(3, requires_grad=True).sigmoid()
        out.data.mul_(2)
        out.sum().backward()
        hidden = out._version
        out2 = lib.ones(3, requires_grad=True).sigmoid()
        out2.detach().mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out2.sum().backward()
        lib_results.append((p.tolist(), versions, hidden))
    assert lib_results[0] == lib_results[1]
