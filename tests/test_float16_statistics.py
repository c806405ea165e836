"""float16 statistics as PyTorch computes them: accumulated in float32 and rounded once (Note [Half
precision statistics] in nn.functional). The inputs' squares overflow float16, their results do not."""
import numpy as np
import pytest
import torch

import flambeau

VALUES = [[[43.25, 463.25, 671.0, -12.5], [325.5, 782.0, 559.0, 20.0]],
          [[-610.0, 1.5, 77.0, 930.0], [405.0, -288.0, 13.0, 640.0]]]

CASES = {
    "rms_norm": lambda lib, x: lib.nn.functional.rms_norm(x, (4,)),
    "rms_norm all dims, eps": lambda lib, x: lib.nn.functional.rms_norm(x, (2, 2, 4), eps=0.5),
    "rms_norm weight": lambda lib, x: lib.nn.functional.rms_norm(x, (4,), lib.full((4,), 0.75, dtype=x.dtype, device=x.device)),
    "group_norm": lambda lib, x: lib.nn.functional.group_norm(x, 1),
    "group_norm affine": lambda lib, x: lib.nn.functional.group_norm(
        x, 2, lib.tensor([2.0, 0.5], dtype=x.dtype, device=x.device), lib.tensor([1.0, -1.0], dtype=x.dtype,
                                                                                 device=x.device)),
    "instance_norm": lambda lib, x: lib.nn.functional.instance_norm(x),
    "layer_norm": lambda lib, x: lib.nn.functional.layer_norm(x, (2, 4)),
    "norm": lambda lib, x: x.norm(),
    "norm dim": lambda lib, x: x.norm(dim=-1),
    "vector_norm ord 3": lambda lib, x: lib.linalg.vector_norm(x, 3, dim=(0, 2)),
    "vector_norm ord 6": lambda lib, x: lib.linalg.vector_norm(x / 64, 6),
    "vector_norm ord 1": lambda lib, x: lib.linalg.vector_norm(x / 8, 1),
    "vector_norm inf": lambda lib, x: lib.linalg.vector_norm(x, float("inf")),
    "std": lambda lib, x: x.std(),
    "std dim": lambda lib, x: x.std(dim=2),
    "std_mean": lambda lib, x: lib.std_mean(x, dim=2)[0],
    "var (overflows in both)": lambda lib, x: x.var(),
    "dist": lambda lib, x: lib.dist(x, -x),
    "normalize": lambda lib, x: lib.nn.functional.normalize(x, dim=-1),
    "cosine_similarity": lambda lib, x: lib.nn.functional.cosine_similarity(x[0], x[1], dim=-1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_pytorch(case, device):
    ref = CASES[case](torch, torch.tensor(VALUES, dtype=torch.float16))
    ours = CASES[case](flambeau, flambeau.tensor(VALUES, dtype=flambeau.float16, device=device))
    assert ours.dtype == flambeau.float16 and tuple(ours.shape) == tuple(ref.shape)
    expected, got = ref.float().numpy(), ours.float().cpu().numpy()
    assert np.isfinite(got).all() == np.isfinite(expected).all()
    # at most one float16 step apart: PyTorch's own order of float32 sums rounds some results the other way
    np.testing.assert_allclose(got, expected, rtol=2 ** -10, atol=1e-3)


def test_gradients_flow_through_the_float32_copy(device):
    x = flambeau.tensor(VALUES, dtype=flambeau.float16, device=device, requires_grad=True)
    tx = torch.tensor(VALUES, dtype=torch.float16, requires_grad=True)
    for lib, t in ((flambeau, x), (torch, tx)):
        (lib.nn.functional.rms_norm(t, (4,)) * 3).sum().backward()
        t.norm().backward()
    assert x.grad.dtype == flambeau.float16
    np.testing.assert_allclose(x.grad.float().cpu().numpy(), tx.grad.float().numpy(), rtol=2 ** -9, atol=1e-5)
