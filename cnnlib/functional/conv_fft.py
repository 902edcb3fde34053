"""Stride-1 convolution in the Fourier domain, for layers with many channels.

By the convolution theorem a convolution becomes a product of Fourier
transforms, one for each frequency. Here the products also mix channels: at
every frequency ``z`` the forward pass is one small complex matrix product
``out_hat[z] (N, F) = x_hat[z] (N, C) @ conj(w_hat[z]) (C, F)``, and the
backward pass two more (for ``dx`` and ``dw``). That is ``KH*KW`` times less
arithmetic than im2col for the channel mixing (7x fewer operations for a 5x5
kernel with 16 channels in and 32 out), paid for by transforming every image
in and out.

Transforms on a grid the size of the padded input ``(Hp, Wp)`` never wrap
around: every sum the layer needs fits on it. They are matrix products with
precomputed tables of cosines and sines (a discrete Fourier transform of
length 14-32 is faster as a matrix product than with ``numpy.fft``), first
along the width (real input, ``Wp // 2 + 1`` frequencies), then along the
height. The tables also place the input at its padding offset and crop the
output, so nothing is padded or cropped by copying. Complex numbers are
stored as a real and an imaginary block (``ri``), so every product is a real
BLAS call.

Results equal im2col's up to rounding (float64: about 1e-15 relative).
:mod:`cnnlib.functional.conv` picks this route when it is the faster one.
"""
import math
from functools import lru_cache

import numpy as np

from .._threads import run_ranges, scratch_array, thread_scratch


@lru_cache(maxsize=64)
def _tables(H, W, KH, KW, ph, pw, dtype):
    """Every transform table of one layer shape (see :func:`_forward_table`)."""
    Hp, Wp = H + 2 * ph, W + 2 * pw
    OH, OW = Hp - KH + 1, Wp - KW + 1
    dtype = np.dtype(dtype)
    return {
        "x": _forward_table(H, W, Hp, Wp, ph, pw, dtype),
        "dout": _forward_table(OH, OW, Hp, Wp, 0, 0, dtype),
        "out": _inverse_table(OH, OW, Hp, Wp, 0, 0, dtype),
        "dx": _inverse_table(H, W, Hp, Wp, ph, pw, dtype),
        "w": _dense_forward(KH, KW, Hp, Wp, dtype),
        "dw": _dense_inverse(KH, KW, Hp, Wp, dtype),
    }


def _angles(positions, freqs, size, sign):
    # exact integer phase first: (p * k) mod size keeps float64 angles small
    return sign * 2 * np.pi * (np.outer(positions, freqs) % size) / size


def _forward_table(Hs, Ws, Hp, Wp, oh, ow, dtype):
    """Tables for an (Hs, Ws) image placed at (oh, ow) on the Hp x Wp grid.

    ``EW`` (Ws, 2*Kw): width transform, columns (ri, kw). ``G`` (2*Hp, 2*Hs):
    height transform of a complex block, rows (ri, kh), columns (ri, h).
    """
    Kw = Wp // 2 + 1
    a = _angles(np.arange(Ws) + ow, np.arange(Kw), Wp, -1)
    EW = np.concatenate([np.cos(a), np.sin(a)], axis=1)
    a = _angles(np.arange(Hp), np.arange(Hs) + oh, Hp, -1)
    G = np.block([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return EW.astype(dtype), G.astype(dtype)


def _half_weights(Wp):
    # the half spectrum stands for both halves: every frequency but 0 and
    # Wp/2 appears twice in the full one
    c = np.full(Wp // 2 + 1, 2.0)
    c[0] = 1.0
    if Wp % 2 == 0:
        c[-1] = 1.0
    return c


def _inverse_table(Hs, Ws, Hp, Wp, oh, ow, dtype):
    """Tables back to the real (Hs, Ws) image at (oh, ow) of the grid.

    ``IG`` (2*Hs, 2*Hp): height, rows (ri, h), columns (ri, kh). ``IW``
    (2*Kw, Ws): width, rows (ri, kw); keeps the real part and divides by Hp*Wp.
    """
    a = _angles(np.arange(Hs) + oh, np.arange(Hp), Hp, 1)
    IG = np.block([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = _half_weights(Wp)[:, None] / (Hp * Wp)
    a = _angles(np.arange(Wp // 2 + 1), np.arange(Ws) + ow, Wp, 1)
    IW = np.concatenate([c * np.cos(a), -c * np.sin(a)], axis=0)
    return IG.astype(dtype), IW.astype(dtype)


def _grid_angles(KH, KW, Hp, Wp, sign):
    """Phase of kernel tap (u, v) at frequency (kh, kw): shape (KH*KW, Hp*Kw)."""
    Kw = Wp // 2 + 1
    ah = _angles(np.arange(KH), np.arange(Hp), Hp, sign)   # (KH, Hp)
    aw = _angles(np.arange(KW), np.arange(Kw), Wp, sign)   # (KW, Kw)
    return (ah[:, None, :, None] + aw[None, :, None, :]).reshape(KH * KW, Hp * Kw)


def _dense_forward(KH, KW, Hp, Wp, dtype):
    """(2*Z, KH*KW): a small kernel's whole 2-D transform in one product, rows (ri, z)."""
    a = _grid_angles(KH, KW, Hp, Wp, -1)
    return np.concatenate([np.cos(a), np.sin(a)], axis=1).T.astype(dtype)


def _dense_inverse(KH, KW, Hp, Wp, dtype):
    """(KH*KW, 4*Z): dw's taps from the four real blocks of ``D^T X``, columns (z, 2, 2).

    ``dw_hat = X conj(D)``: real part ``rr + ii``, imaginary part ``ri - ir``
    (first letter: the part of D, second: of X). The table folds that
    combination into the inverse transform.
    """
    Kw = Wp // 2 + 1
    a = _grid_angles(KH, KW, Hp, Wp, 1).T                  # (Z, KH*KW)
    c = np.tile(_half_weights(Wp), Hp)[:, None] / (Hp * Wp)
    re, im = c * np.cos(a), -c * np.sin(a)
    Q = np.empty((Hp * Kw, 2, 2, KH * KW))
    Q[:, 0, 0], Q[:, 1, 1], Q[:, 0, 1], Q[:, 1, 0] = re, re, im, -im
    return np.ascontiguousarray(Q.reshape(-1, KH * KW).T).astype(dtype)


def _multiplier(wt, table, z0, z1, conj, out):
    """Real block matrices that multiply a spectrum by the kernel's, at frequencies z0:z1.

    Parameters
    ----------
    wt : (KH*KW, A*B) ndarray
        The kernel's taps, ``w`` transposed to (KH, KW, A, B): ``A = C, B = F``
        to mix the channels of x into those of out, ``A = F, B = C`` for the
        way back.
    table : (2*Z, KH*KW) ndarray
        From :func:`_dense_forward`.
    z0, z1 : int
    conj : bool
        Multiply by ``conj(w_hat)`` (the forward pass, a cross-correlation)
        rather than by ``w_hat``.
    out : (z1 - z0, 2, A, 2, B) ndarray
        Work array that receives them.

    Returns
    -------
    out
        ``[ar ai] @ [[vr, vi], [-vi, vr]]`` is the spectrum ``a`` (stored as
        real and imaginary rows) times ``v = vr + i vi``.
    """
    Z = table.shape[0] // 2
    A, B = out.shape[2], out.shape[4]
    # w_hat at these frequencies, real and imaginary parts: one product each
    wr = (table[z0:z1] @ wt).reshape(-1, A, B)
    wi = (table[Z + z0:Z + z1] @ wt).reshape(-1, A, B)
    out[:, 0, :, 0], out[:, 1, :, 1] = wr, wr
    sign = -1 if conj else 1  # v = conj(w_hat) or w_hat
    np.multiply(wi, sign, out=out[:, 0, :, 1])
    np.multiply(wi, -sign, out=out[:, 1, :, 0])
    return out


def _work(scratch, name, shape, dtype):
    """A work array of `shape` from the thread's scratch, kept between calls.

    Fresh arrays of a megabyte cost page faults on every call; measured as
    much as the transforms themselves.
    """
    return scratch_array(scratch, name, (math.prod(shape),), dtype).reshape(shape)


def _to_spectrum(a, table, S, lo, scratch):
    """Transform images `a` (n, Cc, Hs, Ws) into rows lo:lo+n of `S` (Hp, Kw, N, 2, Cc)."""
    n, Cc, Hs, Ws = a.shape
    Hp, Kw = S.shape[:2]
    EW, G = table
    A = _work(scratch, "fft_a", (n, Cc, Hs, 2, Kw), a.dtype)
    np.matmul(a.reshape(n * Cc * Hs, Ws), EW, out=A.reshape(n * Cc * Hs, 2 * Kw))
    # the height transform contracts (ri, h): bring them to the front
    At = _work(scratch, "fft_b", (2, Hs, n, Cc, Kw), a.dtype)
    np.copyto(At, A.transpose(3, 2, 0, 1, 4))
    Zb = _work(scratch, "fft_c", (2, Hp, n, Cc, Kw), a.dtype)
    np.matmul(G, At.reshape(2 * Hs, n * Cc * Kw), out=Zb.reshape(2 * Hp, n * Cc * Kw))
    S[:, :, lo:lo + n] = Zb.transpose(1, 4, 2, 0, 3)


def _from_spectrum(S, lo, table, out, scratch):
    """Inverse of rows lo:lo+n of `S` (Hp, Kw, N, 2, Cc) into `out` (n, Cc, Hs, Ws)."""
    Hp, Kw, _, _, Cc = S.shape
    n, _, Hs, Ws = out.shape
    IG, IW = table
    St = _work(scratch, "fft_b", (2, Hp, n, Cc, Kw), out.dtype)
    np.copyto(St, S[:, :, lo:lo + n].transpose(3, 0, 2, 4, 1))
    Y = _work(scratch, "fft_c", (2, Hs, n, Cc, Kw), out.dtype)
    np.matmul(IG, St.reshape(2 * Hp, n * Cc * Kw), out=Y.reshape(2 * Hs, n * Cc * Kw))
    Yt = _work(scratch, "fft_a", (n, Cc, Hs, 2, Kw), out.dtype)
    np.copyto(Yt, Y.transpose(2, 3, 1, 0, 4))
    np.matmul(Yt.reshape(n * Cc * Hs, 2 * Kw), IW, out=out.reshape(n * Cc * Hs, Ws))


def fft_forward(x, w, b, padding, step, parts, key):
    """Forward pass; arguments already checked and cast by ``conv2d_forward``.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    w : (F, C, KH, KW) ndarray
    b : (F,) ndarray or None
    padding : tuple of two ints
    step : int
        Images per chunk of the transforms.
    parts : int
        Frequency ranges the channel mixing is cut into.
    key : tuple
        Names the call site for :func:`cnnlib._threads.run_ranges`.

    Returns
    -------
    out : (N, F, OH, OW) ndarray
    cache : dict
        The input's spectrum and how the work was cut, for :func:`fft_backward`.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    ph, pw = padding
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Kw, OH, OW = Wp // 2 + 1, Hp - KH + 1, Wp - KW + 1
    Z = Hp * Kw
    T = _tables(H, W, KH, KW, ph, pw, x.dtype.str)
    X = np.empty((Hp, Kw, N, 2, C), x.dtype)
    run_ranges(lambda lo, hi, s: _to_spectrum(x[lo:hi], T["x"], X, lo, s), N, step, key + ("x",))
    wt = w.transpose(2, 3, 1, 0).reshape(KH * KW, C * F)
    O = _work(thread_scratch(), "fft_o", (Hp, Kw, N, 2, F), x.dtype)
    Xz, Oz = X.reshape(Z, N, 2 * C), O.reshape(Z, N, 2 * F)
    zstep = -(-Z // parts)

    def mix_part(z0, z1, scratch):
        nz = z1 - z0
        mix = _work(scratch, "fft_mix", (zstep, 2, C, 2, F), x.dtype)[:nz]
        _multiplier(wt, T["w"], z0, z1, True, mix)
        np.matmul(Xz[z0:z1], mix.reshape(nz, 2 * C, 2 * F), out=Oz[z0:z1])

    run_ranges(mix_part, Z, zstep, key + ("mix",))
    out = np.empty((N, F, OH, OW), x.dtype)

    def back(lo, hi, scratch):
        _from_spectrum(O, lo, T["out"], out[lo:hi], scratch)
        if b is not None:
            out[lo:hi] += b[:, None, None]

    run_ranges(back, N, step, key + ("out",))
    return out, {"x_hat": X, "padding": padding, "step": step, "parts": parts, "key": key}


def fft_backward(dout, w, x_shape, has_b, cache):
    """Backward pass of :func:`fft_forward`: ``dx, dw, db`` (db None without a bias).

    Parameters
    ----------
    dout : (N, F, OH, OW) ndarray
        Checked and contiguous, dtype of the forward pass.
    w : (F, C, KH, KW) ndarray
    x_shape : tuple of four ints
    has_b : bool
    cache : dict
        From :func:`fft_forward`.
    """
    N, F = dout.shape[:2]
    _, C, KH, KW = w.shape
    X, step, key = cache["x_hat"], cache["step"], cache["key"]
    T = _tables(*x_shape[2:], KH, KW, *cache["padding"], dout.dtype.str)
    Hp, Kw = X.shape[:2]
    Z = Hp * Kw
    zstep = -(-Z // cache["parts"])
    D = _work(thread_scratch(), "fft_d", (Hp, Kw, N, 2, F), dout.dtype)
    # partial sums per chunk, added in chunk order: the same bits on any thread count
    db_parts = np.zeros((-(-N // step), F), dout.dtype)
    dw_parts = np.empty((-(-Z // zstep), KH * KW, F * C), dout.dtype)

    def spectrum(lo, hi, scratch):
        _to_spectrum(dout[lo:hi], T["dout"], D, lo, scratch)
        if has_b:
            dout[lo:hi].sum(axis=(0, 2, 3), out=db_parts[lo // step])

    run_ranges(spectrum, N, step, key + ("dout",))
    wt = w.transpose(2, 3, 0, 1).reshape(KH * KW, F * C)
    DX = _work(thread_scratch(), "fft_o", (Hp, Kw, N, 2, C), dout.dtype)
    Dz, Xz, DXz = D.reshape(Z, N, 2 * F), X.reshape(Z, N, 2 * C), DX.reshape(Z, N, 2 * C)

    def mix_part(z0, z1, scratch):
        nz = z1 - z0
        mix = _work(scratch, "fft_mix", (zstep, 2, F, 2, C), dout.dtype)[:nz]
        _multiplier(wt, T["w"], z0, z1, False, mix)
        np.matmul(Dz[z0:z1], mix.reshape(nz, 2 * F, 2 * C), out=DXz[z0:z1])
        # dw: the four real blocks of D^T X, brought to (z, ri, ri) rows for
        # the inverse table, which turns them into this range's share of dw
        P = _work(scratch, "fft_p", (zstep, 2, F, 2, C), dout.dtype)[:nz]
        np.matmul(Dz[z0:z1].transpose(0, 2, 1), Xz[z0:z1], out=P.reshape(nz, 2 * F, 2 * C))
        Pt = _work(scratch, "fft_pt", (zstep, 2, 2, F, C), dout.dtype)[:nz]
        np.copyto(Pt, P.transpose(0, 1, 3, 2, 4))
        np.matmul(T["dw"][:, 4 * z0:4 * z1], Pt.reshape(4 * nz, F * C),
                  out=dw_parts[z0 // zstep])

    run_ranges(mix_part, Z, zstep, key + ("mix_b",))
    dx = np.empty(x_shape, dout.dtype)
    run_ranges(lambda lo, hi, s: _from_spectrum(DX, lo, T["dx"], dx[lo:hi], s), N, step,
               key + ("dx",))
    dw = np.ascontiguousarray(dw_parts.sum(axis=0).reshape(KH, KW, F, C).transpose(2, 3, 0, 1))
    db = db_parts.sum(axis=0) if has_b else None
    return dx, dw, db
