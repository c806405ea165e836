"""gradcheck / gradgradcheck: analytical gradients against central finite differences."""
import numpy as np

from .. import _xp
from .function import Function

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _host(t):
    """t's values as a float64 (or complex128) NumPy array, from any device."""
    a = _xp.to_host(t._data)
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _differentiable_outputs(out):
    # every output is asked for requires_grad, so a Python number returned by func fails here as in PyTorch
    return [o for o in _as_tuple(out) if o.requires_grad]


def _tensor_outputs(out):
    from .._tensor import Tensor
    return [o for o in _as_tuple(out) if isinstance(o, Tensor)]


def _numerical_jacobian(fn, inputs, eps):
    """jac[j][k]: the (numel of input j, numel of output k) finite-difference Jacobian of tensor
    output k, for the j-th input that requires grad."""
    from .._tensor import Tensor

    def evaluate():
        # not under no_grad: fn may itself differentiate (gradgradcheck checks a gradient)
        return [o.detach().clone() for o in _tensor_outputs(fn(*inputs))]
    outs = evaluate()
    jac = []
    for inp in inputs:
        if not (isinstance(inp, Tensor) and inp.requires_grad):
            continue
        rows = [np.zeros((inp.numel(), o.numel()), dtype=np.float64) for o in outs]
        data = inp.detach()._data
        originals = _xp.to_host(data).copy()       # one read of the device, not one per element
        for i, idx in enumerate(np.ndindex(*data.shape) if data.ndim else [()]):
            orig = originals[idx].item()
            data[idx] = orig + eps
            plus = evaluate()
            data[idx] = orig - eps
            minus = evaluate()
            data[idx] = orig
            for k, (p, m) in enumerate(zip(plus, minus)):
                rows[k][i] = ((_host(p) - _host(m)) / (2 * eps)).reshape(-1)
        jac.append(rows)
    return jac


def _analytical_jacobian(output, diff_inputs):
    """One (numel of input, numel of output) Jacobian per input, a vector-Jacobian product per
    element of output; and whether every gradient had its input's dtype and size."""
    from . import grad as autograd_grad
    import flambeau
    jac = [np.zeros((i.numel(), output.numel()), dtype=np.float64) for i in diff_inputs]
    types_ok = sizes_ok = True
    for j in range(output.numel()):
        g = flambeau.zeros_like(output, memory_format=flambeau.contiguous_format)
        g.view(-1)[j] = 1
        grads = autograd_grad([output], diff_inputs, [g], retain_graph=True, allow_unused=True)
        for k, (gr, inp) in enumerate(zip(grads, diff_inputs)):
            if gr is None:
                continue
            types_ok = types_ok and gr.dtype == inp.dtype
            if gr.numel() != inp.numel():
                sizes_ok = False
                continue
            jac[k][:, j] = _host(gr.detach()).reshape(-1)
    return jac, types_ok, sizes_ok


def _as_tensor(jacobian, like):
    import flambeau
    return flambeau.tensor(jacobian, dtype=like.dtype)


def _check_output_jacobians(output, i, numerical, diff_inputs, rtol, atol, nondet_tol, check_grad_dtypes):
    # twice: a backward that gives different values for the same input and grad_output (not
    # reentrant) is reported, beyond nondet_tol
    first, types_ok, sizes_ok = _analytical_jacobian(output, diff_inputs)
    second = _analytical_jacobian(output, diff_inputs)[0]
    reentrant = all(a.size == 0 or np.abs(a - b).max() <= nondet_tol for a, b in zip(first, second))
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and grad_output multiple times "
            "gives different values, although analytical gradient matches numerical gradient.The tolerance for "
            f"nondeterminism was {nondet_tol}.\n\nNOTE: an op that relies on nondeterministic algorithms may "
            "fail this check as expected; pass nondet_tol=<tol> to gradcheck/gradgradcheck to allow for it.")
    for j, (a, n) in enumerate(zip(first, numerical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            raise GradcheckError(f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
                                 f"numerical:{_as_tensor(n, diff_inputs[j])}\n"
                                 f"analytical:{_as_tensor(a, diff_inputs[j])}\n")


def _check_backward_mul_by_grad_output(outputs, diff_inputs):
    """Zero grad_outputs must give zero gradients, of each input's dtype, device and size."""
    from . import grad as autograd_grad
    import flambeau
    grads = autograd_grad(outputs, diff_inputs, [flambeau.zeros_like(o) for o in outputs], allow_unused=True)
    for g, inp in zip(grads, diff_inputs):
        if g is None:
            continue
        if not bool(g.eq(0).all()):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != inp.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.device != inp.device:
            raise GradcheckError("grad is incorrect device")
        if g.shape != inp.shape:
            raise GradcheckError("grad is incorrect size")


class _UndefinedGrad(Function):
    """The identity, whose backward passes on no gradient (None) at all."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):            # nothing flows back: the node before sees an undefined grad
        return None


_UNDEFINED_NOTE = 'Please look at "Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'


def _check_undefined_grad(func, inputs, diff_inputs):
    """Backward must cope when no gradient reaches the outputs (all of them, then each one alone):
    no error, and the input gradients undefined or zero."""
    from . import grad as autograd_grad
    import flambeau
    import warnings

    def warn():
        warnings.warn("Backwards compatibility: New undefined gradient support checking feature is enabled by "
                      "default, but it may break existing callers of this function. If this is true for you, you can "
                      'call this function with "check_undefined_grad=False" to disable the feature', stacklevel=4)

    def check(outputs):
        try:
            grads = autograd_grad(outputs, diff_inputs, [flambeau.zeros_like(o) for o in outputs], allow_unused=True)
        except RuntimeError as e:
            warn()
            raise GradcheckError(f"Expected backward function to handle undefined output grads. {_UNDEFINED_NOTE}") \
                from e
        for g in grads:
            if g is not None and not bool(g.eq(0).all()):
                warn()
                raise GradcheckError("Expected all input grads to be undefined or zero when all output grads are "
                                     f"undefined or zero. {_UNDEFINED_NOTE}")

    outputs = _differentiable_outputs(func(*inputs))
    check([_UndefinedGrad.apply(o) for o in outputs])
    if len(outputs) > 1:
        for k in range(len(outputs)):
            outputs = _differentiable_outputs(func(*inputs))
            check([_UndefinedGrad.apply(o) if i == k else o for i, o in enumerate(outputs)])


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """True when func's backward agrees with central finite differences for every differentiable
    input and output, as torch.autograd.gradcheck checks it.

    Also checked, as torch does: backward gives the same values twice (up to ``nondet_tol``),
    zero grad_outputs give zero gradients, and (``check_undefined_grad``) backward copes when no
    gradient reaches an output. ``fast_mode`` runs the full (slow-mode) check, which passes
    whenever the fast one does; forward-mode and batched checks are not implemented.
    """
    for flag, name in ((check_forward_ad, "check_forward_ad"), (check_batched_grad, "check_batched_grad"),
                       (check_batched_forward_grad, "check_batched_forward_grad")):
        if flag:
            raise NotImplementedError(f"gradcheck(): {name}=True is not implemented in flambeau")
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                          check_backward_ad)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes, check_backward_ad):
    from .._tensor import Tensor
    import warnings
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype.name not in ("float64", "complex128"):
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point or complex. "
                          "This check will likely fail if all the inputs are not of double precision floating "
                          "point or complex. ", UserWarning, stacklevel=3)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have "
                         "requires_grad=True.")
    raw_out = func(*inputs)
    outputs = _differentiable_outputs(raw_out)
    func_out = _tensor_outputs(raw_out)
    if not check_backward_ad:
        return True
    numerical = _numerical_jacobian(func, inputs, eps)          # [input][output]
    if not outputs:
        # nothing to differentiate: the finite differences must vanish
        for per_input in numerical:
            for n in per_input:
                if not np.allclose(n, 0, atol=atol):
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    kept = [k for k, o in enumerate(func_out) if o.requires_grad]
    for i, (k, o) in enumerate(zip(kept, outputs)):
        _check_output_jacobians(o, i, [per_input[k] for per_input in numerical], diff_inputs, rtol, atol,
                                nondet_tol, check_grad_dtypes)
    _check_backward_mul_by_grad_output(outputs, diff_inputs)
    if check_undefined_grad:
        _check_undefined_grad(func, inputs, diff_inputs)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """gradcheck of the gradient: second derivatives against finite differences of first ones."""
    from .._tensor import Tensor
    from . import grad as autograd_grad
    import flambeau
    inputs = _as_tuple(inputs)
    outs = _differentiable_outputs(func(*inputs))
    if grad_outputs is None:
        gen = np.random.default_rng(0)
        grad_outputs = [flambeau.tensor(gen.standard_normal(tuple(o.shape)), dtype=o.dtype,
                                        device=o.device).requires_grad_() for o in outs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        o = _differentiable_outputs(func(*ins))
        gs = autograd_grad(o, [ins[i] for i in diff_idx], list(gos), create_graph=True, allow_unused=True)
        return tuple(g if g is not None else flambeau.zeros_like(ins[i]) for g, i in zip(gs, diff_idx))
    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev, fast_mode=fast_mode)
