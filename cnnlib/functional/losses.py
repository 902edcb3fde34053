"""Softmax, log-softmax and the cross-entropy loss, all numerically stable.

Subtracting the row maximum before ``exp`` changes nothing mathematically
(softmax is shift-invariant) but keeps ``exp`` from overflowing: the largest
exponent is then exactly 0.
"""
import numpy as np

from ._validate import as_float_array, check_ndim


def softmax(x):
    """Softmax over the last axis.

    Parameters
    ----------
    x : (..., K) ndarray

    Returns
    -------
    (..., K) ndarray
        Non-negative, each row sums to 1.
    """
    x = as_float_array("softmax", "x", x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    """Logarithm of the softmax over the last axis, without computing ``log(exp(...))`` naively.

    Parameters
    ----------
    x : (..., K) ndarray

    Returns
    -------
    (..., K) ndarray
        ``x - logsumexp(x)``; finite even for logits of magnitude 1e4.
    """
    x = as_float_array("log_softmax", "x", x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, targets):
    """Mean cross-entropy loss of a batch, and its gradient.

    Same value as ``torch.nn.functional.cross_entropy(logits, targets)``.

    Parameters
    ----------
    logits : (N, K) ndarray
        Unnormalised class scores.
    targets : (N,) int ndarray
        Correct class index of each example, in ``[0, K)``.

    Returns
    -------
    loss : float
        ``-mean(log_softmax(logits)[n, targets[n]])``.
    dlogits : (N, K) ndarray
        ``(softmax(logits) - onehot(targets)) / N``, dtype of `logits`.

    Raises
    ------
    ValueError
        If logits is not 2-D, targets are not integers of shape (N,), or a
        target is outside ``[0, K)``.
    """
    fn = "cross_entropy"
    logits = as_float_array(fn, "logits", logits)
    check_ndim(fn, "logits", logits, 2, "(N, K)")
    targets = np.asarray(targets)
    N, K = logits.shape
    if targets.dtype.kind not in "iu":
        raise ValueError(
            f"{fn}: targets must be integer class indices, got dtype {targets.dtype} "
            f"(use targets.astype(np.int64) if they are whole numbers)"
        )
    if targets.shape != (N,):
        raise ValueError(
            f"{fn}: targets must have shape (N,) = ({N},) to match logits {logits.shape}, "
            f"got {targets.shape}"
        )
    if N == 0:
        raise ValueError(f"{fn}: the batch is empty (logits shape {logits.shape})")
    if targets.min() < 0 or targets.max() >= K:
        raise ValueError(
            f"{fn}: targets must lie in [0, {K}) for logits {logits.shape} with {K} classes, "
            f"got values from {targets.min()} to {targets.max()}"
        )
    logp = log_softmax(logits)
    rows = np.arange(N)
    loss = -logp[rows, targets].mean()
    dlogits = np.exp(logp)
    dlogits[rows, targets] -= 1
    dlogits /= N
    return float(loss), dlogits
