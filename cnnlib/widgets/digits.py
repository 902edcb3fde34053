"""Browse MNIST digits by class and index (Lesson 00)."""
import matplotlib.pyplot as plt
import numpy as np

from ..plots import show_values


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
    show_values(image[r:r + h, c:c + w], ax=ax_zoom, fontsize=7,
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


def digit_browser(images, labels):
    """Widget: choose a class and an index, see the digit and its pixel values."""
    import ipywidgets as widgets
    from IPython.display import display

    counts = np.bincount(labels, minlength=10)
    digit = widgets.ToggleButtons(options=list(range(10)), value=0, description="digit",
                                  style={"button_width": "32px"})
    k = widgets.IntSlider(value=0, min=0, max=int(counts[0]) - 1, description="example")
    row = widgets.IntSlider(value=8, min=0, max=images.shape[1] - 12, description="zoom row")
    col = widgets.IntSlider(value=8, min=0, max=images.shape[2] - 12, description="zoom col")

    def on_digit(change):
        k.max = int(counts[change["new"]]) - 1

    digit.observe(on_digit, names="value")

    def draw(digit, k, row, col):
        image, index = select_digit(images, labels, digit, k)
        digit_figure(image, title=f"training image #{index}: label {digit}", zoom=(row, col, 12, 12))
        plt.show()

    out = widgets.interactive_output(draw, {"digit": digit, "k": k, "row": row, "col": col})
    display(widgets.VBox([digit, widgets.HBox([k, row, col]), out]))
