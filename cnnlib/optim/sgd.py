"""Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD."""
from .optimizer import Optimizer
from .rules import check_sgd_args, sgd_update


class SGD(Optimizer):
    """SGD: ``w -= lr * d`` with ``d`` the gradient or a momentum buffer.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate (required, >= 0).
    momentum : float, default 0
    weight_decay : float, default 0
        L2 penalty added to the gradient: ``dw + weight_decay * w``.
    nesterov : bool, default False
        Requires momentum > 0.

    Notes
    -----
    Dampening is 0 (torch's default); the momentum buffer is initialised
    with the first gradient.  See :func:`cnnlib.optim.rules.sgd_update`.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        check_sgd_args(lr, momentum, weight_decay, nesterov)
        super().__init__(params, dict(lr=lr, momentum=momentum,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group):
        check_sgd_args(group["lr"], group["momentum"], group["weight_decay"], group["nesterov"])

    def _update(self, w, dw, state, hyper):
        return sgd_update(w, dw, state, **hyper)
