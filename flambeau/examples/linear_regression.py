"""Lecture 1.4, "Tensor basics and linear regression": the best line through (age, blood pressure).

    python -m flambeau.examples.linear_regression [--data FILE]

Fits f(x) = a x + b to the rows of ``systolic-blood-pressure-vs-age.dat`` (two columns, age and
systolic blood pressure) by least squares with ``torch.gels``, running the lecture's code as
written, and prints a and b. The data file ships next to this script (``data/``).
"""
import argparse
import os
import warnings

import numpy

import flambeau as torch

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "systolic-blood-pressure-vs-age.dat")


def fit(path=DATA):
    """The lecture's code block: returns (a, b) of the least-squares line."""
    data = torch.tensor(numpy.loadtxt(path))
    nb_samples = data.size(0)

    x, y = torch.empty(nb_samples, 2), torch.empty(nb_samples, 1)

    x[:, 0] = data[:, 0]
    x[:, 1] = 1

    y[:, 0] = data[:, 1]

    with warnings.catch_warnings():          # gels is the 2019 API the course uses, on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        alpha, _ = torch.gels(y, x)

    a, b = alpha[0, 0].item(), alpha[1, 0].item()
    return a, b


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="two-column text file: x and y per row")
    args = parser.parse_args(argv)
    a, b = fit(args.data)
    print(f"a = {a:.6f}")
    print(f"b = {b:.6f}")


if __name__ == "__main__":
    main()
