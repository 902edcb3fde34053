"""Kernel explorer: slide a 3x3 kernel over a digit and watch one dot product.

Pure functions (``pad_image``, ``window_at``, ``dot_product_text``,
``feature_map``, ``explorer_figure``, ``explorer_view``) do all the work and are
tested without a Jupyter kernel; :func:`kernel_explorer` only wires ipywidgets
controls to :func:`explorer_view`.

"Convolution" here is cross-correlation, as in PyTorch: the kernel is not flipped.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlib import kernels as _kernels
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


def dot_product_text(window, kernel, decimals=2, per_row=False):
    """Write the dot product of a window and a kernel out term by term.

    Parameters
    ----------
    window, kernel : (KH, KW) array_like
        Same shape.
    decimals : int
        Numbers are rounded to this many decimals; trailing zeros are dropped.
    per_row : bool
        Start a new line for every kernel row (easier to read for 3x3 and up).

    Returns
    -------
    text : str
        For example ``"0×1 + 0.5×0 + 1×(-1) + 0.25×2 = -0.5"``: pixel × weight,
        negative numbers in parentheses after the ×, and the exact sum.
    """
    window, kernel = _check_image_kernel(window, kernel)
    if window.shape != kernel.shape:
        raise ValueError(f"window {window.shape} and kernel {kernel.shape} must have the same shape")
    rows = []
    for pixels, weights in zip(window, kernel):
        terms = []
        for p, w in zip(pixels, weights):
            ws = _fmt(w, decimals)
            terms.append(f"{_fmt(p, decimals)}×{'(' + ws + ')' if ws.startswith('-') else ws}")
        rows.append(" + ".join(terms))
    body = ("\n+ " if per_row else " + ").join(rows)
    return f"{body} = {_fmt(float(np.sum(window * kernel)), decimals)}"


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


def _show_grid(ax, array, cmap, title, vmin=None, vmax=None):
    ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def explorer_figure(image, kernel, row, col, stride=1, padding=0):
    """Draw input (window highlighted), kernel weights and feature map side by side.

    Parameters
    ----------
    image : (H, W) array_like
    kernel : (KH, KW) array_like
    row, col : int
        Output position whose window is highlighted.
    stride : int >= 1
    padding : int >= 0

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three axes: padded input, kernel, feature map. Built without pyplot,
        so nothing is left open and Jupyter shows it only when displayed.
    """
    image, kernel = _check_image_kernel(image, kernel)
    stride, padding = _check_stride_padding(stride, padding)
    padded = pad_image(image, padding)
    fmap = feature_map(image, kernel, stride, padding)
    window_at(image, kernel.shape, row, col, stride, padding)  # validates the position
    KH, KW = kernel.shape
    H, W = image.shape

    # Fixed margins: constrained layout would double the time a slider move takes.
    fig = Figure(figsize=(10, 3.6), dpi=80)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.1, top=0.9, wspace=0.05)
    ax_in, ax_k, ax_out = fig.subplots(1, 3)
    _show_grid(ax_in, padded, "gray", f"input {H}×{W}, padding {padding}", 0, max(1.0, padded.max()))
    if padding:
        ax_in.add_patch(Rectangle((padding - 0.5, padding - 0.5), W, H, fill=False,
                                  ec="tab:blue", ls="--", lw=1))
    ax_in.add_patch(Rectangle((col * stride - 0.5, row * stride - 0.5), KW, KH,
                              fill=False, ec="red", lw=2))

    limit = max(np.abs(kernel).max(), 1e-12)
    _show_grid(ax_k, kernel, "coolwarm", f"kernel {KH}×{KW}", -limit, limit)
    if KH * KW <= 49:
        for (i, j), w in np.ndenumerate(kernel):
            ax_k.text(j, i, _fmt(w, 2), ha="center", va="center", fontsize=9)

    limit = max(np.abs(fmap).max(), 1e-12)
    OH, OW = fmap.shape
    _show_grid(ax_out, fmap, "coolwarm", f"feature map {OH}×{OW}, stride {stride}", -limit, limit)
    ax_out.set_xlabel(f"output[{row}, {col}] = {_fmt(fmap[row, col], 3)}", fontsize=10)
    ax_out.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, ec="black", lw=2))
    return fig


def explorer_view(image, kernel, row, col, stride=1, padding=0):
    """Everything the kernel explorer shows for one setting of its controls.

    ``row``/``col`` are clamped into the feature map, because changing the
    stride or padding shrinks it under the sliders.

    Returns
    -------
    view : dict
        ``figure`` (Figure), ``text`` (str, the dot product written out),
        ``row``, ``col`` (ints actually used), ``shape`` (feature-map shape).
    """
    image, kernel = _check_image_kernel(image, kernel)
    stride, padding = _check_stride_padding(stride, padding)
    OH, OW = _output_shape(image.shape, kernel.shape, stride, padding)
    row, col = int(np.clip(row, 0, OH - 1)), int(np.clip(col, 0, OW - 1))
    window = window_at(image, kernel.shape, row, col, stride, padding)
    text = (f"output[{row}, {col}] = sum of pixel × weight over the red window:\n"
            + dot_product_text(window, kernel, per_row=True))
    return {"figure": explorer_figure(image, kernel, row, col, stride, padding),
            "text": text, "row": row, "col": col, "shape": (OH, OW)}


def kernel_explorer(images, labels=None, kernel="sobel_x"):
    """Interactive kernel explorer (ipywidgets): digit, kernel weights, stride, padding, position.

    Parameters
    ----------
    images : (N, H, W) array_like
        Grayscale images, ideally scaled to [0, 1].
    labels : (N,) array_like, optional
        Shown next to the digit index.
    kernel : str
        Initial preset from :mod:`cnnlib.kernels`.

    Returns
    -------
    widget : ipywidgets.VBox
        Display it (last expression of a cell). Nothing blocks without a browser.
    """
    import ipywidgets as widgets
    from IPython.display import display

    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {images.shape}")
    style = {"description_width": "70px"}
    index = widgets.IntSlider(0, 0, len(images) - 1, description="digit", style=style)
    preset = widgets.Dropdown(options=_kernels.names() + ["custom"], value=kernel,
                              description="kernel", style=style)
    cells = [widgets.FloatText(value=float(v), step=0.5, layout=widgets.Layout(width="70px"))
             for v in _kernels.get_kernel(kernel).ravel()]
    stride = widgets.IntSlider(1, 1, 3, description="stride", style=style)
    padding = widgets.IntSlider(0, 0, 2, description="padding", style=style)
    row = widgets.IntSlider(10, 0, 25, description="row", style=style)
    col = widgets.IntSlider(10, 0, 25, description="col", style=style)
    info = widgets.HTML()
    out = widgets.Output()
    state = {"busy": False}

    def redraw(_=None):
        if state["busy"]:
            return
        k = np.array([c.value for c in cells]).reshape(3, 3)
        OH, OW = _output_shape(images.shape[1:], k.shape, stride.value, padding.value)
        state["busy"] = True  # moving slider limits fires events; draw once
        row.max, col.max = OH - 1, OW - 1
        state["busy"] = False
        view = explorer_view(images[index.value], k, row.value, col.value,
                             stride.value, padding.value)
        label = "" if labels is None else f" (label {int(labels[index.value])})"
        what = ("your own weights" if preset.value == "custom"
                else _kernels.describe(preset.value))
        info.value = f"digit #{index.value}{label} &mdash; {preset.value}: {what}"
        with out:
            out.clear_output(wait=True)
            display(view["figure"])
            print(view["text"])

    def on_preset(change):
        if change["new"] == "custom":
            return
        state["busy"] = True
        for c, v in zip(cells, _kernels.get_kernel(change["new"]).ravel()):
            c.value = float(v)
        state["busy"] = False
        redraw()

    def on_cell(_):
        if not state["busy"] and preset.value != "custom":
            state["busy"] = True
            preset.value = "custom"
            state["busy"] = False
        redraw()

    preset.observe(on_preset, names="value")
    for c in cells:
        c.observe(on_cell, names="value")
    for w in (index, stride, padding, row, col):
        w.observe(redraw, names="value")
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    controls = widgets.HBox([widgets.VBox([index, preset, grid]),
                             widgets.VBox([stride, padding, row, col])])
    redraw()
    return widgets.VBox([controls, info, out])
