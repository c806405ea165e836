"""gradcheck / gradgradcheck: analytical gradients against central finite differences."""
import numpy as np

from .. import _xp

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
    from .._tensor import Tensor
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o.requires_grad]


def _numerical_jacobian(fn, inputs, eps):
    """J[k][i]: d(flat output k)/d(flat input i), one (n_in, n_out) array per (input, output) pair."""
    from .._tensor import Tensor

    def evaluate():
        # not under no_grad: fn may itself differentiate (gradgradcheck checks a gradient)
        return [o.detach().clone() for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]
    outs = evaluate()
    jac = []
    for inp in inputs:
        if not (isinstance(inp, Tensor) and inp.requires_grad):
            jac.append(None)
            continue
        rows = np.zeros((inp.numel(), sum(o.numel() for o in outs)), dtype=np.float64)
        data = inp.detach()._data
        originals = _xp.to_host(data).copy()       # one read of the device, not one per element
        for i, idx in enumerate(np.ndindex(*data.shape) if data.ndim else [()]):
            orig = originals[idx].item()
            data[idx] = orig + eps
            plus = evaluate()
            data[idx] = orig - eps
            minus = evaluate()
            data[idx] = orig
            d = [((_host(p) - _host(m)) / (2 * eps)).reshape(-1)
                 for p, m in zip(plus, minus)]
            rows[i] = np.concatenate(d) if d else rows[i]
        jac.append(rows)
    return jac


def _differentiable_columns(fn, inputs):
    """A mask over the columns of the numerical Jacobian: True for elements of outputs that require grad."""
    from .._tensor import Tensor
    outs = [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]
    return np.concatenate([np.full(o.numel(), bool(o.requires_grad)) for o in outs]) if outs else np.zeros(0, bool)


def _analytical_jacobian(fn, inputs):
    from .._tensor import Tensor
    from . import grad as autograd_grad
    import flambeau
    outs = _differentiable_outputs(fn(*inputs))
    diff_inputs = [i for i in inputs if isinstance(i, Tensor) and i.requires_grad]
    total = sum(o.numel() for o in outs)
    jac = [np.zeros((i.numel(), total), dtype=np.float64) for i in diff_inputs]
    col = 0
    for o in outs:
        for j in range(o.numel()):
            g = flambeau.zeros_like(o, memory_format=flambeau.contiguous_format)
            g.view(-1)[j] = 1
            grads = autograd_grad([o], diff_inputs, [g], retain_graph=True, allow_unused=True)
            for k, gr in enumerate(grads):
                if gr is not None:
                    jac[k][:, col] = _host(gr.detach()).reshape(-1)
            col += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """True when func's backward agrees with finite differences for every differentiable input."""
    from .._tensor import Tensor
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype.name not in ("float64", "complex128"):
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision floating "
                          "point. ", UserWarning, stacklevel=2)
    numerical = [j for j in _numerical_jacobian(func, inputs, eps) if j is not None]
    analytical = _analytical_jacobian(func, inputs)
    # outputs that do not require grad (a constant first derivative in gradgradcheck) have no
    # analytical counterpart: as torch, they are left out, and when no output requires grad the
    # finite differences must vanish
    kept = _differentiable_columns(func, inputs)
    if not kept.any():
        for n in numerical:
            if not np.allclose(n, 0, atol=atol):
                if raise_exception:
                    raise GradcheckError("Numerical gradient for function expected to be zero")
                return False
    numerical = [n[:, kept] for n in numerical]
    for k, (n, a) in enumerate(zip(numerical, analytical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for output 0 with respect to input {k},\n"
                    f"numerical:{n}\nanalytical:{a}\n")
            return False
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
                     raise_exception=raise_exception)
