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
from functools import lru_cache

import numpy as np

from .._threads import run_chunks, scratch_array, thread_scratch


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
    """(KH*KW, 2*Z): a small kernel's whole 2-D transform in one product, columns (ri, z)."""
    a = _grid_angles(KH, KW, Hp, Wp, -1)
    return np.concatenate([np.cos(a), np.sin(a)], axis=1).astype(dtype)


def _dense_inverse(KH, KW, Hp, Wp, dtype):
    """(Z, 2, 2, KH*KW): dw's taps from the four real blocks of ``D^T X``.

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
    return Q.astype(dtype)


def _work(scratch, name, shape, dtype):
    """A work array of `shape` from the thread's scratch, kept between calls.

    Fresh arrays of a megabyte cost page faults on every call; measured as
    much as the transforms themselves.
    """
    size = int(np.prod(shape))
    return scratch_array(scratch, name, (size,), dtype)[:size].reshape(shape)


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


def _spans(total, parts):
    """`parts` nearly equal (start, stop) ranges covering range(total)."""
    edges = np.linspace(0, total, min(parts, total) + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def _in_chunks(spans, fn, key):
    run_chunks(lambda i, scratch: fn(*spans[i], scratch), len(spans), key=key)


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
        Names the call site for :func:`cnnlib._threads.run_chunks`.

    Returns
    -------
    out : (N, F, OH, OW) ndarray
    cache : dict
        The spectra the backward pass needs.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    ph, pw = padding
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Kw, OH, OW = Wp // 2 + 1, Hp - KH + 1, Wp - KW + 1
    Z = Hp * Kw
    T = _tables(H, W, KH, KW, ph, pw, x.dtype.str)
    batches = _spans(N, -(-N // step))
    X = np.empty((Hp, Kw, N, 2, C), x.dtype)
    _in_chunks(batches, lambda lo, hi, s: _to_spectrum(x[lo:hi], T["x"], X, lo, s), key + ("x",))
    # w_hat[f, c, ri, z]; out_hat = x_hat conj(w_hat): [Xr Xi] @ [[Wr, -Wi], [Wi, Wr]]
    w_hat = (w.reshape(F * C, KH * KW) @ T["w"]).reshape(F, C, 2, Z)
    Wr, Wi = w_hat[:, :, 0].transpose(2, 1, 0), w_hat[:, :, 1].transpose(2, 1, 0)
    mix = np.empty((Z, 2, C, 2, F), x.dtype)
    mix[:, 0, :, 0], mix[:, 0, :, 1], mix[:, 1, :, 0], mix[:, 1, :, 1] = Wr, -Wi, Wi, Wr
    O = _work(thread_scratch(), "fft_o", (Hp, Kw, N, 2, F), x.dtype)
    freqs = _spans(Z, parts)
    Xz, Oz = X.reshape(Z, N, 2 * C), O.reshape(Z, N, 2 * F)

    def mix_part(z0, z1, scratch):
        np.matmul(Xz[z0:z1], mix[z0:z1].reshape(z1 - z0, 2 * C, 2 * F), out=Oz[z0:z1])

    _in_chunks(freqs, mix_part, key + ("mix",))
    out = np.empty((N, F, OH, OW), x.dtype)

    def back(lo, hi, scratch):
        _from_spectrum(O, lo, T["out"], out[lo:hi], scratch)
        if b is not None:
            out[lo:hi] += b[:, None, None]

    _in_chunks(batches, back, key + ("out",))
    cache = {"x_hat": X, "w_hat": w_hat, "tables": T, "batches": batches, "freqs": freqs,
             "key": key}
    return out, cache


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
    X, w_hat, T = cache["x_hat"], cache["w_hat"], cache["tables"]
    batches, freqs, key = cache["batches"], cache["freqs"], cache["key"]
    Hp, Kw = X.shape[:2]
    Z = Hp * Kw
    scratch = thread_scratch()
    D = _work(scratch, "fft_d", (Hp, Kw, N, 2, F), dout.dtype)
    _in_chunks(batches, lambda lo, hi, s: _to_spectrum(dout[lo:hi], T["dout"], D, lo, s),
               key + ("dout",))
    # dx_hat = dout_hat w_hat: [Dr Di] @ [[Wr, Wi], [-Wi, Wr]], w as (F, C)
    Wr, Wi = w_hat[:, :, 0].transpose(2, 0, 1), w_hat[:, :, 1].transpose(2, 0, 1)
    mix = np.empty((Z, 2, F, 2, C), dout.dtype)
    mix[:, 0, :, 0], mix[:, 0, :, 1], mix[:, 1, :, 0], mix[:, 1, :, 1] = Wr, Wi, -Wi, Wr
    DX = _work(scratch, "fft_o", (Hp, Kw, N, 2, C), dout.dtype)
    P = _work(scratch, "fft_p", (Z, 2, F, 2, C), dout.dtype)
    Dz, Xz, DXz, Pz = (D.reshape(Z, N, 2 * F), X.reshape(Z, N, 2 * C), DX.reshape(Z, N, 2 * C),
                       P.reshape(Z, 2 * F, 2 * C))

    def mix_part(z0, z1, scratch):
        np.matmul(Dz[z0:z1], mix[z0:z1].reshape(z1 - z0, 2 * F, 2 * C), out=DXz[z0:z1])
        # four real blocks of D^T X; _dense_inverse combines them into dw_hat
        np.matmul(Dz[z0:z1].transpose(0, 2, 1), Xz[z0:z1], out=Pz[z0:z1])

    _in_chunks(freqs, mix_part, key + ("mix_b",))
    dx = np.empty(x_shape, dout.dtype)
    _in_chunks(batches, lambda lo, hi, s: _from_spectrum(DX, lo, T["dx"], dx[lo:hi], s),
               key + ("dx",))
    Pt = np.ascontiguousarray(P.transpose(2, 4, 0, 1, 3)).reshape(F * C, Z * 4)
    dw = (Pt @ T["dw"].reshape(Z * 4, KH * KW)).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return dx, dw, db
