"""Per-layer timings of the lecture convnet's convolution and pooling kernels (batch 100).

    python3 bench/ops_conv.py            # milliseconds per call, flambeau kernels and torch ops

The flambeau numbers are the array kernels behind conv2d / max_pool2d (forward, weight
gradient, input gradient); the torch numbers are the same computations through
torch.ops.aten, for reference.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flambeau._ops import conv, pooling  # noqa: E402


def timeit(fn, reps=20):
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best * 1e3


def main():
    rng = np.random.default_rng(0)
    layers = [("conv1 1->32 k5 on 28x28", (100, 1, 28, 28), (32, 1, 5, 5), 3),
              ("conv2 32->64 k5 on 8x8", (100, 32, 8, 8), (64, 32, 5, 5), 2)]
    try:
        import torch
    except ImportError:
        torch = None
    for name, xs, ws, pool in layers:
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        geo = conv._Geometry((1, 1), (0, 0, 0, 0), (1, 1), 1)
        y, cols, layout = conv._conv_forward(x, w, geo)
        g = rng.standard_normal(y.shape, dtype=np.float32)
        win = pooling._window("max_pool2d", y, pool, None, 0, 1, False, 2)
        p, arg = pooling._max_and_offsets(y, win, True)
        gp = rng.standard_normal(p.shape, dtype=np.float32)
        row = {
            "fwd": timeit(lambda: conv._conv_forward(x, w, geo)),
            "wgrad": timeit(lambda: conv._conv_weight_grad(x, g, w.shape, geo, cols, layout)),
            "dgrad": timeit(lambda: conv._conv_input_grad(g, w, x.shape[2:], geo)),
            "pool": timeit(lambda: pooling._max_and_offsets(y, win, True)),
            "pool_bwd": timeit(lambda: pooling._scatter(gp, arg, win, y.shape[2:])),
        }
        print(f"flambeau {name} ({layout}): " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()))
        if torch is not None:
            tx, tw, tg = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)
            ty = torch.from_numpy(y)
            aten = torch.ops.aten
            ref = {
                "fwd": timeit(lambda: aten.convolution(tx, tw, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)),
                "wgrad": timeit(lambda: aten.convolution_backward(tg, tx, tw, None, [1, 1], [0, 0], [1, 1], False,
                                                                  [0, 0], 1, [False, True, False])),
                "dgrad": timeit(lambda: aten.convolution_backward(tg, tx, tw, None, [1, 1], [0, 0], [1, 1], False,
                                                                  [0, 0], 1, [True, False, False])),
                "pool": timeit(lambda: aten.max_pool2d_with_indices(ty, [pool, pool], [pool, pool])),
            }
            _, idx = aten.max_pool2d_with_indices(ty, [pool, pool], [pool, pool])
            tgp = torch.from_numpy(gp)
            ref["pool_bwd"] = timeit(lambda: aten.max_pool2d_with_indices_backward(
                tgp, ty, [pool, pool], [pool, pool], [0, 0], [1, 1], False, idx))
            print(f"torch    {name}: " + "  ".join(f"{k} {v:.2f}" for k, v in ref.items()))


if __name__ == "__main__":
    main()
