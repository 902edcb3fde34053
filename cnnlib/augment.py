"""Data augmentation in numpy for Lesson 07: random whole-pixel shifts and small rotations of
``(N, C, H, W)`` images, every image its own, drawn from a seeded generator. Engine side: numpy only.
"""
import numbers

import numpy as np

__all__ = ["background_value", "random_shift", "random_rotate", "augment"]


def background_value():
    """The value of a blank (0) pixel after :func:`cnnlib.data.normalize`: about -0.4242."""
    from .data import normalize

    return float(normalize(np.zeros(1, np.float32))[0])


def random_shift(images, labels, max_shift, rng, fill=0.0):
    """Shift every image by its own random whole number of pixels (the reference of the exercise).

    Parameters
    ----------
    images : (N, C, H, W) float ndarray
    labels : (N,) ndarray
        Returned unchanged (a copy): a shifted 3 is still a 3.
    max_shift : int
        Shifts ``(dy, dx)`` are drawn as ``rng.integers(-max_shift, max_shift + 1, size=(N, 2))``;
        positive ``dy`` moves the image down, positive ``dx`` to the right.
    rng : numpy.random.Generator
    fill : float
        Value of the pixels that the shift uncovers (nothing wraps around).

    Returns
    -------
    shifted : (N, C, H, W) ndarray, same dtype
    labels : (N,) ndarray
    """
    images = np.asarray(images)
    if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Integral) or max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be a non-negative int, got {max_shift!r}")
    N, H, W = images.shape[0], images.shape[-2], images.shape[-1]
    shifts = rng.integers(-max_shift, max_shift + 1, size=(N, 2))
    out = np.full_like(images, fill)
    for n, (dy, dx) in enumerate(shifts):
        if abs(dy) >= H or abs(dx) >= W:
            continue
        out[n, ..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
            images[n, ..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out, np.array(labels, copy=True)


def random_rotate(images, max_degrees, rng, fill=0.0):
    """Rotate every image about its centre by its own random angle in ``[-max_degrees, max_degrees]``.

    Bilinear interpolation: output pixel ``(i, j)`` takes the input at the point that the rotation
    by the opposite angle sends it to, weighting the four nearest pixels; points outside the image
    count as ``fill``. Angles are drawn as ``rng.uniform(-max_degrees, max_degrees, size=N)``
    (positive: counter-clockwise as displayed with row 0 at the top).

    Parameters
    ----------
    images : (N, C, H, W) float ndarray
    max_degrees : float
    rng : numpy.random.Generator
    fill : float

    Returns
    -------
    (N, C, H, W) ndarray, same dtype
    """
    images = np.asarray(images)
    N, C, H, W = images.shape
    if max_degrees == 0:
        rng.uniform(0, 0, size=N)              # the same draws with or without rotation
        return images.copy()
    angles = np.deg2rad(rng.uniform(-max_degrees, max_degrees, size=N))
    cy, cx = (H - 1) / 2, (W - 1) / 2
    yy, xx = np.meshgrid(np.arange(H) - cy, np.arange(W) - cx, indexing="ij")
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    sy = cos * yy + sin * xx + cy                # where each output pixel comes from, (N, H, W)
    sx = -sin * yy + cos * xx + cx
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = sy - y0, sx - x0
    padded = np.full((N, C, H + 2, W + 2), fill, dtype=np.float64)   # one ring of fill around each image
    padded[:, :, 1:-1, 1:-1] = images
    n_idx = np.arange(N)[:, None, None]
    out = np.zeros((N, C, H, W))
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                           (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yi = np.clip(y0 + dy + 1, 0, H + 1)    # outside the image: the fill ring
        xi = np.clip(x0 + dx + 1, 0, W + 1)
        values = padded[n_idx, :, yi, xi]       # (N, H, W, C)
        out += np.moveaxis(values, -1, 1) * weight[:, None]
    return out.astype(images.dtype)


def augment(images, rng, max_shift=2, max_degrees=10.0, fill=0.0, shift=None):
    """Random rotation then random shift, every image its own (the lesson's training transform).

    ``shift(images, labels, max_shift, rng, fill)`` may replace :func:`random_shift` (e.g. the
    learner's). Returns the augmented ``(N, C, H, W)`` images.
    """
    shift = random_shift if shift is None else shift
    rotated = random_rotate(images, max_degrees, rng, fill) if max_degrees else np.asarray(images)
    shifted, _ = shift(rotated, np.zeros(len(rotated), dtype=np.int64), max_shift, rng, fill)
    return np.asarray(shifted)
