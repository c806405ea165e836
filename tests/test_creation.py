"""Creation, joining and triangle ops against torch: values, dtypes, shapes, errors, memory sharing."""
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, on_device, oracle_version


def same(fn, *, exact=True, rtol=0.0, device="cpu"):
    """fn(lib) on torch and on flambeau with factories on device: the same exception type, or equal
    values/dtype/shape, with flambeau's tensors on device."""
    lib = on_device(flambeau, device)
    try:
        ref = fn(torch)
    except Exception as e:      # the oracle's exception type is part of the contract
        with pytest.raises(type(e)):
            fn(lib)
        return None
    ours = fn(lib)
    assert_same(ours, ref, rtol=rtol if not exact else 0.0, atol=0.0)
    for o in ours if isinstance(ours, (tuple, list)) else (ours,):
        assert o.device.type == device, f"on {o.device}, expected {device}"
    return ours


def home(lib):
    """The device lib's factories default to (torch: the CPU; flambeau in a device test: that device)."""
    return lib.zeros(0).device


@pytest.mark.parametrize("data", [
    [1, 2, 3], [1, 2.0], [True, False], [True, 2], [True, 2.5], [[1, 2], [3, 4]], [[1.5], [2]], [], [[]],
    3, 2.5, True, 1 + 2j, [1, 2j], [[True], [False]], (1, 2), [(1, 2), (3, 4)], [2 ** 40], [-1, 255],
    np.float32(1.5), np.int16(3), [np.float32(1.5), 2], np.array([1, 2], dtype=np.int8),
    np.array([[1.5]], dtype=np.float16), np.array(True)])
def test_tensor_dtype_inference(data, device):
    same(lambda lib: lib.tensor(data), device=device)


def test_tensor_from_zero_dim_tensors_and_mixed(device):
    same(lambda lib: lib.tensor([lib.tensor(1), lib.tensor(2)]), device=device)
    same(lambda lib: lib.tensor([lib.tensor(1.5), 2]), device=device)
    same(lambda lib: lib.tensor([lib.tensor(1, dtype=lib.int8), 2]), device=device)
    same(lambda lib: lib.tensor([[lib.tensor(True)], [lib.tensor(False)]]), device=device)
    same(lambda lib: lib.tensor(lib.tensor([1, 2], dtype=lib.int16)), device=device)
    same(lambda lib: lib.tensor([1, 2.7, -3.9], dtype=lib.int32), device=device)
    same(lambda lib: lib.tensor([0.0, 2.0], dtype=lib.bool), device=device)


def test_tensor_errors(device):
    for bad in ([[1, 2], [3]], [[1], 2], [[[1, 2]], [[1]]]):
        same(lambda lib: lib.tensor(bad), device=device)
    same(lambda lib: lib.tensor("abc"), device=device)
    same(lambda lib: lib.tensor([1, "a"]), device=device)
    same(lambda lib: lib.tensor([lib.ones(2), lib.ones(2)]), device=device)


def test_tensor_copies_and_requires_grad(device):
    F = on_device(flambeau, device)
    a = np.array([1.0, 2.0])
    t = F.tensor(a, requires_grad=True)
    a[0] = 9
    assert t.tolist() == [1.0, 2.0] and t.requires_grad and t.is_leaf and t.device.type == device
    with pytest.raises(RuntimeError):
        F.tensor([1, 2], requires_grad=True)
    moved = flambeau.as_tensor(a, device=device)          # a NumPy array goes to the device by a copy
    a[1] = -1
    assert moved.device.type == device and moved.tolist() == ([9.0, -1.0] if device == "cpu" else [9.0, 2.0])


def test_as_tensor_and_from_numpy_share_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = flambeau.from_numpy(a)
    a[0, 0] = 42
    t[1, 2] = -1
    assert t[0, 0].item() == 42 and a[1, 2] == -1
    assert flambeau.as_tensor(a).data_ptr() == a.__array_interface__["data"][0]
    assert flambeau.as_tensor(a, dtype=flambeau.float32).dtype is flambeau.float32
    x = flambeau.ones(2)
    assert flambeau.as_tensor(x) is x
    assert_same(flambeau.as_tensor([1, 2.5]), torch.as_tensor([1, 2.5]))
    # strided (non-contiguous) arrays keep their strides
    v = np.arange(12.0).reshape(3, 4)[:, ::2]
    assert flambeau.from_numpy(v).stride() == torch.from_numpy(v).stride()


def test_from_numpy_negative_strides_and_readonly_and_bad_dtype():
    a = np.arange(4.0)[::-1]
    with pytest.raises(ValueError):
        torch.from_numpy(a)
    with pytest.raises(ValueError):
        flambeau.from_numpy(a)
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = flambeau.from_numpy(ro)
    assert any("not writable" in str(x.message) for x in w)
    assert t.tolist() == [0.0, 1.0, 2.0]
    for bad in (np.array(["a"]), np.array([1], dtype=np.longdouble), np.array([object()])):
        with pytest.raises(TypeError):
            torch.from_numpy(bad)
        with pytest.raises(TypeError):
            flambeau.from_numpy(bad)


@pytest.mark.parametrize("code", ["torch.tensor(a)", "torch.as_tensor(a)", "torch.as_tensor(a, dtype=torch.float32)",
                                  "torch.asarray(a)", "torch.Tensor(a)", "torch.ones(1).new_tensor(a)",
                                  "torch.tensor(np.flip(np.ones((2, 3)), 1))", "torch.tensor(a.copy())",
                                  "torch.tensor(a[1])", "torch.tensor(np.broadcast_to(a.copy(), (2, 4)))"])
def test_numpy_arrays_with_negative_strides_are_refused_as_in_torch(code):
    results = []
    for lib in (torch, flambeau):
        try:
            out = eval(code, {"torch": lib, "np": np, "a": np.arange(4.0)[::-1]})
            results.append((out.tolist(), out.stride()))
        except ValueError as e:
            results.append(str(e))
    assert results[1] == results[0]


@pytest.mark.parametrize("data", ["[np.float64(1), np.float64(2)]", "[np.int32(3), 1]", "[np.int16(1), np.uint8(2)]",
                                  "[np.float16(1), 1]", "[np.int8(1), True]", "[[np.int32(1)], [np.int32(2)]]",
                                  "(np.int32(5),)", "[np.float32(1), np.float64(1)]", "[np.int32(1), np.float16(2)]",
                                  "[np.bool_(True)]", "[np.float32(1), 2.0]", "[np.complex64(1)]",
                                  "[torch.tensor(1, dtype=torch.int32), np.int16(2)]"])
def test_numpy_scalars_in_sequences_keep_their_dtype(data):
    outs = [(str(t.dtype), t.tolist()) for t in (lib.tensor(eval(data, {"np": np, "torch": lib}))
                                                 for lib in (torch, flambeau))]
    assert outs[1] == outs[0]


@pytest.mark.parametrize("data", ["2 ** 63", "-2 ** 63 - 1", "-2 ** 63", "2 ** 63 - 1", "[2 ** 64]", "[1, 2 ** 63]",
                                  "[[1], [2 ** 63]]", "[1.5, 2 ** 63]", "[2 ** 100, 1.0]"])
@pytest.mark.parametrize("dtype", [None, "float32", "int64", "uint8", "float64"])
def test_python_ints_beyond_int64(data, dtype):
    results = []
    for lib in (torch, flambeau):
        try:
            t = lib.tensor(eval(data), dtype=dtype and getattr(lib, dtype))
            results.append((str(t.dtype), t.tolist()))
        except (ValueError, RuntimeError) as e:
            results.append((type(e).__name__, str(e)))
    assert results[1] == results[0]


def test_unsupported_numpy_dtypes_are_named_as_in_torch():
    for bad in (np.array(["a"]), np.array([object()]), np.array([1], dtype="datetime64[s]"), np.zeros(1, "V4")):
        messages = []
        for fn in (torch.from_numpy, flambeau.from_numpy, torch.tensor, flambeau.tensor):
            with pytest.raises(TypeError) as info:
                fn(bad)
            messages.append(str(info.value).split(". ")[0])     # flambeau lists fewer supported types
        assert messages[1] == messages[0] and messages[3] == messages[2]


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(2, 3), lambda lib: lib.ones((2, 3), dtype=lib.int8), lambda lib: lib.zeros([0, 2]),
    lambda lib: lib.ones(()), lambda lib: lib.zeros(lib.Size([3])), lambda lib: lib.full((2,), 3),
    lambda lib: lib.full((2,), 3.5), lambda lib: lib.full((2,), True), lambda lib: lib.full((1,), 2j),
    lambda lib: lib.full([2, 2], 7, dtype=lib.float64), lambda lib: lib.full((2,), lib.tensor(2.5)),
    lambda lib: lib.eye(3), lambda lib: lib.eye(2, 4, dtype=lib.int64), lambda lib: lib.eye(0),
    lambda lib: lib.zeros(-1), lambda lib: lib.empty(2, 3).shape, lambda lib: lib.empty(2, dtype=lib.int16).dtype,
    lambda lib: lib.eye(-1)])
def test_filled_constructors(fn, device):
    try:
        r = fn(torch)
    except RuntimeError:
        r = None
    if isinstance(r, (torch.Size, torch.dtype)):
        assert str(fn(flambeau)) == str(r)
    else:
        same(fn, device=device)


@pytest.mark.parametrize("args", [
    (5,), (1, 4), (0, 1, 0.1), (1, 2.5, 0.5), (0, 10, 3), (10, 0, -3), (0.5, 3), (-1, 1, 0.3), (0, 1, 1 / 3),
    (1.0, 1.3, 0.1), (0, 5, 1.5), (2, 2), (0, 0.9, 0.3), (5, 1)])
def test_arange_length_and_values(args, device):
    same(lambda lib: lib.arange(*args), device=device)                  # element-wise identical in float32
    same(lambda lib: lib.arange(*args, dtype=lib.float64), exact=False, rtol=1e-12, device=device)


def test_arange_dtypes_and_errors(device):
    same(lambda lib: lib.arange(5, dtype=lib.int16), device=device)
    same(lambda lib: lib.arange(lib.tensor(3)), device=device)
    same(lambda lib: lib.arange(0, 5, 0), device=device)
    same(lambda lib: lib.arange(0, 5, -1), device=device)
    if oracle_version() >= (2, 13):     # older torch divides by the step truncated to 0: SIGFPE
        same(lambda lib: lib.arange(0, 2.5, 0.5, dtype=lib.int64), device=device)
    same(lambda lib: lib.arange(-0.5, 7.9, 1.5, dtype=lib.int64), device=device)
    same(lambda lib: lib.arange(0.0, 9.7, 0.1), device=device)
    same(lambda lib: lib.arange(-3.3, 100.1, 1.7), device=device)


@pytest.mark.parametrize("args", [(0, 1, 5), (-3.7, 11.2, 50), (0, 1, 1), (2, 2, 4), (1, 0, 7), (0, 1, 0),
                                  (-1e3, 1e-3, 33), (0.1, 0.7, 101)])
def test_linspace_float32_exact_and_float64(args, device):
    same(lambda lib: lib.linspace(*args), device=device)                 # element-wise identical in float32
    same(lambda lib: lib.linspace(*args, dtype=lib.float64), exact=False, rtol=1e-15, device=device)


def test_linspace_int_and_logspace(device):
    same(lambda lib: lib.linspace(0, 10, 4, dtype=lib.int64), device=device)
    same(lambda lib: lib.linspace(-5, 5, 7, dtype=lib.int32), device=device)
    same(lambda lib: lib.logspace(0, 3, 4, device=home(lib)), exact=False, rtol=1e-6, device=device)
    same(lambda lib: lib.logspace(-1, 2, 5, base=2.0, dtype=lib.float64, device=home(lib)), exact=False, rtol=1e-13,
         device=device)
    same(lambda lib: lib.linspace(0, 1, -1), device=device)


def test_like_family_keeps_shape_dtype(device):
    F = on_device(flambeau, device)
    for fn in (lambda lib, t: lib.zeros_like(t), lambda lib, t: lib.ones_like(t, dtype=lib.float64),
               lambda lib, t: lib.full_like(t, 7), lambda lib, t: lib.full_like(t, 2.5),
               lambda lib, t: lib.empty_like(t).shape, lambda lib, t: lib.rand_like(t.double()).dtype,
               lambda lib, t: lib.randn_like(t.float()).shape, lambda lib, t: lib.randint_like(t, 5).dtype,
               lambda lib, t: lib.zeros_like(t.t())):
        ours, ref = fn(F, F.ones(2, 3, dtype=flambeau.int32)), fn(torch, torch.ones(2, 3, dtype=torch.int32))
        if isinstance(ref, torch.Tensor):
            assert_same(ours, ref)
            assert ours.device.type == device         # the _like factories follow their input's device
        else:
            assert str(ours) == str(ref)


def test_empty_strided(device):
    ours = flambeau.empty_strided((2, 3), (1, 2), device=device)
    ref = torch.empty_strided((2, 3), (1, 2))
    assert ours.shape == ref.shape and ours.stride() == ref.stride() and ours.dtype == flambeau.float32
    assert ours.device.type == device
    ours.fill_(1)
    assert ours.sum().item() == 6


def test_cat_promotion_and_legacy_empty(device):
    same(lambda lib: lib.cat([lib.ones(2, dtype=lib.int32), lib.ones(3, dtype=lib.float64)]), device=device)
    same(lambda lib: lib.cat([lib.ones(2, dtype=lib.bool), lib.ones(1, dtype=lib.uint8)]), device=device)
    same(lambda lib: lib.cat([lib.ones(2, 3), lib.zeros(0), lib.ones(1, 3)]), device=device)
    same(lambda lib: lib.cat([lib.zeros(0), lib.zeros(0)]), device=device)
    same(lambda lib: lib.cat([lib.ones(2, 3), lib.zeros(2, 2)], dim=1), device=device)
    same(lambda lib: lib.cat([lib.ones(2, 3), lib.zeros(2, 2)], dim=0), device=device)
    same(lambda lib: lib.cat([lib.ones(2, 3).t(), lib.zeros(3, 2)], dim=-1), device=device)
    same(lambda lib: lib.concat((lib.ones(1), lib.tensor([2.0]))), device=device)
    same(lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]), device=device)
    same(lambda lib: lib.cat([]), device=device)
    same(lambda lib: lib.cat([lib.ones(2), lib.ones(2, 1)]), device=device)
    check_against_torch(lambda lib, a, b: lib.cat([a, b * 2], 1), (2, 3), (2, 4), device=device)


def test_stack_family(device):
    F = on_device(flambeau, device)
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0, 12.0).reshape(2, 3)

    def run(fn):
        ours = fn(F, F.tensor(a), F.tensor(b))
        ref = fn(torch, torch.tensor(a), torch.tensor(b))
        assert_same(ours, ref)
    for fn in (lambda lib, x, y: lib.stack([x, y]), lambda lib, x, y: lib.stack([x, y], dim=2),
               lambda lib, x, y: lib.stack([x, y], -1), lambda lib, x, y: lib.hstack([x, y]),
               lambda lib, x, y: lib.vstack([x, y]), lambda lib, x, y: lib.dstack([x, y]),
               lambda lib, x, y: lib.column_stack([x, y]), lambda lib, x, y: lib.hstack([x[0], y[1]]),
               lambda lib, x, y: lib.vstack([x[0], y[1]]), lambda lib, x, y: lib.dstack([x[0], y[1]]),
               lambda lib, x, y: lib.column_stack([x[0], y[1]]), lambda lib, x, y: lib.stack([x[0, 0], y[0, 0]]),
               lambda lib, x, y: lib.row_stack([x, y]), lambda lib, x, y: lib.hstack([x[0, 0], y[0, 0]])):
        run(fn)
    same(lambda lib: lib.stack([lib.ones(2), lib.ones(3)]), device=device)
    same(lambda lib: lib.stack([lib.ones(2, dtype=lib.int64), lib.ones(2)]), device=device)
    check_against_torch(lambda lib, x, y: lib.stack([x, y], 1), (2, 3), (2, 3), device=device)


def test_meshgrid_ij_xy(device):
    mixed = (lambda lib: lib.cat([lib.ones(2), flambeau.ones(2)]),
             lambda lib: lib.stack([flambeau.ones(2), lib.ones(2)]),
             lambda lib: lib.meshgrid(lib.arange(2), flambeau.arange(2), indexing="ij"))
    for fn in mixed if device != "cpu" else ():
        with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
            fn(on_device(flambeau, device))
    for idx in ("ij", "xy"):
        same(lambda lib: lib.meshgrid(lib.arange(3), lib.arange(4.0), indexing=idx), device=device)
        same(lambda lib: lib.meshgrid(lib.arange(2), lib.arange(3), lib.arange(4), indexing=idx), device=device)
        same(lambda lib: lib.meshgrid([lib.arange(2), lib.arange(3)], indexing=idx), device=device)
        same(lambda lib: lib.meshgrid(lib.arange(3), indexing=idx), device=device)


def test_tril_triu_diag(device):
    F = on_device(flambeau, device)
    x = np.arange(20.0).reshape(4, 5)
    for k in (-2, -1, 0, 1, 3):
        for name in ("tril", "triu"):
            same(lambda lib: getattr(lib, name)(lib.tensor(x), k), device=device)
            same(lambda lib: getattr(lib, name)(lib.tensor(x).reshape(2, 2, 5), k), device=device)
        same(lambda lib: lib.diag(lib.tensor(x), k), device=device)
        same(lambda lib: lib.diag(lib.tensor(x[0]), k), device=device)
        same(lambda lib: lib.diag_embed(lib.tensor(x), k), device=device)
        same(lambda lib: lib.diag_embed(lib.tensor(x), k, dim1=0, dim2=2), device=device)
    a, b = F.tensor(x), torch.tensor(x)
    a.tril_(1), b.tril_(1)
    assert_same(a, b)
    same(lambda lib: lib.tril(lib.ones(3)), device=device)
    same(lambda lib: lib.diag(lib.ones(2, 2, 2)), device=device)
    check_against_torch(lambda lib, t: lib.triu(t, 1) + lib.diag(t) .sum(), (3, 4), device=device)
    check_against_torch(lambda lib, t: lib.diag_embed(t, 1), (2, 3), device=device)


@pytest.mark.parametrize("args", [(3, 3), (4, 3, 1), (3, 5, -1), (0, 0), (1, 4, 2), (5, 2, -3)])
def test_tril_triu_indices(args, device):
    same(lambda lib: lib.tril_indices(*args, device=home(lib)), device=device)
    same(lambda lib: lib.triu_indices(*args, device=home(lib)), device=device)
    same(lambda lib: lib.tril_indices(*args, dtype=lib.int32, device=home(lib)), device=device)


def test_trace_is_one_node_as_in_torch(device):
    # torch.trace records TraceBackward0, not a diagonal then a sum
    x = flambeau.tensor([[1., 2], [3, 4]], requires_grad=True, device=device)
    ref = torch.tensor([[1., 2], [3, 4]], requires_grad=True)
    for ours, theirs in ((x.trace(), ref.trace()), (flambeau.trace(x), torch.trace(ref))):
        assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
        assert_same(ours, theirs.detach(), device=device)
    flambeau.trace(x).backward()
    torch.trace(ref).backward()
    assert_same(x.grad, ref.grad, device=device)
    with pytest.raises(RuntimeError, match="expected a matrix"):
        flambeau.trace(flambeau.ones(2, 3, 4, device=device))


def _formats(lib):
    # flambeau's memory formats are told apart in _ops.creation (flambeau.contiguous_format is still a
    # name shared by all three)
    from flambeau._ops import creation
    return (lib.contiguous_format, lib.channels_last, lib.preserve_format) if lib is torch else \
        (creation.contiguous_format, creation.channels_last, creation.preserve_format)


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(24.).view(2, 3, 4).permute(2, 0, 1)[::2],       # not dense: torch's dimension order
    lambda lib: lib.arange(6.).view(2, 3).t(),                             # dense: its own strides
    lambda lib: lib.ones(3, 1).expand(3, 4),                               # stride 0: contiguous
    lambda lib: lib.arange(120.).view(2, 3, 4, 5).permute(0, 2, 3, 1),
    lambda lib: lib.arange(120.).view(2, 3, 4, 5)[:, ::2, 1:],
    lambda lib: lib.empty(3, 0).t(), lambda lib: lib.tensor(3.)])
def test_clone_and_like_keep_torch_layout(make, device):
    """clone() and the *_like factories lay out a copy as torch's preserve_format does; contiguous_format
    and channels_last as asked."""
    F = on_device(flambeau, device)
    ours, ref = make(F), make(torch)
    # the *_like factories given preserve_format (flambeau's default is still contiguous_format)
    likes = [lambda lib, x, p: x.clone(), lambda lib, x, p: lib.clone(x),
             lambda lib, x, p: x.clone(memory_format=p),
             lambda lib, x, p: lib.empty_like(x, memory_format=p),
             lambda lib, x, p: lib.zeros_like(x, memory_format=p),
             lambda lib, x, p: lib.ones_like(x, dtype=lib.float64, memory_format=p),
             lambda lib, x, p: lib.full_like(x, 7, memory_format=p),
             lambda lib, x, p: lib.rand_like(x, memory_format=p),
             lambda lib, x, p: lib.randn_like(x, memory_format=p),
             lambda lib, x, p: lib.randint_like(x, 5, memory_format=p),
             lambda lib, x, p: lib.empty_like(x, device="cpu", memory_format=p)]
    for f in likes:
        a, b = f(flambeau, ours, _formats(flambeau)[2]), f(torch, ref, _formats(torch)[2])
        assert (a.stride(), a.shape, str(a.dtype)) == (b.stride(), b.shape, str(b.dtype))
    assert_same(ours.clone(), ref.clone(), device=device)
    assert_same(flambeau.full_like(ours, 7), torch.full_like(ref, 7), device=device)
    contiguous, channels_last, _ = _formats(flambeau)
    t_contiguous, t_channels_last, _ = _formats(torch)
    for f in (lambda x, m: x.clone(memory_format=m), lambda x, m: flambeau.zeros_like(x, memory_format=m)
              if isinstance(x, flambeau.Tensor) else torch.zeros_like(x, memory_format=m)):
        a, b = f(ours, contiguous), f(ref, t_contiguous)
        assert a.stride() == b.stride() and a.is_contiguous()
        assert f(ours, flambeau.contiguous_format).stride() == b.stride()
        if ref.ndim == 4:
            a, b = f(ours, channels_last), f(ref, t_channels_last)
            assert a.stride() == b.stride()
            assert_same(a, b, device=device)
        else:
            with pytest.raises(RuntimeError) as e:
                f(ref, t_channels_last)
            with pytest.raises(RuntimeError, match=str(e.value)):
                f(ours, channels_last)


def test_clone_keeps_gradient_and_layout_under_autograd(device):
    x = flambeau.arange(24., device=device).view(2, 3, 4).requires_grad_()
    ref = torch.arange(24.).view(2, 3, 4).requires_grad_()
    a, b = x.permute(2, 0, 1)[::2].clone(), ref.permute(2, 0, 1)[::2].clone()
    assert a.stride() == b.stride() and type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    (a * flambeau.arange(12., device=device).view(2, 2, 3)).sum().backward()
    (b * torch.arange(12.).view(2, 2, 3)).sum().backward()
    assert_same(x.grad, ref.grad, device=device)


@pytest.mark.parametrize("size, order", [((2, 3, 4), (0, 2, 1)), ((2, 3), (1, 0)), ((2, 0, 3), (2, 1, 0)),
                                         ((5,), (0,)), ((), ()), ((2, 3), (0,)), ((2, 3), (0, 2)),
                                         ((2, 3), (0, -1)), ((2, 3), (0, 0))])
def test_empty_permuted_lays_dims_out_in_the_given_order(size, order, device):
    def strides(lib):
        e = lib.empty_permuted(size, order, dtype=lib.int16, requires_grad=False)
        return lib.tensor(list(e.shape) + list(e.stride())), e.dtype
    same(lambda lib: strides(lib)[0], device=device)
    if len(size) == len(order) and sorted(order) == list(range(len(size))):
        e = flambeau.empty_permuted(size, order, dtype=flambeau.int16)
        assert e.dtype is flambeau.int16 and e.permute(order).is_contiguous()
        assert flambeau.empty_permuted(size, order, requires_grad=True).is_leaf


def test_fill_makes_a_new_tensor_with_gradient_to_the_value(device):
    same(lambda lib: lib.fill(lib.zeros(2, 3, dtype=lib.int64), 2.7), device=device)
    same(lambda lib: lib.fill(lib.zeros(2, dtype=lib.bool), 2), device=device)
    same(lambda lib: lib.fill(lib.zeros(2), lib.ones(2)), device=device)

    def grads(lib):
        x = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        v = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = lib.fill(x, v)
        (y * lib.arange(6.).view(2, 3)).sum().backward()
        return y.detach(), x.grad, v.grad
    same(grads, device=device)
    x = flambeau.zeros(3)
    assert flambeau.fill(x, 4.0).data_ptr() != x.data_ptr() and bool((x == 0).all())


def test_layouts_compare_print_and_pickle_as_torch(device):
    import pickle
    for lib in (torch, flambeau):
        assert repr(lib.strided) == "torch.strided" and repr(lib.sparse_coo) == "torch.sparse_coo"
        assert isinstance(lib.strided, lib.layout) and lib.strided != lib.sparse_csr
        assert pickle.loads(pickle.dumps(lib.strided)) is lib.strided
    assert flambeau.zeros(2, device=device).layout is flambeau.strided


@pytest.mark.parametrize("make", [lambda lib, lay: lib.zeros(2, layout=lay), lambda lib, lay: lib.empty(2, 3, layout=lay).zero_(),
                                  lambda lib, lay: lib.arange(3, layout=lay), lambda lib, lay: lib.full((2,), 1.5, layout=lay),
                                  lambda lib, lay: lib.ones_like(lib.zeros(2), layout=lay),
                                  lambda lib, lay: lib.randn(2, layout=lay) * 0,
                                  lambda lib, lay: lib.hann_window(4, layout=lay), lambda lib, lay: lib.fft.fftfreq(4, layout=lay)])
def test_factories_take_strided_and_refuse_other_layouts(make):
    same(lambda lib: make(lib, lib.strided))
    same(lambda lib: make(lib, None))
    same(lambda lib: make(lib, "torch.strided"))       # a string: TypeError in both
    with pytest.raises(NotImplementedError, match="strided"):
        make(flambeau, flambeau.sparse_coo)


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(), lambda L: L.ones(dtype=L.int64), lambda L: L.empty(), lambda L: L.rand(), lambda L: L.randn(),
    lambda L: L.ones(2).new_zeros(), lambda L: L.ones(2).new_ones(), lambda L: L.ones(2).new_empty(),
    lambda L: L.zeros((2,), size=(2,)), lambda L: L.ones(out=L.zeros(2)),
])
def test_factories_without_a_size_raise_as_torch(call):
    with pytest.raises(TypeError) as theirs:
        call(torch)
    with pytest.raises(TypeError) as ours:
        call(flambeau)
    assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(size=(2, 3)), lambda L: L.ones(size=[4]), lambda L: L.empty(size=(2, 1)).shape,
    lambda L: L.zeros(()), lambda L: L.zeros([]), lambda L: L.ones(3).new_zeros(()), lambda L: L.ones(3).new_ones(size=(2,)),
    lambda L: L.Tensor(), lambda L: L.FloatTensor(), lambda L: L.LongTensor(), lambda L: L.Tensor(2, 3).shape,
])
def test_factories_take_size_by_keyword_and_empty_legacy_constructors(call):
    ours, theirs = call(flambeau), call(torch)
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
    else:
        assert_same(ours, theirs)

