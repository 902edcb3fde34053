"""Readable loop version of 2-D convolution, for teaching.

It computes exactly what :func:`cnnlib.functional.conv2d_forward` computes,
one output position at a time: place the kernel on the padded input, multiply
element by element, sum. Use it to understand (and test) the fast version,
not to train networks -- it is roughly a hundred times slower.
"""
import numpy as np

from ._validate import check_cache, check_dout
from .conv import conv_check_inputs
from .im2col import pad2d


def conv2d_forward_naive(x, w, b, stride=1, padding=0):
    """2-D convolution with explicit loops over the output positions.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
        Input images.
    w : (F, C, KH, KW) ndarray
        Filters.
    b : (F,) ndarray or None
        One bias per filter.
    stride : int or tuple of two ints, default 1
    padding : int or tuple of two ints, default 0

    Returns
    -------
    out : (N, F, OH, OW) ndarray
    cache : dict
        What :func:`conv2d_backward_naive` needs.
    """
    fn = "conv2d_forward_naive"
    x, w, b, stride, padding, (OH, OW) = conv_check_inputs(fn, x, w, b, stride, padding)
    N = x.shape[0]
    F, C, KH, KW = w.shape
    sh, sw = stride
    xp = pad2d(x, padding)
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            # the patch under the kernel, for every image at once: (N, C, KH, KW)
            patch = xp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            for f in range(F):
                out[:, f, i, j] = np.sum(patch * w[f], axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = {"op": fn, "x": x, "w": w, "has_b": b is not None,
             "stride": stride, "padding": padding, "out_shape": out.shape}
    return out, cache


def conv2d_backward_naive(dout, cache):
    """Backward pass of :func:`conv2d_forward_naive`, with the same loops.

    Every output ``out[n, f, i, j]`` was ``sum(patch * w[f]) + b[f]``, so its
    gradient ``dout[n, f, i, j]`` flows back to ``w[f]`` (times the patch), to
    the patch (times ``w[f]``) and to ``b[f]`` (times 1).

    Parameters
    ----------
    dout : (N, F, OH, OW) ndarray
    cache : dict
        Returned by :func:`conv2d_forward_naive`.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    dw : (F, C, KH, KW) ndarray
    db : (F,) ndarray or None
    """
    fn = "conv2d_backward_naive"
    check_cache(fn, cache, "conv2d_forward_naive")
    dout = check_dout(fn, dout, cache["out_shape"])
    x, w = cache["x"], cache["w"]
    dout = dout.astype(w.dtype, copy=False)
    sh, sw = cache["stride"]
    ph, pw = cache["padding"]
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = dout.shape[2:]
    xp = pad2d(x, (ph, pw))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(OH):
        for j in range(OW):
            patch = xp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            for f in range(F):
                g = dout[:, f, i, j].reshape(N, 1, 1, 1)
                dw[f] += np.sum(g * patch, axis=0)
                dxp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += g * w[f]
    db = dout.sum(axis=(0, 2, 3)) if cache["has_b"] else None
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    return dx, dw, db
