"""Fast 2-D convolution (cross-correlation, like ``torch.nn.functional.conv2d``).

The forward pass is im2col + one matrix product per chunk of images. The
backward pass gets ``dw`` from the same columns and ``dx`` from
:mod:`cnnlib.functional.conv_dx`. See :mod:`cnnlib.functional.conv_naive`
for the same maths written as plain loops.

Stride-1 layers with 4 channels or more take another route (:func:`route`
chooses with a cost model measured on all three): stacked shifted copies of
the input instead of im2col (:mod:`cnnlib.functional.conv_shifts`, 0.74x
im2col's time for 16 channels and a 3x3 kernel) or, with many channels and
a large kernel (16 channels, 5x5), the Fourier route of
:mod:`cnnlib.functional.conv_fft`.

``dw`` multiplies the columns by ``dout`` transposed. OpenBLAS multiplies
small matrices fastest when neither is a transposed view (it skips
repacking them), so for large products the backward pass copies each
chunk's ``dout`` transposed first; for products with fewer than
DOUT_COPY_MIN results the copy costs more than it saves (4x slower for the
9x8 ``dw`` of a one-channel 3x3 layer with 8 filters).

Why chunks: the column matrix is ``KH*KW`` times larger than the input. The
columns of a chunk of a few images stay in the CPU's L2 cache from the
moment they are built until the matrix products have used them; those of a
whole batch would not fit, and every pass over them would wait on main
memory. Chunks are also the unit of work of the engine's threads
(:mod:`cnnlib._threads`), which keep numpy's BLAS at one thread.

The backward pass rebuilds each chunk's columns from the padded input
rather than keeping those of the forward pass: measured as fast (the kept
columns of a batch go through main memory twice), and the cache stays as
small as the input.
"""
import numpy as np

from .._threads import blas_single_thread, even_step, run_ranges, scratch_array
from ._validate import as_float_array, check_cache, check_dout, check_ndim, pair, result_dtype
from .conv_dx import make_dx
from .conv_fft import fft_backward, fft_forward
from .conv_shifts import SHIFTS_MIN_C, shifts_backward, shifts_forward, transposed
from .im2col import conv_output_size, pad2d, windows

# Bytes of columns per chunk: well inside a core's L2 cache (1-2 MB).
CHUNK_BYTES = 2 ** 20
# Fewest chunks per batch, so that two to four threads share a batch evenly.
MIN_CHUNKS = 4
# Cost model of the routes, ms per image (fitted on forward+backward of 20
# stride-1 layers, 1-64 channels, 7x7-32x32, k3 and k5, float32, one thread):
# im2col ~ IM2COL_MS * F*C*KH*KW*OH*OW (three matrix products and the copies
# around them); shifts ~ SHIFTS_MS * F*C*KH*KW*OH*OW + COPY_MS * (values in
# the stacks of x and dout); Fourier ~ TRANSFORM_MS * (C+F)*Hp*Wp
# + MIX_MS * C*F*Hp*(Wp//2+1).
IM2COL_MS, SHIFTS_MS, COPY_MS = 1.3e-7, 5.6e-8, 1.5e-6
TRANSFORM_MS, MIX_MS = 1.1e-5, 2.8e-7
METHODS = ("auto", "im2col", "shifts", "fft")
# Fewest entries of dw (F*C*KH*KW) for which copying dout transposed pays
# (measured: view 0.83x the copy's time at 2400 entries, 1.16x at 4608).
DOUT_COPY_MIN = 4096


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


def route(x_shape, w_shape, stride, padding):
    """The fastest way to compute a convolution: ``"im2col"``, ``"shifts"`` or ``"fft"``.

    Parameters
    ----------
    x_shape : tuple of four ints
        ``(N, C, H, W)``.
    w_shape : tuple of four ints
        ``(F, C, KH, KW)``.
    stride, padding : tuple of two ints

    Returns
    -------
    str
        ``"im2col"`` for any stride other than 1. For stride 1, ``"shifts"``
        from SHIFTS_MIN_C channels on, ``"fft"`` when the cost model expects
        it to beat both.
    """
    _, C, H, W = x_shape
    F, _, KH, KW = w_shape
    if tuple(stride) != (1, 1):
        return "im2col"
    Hp, Wp = H + 2 * padding[0], W + 2 * padding[1]
    OH, OW = Hp - KH + 1, Wp - KW + 1
    products = F * C * KH * KW * OH * OW
    if C >= SHIFTS_MIN_C:
        stacks = KW * (C * Hp * OW + F * (H + KH - 1) * W)
        direct, cost = "shifts", SHIFTS_MS * products + COPY_MS * stacks
    else:
        direct, cost = "im2col", IM2COL_MS * products
    fourier = TRANSFORM_MS * (C + F) * Hp * Wp + MIX_MS * C * F * Hp * (Wp // 2 + 1)
    return "fft" if fourier < cost else direct


def conv2d_forward(x, w, b, stride=1, padding=0, method="auto"):
    """2-D convolution of a batch of images (im2col, shifts or Fourier route, see :func:`route`).

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
    method : {"auto", "im2col", "shifts", "fft"}, default "auto"
        How to compute it; "auto" asks :func:`route`. "shifts" and "fft" need
        stride 1.

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
        kernel larger than the padded input, an invalid stride/padding, or an
        unknown method ("shifts" or "fft" with a stride other than 1).

    Notes
    -----
    Mixed dtypes follow numpy promotion (float32 x with float64 w computes in
    float64); use float32 throughout for speed. Without padding, the im2col
    route's cache refers to `x` without copying it, so do not modify `x` in
    place before the backward pass.
    """
    fn = "conv2d_forward"
    x, w, b, stride, padding, (OH, OW) = conv_check_inputs(fn, x, w, b, stride, padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    if method not in METHODS:
        raise ValueError(f"{fn}: method must be one of {METHODS}, got {method!r}")
    if method in ("shifts", "fft") and stride != (1, 1):
        raise ValueError(f"{fn}: method={method!r} needs stride 1, got stride {stride}")
    chosen = route(x.shape, w.shape, stride, padding) if method == "auto" else method
    cache = {"op": fn, "route": chosen, "w": w, "has_b": b is not None, "x_shape": x.shape,
             "stride": stride, "padding": padding, "out_shape": (N, F, OH, OW)}
    key = (fn, x.shape, w.shape, stride, padding, x.dtype)
    if chosen == "fft":
        Hp, Wp = H + 2 * padding[0], W + 2 * padding[1]
        step = _chunk(N, 2 * max(C, F) * Hp * Wp * x.itemsize)
        with blas_single_thread():
            out, cache["fft"] = fft_forward(x, w, b, padding, step, 2 * MIN_CHUNKS, key)
        return out, cache
    K, P = C * KH * KW, OH * OW
    step = _chunk(N, K * P * x.itemsize)
    if chosen == "shifts":
        with blas_single_thread():
            out, cache["stack"] = shifts_forward(x, w, b, padding, step, key)
        return out, cache
    xp = pad2d(x, padding)
    win = windows(xp, (KH, KW), stride, (OH, OW))
    w2 = w.reshape(F, K)
    out = np.empty((N, F, P), dtype=x.dtype)

    def chunk(lo, hi, scratch):
        cols = _im2col(scratch, win[lo:hi], (step, K, P))
        # (F, K) @ (n, K, P) -> (n, F, P): already in NCHW order
        np.matmul(w2, cols, out=out[lo:hi])
        if b is not None:
            out[lo:hi] += b[:, None]  # while the chunk is still in the cache

    with blas_single_thread():
        run_ranges(chunk, N, step, key)
    cache["xp"] = xp
    return out.reshape(N, F, OH, OW), cache


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
    w, stride = cache["w"], cache["stride"]
    dout = np.ascontiguousarray(dout, dtype=w.dtype)
    if cache["route"] == "fft":
        with blas_single_thread():
            return fft_backward(dout, w, cache["x_shape"], cache["has_b"], cache["fft"])
    N, F, OH, OW = dout.shape
    _, C, KH, KW = w.shape
    K, P = C * KH * KW, OH * OW
    step = _chunk(N, K * P * w.itemsize)
    key = (fn, dout.shape, w.shape, stride, w.dtype)
    if cache["route"] == "shifts":
        with blas_single_thread():
            return shifts_backward(dout, w, cache["stack"], cache["x_shape"], cache["padding"],
                                   cache["has_b"], step, key)
    xp = cache["xp"]
    dout3 = dout.reshape(N, F, P)
    win = windows(xp, (KH, KW), stride, (OH, OW))
    dx = np.empty(cache["x_shape"], dtype=w.dtype)
    fill_dx = make_dx(w, dx.shape, stride, cache["padding"], (OH, OW), step)
    n_chunks = -(-N // step)
    # one partial dw (and db) per chunk, added in chunk order: the same bits
    # whatever the thread count
    dw_parts = np.empty((n_chunks, K, F), dtype=w.dtype)
    db_parts = np.empty((n_chunks, F), dtype=w.dtype) if cache["has_b"] else None

    def chunk(lo, hi, scratch):
        i = lo // step
        cols = _im2col(scratch, win[lo:hi], (step, K, P))
        # sum_n cols_n @ dout_n.T (dout_n.T copied for large products: module docstring)
        doutT = transposed(scratch, dout3[lo:hi], step, K * F >= DOUT_COPY_MIN)
        np.matmul(cols, doutT).sum(axis=0, out=dw_parts[i])
        if cache["has_b"]:
            dout3[lo:hi].sum(axis=2).sum(axis=0, out=db_parts[i])
        fill_dx(dx[lo:hi], dout[lo:hi], scratch)

    with blas_single_thread():
        run_ranges(chunk, N, step, key)
    dw = np.ascontiguousarray(dw_parts.sum(axis=0).T).reshape(w.shape)
    db = db_parts.sum(axis=0) if cache["has_b"] else None
    return dx, dw, db


def _chunk(N, bytes_per_image):
    """Images per chunk: columns of at most CHUNK_BYTES, at least MIN_CHUNKS chunks, all alike.

    Depends on the batch only, never on the thread count, so that results do not either.
    """
    return even_step(N, max(1, min(CHUNK_BYTES // max(1, bytes_per_image), -(-N // MIN_CHUNKS))))


def _im2col(scratch, win, full_shape):
    """Copy a chunk's windows (n, C, KH, KW, OH, OW) into the thread's column buffer.

    The buffer is reused from chunk to chunk: a fresh array for each would
    cost page faults as well as the copy.
    """
    cols = scratch_array(scratch, "cols", full_shape, win.dtype)[:win.shape[0]]
    np.copyto(cols.reshape(win.shape), win)
    return cols
