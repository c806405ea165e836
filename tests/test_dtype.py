"""dtypes and PyTorch's type promotion: the full table against torch, scalars, 0-dim tensors, defaults."""
import itertools
import pickle

import numpy as np
import pytest
import torch

import flambeau
from _oracle import on_device

NAMES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool", "complex64",
         "complex128"]
SCALARS = [True, False, 0, 7, -3, 2 ** 40, 1.5, -0.0, 2j, 1 + 0j, np.float32(2.0), np.int8(3), np.bool_(True)]


def _make(lib, name, ndim):
    t = lib.ones((2,) * ndim, dtype=getattr(lib, name))
    return t


def _name(d):
    return str(d).split(".")[-1]


def _complex32(a, b):
    """torch promotes float16 with a complex scalar/0-dim operand to complex32, which flambeau lacks."""
    return {a, b} & {"float16"} and {a, b} & {"complex64", "complex128", "complex"}


def test_promote_types_full_table():
    bad = []
    for a, b in itertools.product(NAMES, NAMES):
        ours = flambeau.promote_types(getattr(flambeau, a), getattr(flambeau, b))
        ref = torch.promote_types(getattr(torch, a), getattr(torch, b))
        if _name(ours) != _name(ref):
            bad.append(f"promote_types({a}, {b}) = {ours}, torch {ref}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("dims", [(1, 1), (1, 0), (0, 1), (0, 0), (2, 1)])
def test_result_type_and_add_dtype_every_pair(dims, device):
    F = on_device(flambeau, device)
    bad = []
    for a, b in itertools.product(NAMES, NAMES):
        ref = torch.result_type(_make(torch, a, dims[0]), _make(torch, b, dims[1]))
        if _name(ref) == "complex32":
            continue
        ours = flambeau.result_type(_make(F, a, dims[0]), _make(F, b, dims[1]))
        if _name(ours) != _name(ref):
            bad.append(f"result_type({a}/{dims[0]}d, {b}/{dims[1]}d) = {ours}, torch {ref}")
        for op in ("__add__", "__mul__", "__truediv__"):
            r = getattr(_make(torch, a, dims[0]), op)(_make(torch, b, dims[1]))
            o = getattr(_make(F, a, dims[0]), op)(_make(F, b, dims[1]))
            if _name(o.dtype) != _name(r.dtype) or tuple(o.shape) != tuple(r.shape) or o.device.type != device:
                bad.append(f"{a}/{dims[0]}d {op} {b}/{dims[1]}d: {o.dtype}{tuple(o.shape)}, torch "
                           f"{r.dtype}{tuple(r.shape)}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("ndim", [1, 0])
def test_result_type_with_python_and_numpy_scalars(ndim, device):
    F = on_device(flambeau, device)
    bad = []
    for a in NAMES:
        for s in SCALARS:
            ref = torch.result_type(_make(torch, a, ndim), s)
            if _name(ref) == "complex32":
                continue
            ours = flambeau.result_type(_make(F, a, ndim), s)
            if _name(ours) != _name(ref):
                bad.append(f"result_type({a}/{ndim}d, {s!r}) = {ours}, torch {ref}")
            for op in ("__add__", "__radd__", "__mul__", "__rmul__", "__truediv__"):
                r = getattr(_make(torch, a, ndim), op)(s)
                o = getattr(_make(F, a, ndim), op)(s)
                if _name(o.dtype) != _name(r.dtype) or o.device.type != device:
                    bad.append(f"{a}/{ndim}d {op} {s!r}: {o.dtype}, torch {r.dtype}")
    assert not bad, "\n".join(bad)


def test_result_type_of_two_scalars_and_scalar_tensor(device):
    F = on_device(flambeau, device)
    for x, y in ((1, 2.0), (True, 1), (1, 1j), (True, False)):
        assert _name(flambeau.result_type(F.tensor(x), y)) == _name(torch.result_type(torch.tensor(x), y))


@pytest.mark.parametrize("default", ["float64", "float16", "float32"])
def test_default_dtype_drives_inference_and_promotion(default, device):
    F = on_device(flambeau, device)
    flambeau.set_default_dtype(getattr(flambeau, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        assert flambeau.get_default_dtype() is getattr(flambeau, default)
        checks = [lambda lib: lib.tensor([1.5]).dtype, lambda lib: lib.tensor([1j]).dtype,
                  lambda lib: lib.zeros(2).dtype, lambda lib: lib.arange(0.0, 1.0, 0.5).dtype,
                  lambda lib: (lib.tensor([1, 2]) / 2).dtype, lambda lib: (lib.tensor([1, 2]) * 1.5).dtype,
                  lambda lib: lib.full((2,), 1.5).dtype, lambda lib: lib.tensor([1, 2]).sqrt().dtype,
                  lambda lib: lib.result_type(lib.tensor([1]), 1j), lambda lib: lib.rand(2).dtype]
        for fn in checks:
            ref = _name(fn(torch))
            if ref != "complex32":          # flambeau has no complex32 (default float16 + complex)
                assert _name(fn(F)) == ref
    finally:
        flambeau.set_default_dtype(flambeau.float32)
        torch.set_default_dtype(torch.float32)


def test_set_default_dtype_rejects_non_float():
    for d in ("int64", "bool", "complex64", "'float64'", "None"):
        messages = []
        for lib in (torch, flambeau):
            with pytest.raises(TypeError) as info:
                lib.set_default_dtype(eval(d, {}, vars(lib)))
            messages.append(str(info.value))
        assert messages[1] == messages[0]
    assert flambeau.get_default_dtype() is flambeau.float32


@pytest.mark.parametrize("code", ["torch.zeros(2, dtype=float)", "torch.ones(2, dtype=int)", "torch.empty(2, dtype=bool).fill_(1)",
                                  "torch.zeros(1, dtype=complex)", "torch.tensor([1, 2], dtype=float)",
                                  "torch.as_tensor([1.5], dtype=int)", "torch.arange(3., dtype=int)",
                                  "torch.full((2,), 1.5, dtype=int)", "torch.randn(2, dtype=float).sign().abs()",
                                  "torch.linspace(0, 1, 3, dtype=float)", "torch.ones_like(torch.zeros(2), dtype=int)",
                                  "torch.ones(2).new_zeros(2, dtype=int)", "torch.ones(2).sum(dtype=float)",
                                  "torch.ones(2).mean(dtype=float)", "torch.ones(2).cumsum(0, dtype=int)",
                                  "torch.ones(2).to(float)", "torch.ones(2).to('cpu', int)", "torch.ones(2).to(dtype=bool)",
                                  "torch.nn.Linear(1, 1, dtype=float).weight.detach() * 0",
                                  "torch.ones(2).type(float)", "torch.zeros(1, dtype='float32')",
                                  "torch.zeros(1, dtype=np.float32)", "torch.ones(1, dtype=np.dtype('float32'))",
                                  "torch.tensor(1, dtype='int64')"])
def test_python_types_as_dtype_arguments(code):
    """PyTorch reads dtype=float as float64, int as int64, bool, complex as complex128; others raise."""
    results = []
    for lib in (torch, flambeau):
        try:
            out = eval(code, {"torch": lib, "np": np})
            results.append((str(out.dtype), out.tolist()))
        except (TypeError, ValueError) as e:
            results.append((type(e).__name__, str(e).splitlines()[0]))
    assert results[1] == results[0]


def test_can_cast_table():
    bad = []
    for a, b in itertools.product(NAMES, NAMES):
        ours = flambeau.can_cast(getattr(flambeau, a), getattr(flambeau, b))
        ref = torch.can_cast(getattr(torch, a), getattr(torch, b))
        if ours != ref:
            bad.append(f"can_cast({a}, {b}) = {ours}, torch {ref}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes_and_repr(name):
    ours, ref = getattr(flambeau, name), getattr(torch, name)
    assert repr(ours) == repr(ref)
    assert ours.is_floating_point == ref.is_floating_point
    assert ours.is_complex == ref.is_complex
    assert ours.is_signed == ref.is_signed
    assert ours.itemsize == ref.itemsize
    assert pickle.loads(pickle.dumps(ours)) is ours
    t, r = flambeau.ones(1, dtype=ours), torch.ones(1, dtype=ref)
    assert t.type() == r.type()
    assert t.element_size() == r.element_size()


def test_aliases_are_the_same_objects():
    assert flambeau.float is flambeau.float32 and flambeau.double is flambeau.float64
    assert flambeau.half is flambeau.float16 and flambeau.long is flambeau.int64
    assert flambeau.int is flambeau.int32 and flambeau.short is flambeau.int16
    assert flambeau.cfloat is flambeau.complex64 and flambeau.cdouble is flambeau.complex128


def test_type_strings_convert():
    for s in ("torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor",
              "torch.ByteTensor", "torch.HalfTensor", "torch.IntTensor", "torch.ShortTensor", "torch.CharTensor"):
        assert flambeau.tensor([1, 0]).type(s).type() == torch.tensor([1, 0]).type(s).type()
    with pytest.raises(ValueError):
        torch.tensor([1]).type("torch.NoSuchTensor")
    with pytest.raises(ValueError):
        flambeau.tensor([1]).type("torch.NoSuchTensor")


def test_finfo_iinfo():
    for name in ("float16", "float32", "float64"):
        f, g = flambeau.finfo(getattr(flambeau, name)), torch.finfo(getattr(torch, name))
        assert (f.eps, f.max, f.min, f.tiny, f.bits) == (g.eps, g.max, g.min, g.tiny, g.bits)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        f, g = flambeau.iinfo(getattr(flambeau, name)), torch.iinfo(getattr(torch, name))
        assert (f.max, f.min, f.bits) == (g.max, g.min, g.bits)
    assert flambeau.finfo().eps == torch.finfo().eps


def test_promote_types_and_can_cast_take_python_types_and_name_a_wrong_argument():
    for a, b in ((flambeau.float32, float), (int, flambeau.uint8), (bool, complex), (float, int)):
        ta, tb = (getattr(torch, x.name) if isinstance(x, flambeau.dtype) else x for x in (a, b))
        assert str(flambeau.promote_types(a, b)) == str(torch.promote_types(ta, tb))
        assert flambeau.can_cast(a, b) == torch.can_cast(ta, tb)
    for fn, args, targs in ((flambeau.promote_types, (flambeau.float32, "float64"), (torch.float32, "float64")),
                            (flambeau.promote_types, (None, flambeau.int8), (None, torch.int8)),
                            (flambeau.can_cast, (None, flambeau.float32), (None, torch.float32)),
                            (flambeau.can_cast, (flambeau.float32, 1), (torch.float32, 1))):
        with pytest.raises(TypeError) as ours:
            fn(*args)
        with pytest.raises(TypeError) as ref:
            getattr(torch, fn.__name__)(*targs)
        assert str(ours.value) == str(ref.value)


def test_dist_promotes_its_operands_and_passes_the_gradient_back_in_their_dtypes():
    grads = []
    for lib in (torch, flambeau):
        a = lib.tensor([1., 2.], requires_grad=True)
        b = lib.tensor([0.5, 4.], dtype=lib.float64, requires_grad=True)
        r = lib.dist(a, b, 3)
        r.backward()
        grads.append((str(r.dtype), r.item(), str(a.grad.dtype), a.grad.tolist(), str(b.grad.dtype), b.grad.tolist()))
    assert grads[0][:3] == grads[1][:3] and grads[0][4] == grads[1][4]
    np.testing.assert_allclose(grads[1][3], grads[0][3], rtol=1e-6)
    np.testing.assert_allclose(grads[1][5], grads[0][5], rtol=1e-12)
