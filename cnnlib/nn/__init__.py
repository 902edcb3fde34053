"""Layers as modules, named and shaped like torch.nn (NCHW).

Each layer's ``forward`` calls the matching function in
:mod:`cnnlib.functional` and keeps its cache; ``backward(dout)`` returns the
input gradient and accumulates parameter gradients into ``.grad``.

Weights are initialised as torch does, from a numpy Generator: pass
``rng=np.random.default_rng(seed)`` to a layer, or call
``cnnlib.nn.manual_seed(seed)`` (like ``torch.manual_seed``) to reseed the
module-level generator that layers use by default.
"""
from ..init import manual_seed
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .loss import CrossEntropyLoss
from .module import Module, Parameter, Sequential
from .pooling import AvgPool2d, MaxPool2d

__all__ = ["Parameter", "Module", "Sequential", "Conv2d", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "MaxPool2d", "AvgPool2d", "Flatten", "Linear", "Dropout",
           "CrossEntropyLoss", "manual_seed"]
