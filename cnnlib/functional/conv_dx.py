"""Input gradient of a convolution, ``dx``, one chunk of images at a time.

``dx`` is col2im of ``dcols = w.reshape(F, K).T @ dout``: every column entry
is added back onto the padded-input pixel it was read from. Two routes
(stride-1 layers with many channels take neither: see
:mod:`cnnlib.functional.conv_shifts`):

* **shifted sum** (stride 1): ``dout`` is laid out on a grid as wide as the
  padded input (``Wp`` columns, the last ``KW - 1`` of them zero). Then
  kernel offset ``(kh, kw)`` moves every column entry by the same
  ``kh*Wp + kw`` places, so one strided *view* of ``dcols`` lines every entry
  up with its pixel, and col2im is a single ``np.add.reduce`` over the
  ``KH*KW`` offsets. The zero columns cost ``Wp / OW`` extra arithmetic in
  the matrix product (1.3x for a 5x5 kernel on 14x14 images); measured 2-3x
  faster than col2im overall.
* **col2im** (any stride): for each kernel offset, add an ``(n, C, OH, OW)``
  block of ``dcols`` onto a strided window of ``dx``. numpy pays a fixed
  cost for each row of a strided add, and these rows are only ``OW`` long.

:func:`make_dx` picks the route once per backward pass and returns a
function that fills the ``dx`` of one chunk. All give the same sums up to
rounding (the additions happen in another order).
"""
import numpy as np

from .._threads import scratch_array
from .im2col import _window


def make_dx(w, x_shape, stride, padding, out_size, step):
    """Choose how to compute dx and prepare the weights for it.

    Parameters
    ----------
    w : (F, C, KH, KW) ndarray
    x_shape : tuple of four ints
        ``(N, C, H, W)``, shape of the forward input.
    stride, padding, out_size : tuple of two ints
    step : int
        Most images in a chunk (sizes the reusable buffers).

    Returns
    -------
    callable
        ``fill(dx, dout, scratch)`` writes the input gradient of one chunk
        into `dx` (n, C, H, W) from its `dout` (n, F, OH, OW); `scratch` is
        the running thread's :class:`cnnlib._threads.Scratch`.
    """
    if stride == (1, 1):
        return _shifted_sum(w, x_shape, padding, out_size, step)
    return _col2im(w, x_shape, stride, padding, out_size, step)


def _col2im(w, x_shape, stride, padding, out_size, step):
    F, C, KH, KW = w.shape
    H, W = x_shape[2:]
    ph, pw = padding
    OH, OW = out_size
    w2t = np.ascontiguousarray(w.reshape(F, C * KH * KW).T)
    padded = (step, C, H + 2 * ph, W + 2 * pw)

    def fill(dx, dout, scratch):
        n = dout.shape[0]
        dcols = scratch_array(scratch, "dcols", (step, C * KH * KW, OH * OW), w.dtype)[:n]
        np.matmul(w2t, dout.reshape(n, F, OH * OW), out=dcols)
        dcols = dcols.reshape(n, C, KH, KW, OH, OW)
        dxp = scratch_array(scratch, "dxp", padded, w.dtype)[:n]
        dxp[...] = 0
        for kh in range(KH):
            for kw in range(KW):
                _window(dxp, kh, kw, stride, OH, OW)[...] += dcols[:, :, kh, kw]
        dx[...] = dxp[:, :, ph:ph + H, pw:pw + W]

    return fill


def _shifted_sum(w, x_shape, padding, out_size, step):
    F, C, KH, KW = w.shape
    H, W = x_shape[2:]
    ph, pw = padding
    OH, OW = out_size
    Hp, Wp = H + 2 * ph, W + 2 * pw
    L = OH * Wp                    # output positions on the wide grid
    M = (KH - 1) * Wp + KW - 1     # zero margin on each side: the largest shift
    K = C * KH * KW
    w2t = np.ascontiguousarray(w.reshape(F, K).T)  # no transposed operand: see conv.py

    def fill(dx, dout, scratch):
        n = dout.shape[0]
        # columns OW..Wp-1 of the wide grid hold zeros forever
        dwide = scratch_array(scratch, f"dwide{OW}", (step, F, OH, Wp), w.dtype, zero=True)[:n]
        dwide[..., :OW] = dout
        # the product fills the middle of each row; the margins stay zero forever
        dcols = scratch_array(scratch, f"dcols_wide{M}", (step, K, L + 2 * M), w.dtype, zero=True)
        np.matmul(w2t, dwide.reshape(n, F, L), out=dcols[:n, :, M:M + L])
        # shifted[n, c, kh, kw, q] = dcols[n, (c, kh, kw), M + q - kh*Wp - kw]: a view
        # that lines every column entry up with the padded pixel q it came from
        sn, sk = dcols.strides[:2]
        item = dcols.itemsize
        shifted = np.ndarray((step, C, KH, KW, Hp * Wp), w.dtype, buffer=dcols, offset=M * item,
                             strides=(sn, KH * KW * sk, KW * sk - Wp * item, sk - item, item))[:n]
        dxp = scratch_array(scratch, "dxp_wide", (step, C, Hp * Wp), w.dtype)[:n]
        np.add.reduce(shifted, axis=(2, 3), out=dxp)
        dx[...] = dxp.reshape(n, C, Hp, Wp)[:, :, ph:ph + H, pw:pw + W]

    return fill
