"""The lecture's MNIST convnet trained with flambeau and with PyTorch, one after the other.

Both start from the same weights (copied out of PyTorch's freshly initialized model), see
the same normalized data in the same order, and are timed on the training loop only.

    python3 bench/seed_convnet.py                      # one epoch on 60k samples
    python3 bench/seed_convnet.py --n-train 10000      # a quick run
    python3 bench/seed_convnet.py --profile            # cProfile of the flambeau epoch
    python3 bench/seed_convnet.py --rounds 3           # alternate 3 times, compare best times
                                                       # (for machines shared with other work)
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import flambeau  # noqa: E402


def read_idx(path):
    """An IDX file (gzipped) as a NumPy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(root, folder="MNIST"):
    raw = os.path.join(root, folder, "raw")
    def get(name):
        return read_idx(os.path.join(raw, name + ".gz"))
    return (get("train-images-idx3-ubyte"), get("train-labels-idx1-ubyte"),
            get("t10k-images-idx3-ubyte"), get("t10k-labels-idx1-ubyte"))


def has_nn(lib):
    return all(hasattr(lib.nn, n) for n in ("Sequential", "Conv2d", "MaxPool2d", "ReLU", "Linear",
                                              "CrossEntropyLoss", "Flatten")) and hasattr(lib.optim, "SGD")


def make_model(lib):
    """The lecture's model (nn.Flatten in place of the lecture's Flattener)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.MaxPool2d(3), nn.ReLU(),
        nn.Conv2d(32, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 200), nn.ReLU(),
        nn.Linear(200, 10)
    )


class FunctionalConvnet:
    """The same network from flambeau's functional ops, for when flambeau.nn is not usable."""

    def __init__(self, params):
        self.params = params

    def parameters(self):
        return self.params

    def __call__(self, x):
        import flambeau.nn.functional as F
        w1, b1, w2, b2, w3, b3, w4, b4 = self.params
        x = F.relu(F.max_pool2d(F.conv2d(x, w1, b1), 3))
        x = F.relu(F.max_pool2d(F.conv2d(x, w2, b2), 2))
        x = x.view(x.size(0), -1)
        x = F.relu(x.matmul(w3.t()) + b3)
        return x.matmul(w4.t()) + b4


class PlainSGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with flambeau.no_grad():
            for p in self.params:
                p.sub_(p.grad * self.lr)


def build(lib, torch_model, lr, device, force_functional=False):
    """(model, criterion, optimizer) on ``lib`` and ``device`` with the weights of ``torch_model``."""
    if lib.__name__ == "torch":
        torch_model.to(device)
        return torch_model, lib.nn.CrossEntropyLoss(), lib.optim.SGD(torch_model.parameters(), lr=lr)
    state = [p.detach().cpu().numpy().copy() for p in torch_model.parameters()]
    if has_nn(flambeau) and not force_functional:
        model = make_model(flambeau)
        with flambeau.no_grad():
            for p, a in zip(model.parameters(), state):
                p.copy_(flambeau.from_numpy(a))
        model.to(device)
        return model, flambeau.nn.CrossEntropyLoss(), flambeau.optim.SGD(model.parameters(), lr=lr)
    import flambeau.nn.functional as F
    params = [flambeau.tensor(a, requires_grad=True, device=device) for a in state]
    return FunctionalConvnet(params), F.cross_entropy, PlainSGD(params, lr)


def synchronize(lib, device):
    """Wait for the GPU's queued work: a GPU epoch ends when its kernels do, not when Python does."""
    if str(device) != "cpu":
        lib.cuda.synchronize()


def train(model, criterion, optimizer, train_input, train_target, epochs, batch_size):
    """The lecture's training loop, for either library."""
    for e in range(epochs):
        for input, target in zip(train_input.split(batch_size), train_target.split(batch_size)):
            output = model(input)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return loss.item()


def test_error(lib, model, test_input, test_target):
    wrong = 0
    with lib.no_grad():
        for input, target in zip(test_input.split(1000), test_target.split(1000)):
            wrong += int((model(input).argmax(1) != target).sum().item())
    return wrong / test_input.shape[0]


def warm_up(lib, torch_model, data, args):
    """Two untimed training steps on a throwaway copy: first-call costs (lazy imports, GPU kernels
    compiled or loaded from their cache) stay out of the timed epoch, for both libraries."""
    import copy
    model, criterion, optimizer = build(lib, copy.deepcopy(torch_model), args.lr, args.device, args.functional)
    x = lib.from_numpy(data[0][:args.batch_size]).to(args.device)
    y = lib.from_numpy(data[1][:args.batch_size]).to(args.device)
    t0 = time.perf_counter()
    train(model, criterion, optimizer, x.repeat(2, 1, 1, 1), y.repeat(2), 1, args.batch_size)
    synchronize(lib, args.device)
    return time.perf_counter() - t0


def run(lib, torch_model, data, args, profile=False):
    tr_x, tr_y, te_x, te_y = data
    train_input = lib.from_numpy(tr_x).to(args.device)
    train_target = lib.from_numpy(tr_y).to(args.device)
    test_input = lib.from_numpy(te_x).to(args.device)
    test_target = lib.from_numpy(te_y).to(args.device)
    warm = warm_up(lib, torch_model, data, args)
    model, criterion, optimizer = build(lib, torch_model, args.lr, args.device, args.functional)
    synchronize(lib, args.device)
    t0 = time.perf_counter()
    if profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
    loss = train(model, criterion, optimizer, train_input, train_target, args.epochs, args.batch_size)
    synchronize(lib, args.device)
    elapsed = time.perf_counter() - t0
    if profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return elapsed, loss, test_error(lib, model, test_input, test_target), warm


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=1,
                   help="alternate flambeau and torch this many times and compare each one's best time")
    p.add_argument("--profile", action="store_true", help="cProfile the flambeau epoch")
    p.add_argument("--functional", action="store_true", help="build flambeau's model from functional ops")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--quick", action="store_true", help="(for the benchmark runner) no effect beyond its args")
    args = p.parse_args()

    import torch
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    tr_x, tr_y, te_x, te_y = load_mnist(args.data, {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[args.dataset])
    tr_x = tr_x[:args.n_train].astype(np.float32)[:, None]
    te_x = te_x[:args.n_test].astype(np.float32)[:, None]
    mu, std = tr_x.mean(), tr_x.std(ddof=1)
    tr_x, te_x = (tr_x - mu) / std, (te_x - mu) / std                    # the lecture's sub_(mu).div_(std)
    data = (tr_x, tr_y[:args.n_train].astype(np.int64), te_x, te_y[:args.n_test].astype(np.int64))
    torch_model = make_model(torch)

    print(f"{args.dataset} convnet, {args.n_train} train samples, batch {args.batch_size}, {args.epochs} epoch(s), "
          f"device {args.device}, torch threads {torch.get_num_threads()}, "
          f"flambeau model: {'nn' if has_nn(flambeau) and not args.functional else 'functional'}")
    import copy
    initial = copy.deepcopy(torch_model)
    times_fl, times_pt = [], []
    for r in range(args.rounds):
        # flambeau first: it copies the initial weights before torch trains them
        torch_model = copy.deepcopy(initial)
        t_fl, loss_fl, err_fl, w_fl = run(flambeau, torch_model, data, args, args.profile and r == 0)
        times_fl.append(t_fl)
        print(f"flambeau: {t_fl:7.2f} s   last loss {loss_fl:.4f}   test error {100 * err_fl:.2f}%   "
              f"(untimed warm-up step {w_fl:.2f} s)", flush=True)
        if args.skip_torch:
            continue
        if args.device != "cpu" and not torch.cuda.is_available():
            sys.exit(f"torch has no CUDA here: no side-by-side time on {args.device} (flambeau's alone is above)")
        t_pt, loss_pt, err_pt, w_pt = run(torch, torch_model, data, args)
        times_pt.append(t_pt)
        print(f"torch:    {t_pt:7.2f} s   last loss {loss_pt:.4f}   test error {100 * err_pt:.2f}%   "
              f"(untimed warm-up step {w_pt:.2f} s)", flush=True)
    if args.skip_torch:
        return
    if args.rounds == 1:
        print(f"flambeau / torch time ratio: {t_fl / t_pt:.2f}")
    else:
        # on a shared machine other work slows single rounds down: the best round of each is
        # the one least disturbed
        t_fl, t_pt = min(times_fl), min(times_pt)
        ratios = sorted(a / b for a, b in zip(times_fl, times_pt))
        print(f"flambeau / torch time ratio: {t_fl / t_pt:.2f} (best of {args.rounds} rounds each: {t_fl:.2f} s / "
              f"{t_pt:.2f} s; round by round {min(ratios):.2f} to {max(ratios):.2f})")
    if args.json:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _common import row, emit
        note = f"test error {100 * err_fl:.2f}% vs {100 * err_pt:.2f}%"
        emit([row(f"convnet: {args.epochs} epoch(s) of {args.n_train} MNIST samples ({args.device})", t_fl, t_pt,
                  note=note)], args)


if __name__ == "__main__":
    main()
