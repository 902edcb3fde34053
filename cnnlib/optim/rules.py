"""Pure update rules for SGD, RMSprop and Adam.

Each function takes the current weights ``w``, their gradient ``dw`` and a
``state`` dict (empty ``{}`` on the first step) and returns ``(w_new, state)``
without modifying its inputs.  The formulas are exactly torch.optim's
(single-tensor CPU path), so that ``cnnlib.optim`` and ``torch.optim``
produce the same numbers for the same gradients.  The optimizer classes call
these functions; lessons can call them directly to plot trajectories.
"""
import math

import numpy as np


def _check_common(lr, weight_decay):
    if not lr >= 0.0:
        raise ValueError(f"Invalid learning rate lr={lr}: it must be >= 0.")
    if not weight_decay >= 0.0:
        raise ValueError(f"Invalid weight_decay={weight_decay}: it must be >= 0.")


def check_sgd_args(lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
    """Raise ValueError if SGD hyperparameters are invalid (same rules as torch)."""
    _check_common(lr, weight_decay)
    if not momentum >= 0.0:
        raise ValueError(f"Invalid momentum={momentum}: it must be >= 0.")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0.")


def check_rmsprop_args(lr, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
    """Raise ValueError if RMSprop hyperparameters are invalid (same rules as torch)."""
    _check_common(lr, weight_decay)
    if not eps >= 0.0:
        raise ValueError(f"Invalid eps={eps}: it must be >= 0.")
    if not momentum >= 0.0:
        raise ValueError(f"Invalid momentum={momentum}: it must be >= 0.")
    if not 0.0 <= alpha:
        raise ValueError(f"Invalid alpha={alpha}: it must be >= 0.")


def check_adam_args(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Raise ValueError if Adam hyperparameters are invalid (same rules as torch)."""
    _check_common(lr, weight_decay)
    if not eps >= 0.0:
        raise ValueError(f"Invalid eps={eps}: it must be >= 0.")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}.")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta{i + 1}={beta}: it must be in [0, 1).")


def sgd_update(w, dw, state, lr, momentum=0.0, weight_decay=0.0, nesterov=False,
               dampening=0.0):
    """One SGD step (torch.optim.SGD formulas).

    Parameters
    ----------
    w : ndarray
        Current weights.
    dw : ndarray, same shape as ``w``
        Gradient of the loss with respect to ``w``.
    state : dict
        ``{}`` on the first step; afterwards what the previous call returned
        (holds ``"momentum_buffer"`` when momentum > 0).
    lr, momentum, weight_decay, dampening : float
    nesterov : bool

    Returns
    -------
    w_new : ndarray
        ``w - lr * d`` where ``d`` is the (momentum) direction.
    state : dict
        New state; the velocity buffer starts as a copy of the first gradient,
        as in torch (not at zero).
    """
    check_sgd_args(lr, momentum, weight_decay, nesterov, dampening)
    d = dw
    if weight_decay != 0:
        d = d + weight_decay * w
    state = dict(state)
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = np.array(d, copy=True)
        else:
            buf = momentum * buf + (1 - dampening) * d
        state["momentum_buffer"] = buf
        d = d + momentum * buf if nesterov else buf
    return w - lr * d, state


def rmsprop_update(w, dw, state, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0,
                   weight_decay=0.0):
    """One RMSprop step (torch.optim.RMSprop formulas, centered=False).

    ``square_avg = alpha * square_avg + (1 - alpha) * dw**2`` (starting from
    zeros), then ``w -= lr * dw / (sqrt(square_avg) + eps)``; eps is added
    *after* the square root.  With momentum, a buffer (starting from zeros)
    accumulates ``dw / (sqrt(square_avg) + eps)``.

    Parameters
    ----------
    w, dw : ndarray
    state : dict
        ``{}`` on the first step; holds ``"square_avg"`` (and
        ``"momentum_buffer"`` when momentum > 0) afterwards.

    Returns
    -------
    w_new : ndarray
    state : dict
    """
    check_rmsprop_args(lr, alpha, eps, momentum, weight_decay)
    g = dw
    if weight_decay != 0:
        g = g + weight_decay * w
    state = dict(state)
    sq = state.get("square_avg")
    if sq is None:
        sq = np.zeros_like(w)
    sq = alpha * sq + (1 - alpha) * (g * g)
    state["square_avg"] = sq
    state["step"] = state.get("step", 0) + 1
    avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = np.zeros_like(w)
        buf = momentum * buf + g / avg
        state["momentum_buffer"] = buf
        return w - lr * buf, state
    return w - lr * (g / avg), state


def _flush_subnormals(m):
    """Set the subnormal entries of `m` (smaller than the smallest normal float) to 0, in place.

    Adam's first moment of a weight whose gradient stays 0 shrinks by beta1
    every step until it reaches the subnormal numbers, and then sticks: 0.1
    times the smallest subnormal rounds to 0, so ``m - 0.1*m == m``. Half of
    the first dense layer's moments in Lesson 07's network end up there, and
    arithmetic on subnormals is many times slower on x86 processors (measured
    0.6 -> 1.4 s per epoch for the optimizer). Their effect on a weight is
    below float32's resolution anyway.
    """
    np.copyto(m, 0, where=np.abs(m) < np.finfo(m.dtype).tiny)


def adam_update(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One Adam step (torch.optim.Adam formulas, amsgrad=False).

    ``m = beta1*m + (1-beta1)*dw``, ``v = beta2*v + (1-beta2)*dw**2`` (both
    from zeros), then with ``t`` the step count (1 on the first step)::

        w -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Note eps is added after the bias-corrected square root, as in torch.
    ``weight_decay`` is the classic L2 term added to the gradient (not AdamW).

    Parameters
    ----------
    w, dw : ndarray
    state : dict
        ``{}`` on the first step; holds ``"step"``, ``"exp_avg"`` and
        ``"exp_avg_sq"`` afterwards.

    Returns
    -------
    w_new : ndarray
    state : dict
    """
    check_adam_args(lr, betas, eps, weight_decay)
    beta1, beta2 = betas
    g = dw
    if weight_decay != 0:
        g = g + weight_decay * w
    state = dict(state)
    step = state.get("step", 0) + 1
    m = state.get("exp_avg")
    v = state.get("exp_avg_sq")
    if m is None:
        m = np.zeros_like(w)
        v = np.zeros_like(w)
    # torch uses lerp: m + (1 - beta1) * (g - m); same value, same rounding.
    m = m + (1 - beta1) * (g - m)
    _flush_subnormals(m)
    v = beta2 * v + (1 - beta2) * (g * g)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    step_size = lr / bias_correction1
    denom = np.sqrt(v) / bias_correction2_sqrt + eps
    state.update(step=step, exp_avg=m, exp_avg_sq=v)
    return w - step_size * (m / denom), state
