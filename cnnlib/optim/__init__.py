"""Optimizers with torch.optim semantics: SGD, RMSprop, Adam.

The update formulas live as pure functions in :mod:`cnnlib.optim.rules`
(``sgd_update``, ``rmsprop_update``, ``adam_update``); the classes apply them
to every Parameter that has a gradient.
"""
from .adam import Adam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .rules import adam_update, rmsprop_update, sgd_update
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "sgd_update", "rmsprop_update", "adam_update"]
