"""Fully connected (dense) layer: ``out = x @ w.T + b``, like ``torch.nn.functional.linear``."""
import numpy as np

from ._validate import as_float_array, check_cache, check_dout, check_ndim, result_dtype


def linear_forward(x, w, b):
    """Affine map of a batch of vectors.

    Parameters
    ----------
    x : (N, in_features) ndarray
    w : (out_features, in_features) ndarray
        Same layout as ``torch.nn.Linear.weight``.
    b : (out_features,) ndarray or None

    Returns
    -------
    out : (N, out_features) ndarray
    cache : dict
    """
    fn = "linear_forward"
    x = as_float_array(fn, "x", x)
    w = as_float_array(fn, "w", w)
    check_ndim(fn, "x", x, 2, "(N, in_features)")
    check_ndim(fn, "w", w, 2, "(out_features, in_features)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{fn}: x has in_features={x.shape[1]} (shape {x.shape}) but w expects "
            f"in_features={w.shape[1]} (shape {w.shape}); flatten x to (N, {w.shape[1]})?"
        )
    if b is not None:
        b = as_float_array(fn, "b", b)
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"{fn}: b must have shape (out_features,) = ({w.shape[0]},), got {b.shape}"
            )
    dtype = result_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    out = x @ w.T
    if b is not None:
        out += b.astype(dtype, copy=False)
    cache = {"op": fn, "x": x, "w": w, "has_b": b is not None, "out_shape": out.shape}
    return out, cache


def linear_backward(dout, cache):
    """Backward pass of :func:`linear_forward`.

    Parameters
    ----------
    dout : (N, out_features) ndarray
    cache : dict
        Returned by :func:`linear_forward`.

    Returns
    -------
    dx : (N, in_features) ndarray
    dw : (out_features, in_features) ndarray
    db : (out_features,) ndarray or None
        None when the forward pass had no bias.
    """
    fn = "linear_backward"
    check_cache(fn, cache, "linear_forward")
    x, w = cache["x"], cache["w"]
    dout = check_dout(fn, dout, cache["out_shape"]).astype(w.dtype, copy=False)
    dx = dout @ w
    dw = dout.T @ x
    db = dout.sum(axis=0) if cache["has_b"] else None
    return dx, dw, db
