"""Conversions and Python protocols of Tensor against PyTorch: item, tolist, numpy, dunders, Size."""
import contextlib
import io
import operator
import pickle
import re
import textwrap
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import on_device


def printed(snippet, lib):
    """What ``snippet`` prints with ``torch`` bound to lib; an exception prints as its type's name."""
    out = io.StringIO()
    env = {"torch": lib, "np": np, "operator": operator}
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stmt in textwrap.dedent(snippet).strip().split("\n\n"):
            try:
                exec(stmt, env)
            except Exception as e:      # noqa: BLE001 - the exception type is part of the output
                print("raised", type(e).__name__)
    return out.getvalue()


def same_output(snippet, device="cpu"):
    """The snippet prints the same with torch and with flambeau whose factories make tensors on device. Off the
    CPU, torch would print device='cuda:0' in each tensor (wrapping lines elsewhere), name torch.cuda types and
    the device of storages: those are taken out of flambeau's output, and the line breaks out of both."""
    ref, ours = printed(snippet, torch), printed(snippet, on_device(flambeau, device))
    if device != "cpu":
        suffix = re.compile(r",\s+device='cuda:0'")
        assert len(suffix.findall(ours)) == ours.count("tensor("), ours
        ours = suffix.sub("", ours).replace("torch.cuda.", "torch.").replace("device=cuda:0", "device=cpu")
        ref, ours = " ".join(ref.split()), " ".join(ours.split())
    assert ours == ref, f"\n--- torch\n{ref}\n--- flambeau\n{ours}"


def test_item_and_tolist(device):
    same_output("""
        for t in [torch.tensor(2.5), torch.tensor([7]), torch.tensor([[True]]), torch.tensor(3, dtype=torch.int8),
                  torch.tensor(1 + 2j), torch.tensor([0.1], dtype=torch.float16), torch.tensor(2**40)]:
            v = t.item()
            print(type(v).__name__, v, t.tolist())

        torch.zeros(2).item()

        torch.zeros(0).item()

        print(torch.arange(6).view(2, 3).t().tolist(), torch.zeros(2, 0).tolist(), torch.tensor(4.).tolist())
        print(torch.tensor([[1.5, -2.0]]).tolist(), torch.tensor([True, False]).tolist())
        print(type(torch.tensor([1.5]).tolist()[0]).__name__, type(torch.tensor([3]).tolist()[0]).__name__)
    """, device)


def test_python_scalar_dunders(device):
    same_output("""
        x = torch.tensor([3.7])
        print(float(x), int(x), bool(x), complex(x), int(torch.tensor(-3.7)), float(torch.tensor(5)))

        float(torch.ones(2))

        int(torch.ones(2, 2))

        bool(torch.ones(2))

        print(bool(torch.tensor(0.0)), bool(torch.tensor([0])), bool(torch.tensor([[2]])))

        bool(torch.zeros(0))

        print(operator.index(torch.tensor(3)), [10, 20, 30, 40][torch.tensor(2)], list(range(10))[torch.tensor(1):torch.tensor(4)])

        operator.index(torch.tensor(3.0))

        operator.index(torch.tensor([1, 2]))

        print(hex(torch.tensor(255)), "%d" % torch.tensor(4))
    """, device)


@pytest.mark.parametrize("code", ["float(torch.ones(2))", "int(torch.ones(2, 2))", "complex(torch.ones(3))",
                                  "int(torch.zeros(0))", "bool(torch.ones(2))", "bool(torch.zeros(0))",
                                  "torch.zeros(0).is_nonzero()", "torch.is_nonzero(torch.zeros(0))",
                                  "torch.is_nonzero(torch.ones(2))", "torch.zeros(0).item()", "torch.ones(2).item()",
                                  "[1, 2][torch.tensor(1.)]"])
def test_scalar_conversion_errors_say_what_torch_says(code, device):
    errors = []
    for lib in (torch, on_device(flambeau, device)):
        with pytest.raises(Exception) as info:
            eval(code, {"torch": lib})
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[1] == errors[0]


def test_len_iter_and_shape_queries(device):
    same_output("""
        x = torch.arange(24.).view(2, 3, 4)
        print(len(x), len(x[0]), x.dim(), x.ndim, x.ndimension(), x.numel(), x.nelement(), x.shape, x.size())
        print(x.size(1), x.size(-1), x.shape[-2], x.size()[1:], type(x.shape).__name__)
        print([tuple(r.shape) for r in x], [r.tolist() for r in x[0, 0]])
        print(x.is_floating_point(), x.long().is_floating_point(), x.is_complex(), x.cfloat().is_complex())
        print(x.is_signed(), x.byte().is_signed(), x.bool().is_floating_point())

        len(torch.tensor(1.0))

        iter(torch.tensor(1.0))

        x.size(3)

        x.size(-4)

        print(len(torch.zeros(0, 3)), list(torch.zeros(0, 3)), x[0].shape == (3, 4), x.shape == torch.Size([2, 3, 4]))
    """, device)


def test_size_is_a_tuple(device):
    same_output("""
        s = torch.Size([2, 3, 4])
        print(s, repr(s), str(s), s.numel(), len(s), s[0], s[-1], s[1:], s + (5,), (1,) + s, list(s), s == (2, 3, 4))
        print(isinstance(s, tuple), torch.Size([]), torch.Size([]).numel(), torch.Size([0, 5]).numel(), hash(s) == hash((2, 3, 4)))
        print(torch.zeros(s).shape, torch.ones(2, 3).new_zeros(s).shape if hasattr(torch.Tensor, "new_zeros") else s)
        print(s[::2], type(s[::2]).__name__, type(s + (1,)).__name__)
    """, device)
    assert pickle.loads(pickle.dumps(flambeau.Size([2, 3]))) == flambeau.Size([2, 3])


def test_numpy_shares_memory():
    x = flambeau.arange(6.).view(2, 3)
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 1] = 100.0
    assert x[0, 1].item() == 100.0
    x[1, 2] = -1.0
    assert a[1, 2] == -1.0
    t = x.t()
    assert np.shares_memory(t.numpy(), a) and t.numpy().strides == (4, 12)
    b = np.arange(4.)
    y = flambeau.from_numpy(b)
    y.add_(1)
    np.testing.assert_array_equal(b, [1.0, 2.0, 3.0, 4.0])
    assert y.dtype is flambeau.float64


def test_numpy_of_requires_grad_and_array_protocol():
    same_output("""
        x = torch.ones(2, requires_grad=True)

        x.numpy()

        print(x.detach().numpy(), np.asarray(torch.tensor([1, 2])), np.asarray(torch.tensor([1.5]), dtype=np.float64).dtype)
        print(np.array(torch.arange(4).view(2, 2)).tolist(), np.sum(torch.tensor([1.0, 2.0])))
        print(x.numpy(force=True))
    """)


def test_dlpack_round_trip():
    x = flambeau.arange(6.).view(2, 3)
    y = flambeau.from_dlpack(x)
    assert np.shares_memory(x.numpy(), y.numpy())
    t = torch.from_dlpack(x)                 # flambeau -> torch without a copy
    t[0, 0] = 42.0
    assert x[0, 0].item() == 42.0
    z = flambeau.from_dlpack(torch.arange(4.).view(2, 2).t())     # torch -> flambeau, strides kept
    assert z.tolist() == [[0.0, 2.0], [1.0, 3.0]] and z.stride() == (1, 2)
    assert x.__dlpack_device__() == torch.zeros(1).__dlpack_device__()
    w = flambeau.from_dlpack(np.arange(3))
    assert w.dtype is flambeau.int64 and w.tolist() == [0, 1, 2]


def test_dlpack_capsules_cross_both_ways_once():
    x = flambeau.arange(6.).view(2, 3).t()
    t = torch.utils.dlpack.from_dlpack(flambeau.to_dlpack(x))       # flambeau -> capsule -> torch, shared
    t[0, 1] = -1.0
    assert x[0, 1].item() == -1.0 and t.stride() == x.stride()
    src = torch.arange(8, dtype=torch.int16).view(2, 4)[:, 1:]
    y = flambeau.utils.dlpack.from_dlpack(torch.to_dlpack(src))        # torch -> capsule -> flambeau, writable
    assert y.dtype is flambeau.int16 and y.stride() == src.stride() and y.tolist() == src.tolist()
    y.add_(10)
    y[1, 0] = 0
    assert src.tolist() == [[11, 12, 13], [0, 16, 17]]
    capsule = torch.to_dlpack(torch.zeros(2))
    flambeau.from_dlpack(capsule)
    for bad in (capsule, 5):                  # a capsule is consumed once; a number is not one
        with pytest.raises(RuntimeError):
            torch.from_dlpack(bad)
        with pytest.raises(RuntimeError):
            flambeau.from_dlpack(bad)
    assert flambeau.utils.dlpack.DLDeviceType.kDLCUDA == torch.utils.dlpack.DLDeviceType.kDLCUDA == 2


def test_clone_and_detach(device):
    same_output("""
        x = torch.arange(6.).view(2, 3).t()
        c = x.clone()
        print(c, c.stride(), c.data_ptr() != x.data_ptr(), c.is_contiguous())
        c[0, 0] = 9.0
        print(x[0, 0])

        w = torch.ones(2, requires_grad=True)
        d = w.detach()
        print(d.requires_grad, d.grad_fn, d.data_ptr() == w.data_ptr())
        d[0] = 5.0
        print(w)
        e = (w * 2).clone()
        print(e, type(e.grad_fn).__name__)
        print(w.clone().requires_grad, w.clone().is_leaf, w.detach().is_leaf)
        print(torch.tensor([1, 2]).clone().dtype, torch.zeros(2, 0).clone().shape)
        print(torch.zeros(3)[::2].clone().stride(), torch.zeros(2, 3).expand(4, 2, 3).clone().stride())
    """, device)


def test_conversion_methods(device):
    same_output("""
        x = torch.tensor([[1.7, -2.5], [0.0, 3.0]])
        for name in ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]:
            y = getattr(x, name)()
            print(name, y.dtype, y.tolist())
        print(x.to(torch.int32).dtype, x.to(x.device) is x, x.to(torch.float32) is x, x.type(), x.long().type())
        print(x.type(torch.float64).dtype, x.type("torch.IntTensor").dtype, x.to(x.long()).dtype, x.type_as(x.int()).dtype)
        print(x.cfloat(), x.element_size(), x.double().element_size(), x.nbytes, x.itemsize)
    """, device)


def test_pickle_round_trip(device):
    x = flambeau.arange(6., device=device).view(2, 3).t()
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == x.tolist() and y.dtype is x.dtype and y.device == x.device


def test_numpy_of_a_cuda_tensor_raises_as_in_torch(device):
    """NumPy sees CPU memory only: numpy() and NumPy's conversions of a cuda tensor raise TypeError in torch;
    numpy(force=True) copies to the host."""
    if device == "cpu":
        pytest.skip("the CPU's NumPy sharing is tested above")
    x = flambeau.arange(4., device=device)
    for fn in (lambda: x.numpy(), lambda: np.asarray(x), lambda: np.array(x), lambda: x.detach().numpy()):
        with pytest.raises(TypeError):
            fn()
    forced = x.numpy(force=True)
    assert isinstance(forced, np.ndarray) and forced.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x.__dlpack_device__() == (2, 0)                     # kDLCUDA, device 0


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float16", "complex64"])
def test_item_on_device(device, dtype):
    x = flambeau.ones(3, dtype=getattr(flambeau, dtype), device=device)
    ref = torch.ones(3, dtype=getattr(torch, dtype))
    assert x[1].item() == ref[1].item() and type(x[1].item()) is type(ref[1].item())
    assert x.tolist() == ref.tolist()
    assert x.cpu().numpy().dtype == ref.numpy().dtype


# Sources of every layout torch's copy tells apart: dense ones keep their strides, others get
# dense strides in the source's dimension order, with stride-0 dimensions left in place.
LAYOUTS = {
    "transposed": lambda lib: lib.arange(6.).view(2, 3).t(),
    "permuted": lambda lib: lib.arange(24.).view(2, 3, 4).permute(2, 0, 1),
    "sliced": lambda lib: lib.arange(24.).view(2, 3, 4)[:, ::2],
    "permuted_sliced": lambda lib: lib.arange(24.).view(2, 3, 4).permute(2, 0, 1)[::2],
    "expanded": lambda lib: lib.arange(3.).expand(2, 3),
    "expanded_transposed": lambda lib: lib.arange(3.).expand(2, 3).t(),
    "expanded_permuted": lambda lib: lib.arange(4.).view(4, 1, 1).expand(4, 2, 3).permute(1, 0, 2),
    "size_one_dims": lambda lib: lib.arange(6.).view(2, 1, 3).permute(2, 1, 0),
    "column": lambda lib: lib.arange(12.).view(3, 4)[:, 1:2],
    "overlapping": lambda lib: lib.arange(12.).as_strided((2, 3), (3, 3)),
    "strided_vector": lambda lib: lib.arange(6.).view(2, 3)[:, 1],
    "empty_transposed": lambda lib: lib.zeros(0, 3).t(),
    "zero_dim": lambda lib: lib.tensor(1.),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_copies_keep_the_layout_as_torch(layout, device):
    """to(dtype), to(copy=True) and moves between devices lay the copy out as torch's _to_copy."""
    src = LAYOUTS[layout](on_device(flambeau, device))
    ref = LAYOUTS[layout](torch)
    other = "cpu" if device != "cpu" else ("cuda" if flambeau.cuda.is_available() else "cpu")
    copies = {"dtype": (src.to(flambeau.float64), ref.to(torch.float64)),
              "copy": (src.to(copy=True), ref.to(copy=True)),
              "device": (src.to(other), ref.to(torch.float64)),
              "device_and_dtype": (src.to(other, flambeau.float64), ref.to(torch.float64))}
    for how, (ours, theirs) in copies.items():
        assert (how, ours.stride()) == (how, theirs.stride())
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
        assert ours.is_contiguous() == theirs.is_contiguous()


def test_typename(device):
    same_output("""
        print(torch.typename(torch.zeros(2)), torch.typename(torch.zeros(2, dtype=torch.long)))
        print(torch.typename(3), torch.typename([1]), torch.typename(len))
        print(torch.typename(torch.nn.Parameter).split(".", 1)[1], torch.typename(torch.nn.Linear(2, 2)).split(".", 1)[1])
    """, device)


def test_core_classes_are_named_as_pytorch_names_them():
    # type(x) prints <class 'flambeau.Tensor'> where PyTorch prints <class 'torch.Tensor'>
    for ours, theirs in ((flambeau.ones(1), torch.ones(1)), (flambeau.Size([1]), torch.Size([1])),
                         (flambeau.float32, torch.float32), (flambeau.device("cpu"), torch.device("cpu"))):
        assert repr(type(ours)).replace("flambeau", "torch") == repr(type(theirs))
    assert flambeau.typename(flambeau.float32).replace("flambeau", "torch") == torch.typename(torch.float32)
    for value in (flambeau.Size([2, 3]), flambeau.float32, flambeau.device("cpu")):     # pickled by those names
        assert pickle.loads(pickle.dumps(value)) == value


def test_complex_to_real_cast_warns_once_at_the_users_line(monkeypatch):
    # PyTorch's TORCH_WARN_ONCE: one UserWarning for all the casts (and copy_) that drop imaginary parts
    from flambeau._ops import conversion
    monkeypatch.setattr(conversion, "_imaginary_discarded", [False])
    z = flambeau.tensor([1 + 2j, -1j])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert z.float().tolist() == [1.0, 0.0]
        assert z.to(flambeau.float64).dtype is flambeau.float64
        target = flambeau.zeros(2)
        target.copy_(z)
    assert target.tolist() == [1.0, 0.0]
    assert [(w.category, str(w.message)) for w in caught] == \
        [(UserWarning, "Casting complex values to real discards the imaginary part")]
    assert caught[0].filename == __file__
