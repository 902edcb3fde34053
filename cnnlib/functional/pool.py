"""Max and average pooling over 2-D windows (no padding), like torch.

Both loop over the ``KH * KW`` offsets inside a window; each step handles
every window of the batch at once (a strided view), so the loops are short.
Max pooling has a faster route for tiled windows (kernel == stride, sizes
divisible, e.g. the usual 2x2 / 2) that scans rows first, then columns.
"""
import numpy as np

from ._validate import as_float_array, check_cache, check_dout, check_ndim, pair
from .im2col import _window, conv_output_size


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
        Holds the position of each window's maximum (small integer array).
    """
    fn = "max_pool2d_forward"
    x, (KH, KW), stride, (OH, OW) = _pool_check(fn, x, kernel_size, stride)
    N, C, H, W = x.shape
    cache = {"op": fn, "x_shape": x.shape, "dtype": x.dtype, "kernel": (KH, KW),
             "stride": stride, "out_shape": (N, C, OH, OW)}
    if stride == (KH, KW) and H % KH == 0 and W % KW == 0:
        # Tiled windows (the usual 2x2, stride 2): first the max of each row
        # piece of KW neighbours, then the max of KH such row maxima. Both
        # steps scan long strided 1-D/2-D views, which numpy does fast.
        row_max, col_idx = _first_max(x.reshape(-1, KW, 1))
        out, row_idx = _first_max(row_max.reshape(-1, KH, OW))
        cache.update(tiled=True, row_idx=row_idx, col_idx=col_idx)
        return out.reshape(N, C, OH, OW), cache
    windows = [_window(x, kh, kw, stride, OH, OW) for kh in range(KH) for kw in range(KW)]
    out, argmax = _first_max(windows)
    cache.update(tiled=False, argmax=argmax)
    return out, cache


def _first_max(candidates):
    """Element-wise maximum over candidates and the index of the FIRST one reaching it.

    Ties go to the earliest candidate, as in torch. When the windows are
    scanned in row-major order that is the element torch sends the gradient to.

    Parameters
    ----------
    candidates : sequence of k ndarrays of equal shape, or ndarray (M, k, L)
        Indexing ``candidates[j]`` (or ``candidates[:, j]`` for an ndarray)
        gives candidate j.

    Returns
    -------
    best : ndarray
    idx : int8 (or int32 for more than 127 candidates) ndarray
    """
    if isinstance(candidates, np.ndarray):
        k = candidates.shape[1]
        get = lambda j: candidates[:, j]  # noqa: E731
    else:
        k = len(candidates)
        get = candidates.__getitem__
    dtype = np.int8 if k <= 127 else np.int32
    best = get(0)
    idx = np.zeros(best.shape, dtype=dtype)
    for j in range(1, k):
        v = get(j)
        # strictly greater: an equal later value never takes over
        later_wins = v > best
        if j == 1 and dtype is np.int8:
            idx = later_wins.view(np.int8)  # True/False is exactly index 1/0
        else:
            idx = np.where(later_wins, dtype(j), idx)
        best = np.maximum(best, v)
    return np.ascontiguousarray(best), idx


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
    (KH, KW), stride = cache["kernel"], cache["stride"]
    N, C, OH, OW = dout.shape
    if cache["tiled"]:
        # undo the two steps of the forward pass: route to the winning row
        # piece, then to the winning element inside it
        row_idx, col_idx = cache["row_idx"], cache["col_idx"]
        d = dout.reshape(row_idx.shape)
        drow = np.empty((row_idx.shape[0], KH, OW), dtype=dout.dtype)
        for i in range(KH):
            np.multiply(d, row_idx == i, out=drow[:, i])
        dx = np.empty(cache["x_shape"], dtype=dout.dtype)
        dx_pieces, drow = dx.reshape(-1, KW), drow.reshape(-1)
        col_idx = col_idx.reshape(-1)
        for j in range(KW):
            np.multiply(drow, col_idx == j, out=dx_pieces[:, j])
        return dx
    argmax = cache["argmax"]
    dx = np.zeros(cache["x_shape"], dtype=dout.dtype)
    for k in range(KH * KW):
        kh, kw = divmod(k, KW)
        _window(dx, kh, kw, stride, OH, OW)[...] += dout * (argmax == k)
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
