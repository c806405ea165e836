"""The lecture's three CIFAR pictures: 48 training images in a 4x12 grid, the same images
transposed (rows and columns swapped), and transposed with green and blue zeroed.

    python -m flambeau.examples.cifar_grids --data ROOT [--out FOLDER]

ROOT holds ``cifar-10-batches-py`` (torchvision's layout). Writes cifar-4x12.png,
cifar-4x12-rotated.png and cifar-4x12-rotated-and-red.png.
"""
import argparse
import os

import flambeau as torch
from flambeau.vision.datasets import CIFAR10
from flambeau.vision.utils import save_image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding cifar-10-batches-py")
    parser.add_argument("--out", default=".", help="folder for the three PNG files")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 if missing")
    args = parser.parse_args(argv)

    cifar = CIFAR10(args.data, train=True, download=args.download)
    x = torch.from_numpy(cifar.train_data).transpose(1, 3).transpose(2, 3).float()
    x = x / 255
    print(x.type(), x.size(), x.min().item(), x.max().item())

    # Narrows to the first images, converts to float
    x = x.narrow(0, 0, 48).float()
    # Saves these samples as a single image
    save_image(x, os.path.join(args.out, "cifar-4x12.png"), nrow=12)
    # Switches the row and column indexes
    x.transpose_(2, 3)
    save_image(x, os.path.join(args.out, "cifar-4x12-rotated.png"), nrow=12)
    # Kills the green and blue channels
    x.narrow(1, 1, 2).fill_(0)
    save_image(x, os.path.join(args.out, "cifar-4x12-rotated-and-red.png"), nrow=12)


if __name__ == "__main__":
    main()
