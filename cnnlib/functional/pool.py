"""Max and average pooling over 2-D windows (no padding), like torch.

Both loop over the ``KH * KW`` offsets inside a window; each step handles
every window of the batch at once (a strided view), so the loops are short.
Max pooling has a faster route for tiled windows (kernel == stride, sizes
divisible, e.g. the usual 2x2 / 2) that scans rows first, then columns,
a chunk of images at a time so that the engine's threads share the work
(:mod:`cnnlib._threads`).
"""
import numpy as np

from .._threads import even_step, run_ranges, scratch_array
from ._validate import as_float_array, check_cache, check_dout, check_ndim, pair
from .im2col import _window, conv_output_size

# Bytes of input per chunk of the tiled max-pool route.
CHUNK_BYTES = 2 ** 19


def _pool_check(fn, x, kernel_size, stride):
    """Validate pooling arguments; return x, kernel, stride, (OH, OW)."""
    x = as_float_array(fn, "x", x)
    check_ndim(fn, "x", x, 4, "(N, C, H, W)")
    kernel = pair(fn, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair(fn, "stride", stride, 1)
    H, W = x.shape[2:]
    if kernel[0] > H or kernel[1] > W:
        raise ValueError(
            f"{fn}: kernel_size {kernel} is larger than the input ({H}, {W}) "
            f"(x shape {x.shape})"
        )
    out_size = (conv_output_size(H, kernel[0], stride[0], 0),
                conv_output_size(W, kernel[1], stride[1], 0))
    return x, kernel, stride, out_size


def max_pool2d_forward(x, kernel_size, stride=None):
    """Max pooling: the largest value of each window.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    kernel_size : int or tuple of two ints
        Window size ``(KH, KW)``.
    stride : int or tuple of two ints, optional
        Defaults to `kernel_size` (non-overlapping windows).

    Returns
    -------
    out : (N, C, OH, OW) ndarray
        ``OH = (H - KH) // sh + 1``: rows and columns that do not fill a whole
        window are dropped, as in torch.
    cache : dict
        Holds the position of each window's maximum (small integer arrays).
    """
    fn = "max_pool2d_forward"
    x, (KH, KW), stride, (OH, OW) = _pool_check(fn, x, kernel_size, stride)
    N, C, H, W = x.shape
    cache = {"op": fn, "x_shape": x.shape, "dtype": x.dtype, "kernel": (KH, KW),
             "stride": stride, "out_shape": (N, C, OH, OW)}
    if stride == (KH, KW) and H % KH == 0 and W % KW == 0:
        return _tiled_max_forward(x, cache)
    windows = [_window(x, kh, kw, stride, OH, OW) for kh in range(KH) for kw in range(KW)]
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=_index_dtype(KH * KW))
    _first_max(windows, out, argmax)
    cache.update(tiled=False, argmax=argmax)
    return out, cache


def _index_dtype(k):
    """Smallest integer type holding the index of one of `k` candidates."""
    return np.int8 if k <= 127 else np.int32


def _tiled_max_forward(x, cache):
    """Tiled windows (kernel == stride, sizes divisible), a chunk of images at a time.

    First the max of each row piece of KW neighbours, then the max of KH such
    row maxima: both steps scan long strided views, which numpy does fast.
    """
    N, C, H, W = x.shape
    KH, KW = cache["kernel"]
    OH, OW = H // KH, W // KW
    x = np.ascontiguousarray(x)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    col_idx = np.empty((N, C, H, OW), dtype=_index_dtype(KW))   # winner in each row piece
    row_idx = np.empty((N, C, OH, OW), dtype=_index_dtype(KH))  # winning row piece
    step = even_step(N, max(1, CHUNK_BYTES // max(1, x[:1].nbytes)))

    def chunk(lo, hi, scratch):
        sl, n = slice(lo, hi), hi - lo
        row_max = scratch_array(scratch, "pool_row_max", (step * C * H * OW,), x.dtype)
        row_max = row_max[:n * C * H * OW]
        _first_max(x[sl].reshape(-1, KW), row_max, col_idx[sl].reshape(-1))
        _first_max(row_max.reshape(-1, KH, OW), out[sl].reshape(-1, OW),
                   row_idx[sl].reshape(-1, OW))

    run_ranges(chunk, N, step, key=("max_pool2d_forward", x.shape, x.dtype, KH, KW))
    cache.update(tiled=True, row_idx=row_idx, col_idx=col_idx, step=step)
    return out, cache


def _first_max(candidates, best, idx):
    """Element-wise maximum over candidates and the index of the FIRST one reaching it.

    Ties go to the earliest candidate, as in torch. When the windows are
    scanned in row-major order that is the element torch sends the gradient to.

    Parameters
    ----------
    candidates : sequence of k ndarrays of equal shape, or ndarray (M, k) or (M, k, L)
        Indexing ``candidates[j]`` (or ``candidates[:, j]`` for an ndarray)
        gives candidate j.
    best : ndarray
        Receives the maximum; the shape of one candidate.
    idx : int8 (int32 for more than 127 candidates) ndarray
        Receives the index of the first candidate equal to the maximum.
    """
    if isinstance(candidates, np.ndarray):
        k = candidates.shape[1]
        get = lambda j: candidates[:, j]  # noqa: E731
    else:
        k = len(candidates)
        get = candidates.__getitem__
    if k == 1:
        best[...], idx[...] = get(0), 0
        return
    # strictly greater: an equal later value never takes over
    if idx.dtype == np.int8:
        np.greater(get(1), get(0), out=idx.view(np.bool_))  # True/False is exactly index 1/0
    else:
        idx[...] = get(1) > get(0)
    np.maximum(get(0), get(1), out=best)
    for j in range(2, k):
        v = get(j)
        np.copyto(idx, j, where=v > best)
        np.maximum(best, v, out=best)


def max_pool2d_backward(dout, cache):
    """Backward pass of :func:`max_pool2d_forward`.

    Each window sends its gradient to the single element that was its
    maximum (the first one in row-major order on ties). With overlapping
    windows an element can be the maximum of several windows; it then
    receives the sum of their gradients.

    Parameters
    ----------
    dout : (N, C, OH, OW) ndarray
    cache : dict
        Returned by :func:`max_pool2d_forward`.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    """
    fn = "max_pool2d_backward"
    check_cache(fn, cache, "max_pool2d_forward")
    dout = check_dout(fn, dout, cache["out_shape"]).astype(cache["dtype"], copy=False)
    if cache["tiled"]:
        return _tiled_max_backward(dout, cache)
    (KH, KW), stride = cache["kernel"], cache["stride"]
    OH, OW = dout.shape[2:]
    argmax = cache["argmax"]
    dx = np.zeros(cache["x_shape"], dtype=dout.dtype)
    for k in range(KH * KW):
        kh, kw = divmod(k, KW)
        _window(dx, kh, kw, stride, OH, OW)[...] += dout * (argmax == k)
    return dx


def _tiled_max_backward(dout, cache):
    """Undo the two steps of the tiled forward pass, a chunk of images at a time:
    route each gradient to the winning row piece, then to the winner inside it."""
    (KH, KW), step = cache["kernel"], cache["step"]
    row_idx, col_idx = cache["row_idx"], cache["col_idx"]
    N, C, OH, OW = dout.shape
    dout = np.ascontiguousarray(dout)
    dx = np.empty(cache["x_shape"], dtype=dout.dtype)

    def chunk(lo, hi, scratch):
        sl = slice(lo, hi)
        d, rows = dout[sl].reshape(-1, OW), row_idx[sl].reshape(-1, OW)
        drow = scratch_array(scratch, "pool_drow", (step * C * OH, KH, OW), dout.dtype)
        drow = drow[:len(d)]
        for r in range(KH):
            np.multiply(d, rows == r, out=drow[:, r])
        drow, cols, dx_pieces = drow.reshape(-1), col_idx[sl].reshape(-1), dx[sl].reshape(-1, KW)
        for j in range(KW):
            np.multiply(drow, cols == j, out=dx_pieces[:, j])

    run_ranges(chunk, N, step, key=("max_pool2d_backward", dx.shape, dx.dtype, KH, KW))
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    """Average pooling: the mean of each window.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    kernel_size : int or tuple of two ints
    stride : int or tuple of two ints, optional
        Defaults to `kernel_size`.

    Returns
    -------
    out : (N, C, OH, OW) ndarray
    cache : dict
    """
    fn = "avg_pool2d_forward"
    x, (KH, KW), stride, (OH, OW) = _pool_check(fn, x, kernel_size, stride)
    out = _window(x, 0, 0, stride, OH, OW).copy()
    for k in range(1, KH * KW):
        kh, kw = divmod(k, KW)
        out += _window(x, kh, kw, stride, OH, OW)
    out /= KH * KW
    cache = {"op": fn, "x_shape": x.shape, "dtype": x.dtype, "kernel": (KH, KW),
             "stride": stride, "out_shape": out.shape}
    return out, cache


def avg_pool2d_backward(dout, cache):
    """Backward pass of :func:`avg_pool2d_forward`: each window element gets ``dout / (KH*KW)``.

    Parameters
    ----------
    dout : (N, C, OH, OW) ndarray
    cache : dict
        Returned by :func:`avg_pool2d_forward`.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    """
    fn = "avg_pool2d_backward"
    check_cache(fn, cache, "avg_pool2d_forward")
    dout = check_dout(fn, dout, cache["out_shape"]).astype(cache["dtype"], copy=False)
    (KH, KW), stride = cache["kernel"], cache["stride"]
    OH, OW = dout.shape[2:]
    share = dout / (KH * KW)
    dx = np.zeros(cache["x_shape"], dtype=dout.dtype)
    for k in range(KH * KW):
        kh, kw = divmod(k, KW)
        _window(dx, kh, kw, stride, OH, OW)[...] += share
    return dx
