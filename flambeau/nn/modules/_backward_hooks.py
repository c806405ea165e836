"""Full backward hooks: identity nodes around a module call that see the gradients.

The module's tensor inputs that require grad pass through one identity node, its tensor
outputs through another. The output node's backward sees grad_output (and runs the
pre-hooks); the input node's backward sees grad_input and runs the hooks, whose return
value replaces grad_input.

As in PyTorch, grad_input and grad_output have one entry per positional argument and per output:
None where it is not a tensor (or, for outputs, where no gradient reached it); zeros for a tensor
input that gets no gradient, because the input node runs on materialized gradients.
"""
import warnings

from ..._ops._util import caller_level
from ..._ops.creation import zeros
from ..._tensor import Tensor
from ...autograd.function import Function

_NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs since no inputs "
    "require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
    "#torch.nn.Module.register_full_backward_hook for more details.")


class _Identity(Function):
    _node_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, callback, materialize, *tensors):
        ctx.callback = callback
        # the output node sees None for an output no gradient reached (PyTorch's node hook sees it
        # undefined); the input node sees zeros (PyTorch's hook sees the node's materialized result)
        ctx.set_materialize_grads(materialize)
        # the tensors themselves, as PyTorch's BackwardHookFunction: its outputs are views of its inputs,
        # which an in-place op may not modify (Note [Views returned by custom Functions])
        return tensors if len(tensors) > 1 else tensors[0]

    @staticmethod
    def backward(ctx, *grads):
        new = ctx.callback(grads)
        if new is not None:
            grads = tuple(new)
        return (None, None) + tuple(grads)


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
        self.n_inputs = len(args)
        # tensors that need no gradient get zeros in grad_input, as PyTorch's hook node gives them
        self.other_tensors = {i: (a.shape, a.dtype, a.device) for i, a in enumerate(args)
                              if isinstance(a, Tensor) and not a.requires_grad}
        self.input_positions = positions
        if not positions:
            return args
        out = _Identity.apply(self._on_input_grads, True, *[args[i] for i in positions])
        out = out if isinstance(out, tuple) else (out,)
        args = list(args)
        for i, o in zip(positions, out):
            args[i] = o
        return tuple(args)

    def _full_grad_input(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grads):
            full[i] = g
        for i, (shape, dtype, device) in self.other_tensors.items():
            full[i] = zeros(shape, dtype=dtype, device=device)
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
        return tuple(full[i] for i in self.input_positions)

    def _on_output_grads(self, grads):
        full = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            full[i] = g
        grad_output = tuple(full)
        for hook in self.pre_hooks:
            r = hook(self.module, grad_output)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_output):
                    raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                       f"got {len(r)}, but expected {len(grad_output)}")
                grad_output = r
        self.grad_output = grad_output
        if not self.input_positions:
            warnings.warn(_NO_INPUT_GRAD_WARNING, UserWarning, stacklevel=caller_level())
            for hook in self.hooks:
                r = hook(self.module, (None,) * self.n_inputs, grad_output)
                if r is not None and not (isinstance(r, tuple) and all(g is None for g in r)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
        return tuple(grad_output[i] for i in self.output_positions)

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        self.n_outputs = len(outs)
        self.output_positions = positions
        if not positions:
            return result
        new = _Identity.apply(self._on_output_grads, False, *[outs[i] for i in positions])
        new = new if isinstance(new, tuple) else (new,)
        outs = list(outs)
        for i, o in zip(positions, new):
            outs[i] = o
        return outs[0] if single else tuple(outs)
