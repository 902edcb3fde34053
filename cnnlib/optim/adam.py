"""Adam, as torch.optim.Adam (amsgrad=False)."""
from .optimizer import Optimizer
from .rules import adam_update, check_adam_args


class Adam(Optimizer):
    """Adam: momentum on the gradient plus RMS scaling, with bias correction.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default 1e-8
        Added after the bias-corrected square root, like torch.
    weight_decay : float, default 0
        L2 penalty added to the gradient (torch.optim.Adam, not AdamW).

    See :func:`cnnlib.optim.rules.adam_update`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        check_adam_args(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _check_group(self, group):
        check_adam_args(group["lr"], group["betas"], group["eps"], group["weight_decay"])

    def _update(self, w, dw, state, hyper):
        return adam_update(w, dw, state, **hyper)
