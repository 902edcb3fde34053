"""Lesson 07, data augmentation: random shifts and small rotations of real digits, previewed.

Pure function (tested without a kernel): :func:`augment_view` draws, for a few digits, several
augmented copies with :func:`cnnlib.numpy_model.random_rotate` and a shift function (cnnlib's
:func:`cnnlib.numpy_model.random_shift` or the learner's), and lays them out as one picture.
:class:`AugmentView` shows it in place; :func:`augment_explorer` wires the largest shift, the
largest angle and a seed to it; :func:`augment_figure` is the static figure.
"""
import numpy as np

from .. import numpy_model as nm

__all__ = ["augment_view", "AugmentView", "augment_figure", "augment_explorer"]

COPIES = 7      # augmented copies per digit, right of the original
GAP = 2         # pixels between tiles


def augment_view(digits, max_shift=2, max_degrees=10.0, seed=0, copies=COPIES, shift=None):
    """Augmented copies of ``digits`` as one grid picture.

    Parameters
    ----------
    digits : (R, 1, H, W) float ndarray
        Pixels in [0, 1] (background 0, which is also the fill value).
    max_shift : int
        Largest shift in pixels (each copy gets its own ``(dy, dx)``).
    max_degrees : float
        Largest rotation angle (each copy gets its own angle).
    seed : int
        Seeds the draws: the same seed shows the same copies.
    copies : int
    shift : callable, optional
        ``shift(images, labels, max_shift, rng, fill)`` instead of cnnlib's ``random_shift``.

    Returns
    -------
    view : dict
        ``grid`` (R * (H + GAP) - GAP, (1 + copies) * (W + GAP) - GAP) float in [0, 1] (gaps NaN),
        ``copies`` (R, copies, H, W), ``ink_kept`` (share of the original ink still in the picture,
        averaged), ``caption`` (HTML).
    """
    digits = np.asarray(digits, dtype=np.float32)
    R, _, H, W = digits.shape
    rng = np.random.default_rng(seed)
    batch = np.repeat(digits, copies, axis=0)                       # (R * copies, 1, H, W)
    out = nm.augment(batch, rng, max_shift=max_shift, max_degrees=max_degrees, fill=0.0, shift=shift)
    out = np.asarray(out, dtype=np.float32).reshape(R, copies, H, W)
    grid = np.full((R * (H + GAP) - GAP, (1 + copies) * (W + GAP) - GAP), np.nan, dtype=np.float32)
    for r in range(R):
        top = r * (H + GAP)
        grid[top:top + H, :W] = digits[r, 0]
        for c in range(copies):
            left = (1 + c) * (W + GAP)
            grid[top:top + H, left:left + W] = out[r, c]
    ink = digits[:, 0].sum(axis=(1, 2))
    kept = float(np.mean(np.clip(out, 0, None).sum(axis=(2, 3)) / np.maximum(ink, 1e-9)[:, None]))
    caption = (f"each copy: its own shift of up to <b>±{max_shift} px</b> in each direction and its own rotation "
               f"of up to <b>±{max_degrees:g}°</b> (seed {seed}); the labels stay the same. "
               f"Ink still in the picture: {kept:.0%} on average.")
    return {"grid": grid, "copies": out, "ink_kept": kept, "caption": caption}


class AugmentView:
    """The grid of originals (left column) and augmented copies, updated in place."""

    def __init__(self, shape):
        from matplotlib.figure import Figure

        h, w = shape
        self.figure = Figure(figsize=(w / 28 * 0.9, h / 28 * 0.9 + 0.35), dpi=80)
        ax = self.figure.add_axes((0.0, 0.0, 1.0, h / (h + 0.35 * 28 / 0.9)))
        from matplotlib import colormaps

        cmap = colormaps["gray_r"].with_extremes(bad="0.85")       # the gaps between tiles: light grey
        self.image = ax.imshow(np.zeros(shape), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.axis("off")
        self.figure.text(0.01, 0.99, "original", fontsize=10, va="top")
        self.figure.text(0.14, 0.99, "augmented copies (same label)", fontsize=10, va="top")

    def draw(self, view):
        """Show the grid of an :func:`augment_view`."""
        self.image.set_data(np.ma.masked_invalid(view["grid"]))
        return self.figure


def augment_figure(digits, max_shift=2, max_degrees=10.0, seed=0, shift=None):
    """One setting of the preview as a static figure."""
    view = augment_view(digits, max_shift, max_degrees, seed, shift=shift)
    return AugmentView(view["grid"].shape).draw(view)


def augment_explorer(digits, max_shift=2, max_degrees=10, seed=0, shift=None):
    """Largest shift, largest angle and seed -> a grid of augmented digits (a :class:`Live` widget).

    Parameters
    ----------
    digits : (R, 1, 28, 28) float ndarray
        Pixels in [0, 1], a few digits (rows of the grid).
    shift : callable, optional
        The learner's ``random_shift`` (default cnnlib's).
    """
    import ipywidgets as w

    from ._live import Live

    first = augment_view(digits, max_shift, max_degrees, seed, shift=shift)
    view = AugmentView(first["grid"].shape)
    controls = {"max_shift": w.IntSlider(max_shift, min=0, max=6, description="max shift"),
                "max_degrees": w.IntSlider(max_degrees, min=0, max=45, step=5, description="max degrees"),
                "seed": w.IntSlider(seed, min=0, max=20, description="seed")}

    def draw(v):
        view.draw(v)
        return False          # only the picture changed

    return Live("augment-explorer", controls,
                lambda max_shift, max_degrees, seed: augment_view(digits, max_shift, max_degrees, seed, shift=shift),
                figure=view.figure, draw=draw, html=lambda v: v["caption"], animated=[view.image])
