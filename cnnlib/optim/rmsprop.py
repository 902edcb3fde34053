"""RMSprop, as torch.optim.RMSprop (centered=False)."""
from .optimizer import Optimizer
from .rules import check_rmsprop_args, rmsprop_update


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running RMS of recent gradients.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 0.01
    alpha : float, default 0.99
        Smoothing constant of the running mean of squared gradients.
    eps : float, default 1e-8
        Added to ``sqrt(square_avg)`` (outside the square root, like torch).
    momentum : float, default 0
    weight_decay : float, default 0

    See :func:`cnnlib.optim.rules.rmsprop_update`.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        check_rmsprop_args(lr, alpha, eps, momentum, weight_decay)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                                      weight_decay=weight_decay))

    def _check_group(self, group):
        check_rmsprop_args(group["lr"], group["alpha"], group["eps"], group["momentum"],
                           group["weight_decay"])

    def _update(self, w, dw, state, hyper):
        return rmsprop_update(w, dw, state, **hyper)
