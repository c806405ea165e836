"""flambeau.jit: TorchScript's Python API run eagerly — the same results as torch.jit's compiled code (for code
whose scripted and Python paths agree: is_scripting() is False here)."""
import pytest
import torch

import flambeau


def _program(lib):
    @lib.jit.script
    def gelu_ish(x):
        return x * lib.sigmoid(1.702 * x)

    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(3, 2)
            with lib.no_grad():
                self.fc.weight.copy_(lib.linspace(-1, 1, 6).view(2, 3))
                self.fc.bias.fill_(0.25)

        def forward(self, x):
            # the usual use: one path for the compiler, one for Python, computing the same thing
            if lib.jit.is_scripting():
                return gelu_ish(self.fc(x))
            return gelu_ish(x @ self.fc.weight.t() + self.fc.bias)

        @lib.jit.ignore
        def debug(self, x):
            return x.sum().item()

    x = lib.linspace(-2, 2, 12).view(4, 3)
    block = Block()
    scripted = lib.jit.script(block)
    traced = lib.jit.trace(block, x)
    return (gelu_ish(x), scripted(x), traced(x * 2), lib.jit.annotate(int, 3), lib.jit.is_tracing())


def test_scripted_and_traced_code_gives_torch_results():
    ours, ref = _program(flambeau), _program(torch)
    for o, r in zip(ours[:3], ref[:3]):
        torch.testing.assert_close(torch.from_numpy(o.detach().numpy()), r.detach(), rtol=1e-6, atol=1e-6)
    assert ours[3:] == ref[3:] == (3, False)


def test_trace_runs_the_example_and_save_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="shape"):          # tracing runs the function: its errors show here
        flambeau.jit.trace(flambeau.nn.Linear(3, 2), flambeau.zeros(2, 4))
    with pytest.raises(NotImplementedError, match="state_dict"):
        flambeau.jit.save(flambeau.jit.script(flambeau.nn.Linear(3, 2)), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="state_dict"):
        flambeau.jit.load(tmp_path / "m.pt")
