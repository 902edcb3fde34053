"""Convolution by hand (Lesson 01): padding, windows, one dot product written out, feature maps.

Pure functions, tested without a Jupyter kernel. The kernel explorer's figure and widget
(:func:`explorer_figure`, :func:`explorer_view`, :func:`kernel_explorer`) are in
:mod:`cnnlib.widgets.convolution_explorer` and re-exported here.

"Convolution" here is cross-correlation, as in PyTorch: the kernel is not flipped.
"""
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from cnnlib.functional import conv2d_forward
from cnnlib.functional.im2col import conv_output_size

__all__ = ["pad_image", "window_at", "dot_product_text", "feature_map",
           "explorer_figure", "explorer_view", "kernel_explorer"]


def _check_image_kernel(image, kernel):
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D (KH, KW), got shape {kernel.shape}")
    return image, kernel


def _check_stride_padding(stride, padding):
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if int(padding) != padding or padding < 0:
        raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
    return int(stride), int(padding)


def pad_image(image, padding):
    """Surround a 2-D image with ``padding`` rows/columns of zeros on every side.

    Parameters
    ----------
    image : (H, W) array_like
    padding : int >= 0

    Returns
    -------
    padded : (H + 2*padding, W + 2*padding) ndarray of float64
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    _, padding = _check_stride_padding(1, padding)
    return np.pad(image, padding, mode="constant")


def _output_shape(image_shape, kernel_shape, stride, padding):
    (H, W), (KH, KW) = image_shape, kernel_shape
    if KH > H + 2 * padding or KW > W + 2 * padding:
        raise ValueError(f"kernel {KH}x{KW} is larger than the padded image "
                         f"{H + 2 * padding}x{W + 2 * padding}")
    return conv_output_size(H, KH, stride, padding), conv_output_size(W, KW, stride, padding)


def window_at(image, kernel_shape, row, col, stride=1, padding=0):
    """Return the patch of the (padded) image that the kernel covers for output ``[row, col]``.

    Parameters
    ----------
    image : (H, W) array_like
    kernel_shape : tuple (KH, KW)
    row, col : int
        Position in the *output* (feature map), 0-based.
    stride : int >= 1
    padding : int >= 0

    Returns
    -------
    window : (KH, KW) ndarray of float64
        ``pad_image(image, padding)[row*stride : row*stride + KH, col*stride : col*stride + KW]``.

    Raises
    ------
    ValueError
        If the position lies outside the feature map or the kernel does not fit.
    """
    stride, padding = _check_stride_padding(stride, padding)
    padded = pad_image(image, padding)
    KH, KW = (int(k) for k in kernel_shape)
    OH, OW = _output_shape(np.shape(image), (KH, KW), stride, padding)
    if not (0 <= row < OH and 0 <= col < OW):
        raise ValueError(f"position ({row}, {col}) is outside the {OH}x{OW} feature map")
    top, left = row * stride, col * stride
    return padded[top:top + KH, left:left + KW]


def _fmt(value, decimals):
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def _exact_decimals(value, most=6):
    """Fewest decimals (<= ``most``) that write ``value`` exactly, or None (0.0625 -> 4, 1/9 -> None)."""
    for d in range(most + 1):
        if abs(round(value, d) - value) <= 1e-12 * max(1.0, abs(value)):
            return d
    return None


def _round_text(value, decimals):
    """``value`` rounded half up as a person would, trailing zeros dropped (Decimal: no binary ties)."""
    return _fmt(float(Decimal(value if isinstance(value, Decimal) else repr(float(value)))
                      .quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)), decimals)


def _adds_up(pixels, weights, total, dp, dw, dr):
    """Do the written terms, multiplied and added exactly, round to the written total?"""
    by_hand = sum(Decimal(_fmt(p, dp)) * Decimal(_fmt(w, dw)) for p, w in zip(pixels, weights))
    return _round_text(by_hand, dr) == _round_text(total, dr)


def _choose_decimals(window, kernel, result_decimals):
    """Decimals for pixels and weights so the written terms add up to the written sum.

    Weights are written exactly when 6 decimals can (0.0625, not 0.06); then pixels get
    the fewest decimals (>= 2) for which the written terms, added by hand, round to the
    written sum. Returns ``(pixel_decimals, weight_decimals)``.
    """
    pixels, weights = window.ravel(), kernel.ravel()
    exact_w = [_exact_decimals(w) for w in weights]
    dw = max((d for d in exact_w if d is not None), default=0)
    inexact = any(d is None for d in exact_w)
    total = float(np.sum(window * kernel))
    for dp in range(2, 9):
        dwi = max(dw, dp + 2) if inexact else dw  # 1/9 cannot be exact: give it 2 more digits
        if _adds_up(pixels, weights, total, dp, dwi, result_decimals):
            return dp, dwi
    return 8, 10


def dot_product_text(window, kernel, decimals=None, per_row=False, result_decimals=2):
    """Write the dot product of a window and a kernel out term by term.

    Parameters
    ----------
    window, kernel : (KH, KW) array_like
        Same shape.
    decimals : int, optional
        Round every number to this many decimals (trailing zeros dropped). By default
        (None) weights are written exactly when they can be (0.0625) and pixels with just
        enough decimals (at least 2) that the written terms, worked out by hand, add up to
        the written sum.
    per_row : bool
        Start a new line for every kernel row (easier to read for 3x3 and up).
    result_decimals : int
        Decimals of the sum when ``decimals`` is None.

    Returns
    -------
    text : str
        For example ``"0×1 + 0.5×0 + 1×(-1) + 0.25×2 = -0.5"``: pixel × weight,
        negative numbers in parentheses after the ×, and the sum.
    """
    window, kernel = _check_image_kernel(window, kernel)
    if window.shape != kernel.shape:
        raise ValueError(f"window {window.shape} and kernel {kernel.shape} must have the same shape")
    if decimals is None:
        dp, dw = _choose_decimals(window, kernel, result_decimals)
        dr = result_decimals
    else:
        dp = dw = dr = decimals
    rows = []
    for pixels, weights in zip(window, kernel):
        terms = []
        for p, w in zip(pixels, weights):
            ws = _fmt(w, dw)
            terms.append(f"{_fmt(p, dp)}×{'(' + ws + ')' if ws.startswith('-') else ws}")
        rows.append(" + ".join(terms))
    body = ("\n+ " if per_row else " + ").join(rows)
    total = float(np.sum(window * kernel))
    return f"{body} = {_round_text(total, dr) if decimals is None else _fmt(total, dr)}"


def feature_map(image, kernel, stride=1, padding=0, bias=0.0):
    """Cross-correlate a 2-D image with a 2-D kernel (what ``torch.nn.functional.conv2d`` does).

    Parameters
    ----------
    image : (H, W) array_like
    kernel : (KH, KW) array_like
    stride : int >= 1
    padding : int >= 0
        Zeros added on every side before sliding.
    bias : float
        Added to every output value.

    Returns
    -------
    out : (OH, OW) ndarray of float64
        ``OH = (H + 2*padding - KH) // stride + 1`` (floor), same for ``OW``.
    """
    image, kernel = _check_image_kernel(image, kernel)
    stride, padding = _check_stride_padding(stride, padding)
    _output_shape(image.shape, kernel.shape, stride, padding)  # the widget's own, friendlier message
    # One image, one channel, one filter: exactly the engine's conv2d.
    out, _ = conv2d_forward(image[None, None], kernel[None, None], np.array([bias], dtype=np.float64),
                            stride=stride, padding=padding)
    return out[0, 0]


def __getattr__(name):
    # The figure and the widget live in convolution_explorer.py (which imports this module);
    # the lesson reaches them as cw.kernel_explorer etc.
    if name in ("explorer_figure", "explorer_view", "kernel_explorer"):
        from . import convolution_explorer
        return getattr(convolution_explorer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
