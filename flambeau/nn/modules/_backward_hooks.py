"""Full backward hooks: identity nodes around a module call that see the gradients.

The module's tensor inputs that require grad pass through one identity node, its tensor
outputs through another. The output node's backward sees grad_output (and runs the
pre-hooks); the input node's backward sees grad_input and runs the hooks, whose return
value replaces grad_input.
"""
import warnings

from ..._tensor import Tensor
from ...autograd.function import Function


class _Identity(Function):
    _node_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        # the tensors themselves, as PyTorch's BackwardHookFunction: its outputs are views of its inputs,
        # which an in-place op may not modify (Note [Views returned by custom Functions])
        return tensors if len(tensors) > 1 else tensors[0]

    @staticmethod
    def backward(ctx, *grads):
        new = ctx.callback(grads)
        if new is not None:
            grads = tuple(new)
        return (None,) + tuple(grads)


class BackwardHook:
    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = []

    def setup_input_hook(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.n_inputs = sum(1 for a in args if isinstance(a, Tensor))
        self.tensor_index = {}
        k = 0
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                self.tensor_index[i] = k
                k += 1
        self.input_positions = positions
        if not positions:
            return args
        out = _Identity.apply(self._on_input_grads, *[args[i] for i in positions])
        out = out if isinstance(out, tuple) else (out,)
        args = list(args)
        for i, o in zip(positions, out):
            args[i] = o
        return tuple(args)

    def _full_grad_input(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            full[self.tensor_index[i]] = g
        return tuple(full)

    def _run_hooks(self, grad_input):
        for hook in self.hooks:
            r = hook(self.module, grad_input, self.grad_output)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(r)}, "
                                       f"but expected {len(grad_input)}")
                grad_input = r
        return grad_input

    def _on_input_grads(self, grads):
        full = self._run_hooks(self._full_grad_input(grads))
        return tuple(full[self.tensor_index[i]] for i in self.input_positions)

    def _on_output_grads(self, grads):
        for hook in self.pre_hooks:
            r = hook(self.module, grads)
            if r is not None:
                grads = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        self.grad_output = grads
        if not self.input_positions:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients.", UserWarning, stacklevel=2)
            self._run_hooks((None,) * self.n_inputs)
        return grads

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not positions:
            return result
        new = _Identity.apply(self._on_output_grads, *[outs[i] for i in positions])
        new = new if isinstance(new, tuple) else (new,)
        outs = list(outs)
        for i, o in zip(positions, new):
            outs[i] = o
        return outs[0] if single else tuple(outs)
