"""Stride-1 convolution by stacked shifted copies of the input, no im2col.

With stride 1, output pixel ``(oh, ow)`` reads input row ``oh + kh`` for
kernel row ``kh``. Lay the row-padded input of each channel out flat on a
grid ``OW`` columns wide, and kernel row ``kh`` reads the grid ``kh`` rows
further on: a strided *view*. Kernel column ``kw`` shifts the columns
instead, which a view cannot do at a row's ends, so the input is copied
``KW`` times, copy ``kw`` shifted by ``kw - pw`` columns, the pixels that fall
off a row's end left out (that is the zero padding). Stacked as rows
``(kw, c)``, the copies turn the forward pass into ``KH`` matrix products

    out = sum over kh of  wf[kh] (F, KW*C) @ stack[:, kh*OW : kh*OW + OH*OW]

whose results are already in NCHW order. ``dw[kh]`` is the same view times
``dout`` transposed (the forward pass keeps the stack for it), and ``dx`` the
same construction on ``dout`` with the flipped kernel (a stride-1
convolution's input gradient is a convolution).

Against im2col: ``KW`` copies of the input instead of ``KH*KW``, and no
col2im. Measured 0.74x the im2col route's time for forward+backward of a
16->32 channel 3x3 layer (14x14, float32, one thread), 0.68x for 8->16
channels, 0.77x for 4->8 on 28x28. With fewer channels a product with
``KW*C`` rows is too small to pay for the copies (1.6x slower with one
channel, 1.15x with three), so :func:`cnnlib.functional.conv.route` takes
this route from SHIFTS_MIN_C channels on. Results equal im2col's up to
rounding.
"""
import numpy as np

from .._threads import run_ranges, scratch_array

# Fewest input channels for which this route beats im2col (see above).
SHIFTS_MIN_C = 4
# Fewest entries of a kernel row's dw (KW*C*F) for which copying dout
# transposed pays (see cnnlib.functional.conv; measured: a view 0.83x the
# copy's time at 384 entries, 1.45x at 1536).
DOUT_COPY_MIN = 1024


def shifts_forward(x, w, b, padding, step, key):
    """Forward pass; arguments already checked and cast by ``conv2d_forward``.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    w : (F, C, KH, KW) ndarray
    b : (F,) ndarray or None
    padding : tuple of two ints
    step : int
        Images per chunk.
    key : tuple
        Names the call site for :func:`cnnlib._threads.run_ranges`.

    Returns
    -------
    out : (N, F, OH, OW) ndarray
    stack : (N, KW*C, R) ndarray
        The stacked copies of `x`, which :func:`shifts_backward` needs for
        ``dw``: keeping them costs ``KW`` times the input's memory and saves
        building them again (measured 7 % of forward+backward on two
        threads, no difference on one).
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    ph, pw = padding
    OH, OW = H + 2 * ph - KH + 1, W + 2 * pw - KW + 1
    grid = (H + 2 * ph, OW)
    # wf[kh][f, (kw, c)] = w[f, c, kh, kw]: the row order of the stack
    wf = np.ascontiguousarray(w.transpose(2, 0, 3, 1)).reshape(KH, F, KW * C)
    out = np.empty((N, F, OH * OW), dtype=x.dtype)
    stack = np.empty((N, KW * C, stack_row(grid[0] * grid[1], x.itemsize)), dtype=x.dtype)

    def chunk(lo, hi, scratch):
        _fill_stack(stack[lo:hi], x[lo:hi], KW, grid, (ph, pw))
        part = scratch_array(scratch, "shifts_part", (step, F, OH * OW), x.dtype)[:hi - lo]
        _correlate(stack[lo:hi], wf, OW, out[lo:hi], part)
        if b is not None:
            out[lo:hi] += b[:, None]  # while the chunk is still in the cache

    run_ranges(chunk, N, step, key)
    return out.reshape(N, F, OH, OW), stack


def shifts_backward(dout, w, stack, x_shape, padding, has_b, step, key):
    """Backward pass of :func:`shifts_forward`: ``dx, dw, db`` (db None without a bias).

    Parameters
    ----------
    dout : (N, F, OH, OW) ndarray
        Checked and contiguous, dtype of the forward pass.
    w : (F, C, KH, KW) ndarray
    stack : (N, KW*C, R) ndarray
        From :func:`shifts_forward`.
    x_shape : tuple of four ints
        ``(N, C, H, W)``, the forward input's shape.
    padding : tuple of two ints
    has_b : bool
    step : int
        Images per chunk, as in the forward pass.
    key : tuple
        Names the call site for :func:`cnnlib._threads.run_ranges`.
    """
    N, F, OH, OW = dout.shape
    _, C, KH, KW = w.shape
    H, W = x_shape[2:]
    ph, pw = padding
    P = OH * OW
    # dx[c, h, w] = sum of w[f, c, KH-1-kh, KW-1-kw] * dout[f, h + kh - qh, w + kw - qw]
    qh, qw = KH - 1 - ph, KW - 1 - pw
    wk = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 1, 3, 0)).reshape(KH, C, KW * F)
    dgrid = (H + KH - 1, W)
    dx = np.empty((N, C, H * W), dtype=w.dtype)
    n_chunks = -(-N // step)
    # one partial dw (and db) per chunk, added in chunk order: the same bits
    # whatever the thread count
    dw_parts = np.empty((n_chunks, KH, KW * C, F), dtype=w.dtype)
    db_parts = np.empty((n_chunks, F), dtype=w.dtype) if has_b else None
    copy = KW * C * F >= DOUT_COPY_MIN

    def chunk(lo, hi, scratch):
        n, i = hi - lo, lo // step
        doutT = transposed(scratch, dout[lo:hi].reshape(n, F, P), step, copy)
        prod = scratch_array(scratch, "shifts_dw", (step, KW * C, F), w.dtype)[:n]
        for kh in range(KH):
            np.matmul(stack[lo:hi, :, kh * OW:kh * OW + P], doutT, out=prod)
            prod.sum(axis=0, out=dw_parts[i, kh])
        if has_b:
            dout[lo:hi].sum(axis=(0, 2, 3), out=db_parts[i])
        dstack = scratch_array(scratch, "shifts_dstack",
                               (step, KW * F, stack_row(dgrid[0] * dgrid[1], w.itemsize)),
                               w.dtype)[:n]
        _fill_stack(dstack, dout[lo:hi], KW, dgrid, (qh, qw))
        part = scratch_array(scratch, "shifts_dpart", (step, C, H * W), w.dtype)[:n]
        _correlate(dstack, wk, W, dx[lo:hi], part)

    run_ranges(chunk, N, step, key)
    # (KH, KW, C, F) -> (F, C, KH, KW)
    dw = dw_parts.sum(axis=0).reshape(KH, KW, C, F).transpose(3, 2, 0, 1)
    db = db_parts.sum(axis=0) if has_b else None
    return dx.reshape(x_shape), np.ascontiguousarray(dw), db


def transposed(scratch, d, step, copy):
    """`d` (n, F, P) transposed to (n, P, F): a view, or with `copy` a contiguous copy.

    OpenBLAS skips repacking operands that are not transposed views, which
    pays for the copy in large products only (see :mod:`cnnlib.functional.conv`).
    """
    d = d.transpose(0, 2, 1)
    if not copy:
        return d
    out = scratch_array(scratch, "doutT", (step,) + d.shape[1:], d.dtype)[:len(d)]
    np.copyto(out, d)
    return out


def stack_row(G, itemsize):
    """Length of a stack's rows holding a grid of ``G`` values: ``G`` plus a little padding.

    Rows a multiple of 512 bytes apart (a 16x16 grid of float32: 1024) fall
    into the same few sets of the CPU cache, and BLAS, reading a column
    across the rows, evicts its own data: a 16-row product measured 82 GF/s
    on such rows and 116 on rows 64 bytes longer.
    """
    row = -(-G * itemsize // 64) * 64  # whole cache lines
    if row % 512 == 0:
        row += 64
    return row // itemsize


def _fill_stack(stack, a, KW, grid, offset):
    """Write ``KW`` shifted copies of `a` (n, A, Ha, Wa) on grids into `stack` (n, KW*A, R).

    Copy ``kw`` (stack rows ``kw*A`` to ``kw*A + A - 1``) holds ``a[:, :, i, j]``
    at row ``i + r0``, column ``j + c0 - kw`` of an ``(Hg, Wg) = grid`` grid laid
    out flat, ``(r0, c0) = offset``. What falls off the grid is left out and
    everything else is 0.
    """
    n, A, Ha, Wa = a.shape
    Hg, Wg = grid
    r0, c0 = offset
    stack.fill(0)  # one quick pass; what the copies leave is the padding
    copies = stack.reshape(n, KW, A, -1)[..., :Hg * Wg].reshape(n, KW, A, Hg, Wg)
    i0, i1 = max(0, -r0), min(Ha, Hg - r0)
    for kw in range(KW):
        s = c0 - kw
        j0, j1 = max(0, -s), min(Wa, Wg - s)
        if i0 < i1 and j0 < j1:
            copies[:, kw, :, i0 + r0:i1 + r0, j0 + s:j1 + s] = a[:, :, i0:i1, j0:j1]


def _correlate(stack, wk, Wg, out, part):
    """``out`` (n, B, L) = sum over kh of ``wk[kh]`` (B, K) @ ``stack[:, :, kh*Wg : kh*Wg + L]``.

    `part` is a work array shaped like `out`.
    """
    L = out.shape[2]
    np.matmul(wk[0], stack[:, :, :L], out=out)
    for kh in range(1, len(wk)):
        out += np.matmul(wk[kh], stack[:, :, kh * Wg:kh * Wg + L], out=part)
