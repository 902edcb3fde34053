"""Browse MNIST digits by class and index (Lesson 00).

:func:`select_digit`, :func:`browser_view` and :func:`pixel_table_html` are pure; the
browser draws the digit once and moves its zoom window in place, and writes the pixel
values as an HTML table (144 matplotlib labels would cost ~150 ms per move).
"""
import html

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..plots import show_values
from ._live import Live


def select_digit(images, labels, digit, k):
    """Return the ``k``-th image of class ``digit`` and its index in the dataset.

    Parameters
    ----------
    images : (N, H, W) ndarray
    labels : (N,) int ndarray
    digit : int
        Class to pick from.
    k : int
        Position among the images of that class, from 0.

    Returns
    -------
    image : (H, W) ndarray
    index : int
        Position of that image in ``images``.
    """
    if len(images) != len(labels):
        raise ValueError(f"select_digit: {len(images)} images but {len(labels)} labels")
    where = np.flatnonzero(np.asarray(labels) == digit)
    if len(where) == 0:
        raise ValueError(f"select_digit: no images of class {digit}")
    if not 0 <= k < len(where):
        raise ValueError(f"select_digit: class {digit} has {len(where)} images, so k must be in 0..{len(where) - 1}, got {k}")
    index = int(where[k])
    return images[index], index


def digit_figure(image, title="", zoom=(8, 8, 12, 12)):
    """The digit as a picture beside a zoomed window of its pixel values.

    Parameters
    ----------
    image : (H, W) uint8 ndarray
    title : str
    zoom : (row, col, height, width)
        Window whose numbers are written out (kept inside the image).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the whole image with the window outlined, and the window's values.
    """
    image = np.asarray(image)
    H, W = image.shape
    r, c, h, w = zoom
    r, c = min(max(r, 0), H - h), min(max(c, 0), W - w)
    fig, (ax_img, ax_zoom) = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1, 1.2]})
    ax_img.imshow(image, cmap="gray_r")
    ax_img.add_patch(plt.Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor="tab:red", linewidth=2))
    ax_img.set_title(title or f"{H}×{W} image")
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    show_values(image[r:r + h, c:c + w], ax=ax_zoom, fontsize=9,
                title=f"pixel values, rows {r}–{r + h - 1}, columns {c}–{c + w - 1}")
    ax_zoom.set_xticklabels(range(c, c + w))
    ax_zoom.set_yticklabels(range(r, r + h))
    fig.tight_layout()
    return fig


def class_means(images, labels, num_classes=10):
    """Average image of each class.

    Returns
    -------
    (num_classes, H, W) float64 ndarray
    """
    images = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels)
    return np.stack([images[labels == k].mean(axis=0) for k in range(num_classes)])


def _clamp_zoom(shape, zoom):
    (H, W), (r, c, h, w) = shape, zoom
    return min(max(r, 0), H - h), min(max(c, 0), W - w), h, w


def pixel_table_html(values, row0=0, col0=0, vmax=255):
    """An HTML table of pixel values, each cell shaded like the picture (dark = ink).

    Parameters
    ----------
    values : (h, w) array_like of numbers
    row0, col0 : int
        Image coordinates of the top-left value (written as row/column headers).
    vmax : float
        Value drawn black.

    Returns
    -------
    html : str
    """
    values = np.asarray(values)
    cell = "padding:1px 3px;text-align:right;min-width:2.2em;font:13px monospace"
    head = "".join(f"<th style='{cell};color:#666'>{col0 + j}</th>" for j in range(values.shape[1]))
    rows = [f"<tr><th></th>{head}</tr>"]
    for i, line in enumerate(values):
        tds = []
        for v in line:
            ink = float(np.clip(v / vmax, 0, 1))
            grey = round(255 * (1 - ink))
            tds.append(f"<td style='{cell};background:rgb({grey},{grey},{grey});"
                       f"color:{'white' if ink > 0.5 else 'black'}'>{v:.0f}</td>")
        rows.append(f"<tr><th style='{cell};color:#666'>{row0 + i}</th>{''.join(tds)}</tr>")
    return "<table style='border-collapse:collapse;line-height:1.25'>" + "".join(rows) + "</table>"


def browser_view(images, labels, digit, example, row, col, size=12):
    """What the digit browser shows for one setting (pure).

    Returns
    -------
    view : dict
        ``image`` (H, W), ``index`` (in the dataset), ``zoom`` (row, col, h, w; clamped),
        ``title`` and ``caption`` (HTML: the zoom window's pixel values).
    """
    image, index = select_digit(images, labels, digit, example)
    r, c, h, w = _clamp_zoom(np.shape(image), (row, col, size, size))
    caption = (f"<div style='font-size:13px;margin-bottom:3px'>pixel values, rows {r}–{r + h - 1}, "
               f"columns {c}–{c + w - 1} (0 = white paper, 255 = black ink)</div>"
               + pixel_table_html(np.asarray(image)[r:r + h, c:c + w], r, c))
    return {"image": image, "index": index, "zoom": (r, c, h, w),
            "title": f"training image #{index}: label {digit}", "caption": caption}


class DigitFigure:
    """The digit with its zoom window outlined, built once and updated in place."""

    def __init__(self, view):
        self.figure = Figure(figsize=(3.6, 3.8), dpi=80)
        self.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9)
        ax = self.ax = self.figure.subplots()
        ax.set_xticks([])
        ax.set_yticks([])
        self.im = ax.imshow(view["image"], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        self.box = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="tab:red", linewidth=2))
        self.update(view)

    def update(self, view):
        self.im.set_data(view["image"])
        r, c, h, w = view["zoom"]
        self.box.set_bounds(c - 0.5, r - 0.5, w, h)
        self.ax.set_title(view["title"], fontsize=11)
        return self.figure


def digit_browser(images, labels):
    """Widget: choose a class and an example, see the digit and its pixel values.

    Returns
    -------
    widget : Live
        The cell's last expression, so Jupyter displays it.
    """
    import ipywidgets as widgets

    images, labels = np.asarray(images), np.asarray(labels)
    counts = np.bincount(labels, minlength=10)
    H, W = images.shape[1:]
    controls = {
        "digit": widgets.ToggleButtons(options=list(range(10)), value=0, description="digit",
                                       style={"button_width": "32px"}),
        "example": widgets.IntSlider(value=0, min=0, max=int(counts[0]) - 1, description="example"),
        "row": widgets.IntSlider(value=8, min=0, max=H - 12, description="zoom row"),
        "col": widgets.IntSlider(value=8, min=0, max=W - 12, description="zoom col"),
    }

    def on_digit(change):
        with live.hold():  # the example slider's range follows the class: one frame
            controls["example"].max = int(counts[change["new"]]) - 1

    controls["digit"].observe(on_digit, names="value")  # before Live's own observer

    def compute(digit, example, row, col):
        return browser_view(images, labels, digit, example, row, col)

    def layout(c):
        return widgets.VBox([c["digit"], widgets.HBox([c["example"], c["row"], c["col"]])])

    plot = DigitFigure(compute(0, 0, 8, 8))
    live = Live("digit-browser", controls, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: view["caption"], layout=layout, beside=True)
    return live
