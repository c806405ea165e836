"""Storages, strides, offsets and set_() against PyTorch: snippets print the same text under both."""
import numpy as np
import pytest
import torch

import flambeau
from test_conversions import same_output       # snippets print the same under torch and flambeau (on device)


def test_typed_storage_basics(device):
    same_output("""
        x = torch.arange(6.).view(2, 3)
        s = x.storage()
        print(s.size(), len(s), s.dtype, s.device == x.device, s.element_size(), s.nbytes(), s.tolist(), s[1], s[-1],
              s.is_cuda == x.is_cuda)
        print(s)
        print(s.data_ptr() == x.data_ptr(), type(s).__name__)

        s[6]

        s[-7] = 1.0

        s[4] = -2.5
        print(x)

        s.fill_(2.0)
        print(x)

        q = s.clone()
        q[0] = 100.0
        print(x[0, 0], q[0])
        print(list(s), s.tolist())
    """, device)


@pytest.mark.parametrize("make", ["torch.arange(3)", "torch.tensor([True, False])", "torch.zeros(0)",
                                  "torch.tensor([1.5, 2.25], dtype=torch.float16)", "torch.tensor([1 + 2j])",
                                  "torch.ones(2, dtype=torch.float64)", "torch.tensor([-1, 2], dtype=torch.int8)",
                                  "torch.arange(12.).view(3, 4).t()[1:]"])
def test_storage_repr_and_size(make, device):
    same_output(f"""
        x = {make}
        print(x.storage())
        print(x.storage().size(), x.untyped_storage().nbytes(), x.storage_offset(), x.element_size())
        print(x.untyped_storage())
    """, device)


def test_views_share_storage_with_offsets(device):
    same_output("""
        x = torch.arange(24.).view(2, 3, 4)
        for v in [x[1], x[:, 1:], x[..., 2], x.t() if x.dim() == 2 else x.transpose(0, 2), x.narrow(2, 1, 2),
                  x.select(1, 2), x[1, 2, 3], x.view(6, 4)[2:], x.unfold(2, 2, 1), x.diagonal(0, 1, 2),
                  x.as_strided((2, 2), (5, 1), 3), x.expand(2, 2, 3, 4), x.unsqueeze(1), x[:, None, ::2]]:
            print(tuple(v.shape), v.stride(), v.storage_offset(), v.is_contiguous(),
                  v.storage().size(), (v.data_ptr() - x.data_ptr()) // 4, v.untyped_storage().nbytes())
    """, device)


def test_storage_write_is_visible_in_every_view(device):
    same_output("""
        x = torch.zeros(2, 4)
        y = x.view(2, 2, 2)
        z = x.t()
        q = x.storage()
        q[4] = 1.0
        q[7] = 9.0
        print(x); print(y); print(z)
        y[1, 1, 0] = 7.0
        print(z, q[6])
    """, device)


def test_set_variants(device):
    same_output("""
        x = torch.arange(6.).view(2, 3)
        s = x.storage()

        y = torch.empty(0).set_()
        print(y, y.shape, y.stride())

        z = torch.zeros(3).set_(x)
        print(z, z.stride(), z.storage_offset(), z.data_ptr() == x.data_ptr(), z.is_set_to(x))

        w = torch.zeros(1).set_(x[:, 1:])
        print(w, w.stride(), w.storage_offset())

        print(torch.zeros(1).set_(s))

        print(torch.zeros(1).set_(s, 2))

        print(torch.zeros(1).set_(s, 2, (2,)))

        print(torch.zeros(1).set_(s, 2, (2,), (3,)))

        v = torch.zeros(1).set_(s, 0, (2, 3), (0, 1))
        print(v, v.stride(), v.is_contiguous())

        print(torch.zeros(1).set_(x.untyped_storage(), 1, (2,), (2,)))

        torch.empty(5).set_(torch.ones(3, dtype=torch.float64).storage())

        torch.empty(5, dtype=torch.float64).set_(torch.ones(3))

        t = torch.zeros(1)
        t.set_(s, 1, (2, 2), (2, 1))
        t[0, 0] = -5.0
        print(x)
    """, device)


def test_set_shares_the_source_storage(device):
    same_output("""
        a = torch.zeros(3)
        b = torch.ones(4)
        a.set_(b)
        print(a.data_ptr() == b.data_ptr(), a.shape, a.storage().size())
        a[0] = 5.0
        print(b)
    """, device)


def test_lecture_set_float_storage(device):
    same_output("""
        q = torch.arange(0., 20.).storage()
        x = torch.empty(0).set_(q, storage_offset=5, size=(3, 2), stride=(4, 1))
        print(x)
        print(x.stride(), x.storage_offset(), x.is_contiguous())
        x[1, 1] = -1
        print(q[10])
    """, device)


def test_lecture_set_int_storage_errors(device):
    same_output("""
        q = torch.arange(0, 20).storage()
        x = torch.empty(0).set_(q, storage_offset=5, size=(3, 2), stride=(4, 1))

        x = torch.empty(0, dtype=torch.int64).set_(q, storage_offset=5, size=(3, 2), stride=(4, 1))
        print(x)
    """, device)


def test_strides_and_contiguity(device):
    same_output("""
        for shape in [(2, 3, 4), (1, 3), (3, 1), (1,), (), (0,), (2, 0, 3), (1, 1, 1), (4, 1, 0)]:
            x = torch.zeros(shape)
            print(x.stride(), x.is_contiguous(), x.contiguous() is x, x.element_size(), x.storage_offset())
            if x.dim() >= 2:
                t = x.transpose(0, -1)
                c = t.contiguous()
                print(t.stride(), t.is_contiguous(), c.stride(), c.is_contiguous(), c is t)
                print(x.stride(0), x.stride(-1))
    """, device)


def test_set_past_the_end_of_the_storage_raises(device):
    # PyTorch grows the storage here; flambeau cannot move memory other tensors view, so it refuses clearly
    s = flambeau.arange(6., device=device).storage()
    with pytest.raises(RuntimeError, match="storage"):
        flambeau.zeros(1, device=device).set_(s, 2, (5,))
    if device != "cpu":               # a tensor takes storages of its own device only, as in torch
        with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
            flambeau.zeros(1).set_(s)


def test_stride_dim_out_of_range(device):
    same_output("""
        torch.zeros(2, 3).stride(2)

        print(torch.zeros(2, 3).stride(-2))
    """, device)


def test_contiguous_copies_only_when_needed(device):
    x = flambeau.arange(12., device=device).view(3, 4)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and c.data_ptr() != x.data_ptr()
    assert c.stride() == (3, 1)
    np.testing.assert_array_equal(c.cpu().numpy(), x.cpu().numpy().T)


def test_data_ptr_and_element_size(device):
    for dt in ["float16", "float32", "float64", "int8", "int64", "bool", "complex64"]:
        x = flambeau.zeros(3, 4, dtype=getattr(flambeau, dt), device=device)
        assert x.element_size() == torch.zeros(1, dtype=getattr(torch, dt)).element_size()
        assert x[1, 2].data_ptr() - x.data_ptr() == 6 * x.element_size()
        assert x.t()[2, 1].data_ptr() == x[1, 2].data_ptr()


def test_storage_on_device(device):
    x = flambeau.arange(6., device=device).view(2, 3)
    s = x.storage()
    assert s.device == x.device and s.size() == 6
    s[2] = -1.0
    assert x[0, 2].item() == -1.0
    y = flambeau.empty(0, device=device).set_(s, 1, (2, 2), (3, 1))
    assert y.tolist() == [[1.0, -1.0], [4.0, 5.0]]


def test_empty_slices_keep_torch_storage_offset():
    # NumPy leaves an empty slice's data pointer at the start; PyTorch moves it to the clamped start.
    # On the CPU only: on cuda flambeau's empty slices keep CuPy's offsets (a view at an offset past the
    # last element is one CuPy's as_strided cannot make)
    same_output("""
        t = torch.arange(12.).reshape(3, 4)
        for v in [t[2:2], t[:, 3:3], t[1:1, 2:], t[3:], t[:, 4:], t[5:], t[:, 7:], t.narrow(0, 3, 0),
                  t.narrow(1, 2, 0), t.t()[4:], t[1][4:], t[:, 1:][:, 3:], t.split(2)[-1][1:]]:
            print(tuple(v.shape), v.stride(), v.storage_offset(), v.is_contiguous())
    """)


# -- resize_ ----------------------------------------------------------------------------------
def _resized(lib, steps):
    x = lib.arange(6.0)
    out = []
    for size in steps:
        x.resize_(*size)
        out.append((tuple(x.shape), x.stride(), x.storage_offset(), x.untyped_storage().nbytes(),
                    x.flatten()[:6].tolist()))
    return out


@pytest.mark.parametrize("steps", [[(2, 2)], [(2, 3)], [(3, 3)], [(2, 2), (3, 3)], [(0,), (2, 3)], [(7,), (1, 1)]])
def test_resize_keeps_the_storage_and_grows_it_when_needed(steps):
    import torch
    assert _resized(flambeau, steps) == _resized(torch, steps)


def test_resize_of_views_and_templates():
    import torch
    for lib in (flambeau, torch):
        y = lib.arange(8.0)
        v = y[2:]
        v.resize_(2, 2)
        assert v.tolist() == [[2.0, 3.0], [4.0, 5.0]] and v.storage_offset() == 2
        e = lib.Tensor().resize_as_(lib.zeros(2, 3))
        assert tuple(e.shape) == (2, 3)
        s = lib.zeros(4)
        storage = s.untyped_storage() if lib is torch else s.storage()
        s.resize_(10)
        assert len(storage) // (4 if lib is torch else 1) == 10      # the user's storage object grew too
        c = lib.ones(2, 3, 4, 5).resize_(2, 3, 4, 5, memory_format=lib.channels_last)
        assert c.stride() == (60, 1, 15, 3)


def test_resize_errors():
    import torch
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.ones(2, requires_grad=True).resize_(3)
        with pytest.raises(RuntimeError, match="numel: integer multiplication overflow"):
            lib.ones(2).resize_(2, -3)
    # growing memory that another tensor shares: torch moves every sharer, flambeau cannot
    y = flambeau.arange(4.0)
    with pytest.raises(NotImplementedError, match="share it"):
        y[1:].resize_(10)
    with pytest.raises(NotImplementedError, match="share it"):
        y.view(2, 2).resize_(10)
    a = flambeau.zeros(3)
    keep = a.numpy()
    with pytest.raises(NotImplementedError, match="share it"):
        a.resize_(5)
    assert keep.shape == (3,)


def test_legacy_storage_classes():
    same_output("""
        print(torch.FloatStorage, torch.Storage, torch.LongStorage.dtype, torch.cuda.DoubleStorage, torch.HalfStorage.dtype)
        s = torch.FloatStorage([1, 2, 3])
        print(s, s.dtype, s.type(), isinstance(s, torch.FloatStorage), isinstance(s, torch.DoubleStorage),
              isinstance(s, torch.TypedStorage), isinstance(s, torch.cuda.FloatStorage))
        print(torch.IntStorage(3).size(), torch.BoolStorage([1, 0]).tolist(), torch.ComplexFloatStorage(1).dtype,
              torch.HalfStorage([1.5]).tolist(), torch.ByteStorage().tolist())
        t = torch.FloatTensor(s)
        t[0] = 9
        print(s.tolist(), t)
        print(torch.LongTensor(torch.LongStorage([3, 4])))

        torch.FloatTensor(torch.DoubleStorage([1, 2]))

        torch.FloatStorage(2, 3)

        torch.FloatStorage('ab')

        print(torch.FloatStorage(wrap_storage=torch.ones(2, dtype=torch.float64).untyped_storage()).tolist())
        print(torch.empty(0).set_(torch.ones(2, dtype=torch.float64).untyped_storage()))
    """)


def test_legacy_storage_from_buffer():
    same_output("""
        print(torch.FloatStorage.from_buffer(bytes([0, 0, 128, 63]), 'little').tolist(),
              torch.FloatStorage.from_buffer(bytes([63, 128, 0, 0]), 'big').tolist(),
              torch.ByteStorage.from_buffer(b'ab').tolist(), torch.LongStorage.from_buffer(bytes(16), 'native').tolist())
        print(torch.IntStorage.from_buffer(bytes(range(16)), 'big', count=2, offset=4).tolist())
        print(torch.ShortStorage.from_buffer(bytearray([1, 0, 0, 1]), 'little').tolist())

        torch.FloatStorage.from_buffer(bytes(8))

        torch.FloatStorage.from_buffer(bytes(7), 'little')
    """)


def test_storage_type_names_the_legacy_class(device):
    same_output("""
        for dt in [torch.float32, torch.float64, torch.float16, torch.uint8, torch.int8, torch.int16, torch.int32,
                   torch.int64, torch.bool, torch.complex64]:
            x = torch.zeros(2, dtype=dt)
            print(x.storage_type(), x.storage().type(), isinstance(x.storage(), x.storage_type()))
    """, device)


def test_as_strided_and_set_geometry_errors(device):
    same_output("""
        s = torch.arange(10.)
        s.as_strided((4, 4), (3, 1))

        s.as_strided((2,), (-1,))

        s.as_strided((2, 2), (1,))

        s.as_strided((2,), (1,), -1)

        s.as_strided((-2,), (1,))

        s.as_strided((), (), 10)

        print(s.as_strided((0, 3), (1, 1), 20).shape, s.as_strided((2, 2), (0, 3), 1))
        torch.empty(0).set_(s.storage(), -1, (2,))

        torch.empty(0).set_(s.storage(), 0, (-2,))

        torch.empty(0).set_(s.storage(), 0, (2, 2), (1,))

        torch.empty(0).set_(s.storage(), 0, (2,), (-1,))

        torch.empty(0, dtype=torch.long).set_(s.storage())

        torch.empty(0, dtype=torch.int16).set_(s.storage())

        print(torch.empty(0).set_(s.storage(), 12, (0, 3)).shape)
    """, device)


def test_set_grows_a_storage_no_tensor_views():
    # PyTorch leaves the new elements uninitialized: only sizes are compared, and flambeau's are zero
    for lib in (torch, flambeau):
        st = lib.FloatStorage(2)
        st[0], st[1] = 1.0, 2.0
        t = lib.empty(0).set_(st, 1, (2, 3))
        assert (tuple(t.shape), t.stride(), t.storage().size(), t.untyped_storage().nbytes()) == ((2, 3), (3, 1), 7, 28)
        assert t[0, 0].item() == 2.0
        st2 = lib.FloatStorage(4)
        st2.resize_(6)
        assert st2.size() == 6 and lib.empty(0).set_(st2).shape == (6,)
    assert flambeau.empty(0).set_(flambeau.FloatStorage(2), 1, (2, 3))[1].tolist() == [0.0, 0.0, 0.0]
    viewed = flambeau.arange(3.)
    with pytest.raises(NotImplementedError, match="viewed by tensors"):
        viewed.storage().resize_(5)


def test_view_as_another_element_size(device):
    same_output("""
        g = torch.arange(8.).view(2, 4)
        for t, dt in [(g, torch.float64), (g, torch.int16), (g[1], torch.float64), (g[:, 2:], torch.float64),
                      (g, torch.uint8), (torch.arange(3.)[:2], torch.float64), (g.double(), torch.int32),
                      (torch.zeros(0, 2), torch.float64), (torch.zeros(2, 0), torch.int8)]:
            r = t.view(dt)
            print(tuple(r.shape), r.stride(), r.storage_offset(), r.storage().size(), r.storage().dtype, r.requires_grad)
        bits = torch.tensor([1.0, -2.0, 0.5])
        print(bits.view(torch.uint8), bits.view(torch.int16).view(torch.float32), bits.view(torch.bool).shape)
        d = torch.zeros(4).view(torch.float64)
        d[1] = 3.0
        print(d, torch.arange(2., requires_grad=True).view(torch.float16).requires_grad)
        g.t().view(torch.int16)

        torch.arange(4.)[1:3].view(torch.float64)

        torch.arange(12.).view(4, 3)[:, :2].view(torch.float64)

        torch.arange(6.).view(2, 3).view(torch.float64)

        torch.tensor(1.).view(torch.int16)

        torch.zeros(2, 0).view(torch.float64)
    """, device)
