"""The transcripts and code blocks of lectures 1.4-1.6 (EE-559), one test each.

Each snippet runs as a REPL session (an expression statement prints its repr) with
``import flambeau as torch`` and with real torch, and both must print the same text.
Random snippets draw their data once and hand the same values to both libraries.
"""
import ast
import contextlib
import io
import textwrap
import warnings

import numpy as np
import pytest
import torch

import flambeau


def session(snippet, lib, **env):
    """What a ``>>>`` session of ``snippet`` prints with ``torch`` bound to lib."""
    out = io.StringIO()
    env = dict(env, torch=lib, np=np)
    tree = ast.parse(textwrap.dedent(snippet))
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stmt in tree.body:
            try:
                if isinstance(stmt, ast.Expr):
                    value = eval(compile(ast.Expression(stmt.value), "<lecture>", "eval"), env)
                    if value is not None:
                        print(repr(value))
                else:
                    exec(compile(ast.Module([stmt], []), "<lecture>", "exec"), env)
            except Exception as e:      # noqa: BLE001 - a traceback is part of the transcript
                print(f"{type(e).__name__}: {e}".split(":")[0])
    return out.getvalue()


def same_session(snippet, **env):
    ref = session(snippet, torch, **{k: v(torch) for k, v in env.items()})
    ours = session(snippet, flambeau, **{k: v(flambeau) for k, v in env.items()})
    assert ours == ref, f"\n--- torch 2.13\n{ref}\n--- flambeau\n{ours}"
    return ours


# -- 1.4 Tensor basics ----------------------------------------------------------------------------
def test_fill_mean_std_sum_item():
    out = same_session("""
        x = torch.empty(2, 5)
        x.size()
        x.fill_(1.125)
        x.mean()
        x.std()
        x.sum()
        x.sum().item()
    """)
    assert "torch.Size([2, 5])" in out and "tensor(11.2500)" in out and out.endswith("11.25\n")


def test_reading_a_coefficient_gives_a_0d_tensor():
    out = same_session("""
        x = torch.tensor([[11., 12., 13.], [21., 22., 23.]])
        x[1, 2]
    """)
    assert out == "tensor(23.)\n"


def test_componentwise_and_matrix_ops():
    out = same_session("""
        x = torch.tensor([ 10., 20., 30.])
        y = torch.tensor([ 11., 21., 31.])
        x + y
        x * y
        x**2
        m = torch.tensor([[ 0., 0., 3. ],
                          [ 0., 2., 0. ],
                          [ 1., 0., 0. ]])
        m.mv(x)
        m @ x
    """)
    assert "tensor([90., 40., 10.])" in out


def test_random_and_slicing():
    flambeau.manual_seed(0)
    x = flambeau.empty(2, 4).random_(10)
    values = x.numpy().copy()
    assert x.dtype is flambeau.float32 and x.shape == (2, 4)
    assert np.all((values >= 0) & (values < 10) & (values == np.round(values)))
    out = same_session("""
        x
        x[0]
        x[0, :]
        x[:, 0]
        x[:, 1:3] = -1
        x
    """, x=lambda lib: lib.tensor(values))
    x[:, 1:3] = -1
    assert np.all(x.numpy()[:, 1:3] == -1)
    np.testing.assert_array_equal(x.numpy()[:, [0, 3]], values[:, [0, 3]])
    assert out.count("tensor(") == 5


def test_linear_regression_data_preparation(tmp_path):
    # the gels call itself is tested with the LAPACK functions; this is the indexing around it
    path = tmp_path / "systolic-blood-pressure-vs-age.dat"
    path.write_text("39  144\n47  220\n45  138\n47  145\n65  162\n46  142\n67  170\n42  124\n")
    same_session(f"""
        import numpy
        data = torch.tensor(numpy.loadtxt({str(path)!r}))
        nb_samples = data.size(0)
        x, y = torch.empty(nb_samples, 2), torch.empty(nb_samples, 1)
        x[:, 0] = data[:, 0]
        x[:, 1] = 1
        y[:, 0] = data[:, 1]
        data.dtype, nb_samples
        x
        y
        alpha = torch.linalg.lstsq(x, y).solution
        a, b = alpha[0, 0].item(), alpha[1, 0].item()
        round(a, 3), round(b, 2)
    """)


# -- 1.5 High dimension tensors -------------------------------------------------------------------
def test_dtype_and_device():
    out = same_session("""
        x = torch.zeros(1, 3)
        x.dtype, x.device
        x = x.long()
        x.dtype, x.device
    """)
    assert out == "(torch.float32, device(type='cpu'))\n(torch.int64, device(type='cpu'))\n"


def test_to_cuda():
    x = flambeau.zeros(1, 3).long()
    if not flambeau.cuda.is_available():
        # AssertionError without CuPy (as PyTorch's CPU-only build), RuntimeError without a GPU
        with pytest.raises((AssertionError, RuntimeError), match="cuda"):
            x.to("cuda")
        return
    x = x.to("cuda")
    assert (x.dtype, x.device) == (flambeau.int64, flambeau.device("cuda", 0))
    assert repr((x.dtype, x.device)) == "(torch.int64, device(type='cuda', index=0))"


X2 = "x = torch.tensor([ [ 1, 3, 0 ], [ 2, 4, 6 ] ])"
X3 = "x = torch.tensor([ [ [ 1, 2, 1 ], [ 2, 1, 2 ] ], [ [ 3, 0, 3 ], [ 0, 3, 0 ] ] ])"
FIGURES = [(X2, "x.t()"), (X2, "x.view(-1)"), (X2, "x.view(3, -1)"), (X2, "x.narrow(1, 1, 2)"),
           (X2, "x.view(1, 2, 3).expand(3, 2, 3)"), (X3, "x.narrow(0, 0, 1)"), (X3, "x.narrow(2, 0, 2)"),
           (X3, "x.transpose(0, 1)"), (X3, "x.transpose(0, 2)"), (X3, "x.transpose(1, 2)")]


@pytest.mark.parametrize("make,view", FIGURES, ids=[v for _, v in FIGURES])
def test_view_figures(make, view):
    same_session(f"""
        {make}
        x
        v = {view}
        v
        v.stride(), v.storage_offset(), v.is_contiguous(), v.data_ptr() == x.data_ptr() + 8 * v.storage_offset()
    """)


def test_cifar_style_narrow_transpose_fill():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (50, 8, 8, 3), dtype=np.uint8)
    same_session("""
        x = torch.from_numpy(data).transpose(1, 3).transpose(2, 3).float()
        x = x / 255
        x.type(), x.size(), x.min().item(), x.max().item()
        x = x.narrow(0, 0, 48).float()
        x.shape, x.stride()
        x.transpose_(2, 3)
        x.shape, x.stride(), x[0, 0, :2, :3]
        x.narrow(1, 1, 2).fill_(0)
        x[:2, :, 0, 0]
        x.double().sum(dim=(0, 2, 3))
    """, data=lambda lib: data.copy())


def test_broadcasting_subtract_mean():
    flambeau.manual_seed(0)
    x = flambeau.empty(100, 4).normal_(2)
    assert abs(x.mean().item() - 2) < 0.3
    values = x.numpy().copy()
    out = same_session("""
        x.mean(0)
        x -= x.mean(0)
        x.shape, x.dtype
    """, x=lambda lib: lib.tensor(values))
    x -= x.mean(0)
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=1e-6)
    ref = torch.tensor(values)
    ref -= ref.mean(0)
    np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    assert out.startswith("tensor([")


def test_broadcasting_a_plus_b():
    out = same_session("""
        A = torch.tensor([[1.], [2.], [3.], [4.]])
        B = torch.tensor([[5., -5., 5., -5., 5.]])
        C = A + B
        C
        C.shape
    """)
    assert "torch.Size([4, 5])" in out


# -- 1.6 Tensor internals -------------------------------------------------------------------------
def test_storage_transcript():
    out = same_session("""
        x = torch.zeros(2, 4)
        x.storage()
        q = x.storage()
        q[4] = 1.0
        x
    """)
    assert out.startswith(" 0.0\n 0.0\n")
    assert "[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 8]" in out


def test_shared_storage_transcript():
    out = same_session("""
        x = torch.zeros(2, 4)
        x.storage()[4] = 1.0
        y = x.view(2, 2, 2)
        y
        y[1, 1, 0] = 7.0
        x
        y.narrow(0, 1, 1).fill_(3.0)
        x
    """)
    assert out.endswith("tensor([[0., 0., 0., 0.],\n        [3., 3., 3., 3.]])\n")


def test_set_with_offset_size_stride_int_storage():
    # torch.arange(0, 20) is int64 today: setting a float tensor to its storage is an error
    out = same_session("""
        q = torch.arange(0, 20).storage()
        x = torch.empty(0).set_(q, storage_offset = 5, size = (3, 2), stride = (4, 1))
    """)
    assert out == "RuntimeError\n"


def test_set_with_offset_size_stride_float_storage():
    out = same_session("""
        q = torch.arange(0., 20.).storage()
        x = torch.empty(0).set_(q, storage_offset = 5, size = (3, 2), stride = (4, 1))
        x
    """)
    assert out == "tensor([[ 5.,  6.],\n        [ 9., 10.],\n        [13., 14.]])\n"


def test_linspace_set_with_zero_strides():
    out = same_session("""
        n = torch.linspace(1, 4, 4)
        n
        torch.tensor(0.).set_(n.storage(), 1, (3, 3), (0, 1))
        torch.tensor(0.).set_(n.storage(), 1, (2, 4), (1, 0))
    """)
    assert "tensor([[2., 2., 2., 2.],\n        [3., 3., 3., 3.]])" in out


def test_transposed_view_error():
    out = same_session("""
        x = torch.empty(100, 100)
        x.stride()
        y = x.t()
        y.stride()
        y.view(-1)
    """)
    assert out == "(100, 1)\n(1, 100)\nRuntimeError\n"
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        flambeau.empty(100, 100).t().view(-1)


def test_contiguous_and_reshape_fix():
    same_session("""
        x = torch.arange(12.).view(3, 4)
        y = x.t()
        y.is_contiguous()
        z = y.contiguous()
        z.is_contiguous(), z.stride(), z.data_ptr() == x.data_ptr()
        z.view(-1)
        y.reshape(-1)
        x.reshape(-1).data_ptr() == x.data_ptr()
    """)
