"""Fast 2-D convolution (cross-correlation, like ``torch.nn.functional.conv2d``).

The forward pass is im2col + one matrix product per chunk of images; the
backward pass rebuilds the columns for ``dw`` and scatters ``w.T @ dout``
back with col2im for ``dx``. See :mod:`cnnlib.functional.conv_naive` for the
same maths written as plain loops.

Why chunks: the column matrix is ``KH*KW`` times larger than the input.
Working on a few images at a time keeps it in the CPU cache (faster) and
bounds the memory of a forward pass over a whole test set. The cache keeps
the columns only when they are small (training batches); otherwise just the
padded input, from which the backward pass rebuilds them.
"""
import numpy as np

from ._validate import as_float_array, check_cache, check_dout, check_ndim, pair, result_dtype
from .im2col import _window, col2im, conv_output_size, im2col, pad2d

# Bytes of columns handled per chunk: about the size of a CPU core's L2 cache.
CHUNK_BYTES = 2 ** 21
# The forward pass keeps its columns for the backward pass (saves rebuilding
# them) only below this size; larger batches, e.g. a whole test set at once,
# rebuild them chunk by chunk instead.
CACHE_COLS_BYTES = 2 ** 26


def conv_check_inputs(fn, x, w, b, stride, padding):
    """Validate conv2d arguments; shared by the fast and the naive version.

    Parameters
    ----------
    fn : str
        Name of the calling function, for error messages.
    x : (N, C, H, W) array_like
    w : (F, C, KH, KW) array_like
    b : (F,) array_like or None
    stride, padding : int or tuple of two ints

    Returns
    -------
    x, w, b : ndarray
        Cast to one common float dtype.
    stride, padding, out_size : tuple of two ints
    """
    x = as_float_array(fn, "x", x)
    w = as_float_array(fn, "w", w)
    check_ndim(fn, "x", x, 4, "(N, C, H, W)")
    check_ndim(fn, "w", w, 4, "(F, C, KH, KW)")
    if b is not None:
        b = as_float_array(fn, "b", b)
    stride = pair(fn, "stride", stride, 1)
    padding = pair(fn, "padding", padding, 0)
    N, C, H, W = x.shape
    F, Cw, KH, KW = w.shape
    if C != Cw:
        raise ValueError(
            f"{fn}: x has C={C} channels (shape {x.shape}) but w expects "
            f"C={Cw} (shape {w.shape})"
        )
    if b is not None and b.shape != (F,):
        raise ValueError(f"{fn}: b must have shape (F,) = ({F},), got {b.shape}")
    Hp, Wp = H + 2 * padding[0], W + 2 * padding[1]
    if KH > Hp or KW > Wp:
        raise ValueError(
            f"{fn}: kernel ({KH}, {KW}) is larger than the padded input ({Hp}, {Wp}) "
            f"(x shape {x.shape}, padding {padding})"
        )
    dtype = result_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    if b is not None:
        b = b.astype(dtype, copy=False)
    out_size = (conv_output_size(H, KH, stride[0], padding[0]),
                conv_output_size(W, KW, stride[1], padding[1]))
    return x, w, b, stride, padding, out_size


def conv2d_forward(x, w, b, stride=1, padding=0):
    """2-D convolution of a batch of images (fast, im2col version).

    Parameters
    ----------
    x : (N, C, H, W) ndarray
        Input images.
    w : (F, C, KH, KW) ndarray
        Filters.
    b : (F,) ndarray or None
        One bias per filter.
    stride : int or tuple of two ints, default 1
        Step of the sliding window, ``(sh, sw)``.
    padding : int or tuple of two ints, default 0
        Zeros added on each side, ``(ph, pw)``.

    Returns
    -------
    out : (N, F, OH, OW) ndarray
        ``OH = (H + 2*ph - KH) // sh + 1`` (likewise OW); dtype of x and w.
    cache : dict
        What :func:`conv2d_backward` needs.

    Raises
    ------
    ValueError
        On wrong dimensions, a channel mismatch, a bias of the wrong shape, a
        kernel larger than the padded input, or an invalid stride/padding.

    Notes
    -----
    Mixed dtypes follow numpy promotion (float32 x with float64 w computes in
    float64); use float32 throughout for speed. The cache refers to `x`
    without copying it, so do not modify `x` in place before the backward pass.
    """
    fn = "conv2d_forward"
    x, w, b, stride, padding, (OH, OW) = conv_check_inputs(fn, x, w, b, stride, padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    K, P = C * KH * KW, OH * OW
    xp = pad2d(x, padding)
    w2 = w.reshape(F, K)
    out = np.empty((N, F, P), dtype=x.dtype)
    keep = N * K * P * x.itemsize <= CACHE_COLS_BYTES
    all_cols = np.empty((N, K, P), dtype=x.dtype) if keep else None
    step = _chunk(K * P * x.itemsize)
    for i in range(0, N, step):
        cols = im2col(xp[i:i + step], (KH, KW), stride, (OH, OW),
                      out=all_cols[i:i + step] if keep else None)
        # (F, K) @ (n, K, P) -> (n, F, P): already in NCHW order
        np.matmul(w2, cols, out=out[i:i + step])
    if b is not None:
        out += b[:, None]
    out = out.reshape(N, F, OH, OW)
    cache = {"op": fn, "xp": None if keep else xp, "cols": all_cols, "w": w,
             "has_b": b is not None, "x_shape": x.shape, "padded_shape": xp.shape,
             "stride": stride, "padding": padding, "out_shape": out.shape}
    return out, cache


def conv2d_backward(dout, cache):
    """Backward pass of :func:`conv2d_forward`.

    Parameters
    ----------
    dout : (N, F, OH, OW) ndarray
        Gradient of the loss with respect to the forward output.
    cache : dict
        Returned by :func:`conv2d_forward`.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    dw : (F, C, KH, KW) ndarray
    db : (F,) ndarray or None
        None when the forward pass had no bias.
    """
    fn = "conv2d_backward"
    check_cache(fn, cache, "conv2d_forward")
    dout = check_dout(fn, dout, cache["out_shape"])
    xp, w, stride = cache["xp"], cache["w"], cache["stride"]
    dout = np.ascontiguousarray(dout, dtype=w.dtype)
    N, F, OH, OW = dout.shape
    _, C, KH, KW = w.shape
    K = C * KH * KW
    dout3 = dout.reshape(N, F, OH * OW)
    dxp = np.zeros(cache["padded_shape"], dtype=w.dtype)
    dw_t = np.zeros((K, F), dtype=w.dtype)
    step = _chunk(K * OH * OW * w.itemsize)
    for i in range(0, N, step):
        if cache["cols"] is not None:
            cols = cache["cols"][i:i + step]
        else:
            cols = im2col(xp[i:i + step], (KH, KW), stride, (OH, OW))
        # sum_n cols_n @ dout_n.T: the transposed view goes to BLAS without a copy
        dw_t += np.matmul(cols, dout3[i:i + step].transpose(0, 2, 1)).sum(axis=0)
        _dx_add(dxp[i:i + step], w, dout3[i:i + step], stride, (OH, OW))
    dw = np.ascontiguousarray(dw_t.T).reshape(w.shape)
    db = dout3.sum(axis=2).sum(axis=0) if cache["has_b"] else None
    ph, pw = cache["padding"]
    H, W = cache["x_shape"][2:]
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    return (np.ascontiguousarray(dx) if ph or pw else dx), dw, db


def _chunk(bytes_per_image):
    """Number of images per chunk so that a chunk's columns take about CHUNK_BYTES."""
    return max(1, CHUNK_BYTES // max(1, bytes_per_image))


def _dx_add(dxp, w, dout3, stride, out_size):
    """Add the input gradient of a chunk of images into `dxp` (in place).

    Mathematically ``col2im(w2.T @ dout)``. With several input channels it is
    faster to skip the big column matrix: for each kernel offset, one small
    matrix product ``w[:, :, kh, kw].T @ dout`` gives exactly the block that
    col2im would add at that offset, and it is still in the CPU cache when
    added. With fewer than 4 channels those products are too thin for BLAS, so
    the plain col2im route wins.

    Parameters
    ----------
    dxp : (n, C, Hp, Wp) ndarray
        Gradient of the padded input, updated in place.
    w : (F, C, KH, KW) ndarray
    dout3 : (n, F, OH*OW) ndarray
    stride, out_size : tuple of two ints
    """
    n, C = dxp.shape[:2]
    F, _, KH, KW = w.shape
    OH, OW = out_size
    if C < 4:
        dcols = np.matmul(w.reshape(F, C * KH * KW).T, dout3)
        dxp += col2im(dcols, dxp.shape, (KH, KW), stride, out_size)
        return
    w_off = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (KH, KW, C, F)
    block = np.empty((n, C, OH * OW), dtype=dxp.dtype)
    for kh in range(KH):
        for kw in range(KW):
            np.matmul(w_off[kh, kw], dout3, out=block)
            _window(dxp, kh, kw, stride, OH, OW)[...] += block.reshape(n, C, OH, OW)
