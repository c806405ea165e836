"""The lecture's MNIST convnet (EE-559 1.2), trained exactly as the lecture writes it.

    python -m flambeau.examples.mnist                     # offline: embedded 1,000/1,000 subset
    python -m flambeau.examples.mnist --data ../shared/data --full
    python -m flambeau.examples.mnist --dataset fashion-mnist --data ROOT --full

The training loop below is the lecture's code block, with ``import flambeau as torch``.
"""
import argparse
import sys
import time

import flambeau as torch
from flambeau import nn


class Flattener(nn.Module):
    """The lecture's flattening module: (N, C, H, W) -> (N, C*H*W)."""

    def forward(self, x):
        return x.view(x.size(0), -1)


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.MaxPool2d(3), nn.ReLU(),
        nn.Conv2d(32, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
        Flattener(),
        nn.Linear(256, 200), nn.ReLU(),
        nn.Linear(200, 10)
    )


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m flambeau.examples.mnist",
                                description="Train the lecture's convnet on MNIST (or Fashion-MNIST).")
    p.add_argument("--data", metavar="ROOT", help="dataset root in torchvision's layout (ROOT/MNIST/raw/...)")
    p.add_argument("--download", action="store_true", help="download the dataset into --data if missing")
    p.add_argument("--full", action="store_true", help="use all 60,000/10,000 images (needs --data)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE.png", help="plot training loss and test error per epoch")
    p.add_argument("--save", metavar="FILE", help="save the trained model's state_dict")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.lr <= 0:
        p.error(f"--lr must be positive, got {args.lr}")
    if (args.full or args.download) and not args.data:
        p.error("--full and --download need --data ROOT")
    if args.dataset == "fashion-mnist" and not args.data:
        p.error("--dataset fashion-mnist needs --data ROOT (only MNIST's subset is embedded)")
    return args


def load_data(args):
    """(train_input, train_target, test_input, test_target) as float (N, 1, 28, 28) and long (N,)."""
    from flambeau.vision import datasets
    if args.data is None:
        train, test = datasets.MNIST.embedded(train=True), datasets.MNIST.embedded(train=False)
    else:
        cls = datasets.MNIST if args.dataset == "mnist" else datasets.FashionMNIST
        train = cls(args.data, train=True, download=args.download)
        test = cls(args.data, train=False, download=args.download)
    tr_x, tr_y, te_x, te_y = train.data, train.targets, test.data, test.targets
    if args.data is not None and not args.full:
        tr_x, tr_y, te_x, te_y = tr_x[:1000], tr_y[:1000], te_x[:1000], te_y[:1000]
    return (tr_x.float().view(-1, 1, 28, 28), tr_y.long(), te_x.float().view(-1, 1, 28, 28), te_y.long())


def progress(iterable, total, desc):
    try:
        from tqdm import tqdm
        return tqdm(iterable, total=total, desc=desc, leave=True, file=sys.stdout, ncols=90)
    except ImportError:
        return iterable


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    try:
        device = torch.device(args.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda: no CUDA device is available (flambeau uses CuPy for the GPU)")
        train_input, train_target, test_input, test_target = load_data(args)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"mnist: error: {e}", file=sys.stderr)
        return 2

    model = make_model()
    nb_epochs, batch_size = args.epochs, args.batch_size
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    model.to(device)
    criterion.to(device)
    train_input, train_target = train_input.to(device), train_target.to(device)
    test_input, test_target = test_input.to(device), test_target.to(device)

    mu, std = train_input.mean(), train_input.std()
    train_input.sub_(mu).div_(std)
    test_input.sub_(mu).div_(std)

    print(f"{args.dataset}: {train_input.size(0)} train / {test_input.size(0)} test images, "
          f"{nb_epochs} epochs, batch {batch_size}, SGD lr {args.lr}, device {device}")
    losses, errors = [], []
    start = time.perf_counter()
    nb_batches = (train_input.size(0) + batch_size - 1) // batch_size
    for e in range(nb_epochs):
        model.train()
        total, count = 0.0, 0
        bar = progress(zip(train_input.split(batch_size), train_target.split(batch_size)), nb_batches,
                       f"epoch {e + 1}/{nb_epochs}")
        for input, target in bar:
            output = model(input)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            count += 1
            if count % 10 == 0 and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / count:.4f}")
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{total / count:.4f}")
            bar.close()
        losses.append(total / count)
        errors.append(test_error(model, test_input, test_target, batch_size))
        if not hasattr(bar, "set_postfix"):
            print(f"epoch {e + 1}/{nb_epochs} loss {losses[-1]:.4f}")
    elapsed = time.perf_counter() - start
    print(f"test error {100 * errors[-1]:.2f}% ({int(round(errors[-1] * test_input.size(0)))}/"
          f"{test_input.size(0)}) after {nb_epochs} epochs, {elapsed:.1f} s")
    if args.save:
        torch.save(model.state_dict(), args.save)
        print(f"saved the state_dict to {args.save}")
    if args.plot:
        plot(args.plot, losses, errors)
    return 0


def test_error(model, input, target, batch_size):
    model.eval()
    wrong = 0
    with torch.no_grad():
        for x, y in zip(input.split(batch_size), target.split(batch_size)):
            wrong += (model(x).argmax(1) != y).sum().item()
    return wrong / input.size(0)


def plot(path, losses, errors):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("mnist: --plot needs matplotlib (pip install 'flambeau[plot]')", file=sys.stderr)
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(losses) + 1)
    ax[0].plot(epochs, losses, marker="o")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("training loss")
    ax[1].plot(epochs, [100 * e for e in errors], marker="o", color="C1")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("test error (%)")
    fig.tight_layout()
    fig.savefig(path)
    print(f"saved the plot to {path}")


if __name__ == "__main__":
    sys.exit(main())
