"""Turn a hand-drawn image into an MNIST-like 28x28 digit.

MNIST digits were size-normalized to fit a 20x20 box (keeping their aspect
ratio, anti-aliased) and then placed in a 28x28 field so that their centre of
mass sits at the centre. A digit drawn on a canvas must go through the same
steps, or the network sees something unlike anything it was trained on.
"""
import numpy as np

from .data import MNIST_MEAN, MNIST_STD

__all__ = ["to_grayscale", "bounding_box", "resize_longer_side", "center_of_mass",
           "center_by_mass", "preprocess_digit", "to_model_input"]

#: Size of the box the longer side of the digit is scaled to, and of the output field.
BOX, FIELD = 20, 28


def to_grayscale(image):
    """Ink intensity in [0, 1] (ink bright, background 0) from a canvas or image array.

    Parameters
    ----------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        uint8 (0-255) or float (0-1). RGBA, as a canvas returns it, is read as
        bright ink over a dark or transparent background: the grey level is
        multiplied by alpha, so untouched transparent pixels are 0.

    Returns
    -------
    (H, W) float32 ndarray
    """
    a = np.asarray(image)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype.kind == "f":
        a = a.astype(np.float32)
    else:
        raise ValueError(f"to_grayscale: expected uint8 or float pixels, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (3, 4):
        gray = a[..., :3].mean(axis=2)
        if a.shape[2] == 4:
            gray = gray * a[..., 3]
        a = gray
    if a.ndim != 2:
        raise ValueError(f"to_grayscale: expected (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    return np.clip(a, 0.0, 1.0)


def bounding_box(img, threshold=0.05):
    """Smallest rectangle holding every pixel brighter than ``threshold``.

    Returns
    -------
    (top, bottom, left, right) : ints, with ``bottom``/``right`` exclusive

    Raises
    ------
    ValueError
        If no pixel is brighter than ``threshold`` (a blank canvas).
    """
    ink = np.asarray(img) > threshold
    if not ink.any():
        raise ValueError("the image is blank: draw a digit first")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def resize_longer_side(img, size=BOX):
    """Scale ``img`` so its longer side is ``size`` pixels, keeping the aspect ratio.

    Uses anti-aliased bilinear resampling (averaging when shrinking), so thin
    strokes fade to grey instead of vanishing, as in MNIST.

    Returns
    -------
    (h, w) float32 ndarray with ``max(h, w) == size``
    """
    import torch

    img = np.asarray(img, dtype=np.float32)
    h, w = img.shape
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    t = torch.from_numpy(np.ascontiguousarray(img))[None, None]
    out = torch.nn.functional.interpolate(t, size=(new_h, new_w), mode="bilinear",
                                          align_corners=False, antialias=True)
    return out[0, 0].clamp(0, 1).numpy()


def center_of_mass(img):
    """Intensity-weighted mean (row, column) of ``img``, in pixel-index coordinates."""
    img = np.asarray(img, dtype=np.float64)
    total = img.sum()
    if total <= 0:
        raise ValueError("the image is blank: draw a digit first")
    rows, cols = np.indices(img.shape)
    return float((rows * img).sum() / total), float((cols * img).sum() / total)


def center_by_mass(digit, field=FIELD):
    """Paste ``digit`` into a ``field x field`` image with its centre of mass at the centre.

    The shift is rounded to whole pixels (as for MNIST, whose digits' centre of
    mass sits at index 14.0 on average); anything pushed past the border is clipped.

    Returns
    -------
    (field, field) float32 ndarray
    """
    digit = np.asarray(digit, dtype=np.float32)
    h, w = digit.shape
    if h > field or w > field:
        raise ValueError(f"center_by_mass: digit of shape {digit.shape} does not fit in {field}x{field}")
    cy, cx = center_of_mass(digit)
    top = int(round(field / 2 - cy))
    left = int(round(field / 2 - cx))
    out = np.zeros((field, field), np.float32)
    # Intersect the shifted digit with the field so strongly off-centre mass cannot index out of range.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, field), min(left + w, field)
    out[r0:r1, c0:c1] = digit[r0 - top:r1 - top, c0 - left:c1 - left]
    return out


def preprocess_digit(image, threshold=0.05):
    """Canvas image -> MNIST-like digit: crop to the ink, scale to 20 px, centre by mass in 28x28.

    Parameters
    ----------
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Bright ink on a dark (or transparent) background, any size.

    Returns
    -------
    (28, 28) float32 ndarray
        Values in [0, 1], ink bright, like ``to_float_nchw(mnist)[i, 0]``.

    Raises
    ------
    ValueError
        If the image is blank.
    """
    gray = to_grayscale(image)
    top, bottom, left, right = bounding_box(gray, threshold)
    digit = resize_longer_side(gray[top:bottom, left:right], BOX)
    peak = digit.max()
    if peak <= 0:
        raise ValueError("the image is blank: draw a digit first")
    # MNIST strokes reach full intensity; a faint drawing is stretched to match.
    return center_by_mass(digit / peak, FIELD)


def to_model_input(digit):
    """(28, 28) digit in [0, 1] -> (1, 1, 28, 28) float32 normalized like the training data."""
    digit = np.asarray(digit, dtype=np.float32)
    if digit.shape != (FIELD, FIELD):
        raise ValueError(f"to_model_input: expected a ({FIELD}, {FIELD}) digit, got shape {digit.shape}")
    return ((digit - MNIST_MEAN) / MNIST_STD)[None, None].astype(np.float32)
