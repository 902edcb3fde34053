"""Lesson 05 helpers: cnnlib's backward passes with the signatures of the lesson's exercises.

The lesson's exercises take the forward pass's inputs directly (``conv2d_backward(dout, x, w, b,
stride, padding)``), while the engine's backward passes take the ``cache`` of their forward
pass. These wrappers run the engine's forward pass for the cache and return the engine's
gradients, so a lesson cell can fall back on them (:func:`cnnlib.tryit.mine_or_reference`)
when a learner's version does not work yet. The widgets of the lesson are in
:mod:`cnnlib.widgets.backprop_graph` (backprop stepper), :mod:`cnnlib.widgets.backprop_gradcheck`
(gradient-check explorer) and :mod:`cnnlib.widgets.backprop_descent` (learning a kernel).
"""
import numpy as np

from .. import functional as F
from ..gradcheck import numerical_gradient as _numerical_gradient
from ..gradcheck import rel_error

__all__ = ["numerical_gradient", "relative_error", "linear_backward", "softmax_cross_entropy_backward",
           "conv2d_backward"]


def numerical_gradient(f, x, eps=1e-5):
    """Centred-difference gradient of ``f`` at ``x`` (float64); ``x`` is left unchanged.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, called with an array of ``x``'s shape.
    x : ndarray
    eps : float > 0

    Returns
    -------
    grad : ndarray of float64, x's shape
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    return _numerical_gradient(f, np.array(x, dtype=np.float64), h=eps)


def relative_error(a, b):
    """Largest element-wise ``|a - b| / max(1e-8, |a| + |b|)`` (:func:`cnnlib.gradcheck.rel_error`)."""
    return rel_error(a, b)


def linear_backward(dout, x, w):
    """Gradients of ``out = x @ w.T + b``.

    Parameters
    ----------
    dout : (N, M) ndarray
    x : (N, D) ndarray
    w : (M, D) ndarray

    Returns
    -------
    dx : (N, D) ndarray
    dw : (M, D) ndarray
    db : (M,) ndarray
    """
    _, cache = F.linear_forward(x, w, np.zeros(np.shape(w)[0], dtype=np.result_type(x, w)))
    return F.linear_backward(dout, cache)


def softmax_cross_entropy_backward(logits, y):
    """``(softmax(logits) - onehot(y)) / N``: the gradient of the mean cross-entropy.

    Parameters
    ----------
    logits : (N, K) ndarray
    y : (N,) ndarray of int

    Returns
    -------
    dlogits : (N, K) ndarray
    """
    return F.cross_entropy(logits, y)[1]


def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    """Gradients of ``out = conv2d(x, w, b, stride, padding)`` (cnnlib's fast backward pass).

    Parameters
    ----------
    dout : (N, F, OH, OW) ndarray
    x : (N, C, H, W) ndarray
    w : (F, C, KH, KW) ndarray
    b : (F,) ndarray
    stride, padding : int

    Returns
    -------
    dx : (N, C, H, W) ndarray
    dw : (F, C, KH, KW) ndarray
    db : (F,) ndarray
    """
    _, cache = F.conv2d_forward(x, w, b, stride=stride, padding=padding)
    return F.conv2d_backward(dout, cache)
