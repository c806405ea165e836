"""``flambeau.vision.datasets``: MNIST, FashionMNIST, CIFAR10, CIFAR100, ImageFolder / DatasetFolder
(class sub-folders on disk) and FakeData (torchvision's API and layout).

``MNIST.embedded(train=True)`` gives the first 1,000 training (or test) MNIST images shipped
inside flambeau, without any file or network access.
"""
from .vision import VisionDataset
from .mnist import MNIST, FashionMNIST
from .cifar import CIFAR10, CIFAR100
from .folder import DatasetFolder, ImageFolder
from .fakedata import FakeData

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "DatasetFolder", "ImageFolder",
           "FakeData"]
