import numpy as np

import flambeau
from _oracle import check_against_torch, gradcheck


def test_mlp_step_matches_torch():
    check_against_torch(lambda lib, x, w: ((x @ w).relu() * 2).sum(), (4, 8), (8, 8))


def test_broadcast_mul_grad():
    check_against_torch(lambda lib, a, b: a * b + a / (b * b + 1), (3, 1, 4), (5, 1))


def test_gradcheck_tanh():
    gradcheck(lambda lib, x: x.tanh().exp(), (3, 4))
