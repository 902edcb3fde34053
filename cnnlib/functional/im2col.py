"""im2col / col2im: turn a convolution into one matrix multiplication.

Each output position of a convolution reads a ``C x KH x KW`` patch of the
(padded) input. ``im2col`` copies every patch into a column, so the whole
convolution becomes ``w.reshape(F, C*KH*KW) @ cols``, a single BLAS call.
``col2im`` is its adjoint: it adds the columns back into image positions,
which is exactly what the backward pass needs for ``dx``.

``im2col`` builds a strided *view* of all windows and copies it once;
``col2im`` loops over the ``KH * KW`` kernel offsets only, each step adding
a whole ``(N, C, OH, OW)`` block at once, so the Python overhead is tiny.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_output_size(size, kernel, stride, padding):
    """Output length along one axis: ``floor((size + 2*padding - kernel) / stride) + 1``.

    Parameters
    ----------
    size, kernel, stride, padding : int

    Returns
    -------
    int
    """
    return (size + 2 * padding - kernel) // stride + 1


def pad2d(x, padding):
    """Zero-pad the last two axes of `x`.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    padding : tuple of two ints
        ``(ph, pw)``.

    Returns
    -------
    (N, C, H + 2*ph, W + 2*pw) ndarray
        `x` itself when no padding is needed (no copy).
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    N, C, H, W = x.shape
    # zeros + one slice assignment is several times faster than np.pad
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    return xp


def _window(a, kh, kw, stride, OH, OW):
    """View of the input pixels that kernel offset ``(kh, kw)`` touches, shape (N, C, OH, OW)."""
    sh, sw = stride
    return a[:, :, kh:kh + sh * (OH - 1) + 1:sh, kw:kw + sw * (OW - 1) + 1:sw]


def windows(xp, kernel, stride, out_size):
    """Every receptive field of `xp`, as a strided view (no copy).

    Parameters
    ----------
    xp : (N, C, Hp, Wp) ndarray
        Already padded input.
    kernel, stride, out_size : tuple of two ints
        ``(KH, KW)``, ``(sh, sw)`` and ``(OH, OW)``.

    Returns
    -------
    (N, C, KH, KW, OH, OW) ndarray
        ``win[n, c, kh, kw, i, j] = xp[n, c, i*sh + kh, j*sw + kw]``; a view of
        `xp`, so copying it into ``(N, C*KH*KW, OH*OW)`` is im2col.
    """
    sh, sw = stride
    OH, OW = out_size
    win = sliding_window_view(xp, kernel, axis=(2, 3))[:, :, :sh * (OH - 1) + 1:sh,
                                                       :sw * (OW - 1) + 1:sw]
    return win.transpose(0, 1, 4, 5, 2, 3)


def im2col(xp, kernel, stride, out_size, out=None):
    """Gather every receptive field of `xp` into the columns of a matrix.

    Parameters
    ----------
    xp : (N, C, Hp, Wp) ndarray
        Already padded input.
    kernel : tuple of two ints
        ``(KH, KW)``.
    stride : tuple of two ints
        ``(sh, sw)``.
    out_size : tuple of two ints
        ``(OH, OW)``.
    out : (N, C*KH*KW, OH*OW) ndarray, optional
        Contiguous array to write the columns into (saves an allocation).

    Returns
    -------
    cols : (N, C*KH*KW, OH*OW) ndarray
        ``cols[n, (c*KH + i)*KW + j, p]`` is the input pixel that kernel entry
        ``(c, i, j)`` multiplies at output position ``p = oh*OW + ow``. The row
        order matches ``w.reshape(F, C*KH*KW)``.
    """
    N, C = xp.shape[:2]
    KH, KW = kernel
    OH, OW = out_size
    win = windows(xp, kernel, stride, out_size)
    if out is None:
        out = np.empty((N, C * KH * KW, OH * OW), dtype=xp.dtype)
    elif out.shape != (N, C * KH * KW, OH * OW) or not out.flags.c_contiguous:
        # reshape of a non-contiguous array would copy, and the copy would be filled instead
        raise ValueError(f"im2col: out must be C-contiguous with shape "
                         f"{(N, C * KH * KW, OH * OW)}, got {out.shape}")
    # the one real copy: gather every window into its column
    np.copyto(out.reshape(win.shape), win)
    return out


def col2im(cols, padded_shape, kernel, stride, out_size):
    """Adjoint of :func:`im2col`: add each column entry back to its pixel.

    Parameters
    ----------
    cols : (N, C*KH*KW, OH*OW) ndarray
    padded_shape : tuple of four ints
        ``(N, C, Hp, Wp)``, the shape of the padded input.
    kernel, stride, out_size : tuple of two ints
        As in :func:`im2col`.

    Returns
    -------
    (N, C, Hp, Wp) ndarray
        Pixels covered by several receptive fields receive the sum of their
        contributions; pixels no window touches stay 0.
    """
    N, C = padded_shape[:2]
    KH, KW = kernel
    OH, OW = out_size
    cols = cols.reshape(N, C, KH, KW, OH, OW)
    dxp = np.zeros(padded_shape, dtype=cols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            _window(dxp, kh, kw, stride, OH, OW)[...] += cols[:, :, kh, kw]
    return dxp
