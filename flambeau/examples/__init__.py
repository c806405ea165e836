"""Runnable examples: the lecture's code, written for PyTorch, running on flambeau.

- ``python -m flambeau.examples.mnist``: the lecture's MNIST convnet (the main job).
- ``python -m flambeau.examples.linear_regression``: least squares with ``gels`` (lecture 1.4).
- ``python -m flambeau.examples.tensor_internals``: storages, offsets and strides (lecture 1.6).
- ``python -m flambeau.examples.cifar_grids --data ROOT``: the CIFAR 4x12 pictures (lecture 1.5).
"""
