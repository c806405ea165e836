# What a course's unit tests and graders use: torch.testing.assert_close (passing and failing, with its
# messages), make_tensor, allclose/equal/isclose checks, gradcheck/gradgradcheck on right and wrong custom
# Functions, and a Jacobian from torch.autograd.functional against a hand-written one.
import math
import warnings

import torch
from torch.autograd import Function, gradcheck, gradgradcheck
from torch.autograd.functional import jacobian
from torch.testing import assert_close, make_tensor

torch.manual_seed(0)


def check(name, fn):
    """A grader's wrapper: PASS, or the exception type and its whole message."""
    try:
        fn()
        print(f"[{name}] PASS")
    except Exception as e:
        print(f"[{name}] {type(e).__name__}: {e}")


def check_type(name, fn):
    """Only the exception type and the message's start: it names the tensor class of the library."""
    try:
        fn()
        print(f"[{name}] PASS")
    except Exception as e:
        print(f"[{name}] {type(e).__name__}: {str(e)[:40]}")


# assert_close: passing cases
check("equal floats", lambda: assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])))
check("within float32 tol", lambda: assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 2e-6])))
check("within float64 tol", lambda: assert_close(torch.tensor([1.0], dtype=torch.float64),
                                                 torch.tensor([1.0 + 5e-8], dtype=torch.float64)))
check("python floats", lambda: assert_close(0.1 + 0.2, 0.3))
check("python ints", lambda: assert_close(3, 3))
check("list of tensors", lambda: assert_close([torch.ones(2), torch.zeros(3)], [torch.ones(2), torch.zeros(3)]))
check("dict of tensors", lambda: assert_close({"w": torch.ones(2, 2), "b": torch.zeros(2)},
                                              {"b": torch.zeros(2), "w": torch.ones(2, 2)}))
check("nested tuple", lambda: assert_close((torch.ones(1), [2.0, 3]), (torch.ones(1), [2.0, 3])))
check("nan equal_nan", lambda: assert_close(torch.tensor([float("nan"), 1.0]), torch.tensor([float("nan"), 1.0]),
                                            equal_nan=True))
check("dtype unchecked", lambda: assert_close(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]), check_dtype=False))
check("custom tol", lambda: assert_close(torch.tensor([1.0]), torch.tensor([1.05]), rtol=0.1, atol=0.0))
check("infs", lambda: assert_close(torch.tensor([float("inf"), -float("inf")]),
                                   torch.tensor([float("inf"), -float("inf")])))
check("stride same", lambda: assert_close(torch.ones(2, 3), torch.ones(2, 3), check_stride=True))
check("stride unchecked", lambda: assert_close(torch.ones(3, 2).t(), torch.ones(2, 3)))

# assert_close: failing cases with their messages
check("values", lambda: assert_close(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([1.0, 2.5, 3.0, 4.1])))
check("values 2-D", lambda: assert_close(torch.arange(6.0).view(2, 3), torch.arange(6.0).view(2, 3) * 1.01))
check("scalar tensor", lambda: assert_close(torch.tensor(0.5), torch.tensor(0.75)))
check("python float", lambda: assert_close(1.0, 1.1))
check("python int", lambda: assert_close(2, 3))
check("int vs float", lambda: assert_close(2, 2.0))
check("shape", lambda: assert_close(torch.zeros(2, 3), torch.zeros(3, 2)))
check("shape broadcastable", lambda: assert_close(torch.zeros(3), torch.zeros(1, 3)))
check("dtype", lambda: assert_close(torch.zeros(2), torch.zeros(2, dtype=torch.float64)))
check("dtype int", lambda: assert_close(torch.tensor([1, 2]), torch.tensor([1.0, 2.0])))
check("dtype unchecked values", lambda: assert_close(torch.tensor([1, 2]), torch.tensor([1.0, 2.5]),
                                                     check_dtype=False))
check("nan default", lambda: assert_close(torch.tensor([float("nan"), 1.0]), torch.tensor([float("nan"), 1.0])))
check("nan vs number", lambda: assert_close(torch.tensor([float("nan")]), torch.tensor([0.0]), equal_nan=True))
check("integers", lambda: assert_close(torch.tensor([1, 5, 3, 9]), torch.tensor([1, 2, 3, 4])))
check("int64 scalar", lambda: assert_close(torch.tensor(7), torch.tensor(4)))
check("bool tensors", lambda: assert_close(torch.tensor([True, False, True]), torch.tensor([True, True, True])))
check("float16", lambda: assert_close(torch.tensor([1.0, 2.0], dtype=torch.float16),
                                      torch.tensor([1.0, 2.01], dtype=torch.float16)))
check("float16 within", lambda: assert_close(torch.tensor([1000.0], dtype=torch.float16),
                                             torch.tensor([1000.5], dtype=torch.float16)))
check("msg string", lambda: assert_close(torch.ones(2), torch.zeros(2), msg="your output is wrong"))
check("msg callable", lambda: assert_close(torch.ones(2), torch.zeros(2),
                                           msg=lambda m: "Q3 failed:\n" + m.splitlines()[0]))
check("msg on shape", lambda: assert_close(torch.ones(2), torch.ones(3), msg="bad shape"))
check("list item", lambda: assert_close([torch.ones(2), torch.ones(2)], [torch.ones(2), torch.zeros(2)]))
check("list length", lambda: assert_close([torch.ones(2)], [torch.ones(2), torch.ones(2)]))
check("dict item", lambda: assert_close({"w": torch.ones(2), "b": torch.ones(1)},
                                        {"w": torch.ones(2), "b": torch.tensor([2.0])}))
check("dict keys", lambda: assert_close({"w": torch.ones(2)}, {"w": torch.ones(2), "b": torch.ones(1)}))
check_type("tensor vs float", lambda: assert_close(torch.tensor(1.0), 1.0))
check_type("tensor vs list", lambda: assert_close(torch.tensor([1.0, 2.0]), [1.0, 2.0]))
check("tensor vs list, as_tensor", lambda: assert_close(torch.tensor([1.0, 2.0]), torch.as_tensor([1.0, 2.0])))
check("scalar tensor int", lambda: assert_close(torch.tensor(3), torch.tensor(5)))
check("scalar tensor float64", lambda: assert_close(torch.tensor(0.1, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64)))
check("stride", lambda: assert_close(torch.ones(3, 2).t(), torch.ones(2, 3), check_stride=True))
check("only rtol", lambda: assert_close(torch.ones(2), torch.ones(2), rtol=1e-3))
check("both zero tol", lambda: assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-6]), rtol=0, atol=0))
check("complex", lambda: assert_close(torch.tensor([1 + 1j, 2 - 1j]), torch.tensor([1 + 1j, 2 + 0j])))
check("requires_grad", lambda: assert_close(torch.ones(2, requires_grad=True) * 2, torch.full((2,), 2.0)))
check("infs differ", lambda: assert_close(torch.tensor([float("inf")]), torch.tensor([1e30])))

# make_tensor: properties only
for kwargs in [dict(dtype=torch.float32), dict(dtype=torch.float64, low=-1, high=1), dict(dtype=torch.int64),
               dict(dtype=torch.int64, low=0, high=3), dict(dtype=torch.uint8), dict(dtype=torch.bool),
               dict(dtype=torch.float32, exclude_zero=True, low=-1, high=1),
               dict(dtype=torch.int32, exclude_zero=True, low=-2, high=2),
               dict(dtype=torch.float32, requires_grad=True), dict(dtype=torch.float32, noncontiguous=True)]:
    t = make_tensor((4, 5), device="cpu", **kwargs)
    lo, hi = kwargs.get("low"), kwargs.get("high")
    inside = True if lo is None else bool(((t >= lo) & (t <= hi)).all())
    print(tuple(t.shape), t.dtype, t.device, t.requires_grad, t.is_leaf, t.is_contiguous(), inside,
          "has zero" if bool((t == 0).any()) else "no zero")
print(make_tensor(3, dtype=torch.float32, device="cpu").shape, make_tensor(2, 3, dtype=torch.int8, device="cpu").shape)
print(make_tensor((), dtype=torch.float64, device="cpu").shape)
# seeded values, as a test fixture would draw them
torch.manual_seed(1)
print(make_tensor((2, 3), dtype=torch.float32, device="cpu"))
print(make_tensor(4, dtype=torch.float64, device="cpu", low=-1, high=1))
print(make_tensor((2, 3), dtype=torch.int64, device="cpu"), make_tensor(5, dtype=torch.uint8, device="cpu"))
print(make_tensor(5, dtype=torch.bool, device="cpu"), make_tensor(2, dtype=torch.complex64, device="cpu"))
print(make_tensor((2, 2), dtype=torch.float32, device="cpu", noncontiguous=True, low=0, high=1).stride())
print(make_tensor(4, dtype=torch.int8, device="cpu", low=-1.5, high=1.5, exclude_zero=True))
print(make_tensor(3, dtype=torch.float32, device="cpu", low=-5, high=None))
check("make_tensor uint8 range", lambda: make_tensor(2, dtype=torch.uint8, device="cpu", low=-5, high=-1))
check("make_tensor both", lambda: make_tensor(2, dtype=torch.float32, device="cpu", noncontiguous=True,
                                              memory_format=torch.contiguous_format))
check("make_tensor low>high", lambda: make_tensor(2, dtype=torch.float32, device="cpu", low=3, high=1))
check("make_tensor bad grad", lambda: make_tensor(2, dtype=torch.int64, device="cpu", requires_grad=True))
check("make_tensor nan bound", lambda: make_tensor(2, dtype=torch.float32, device="cpu", low=math.nan))
print("same low/high", make_tensor(3, dtype=torch.float32, device="cpu", low=2.5, high=2.5))

# allclose / equal / isclose in a grader
student = torch.tensor([0.3333, 0.6667, 1.0])
reference = torch.tensor([1.0, 2.0, 3.0]) / 3
print("allclose default", torch.allclose(student, reference))
print("allclose atol=1e-4", torch.allclose(student, reference, atol=1e-4))
print("isclose", torch.isclose(student, reference, atol=1e-4, rtol=0))
print("isclose nan", torch.isclose(torch.tensor([float("nan"), 1.0]), torch.tensor([float("nan"), 1.0])),
      torch.isclose(torch.tensor([float("nan")]), torch.tensor([float("nan")]), equal_nan=True))
print("equal", torch.equal(student, reference), torch.equal(torch.ones(2), torch.ones(2)),
      torch.equal(torch.ones(2), torch.ones(3)), torch.equal(torch.ones(2), torch.ones(2, dtype=torch.int64)))
check("allclose float/double", lambda: print(torch.allclose(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64))))
check("allclose broadcast", lambda: print(torch.allclose(torch.ones(2, 3), torch.ones(3))))
check("allclose int", lambda: print(torch.allclose(torch.tensor([1, 2]), torch.tensor([1, 2]))))
check("allclose mixed", lambda: print(torch.allclose(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))))
score = sum(torch.allclose(a, b, atol=1e-3) for a, b in [(student, reference), (student * 2, reference * 2)])
print("score", score, type(score).__name__)


# gradcheck on custom Functions, beyond autograd_tools / autograd_errors
class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x)
        ctx.beta = beta
        return torch.log1p(torch.exp(beta * x)) / beta

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(ctx.beta * x), None


class SoftplusWrong(Softplus):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x), None          # forgets beta


class Bilinear(Function):
    @staticmethod
    def forward(ctx, x, w, y):
        ctx.save_for_backward(x, w, y)
        return x @ w @ y

    @staticmethod
    def backward(ctx, grad):
        x, w, y = ctx.saved_tensors
        return grad * (w @ y), grad * torch.outer(x, y), grad * (x @ w)


class BilinearWrongW(Bilinear):
    @staticmethod
    def backward(ctx, grad):
        x, w, y = ctx.saved_tensors
        return grad * (w @ y), grad * torch.outer(y, x), grad * (x @ w)      # transposed


class NoisyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 + torch.rand_like(grad) * 1e-9


class IgnoresGradOutput(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x                                    # should be grad * 2 * x


class SquareFirstOrderOnly(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x.detach()                   # cuts the graph: second derivative is lost


def attempt(name, fn):
    try:
        print(f"{name}: {fn()}")
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {str(e).splitlines()[0]}")


x = torch.randn(5, dtype=torch.float64, requires_grad=True)
w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
u = torch.randn(3, dtype=torch.float64, requires_grad=True)
v = torch.randn(4, dtype=torch.float64, requires_grad=True)
attempt("softplus", lambda: gradcheck(Softplus.apply, (x, 2.0)))
attempt("softplus wrong", lambda: gradcheck(SoftplusWrong.apply, (x, 2.0)))
attempt("softplus wrong no raise", lambda: gradcheck(SoftplusWrong.apply, (x, 2.0), raise_exception=False))
attempt("softplus wrong fast", lambda: gradcheck(SoftplusWrong.apply, (x, 2.0), fast_mode=True))
attempt("softplus wrong fast no raise", lambda: gradcheck(SoftplusWrong.apply, (x, 2.0), fast_mode=True,
                                                          raise_exception=False))
attempt("softplus fast", lambda: gradcheck(Softplus.apply, (x, 2.0), fast_mode=True))
attempt("bilinear", lambda: gradcheck(Bilinear.apply, (u, w, v)))
attempt("bilinear wrong", lambda: gradcheck(BilinearWrongW.apply, (u, w, v)))
attempt("bilinear only w", lambda: gradcheck(Bilinear.apply, (u.detach(), w, v.detach())))
attempt("noisy", lambda: gradcheck(NoisyBackward.apply, (x,)))
attempt("noisy nondet_tol", lambda: gradcheck(NoisyBackward.apply, (x,), nondet_tol=1e-6))
attempt("ignores grad_output", lambda: gradcheck(IgnoresGradOutput.apply, (x,)))
attempt("ignores grad_output no raise", lambda: gradcheck(IgnoresGradOutput.apply, (x,), raise_exception=False))
attempt("undefined grad off", lambda: gradcheck(Softplus.apply, (x, 2.0), check_undefined_grad=False))
attempt("loose atol", lambda: gradcheck(SoftplusWrong.apply, (x, 1.0), atol=1e-2))
attempt("gradgrad softplus", lambda: gradgradcheck(lambda t: Softplus.apply(t, 1.0).sum() * t, (x,)))
attempt("gradgrad first-order only", lambda: gradgradcheck(SquareFirstOrderOnly.apply, (x,)))
attempt("gradgrad first-order only no raise",
        lambda: gradgradcheck(SquareFirstOrderOnly.apply, (x,), raise_exception=False))
attempt("gradgrad builtin", lambda: gradgradcheck(lambda a, b: (a @ b).tanh(), (w, v)))
attempt("gradgrad fast", lambda: gradgradcheck(torch.sigmoid, (x,), fast_mode=True))
attempt("no input requires grad", lambda: gradcheck(torch.sin, (x.detach(),)))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    attempt("float32 input", lambda: gradcheck(torch.sin, (torch.randn(3, requires_grad=True),), atol=1e-2,
                                               rtol=1e-2))
print("warned:", [f"{w.category.__name__}: {w.message}" for w in caught])
small = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
try:
    gradcheck(SoftplusWrong.apply, (small, 3.0))
except Exception as e:
    print("full message:", type(e).__name__, isinstance(e, RuntimeError))
    print(e)


class ScaleNeedsGrad(Function):
    """A backward that assumes its gradient is always there: fails the undefined-gradient check."""

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)            # an unused output's gradient arrives as None
        return x * 3, x * 4

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * 3 + g2 * 4


attempt("undefined grad wrong", lambda: gradcheck(ScaleNeedsGrad.apply, (x,)))
attempt("undefined grad wrong off", lambda: gradcheck(ScaleNeedsGrad.apply, (x,), check_undefined_grad=False))
attempt("two outputs", lambda: gradcheck(lambda t: (t.sin(), t.cos() * 2), (x,)))
attempt("non-tensor output", lambda: gradcheck(lambda t: t.sum().item(), (x,)))

# Jacobian from torch.autograd.functional vs a hand-written one, grader style
A = torch.randn(3, 3, dtype=torch.float64)
p = torch.randn(3, dtype=torch.float64)


def f(z):
    return torch.tanh(A @ z)


def hand_jacobian(z):
    return (1 - torch.tanh(A @ z) ** 2)[:, None] * A


J = jacobian(f, p)
print("jacobian", J.shape, J.dtype, J.requires_grad)
print("matches hand", torch.allclose(J, hand_jacobian(p)))
check("assert_close jacobian", lambda: assert_close(J, hand_jacobian(p)))
check("assert_close wrong jacobian", lambda: assert_close(J, hand_jacobian(p).t(), msg=lambda m: m.splitlines()[0]))
check("assert_close jacobian float32", lambda: assert_close(J.float(), hand_jacobian(p)))
check("assert_close jacobian float32 unchecked", lambda: assert_close(J.float(), hand_jacobian(p), check_dtype=False))
Jsm = jacobian(lambda z: torch.softmax(z, 0), p)
s = torch.softmax(p, 0)
check("softmax jacobian", lambda: assert_close(Jsm, torch.diag(s) - torch.outer(s, s)))
