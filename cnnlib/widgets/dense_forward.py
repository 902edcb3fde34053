"""Lesson 04's forward-pass explorer: one digit through the small CNN, stage by stage.

Pure functions do all the work and are tested without a Jupyter kernel:
:func:`tile_maps` lays a stack of feature maps out as one image,
:func:`stage_picture` puts the input and every stage side by side in one RGBA
picture, :func:`forward_state` runs the small CNN of :mod:`cnnlib.weights` on
one digit and keeps every stage, :func:`forward_figure` draws it (in place
too). The widget, :func:`forward_explorer`, only wires a digit slider to them
through :class:`cnnlib.widgets._live.Live`.
"""
import numpy as np
from matplotlib.figure import Figure

from cnnlib.weights import forward_stages

from .dense import _colors

__all__ = ["tile_maps", "stage_picture", "forward_state", "forward_figure", "forward_explorer"]


def tile_maps(maps, ncols=None):
    """Lay ``C`` feature maps out as one image, separated by one-pixel NaN gaps.

    Parameters
    ----------
    maps : (C, H, W) array_like
    ncols : int, optional
        Maps per row; default ``ceil(sqrt(C))``.

    Returns
    -------
    tiled : (rows*(H+1) - 1, ncols*(W+1) - 1) ndarray of float64
        Map ``c`` sits at row ``c // ncols``, column ``c % ncols``; gaps and
        unused cells are NaN (drawn transparent by ``imshow``).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[0] == 0:
        raise ValueError(f"maps must be (C, H, W) with C >= 1, got shape {maps.shape}")
    C, H, W = maps.shape
    ncols = int(np.ceil(np.sqrt(C))) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    rows = -(-C // ncols)
    tiled = np.full((rows * (H + 1) - 1, ncols * (W + 1) - 1), np.nan)
    for c in range(C):
        r, q = divmod(c, ncols)
        tiled[r * (H + 1):r * (H + 1) + H, q * (W + 1):q * (W + 1) + W] = maps[c]
    return tiled


# (stage, caption, maps per row, pixel scale, colormap) of each panel of the explorer's picture
_PANELS = (("input", "input", 1, 4, "gray_r"), ("relu1", "conv1 + ReLU", 4, 2, "viridis"),
           ("pool1", "max-pool", 4, 4, "viridis"), ("relu2", "conv2 + ReLU", 4, 2, "viridis"),
           ("pool2", "max-pool", 4, 4, "viridis"))
_GAP = 16  # white pixels between panels


def stage_picture(stages):
    """One RGBA picture of the input and the feature maps after each stage, side by side.

    Parameters
    ----------
    stages : dict
        :func:`cnnlib.weights.forward_stages` of a batch of ONE image.

    Returns
    -------
    picture : (P, Q, 4) ndarray of uint8
        The input (grey, 0 to 1) and each stage's maps tiled with :func:`tile_maps`
        (viridis, 0 to the stage's maximum), enlarged by whole pixels so that the
        panels have similar heights, on a white background.
    panels : list of (name, caption, x_centre)
        Where each panel sits, for its caption.
    """
    from matplotlib import colormaps

    parts, panels, x = [], [], 0
    for name, caption, ncols, scale, cmap in _PANELS:
        tiled = tile_maps(stages[name][0], ncols)
        top = 1.0 if name == "input" else max(float(np.nanmax(tiled)), 1e-12)
        rgba = colormaps[cmap](np.clip(np.nan_to_num(tiled / top), 0, 1), bytes=True)
        rgba[np.isnan(tiled)] = 255
        rgba = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
        parts.append(rgba)
        panels.append((name, caption, x + rgba.shape[1] / 2))
        x += rgba.shape[1] + _GAP
    height = max(p.shape[0] for p in parts)
    picture = np.full((height, x - _GAP, 4), 255, dtype=np.uint8)
    x = 0
    for part in parts:
        top = (height - part.shape[0]) // 2
        picture[top:top + part.shape[0], x:x + part.shape[1]] = part
        x += part.shape[1] + _GAP
    return picture, panels


def forward_state(image, params, label=None):
    """Run the small CNN on one digit and keep what the forward-pass explorer shows.

    Parameters
    ----------
    image : (H, W) or (1, H, W) array_like
        One digit, pixels in [0, 1].
    params : dict
        Parameters of the small CNN (:func:`cnnlib.weights.load_lesson04_cnn`).
    label : int, optional
        The true class, shown next to the prediction.

    Returns
    -------
    state : dict
        ``stages`` (the dict of :func:`cnnlib.weights.forward_stages` for a batch of
        one), ``shapes`` (``name -> shape``), ``picture`` and ``panels`` (see
        :func:`stage_picture`), ``probs (K,)``, ``predicted`` (int), ``label``, ``text``.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.shape[0] != 1:
        raise ValueError(f"image must be (H, W) or (1, H, W), got shape {image.shape}")
    stages = forward_stages(image[None], params)
    probs = stages["softmax"][0].astype(np.float64)
    pred = int(np.argmax(probs))
    picture, panels = stage_picture(stages)
    verdict = "" if label is None else (f", true {int(label)}: " + ("right" if pred == int(label) else "WRONG"))
    text = f"predicted {pred} with p = {probs[pred]:.3f}{verdict}"
    return {"stages": stages, "shapes": {k: tuple(v.shape) for k, v in stages.items()}, "picture": picture,
            "panels": panels, "probs": probs, "predicted": pred, "label": None if label is None else int(label),
            "text": text}


def forward_figure(state, fig=None):
    """Draw a :func:`forward_state`: the stage picture (left) and the probabilities (right).

    Parameters
    ----------
    state : dict
        From :func:`forward_state`.
    fig : Figure, optional
        A figure this function built before for the same network and image size:
        the picture and the bars are updated in place.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    K = len(state["probs"])
    pred, label = state["predicted"], state["label"]
    if fig is None or getattr(fig, "_forward", None) is None:
        fig = Figure(figsize=(12, 2.6), dpi=80)
        fig.subplots_adjust(left=0.005, right=0.99, bottom=0.1, top=0.8, wspace=0.05)
        ax_pic, ax_p = fig.subplots(1, 2, gridspec_kw={"width_ratios": [state["picture"].shape[1] / 120, 1.2]})
        picture = ax_pic.imshow(state["picture"], interpolation="nearest")
        ax_pic.axis("off")
        for name, caption, x in state["panels"]:
            ax_pic.text(x, -4, f"{caption}\n{state['shapes'][name][1:]}", ha="center", va="bottom", fontsize=10)
        bars = ax_p.bar(range(K), np.zeros(K))
        ax_p.set_ylim(0, 1.02)
        ax_p.set_xticks(range(K))
        ax_p.set_yticks([0, 0.5, 1])          # every label costs drawing time on each frame
        fig._forward = {"picture": picture, "bars": bars, "verdict": ax_p.set_title("", fontsize=10)}
    art = fig._forward
    art["picture"].set_data(state["picture"])
    for bar, p, color in zip(art["bars"], state["probs"], _colors(K, pred if label is None else label, pred)):
        bar.set_height(float(p))
        bar.set_color(color)
    art["verdict"].set_text(f"softmax: {pred}" + ("" if label is None else f" (true {label})"))
    return fig


def forward_explorer(images, labels, params):
    """Forward-pass explorer: pick a test digit, see every stage and the probabilities.

    Parameters
    ----------
    images : (N, H, W) array_like
        Pixels in [0, 1].
    labels : (N,) array_like of int
    params : dict
        Parameters of the small CNN.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
    """
    import ipywidgets as widgets

    from ._live import Live

    images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels)
    controls = {"index": widgets.IntSlider(0, min=0, max=len(images) - 1, description="test digit")}

    def compute(index):
        return forward_state(images[index], params, int(labels[index]))

    fig = forward_figure(compute(0))

    def draw(state):
        forward_figure(state, fig)
        return False                       # only the picture, the bars and the verdict changed (blitted)

    art = fig._forward
    return Live("forward-explorer", controls, compute, figure=fig, draw=draw,
                html=lambda state: f"test digit {controls['index'].value}: {state['text']}",
                animated=[art["picture"], *art["bars"], art["verdict"]])
