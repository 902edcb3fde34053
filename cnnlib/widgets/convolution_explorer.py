"""Kernel explorer (Lesson 01): slide a kernel over a digit and watch one dot product.

:func:`explorer_state` computes every number the explorer shows (pure, tested without a
kernel); :class:`ExplorerFigure` draws a state and redraws later states in place;
:func:`kernel_explorer` wires the controls to them through :class:`~cnnlib.widgets._live.Live`.
"""
import html

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlib import kernels as _kernels

from ._live import Live
from .convolution import (_check_image_kernel, _check_stride_padding, _output_shape, _round_text,
                          dot_product_text, feature_map, pad_image, window_at)

__all__ = ["explorer_state", "ExplorerFigure", "explorer_figure", "explorer_view",
           "kernel_explorer_view", "kernel_explorer"]

_FONT = 11  # points at 80 dpi: 12 px on screen, above the 8 pt floor


def explorer_state(image, kernel, row, col, stride=1, padding=0):
    """Everything the explorer shows for one setting, as arrays and strings.

    ``row``/``col`` are clamped into the feature map (changing stride or padding shrinks
    it under the sliders).

    Returns
    -------
    state : dict
        ``padded``, ``kernel``, ``fmap`` (arrays), ``row``, ``col``, ``shape`` (feature map),
        ``window`` ((top, left) in the padded input), ``value`` (str, the sum as written),
        ``text`` (the dot product written out), ``titles`` (three axis titles), ``stride``,
        ``padding``, ``image_shape``.
    """
    image, kernel = _check_image_kernel(image, kernel)
    stride, padding = _check_stride_padding(stride, padding)
    OH, OW = _output_shape(image.shape, kernel.shape, stride, padding)
    row, col = int(np.clip(row, 0, OH - 1)), int(np.clip(col, 0, OW - 1))
    window = window_at(image, kernel.shape, row, col, stride, padding)
    fmap = feature_map(image, kernel, stride, padding)
    (H, W), (KH, KW) = image.shape, kernel.shape
    return {
        "padded": pad_image(image, padding), "kernel": kernel, "fmap": fmap,
        "row": row, "col": col, "shape": (OH, OW), "window": (row * stride, col * stride),
        "value": _round_text(float(np.sum(window * kernel)), 2),
        "text": dot_product_text(window, kernel, per_row=True),
        "titles": (f"input {H}×{W}, padding {padding}", f"kernel {KH}×{KW}",
                   f"feature map {OH}×{OW}, stride {stride}"),
        "stride": stride, "padding": padding, "image_shape": (H, W),
    }


def _text_colour(rgba):
    # Light text on dark cells and dark text on light ones: WCAG relative luminance.
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3])
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.3 else "black"


class ExplorerFigure:
    """Input (window in red), kernel weights and feature map, built once and updated in place."""

    def __init__(self, state):
        # Fixed margins: constrained layout would double the time a frame takes.
        self.figure = Figure(figsize=(10, 3.8), dpi=80)
        self.figure.subplots_adjust(left=0.01, right=0.99, bottom=0.1, top=0.9, wspace=0.05)
        self.axes = self.figure.subplots(1, 3)
        for ax in self.axes:
            ax.set_xticks([])
            ax.set_yticks([])
        ax_in, ax_k, ax_out = self.axes
        self.im_in = ax_in.imshow(state["padded"], cmap="gray", interpolation="nearest")
        self.pad_box = Rectangle((0, 0), 1, 1, fill=False, ec="tab:blue", ls="--", lw=1)
        self.win_box = Rectangle((0, 0), 1, 1, fill=False, ec="red", lw=2)
        ax_in.add_patch(self.pad_box)
        ax_in.add_patch(self.win_box)
        self.im_k = ax_k.imshow(state["kernel"], cmap="coolwarm", interpolation="nearest")
        self.weights = []
        self.im_out = ax_out.imshow(state["fmap"], cmap="coolwarm", interpolation="nearest")
        self.out_box = Rectangle((0, 0), 1, 1, fill=False, ec="black", lw=2)
        ax_out.add_patch(self.out_box)
        self.value = ax_out.text(0.5, -0.03, "", transform=ax_out.transAxes, ha="center", va="top",
                                 fontsize=_FONT)
        self._layout = None
        self.update(state)

    @property
    def animated(self):
        """What changes when only the window, digit or weights move (for ``Live(animated=)``)."""
        return [self.im_in, self.pad_box, self.win_box, self.im_k, *self.weights, self.im_out,
                self.out_box, self.value]

    @staticmethod
    def _show(im, array, vmin, vmax):
        im.set_data(array)
        im.set_clim(vmin, vmax)
        h, w = array.shape
        im.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        im.axes.set_xlim(-0.5, w - 0.5)
        im.axes.set_ylim(h - 0.5, -0.5)

    def update(self, state):
        """Show ``state`` (from :func:`explorer_state`) by changing the artists' data.

        Returns True when more than :attr:`animated` changed (titles, shapes).
        """
        padded, kernel, fmap = state["padded"], state["kernel"], state["fmap"]
        P, (H, W), (KH, KW) = state["padding"], state["image_shape"], kernel.shape
        self._show(self.im_in, padded, 0, max(1.0, padded.max()))
        self.pad_box.set_visible(P > 0)
        self.pad_box.set_bounds(P - 0.5, P - 0.5, W, H)
        top, left = state["window"]
        self.win_box.set_bounds(left - 0.5, top - 0.5, KW, KH)
        k_lim = max(np.abs(kernel).max(), 1e-12)
        self._show(self.im_k, kernel, -k_lim, k_lim)
        self._weight_labels(kernel, k_lim)
        f_lim = max(np.abs(fmap).max(), 1e-12)
        self._show(self.im_out, fmap, -f_lim, f_lim)
        self.out_box.set_xy((state["col"] - 0.5, state["row"] - 0.5))
        self.value.set_text(f"output[{state['row']}, {state['col']}] = {state['value']}")
        layout = (state["titles"], padded.shape, fmap.shape, kernel.shape)
        if layout == self._layout:
            return False
        self._layout = layout
        for ax, title in zip(self.axes, state["titles"]):
            ax.set_title(title, fontsize=_FONT)
        return True

    def _weight_labels(self, kernel, limit):
        if len(self.weights) != kernel.size:  # a new kernel shape: new labels (the widget's is fixed)
            for t in self.weights:
                t.remove()
            self.weights = [] if kernel.size > 49 else [
                self.axes[1].text(j, i, "", ha="center", va="center", fontsize=_FONT)
                for i, j in np.ndindex(kernel.shape)]
        cmap = colormaps["coolwarm"]
        for t, w in zip(self.weights, kernel.ravel()):
            t.set_text(_round_text(w, 4))  # 0.0625 stays 0.0625, 1/9 shows 0.1111
            t.set_color(_text_colour(cmap((w / limit + 1) / 2)))


def explorer_figure(image, kernel, row, col, stride=1, padding=0):
    """Draw input (window highlighted), kernel weights and feature map side by side.

    Raises ``ValueError`` if ``(row, col)`` lies outside the feature map.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three axes: padded input, kernel, feature map (no pyplot: nothing is left open).
    """
    window_at(image, np.shape(kernel), row, col, stride, padding)  # validates the position
    return ExplorerFigure(explorer_state(image, kernel, row, col, stride, padding)).figure


def explorer_view(image, kernel, row, col, stride=1, padding=0):
    """Everything the kernel explorer shows for one setting, with a fresh figure.

    Returns
    -------
    view : dict
        ``figure`` (Figure), ``text`` (the dot product written out, ``output[r, c] = ...``
        first), ``row``, ``col`` (ints actually used), ``shape`` (feature-map shape).
    """
    state = explorer_state(image, kernel, row, col, stride, padding)
    text = (f"output[{state['row']}, {state['col']}] = sum of pixel × weight over the red window:\n"
            + state["text"])
    return {"figure": ExplorerFigure(state).figure, "text": text, "row": state["row"],
            "col": state["col"], "shape": state["shape"]}


def kernel_explorer_view(image, weights, stride, padding, row, col, kernel="custom", title=""):
    """The widget's view: :func:`explorer_state` of a 3x3 grid of weights, plus its caption.

    Returns
    -------
    view : dict
        The state, and ``caption`` (HTML: the digit, the kernel's description, the sum).
    """
    state = explorer_state(image, np.reshape(np.asarray(weights, dtype=np.float64), (3, 3)),
                           row, col, stride, padding)
    what = ("your own weights: type numbers in the 3×3 grid" if kernel == "custom"
            else _kernels.describe(kernel))
    state["caption"] = (
        f"<div style='font-size:13px'>{html.escape(title)} — <b>{html.escape(kernel)}</b>: "
        f"{html.escape(what)}</div>"
        f"<div style='font-size:13px;margin-top:4px'>output[{state['row']}, {state['col']}] of the "
        f"{state['shape'][0]}×{state['shape'][1]} feature map (stride {state['stride']}, padding "
        f"{state['padding']}) = sum of pixel × weight over the red window:</div>"
        f"<pre style='font-size:13px;white-space:pre;margin:2px 0'>{html.escape(state['text'])}</pre>")
    return state


def kernel_explorer(images, labels=None, kernel="sobel_x"):
    """Interactive kernel explorer: digit, kernel preset or own weights, stride, padding, position.

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
    widget : Live
        Display it (last expression of a cell). Nothing blocks without a browser.
    """
    import ipywidgets as widgets

    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {images.shape}")
    style = {"description_width": "70px"}
    c = {"digit": widgets.IntSlider(0, 0, len(images) - 1, description="digit", style=style),
         "kernel": widgets.Dropdown(options=_kernels.names() + ["custom"], value=kernel,
                                    description="kernel", style=style),
         "weights": [widgets.FloatText(value=float(v), step=0.5, layout=widgets.Layout(width="70px"))
                     for v in _kernels.get_kernel(kernel).ravel()],
         "stride": widgets.IntSlider(1, 1, 3, description="stride", style=style),
         "padding": widgets.IntSlider(0, 0, 2, description="padding", style=style),
         "row": widgets.IntSlider(10, 0, 25, description="row", style=style),
         "col": widgets.IntSlider(10, 0, 25, description="col", style=style)}
    syncing = []  # non-empty while the widget itself sets weights or the preset

    def compute(digit, kernel, weights, stride, padding, row, col):
        label = "" if labels is None else f" (label {int(labels[digit])})"
        return kernel_explorer_view(images[digit], weights, stride, padding, row, col,
                                    kernel=kernel, title=f"digit #{digit}{label}")

    def fit_position(_=None):
        OH, OW = _output_shape(images.shape[1:], (3, 3), c["stride"].value, c["padding"].value)
        with live.hold():  # the sliders' limits move under them: one frame, not three
            c["row"].max, c["col"].max = OH - 1, OW - 1

    def on_preset(change):
        if syncing:
            return
        # "custom" starts from zeros, so choosing it visibly changes the kernel to your own.
        values = np.zeros(9) if change["new"] == "custom" else _kernels.get_kernel(change["new"]).ravel()
        syncing.append(1)
        with live.hold():
            for cell, v in zip(c["weights"], values):
                cell.value = float(v)
        syncing.pop()

    def on_weight(_):
        if not syncing and c["kernel"].value != "custom":
            syncing.append(1)
            c["kernel"].value = "custom"
            syncing.pop()

    # Registered before Live's own observers, so the limits and weights are right when it draws.
    c["stride"].observe(fit_position, names="value")
    c["padding"].observe(fit_position, names="value")
    c["kernel"].observe(on_preset, names="value")
    for cell in c["weights"]:
        cell.observe(on_weight, names="value")

    first = compute(**{k: ([w.value for w in v] if isinstance(v, list) else v.value) for k, v in c.items()})
    plot = ExplorerFigure(first)
    grid = widgets.GridBox(c["weights"], layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))

    def layout(controls):
        return widgets.HBox([widgets.VBox([controls["digit"], controls["kernel"], grid]),
                             widgets.VBox([controls["stride"], controls["padding"], controls["row"],
                                           controls["col"]])])

    live = Live("kernel-explorer", c, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: view["caption"], layout=layout, animated=plot.animated)
    return live
