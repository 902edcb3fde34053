"""Fully connected (dense) layer: ``out = x @ w.T + b``, like ``torch.nn.functional.linear``.

The matrix products run with numpy's BLAS held at one thread; a large batch
(an evaluation pass) is cut into row chunks that the engine's threads share
(see :mod:`cnnlib._threads`). Chunks have a fixed size, so the result does
not depend on the thread count.
"""
import numpy as np

from .._threads import blas_single_thread, run_ranges
from ._validate import as_float_array, check_cache, check_dout, check_ndim, result_dtype

# Rows per chunk: a training batch is one chunk, too small to be worth sharing.
CHUNK_ROWS = 256


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
    b = None if b is None else b.astype(dtype, copy=False)
    out = np.empty((x.shape[0], w.shape[0]), dtype=dtype)

    def chunk(lo, hi, scratch):
        np.matmul(x[lo:hi], w.T, out=out[lo:hi])
        if b is not None:
            out[lo:hi] += b

    with blas_single_thread():
        run_ranges(chunk, x.shape[0], CHUNK_ROWS, key=(fn, x.shape, w.shape, dtype))
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
    N = x.shape[0]
    n_chunks = -(-N // CHUNK_ROWS)
    dx = np.empty(x.shape, dtype=w.dtype)
    dw_parts = np.empty((n_chunks,) + w.shape, dtype=w.dtype)

    def chunk(lo, hi, scratch):
        np.matmul(dout[lo:hi], w, out=dx[lo:hi])
        np.matmul(dout[lo:hi].T, x[lo:hi], out=dw_parts[lo // CHUNK_ROWS])

    with blas_single_thread():
        run_ranges(chunk, N, CHUNK_ROWS, key=(fn, x.shape, w.shape, w.dtype))
    # added in chunk order: the same bits whatever the thread count
    dw = dw_parts[0] if n_chunks == 1 else dw_parts.sum(axis=0)
    db = dout.sum(axis=0) if cache["has_b"] else None
    return dx, dw, db
