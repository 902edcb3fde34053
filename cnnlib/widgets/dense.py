"""Lesson 04 widgets: the softmax playground and the forward-pass explorer.

Pure functions do all the work and are tested without a Jupyter kernel:

* :func:`playground_state` turns ten logits, a temperature and a true class
  into probabilities and the cross-entropy loss; :func:`playground_figure`
  draws that state (or redraws it in place into the figure it built before).
* :func:`tile_maps` lays a stack of feature maps out as one image,
  :func:`stage_picture` puts the input and every stage side by side in one
  RGBA picture; :func:`forward_state` runs the small CNN of :mod:`cnnlib.weights`
  on one digit and keeps every stage; :func:`forward_figure` draws it (in place too).

The widgets (:func:`softmax_playground`, :func:`forward_explorer`) only wire
controls to them through :class:`cnnlib.widgets._live.Live`.
"""
import numpy as np
from matplotlib.figure import Figure

from cnnlib.functional import log_softmax, softmax
from cnnlib.weights import forward_stages

__all__ = ["softmax_t", "playground_state", "playground_figure", "tile_maps", "stage_picture", "forward_state",
           "forward_figure", "softmax_playground", "forward_explorer"]

_TRUE, _OTHER, _PRED = "tab:green", "tab:gray", "tab:orange"
LOGIT_LIMIT = 20.0   # range of the playground's logit sliders


def _logits_and_temperature(logits, temperature):
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"logits must be a 1-D array of at least 2 class scores, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite numbers")
    t = float(temperature)
    if not t > 0 or not np.isfinite(t):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    return z, t


def softmax_t(logits, temperature=1.0):
    """Softmax of ``logits / temperature`` (temperature 1 is the ordinary softmax).

    Parameters
    ----------
    logits : (K,) array_like
    temperature : float > 0
        Small values sharpen the distribution towards the largest logit, large
        values flatten it towards uniform.

    Returns
    -------
    probs : (K,) ndarray of float64
        Non-negative, sums to 1.
    """
    z, t = _logits_and_temperature(logits, temperature)
    return softmax(z / t)


def playground_state(logits, temperature=1.0, true_class=0):
    """Everything the softmax playground shows for one setting of its controls.

    Parameters
    ----------
    logits : (K,) array_like
    temperature : float > 0
    true_class : int in [0, K)

    Returns
    -------
    state : dict
        ``logits (K,)``, ``scaled (K,)`` = logits / temperature, ``probs (K,)``,
        ``loss`` (float, ``-log_softmax(scaled)[true_class]``: the cross-entropy),
        ``predicted`` (int, argmax), ``true_class``, ``temperature``, ``text`` (str).
    """
    z, t = _logits_and_temperature(logits, temperature)
    k = int(true_class)
    if not 0 <= k < z.size:
        raise ValueError(f"true_class must lie in [0, {z.size}), got {true_class!r}")
    scaled = z / t
    probs = softmax(scaled)
    loss = float(-log_softmax(scaled)[k])
    pred = int(np.argmax(probs))
    text = (f"T = {t:.2f}: p(true class {k}) = {probs[k]:.3f}, cross-entropy loss = -ln p = {loss:.3f} "
            f"(uniform guess: ln {z.size} = {np.log(z.size):.3f}); predicted {pred} (p = {probs[pred]:.3f})")
    return {"logits": z, "scaled": scaled, "probs": probs, "loss": loss, "predicted": pred,
            "true_class": k, "temperature": t, "text": text}


def _colors(n, true_class, predicted):
    colors = [_OTHER] * n
    colors[predicted] = _PRED
    colors[true_class] = _TRUE
    return colors


def playground_figure(state, fig=None):
    """Draw a :func:`playground_state`: the probabilities as bars, one per class.

    The true class is green, a wrong prediction orange; the numbers (loss,
    probabilities) are in ``state["text"]``, shown next to the figure. (In the
    widget the logits are the sliders themselves.)

    Parameters
    ----------
    state : dict
        From :func:`playground_state`.
    fig : Figure, optional
        A figure this function built before: its bars are updated in place.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    K = len(state["probs"])
    if fig is None or getattr(fig, "_playground", None) is None or len(fig._playground["p"]) != K:
        fig = Figure(figsize=(8, 2.6), dpi=80)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.19, top=0.88)
        ax = fig.subplots()
        bars = ax.bar(range(K), np.zeros(K))
        ax.axhline(1 / K, color="0.5", lw=0.8, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_xticks(range(K))
        ax.set_yticks([0, 0.5, 1])            # every label costs drawing time on each frame
        ax.set_xlabel("class", fontsize=10)
        ax.set_title("softmax(logits / temperature); dashed: the uniform 1/K", fontsize=10)
        fig._playground = {"p": bars}
    colors = _colors(K, state["true_class"], state["predicted"])
    for bar, p, color in zip(fig._playground["p"], state["probs"], colors):
        bar.set_height(float(p))
        bar.set_color(color)
    return fig


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


def softmax_playground(logits=None, temperature=1.0, true_class=0):
    """Softmax playground: ten logit sliders, a temperature and the true class.

    Parameters
    ----------
    logits : (10,) array_like, optional
        Initial slider values, clipped to ``[-LOGIT_LIMIT, LOGIT_LIMIT]``; default all zero.
    temperature : float in [0.1, 10]
    true_class : int

    Returns
    -------
    widget : cnnlib.widgets._live.Live
    """
    import ipywidgets as widgets

    from ._live import Live

    z0 = np.zeros(10) if logits is None else np.clip(np.asarray(logits, dtype=float), -LOGIT_LIMIT, LOGIT_LIMIT)
    z0 = np.round(z0 * 2) / 2                      # on the sliders' 0.5 grid
    size = widgets.Layout(height="140px", width="52px")
    sliders = {f"z{k}": widgets.FloatSlider(float(v), min=-LOGIT_LIMIT, max=LOGIT_LIMIT, step=0.5, description=f"z{k}",
                                            orientation="vertical", readout_format=".1f", layout=size)
               for k, v in enumerate(z0)}
    controls = dict(sliders,
                    temperature=widgets.FloatLogSlider(temperature, base=10, min=-1, max=1, step=0.05,
                                                       description="temperature"),
                    true_class=widgets.Dropdown(options=list(range(len(z0))), value=int(true_class),
                                                description="true class"))

    def compute(temperature, true_class, **logits):
        return playground_state([logits[k] for k in sliders], temperature, true_class)

    def layout(c):
        return widgets.VBox([widgets.HBox([c[k] for k in sliders]), widgets.HBox([c["temperature"], c["true_class"]])])

    fig = playground_figure(playground_state(z0, temperature, true_class))
    return Live("softmax-playground", controls, compute, figure=fig,
                draw=lambda state: playground_figure(state, fig), html=lambda state: state["text"], layout=layout)


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
    return Live("forward-explorer", controls, compute, figure=fig, draw=lambda state: forward_figure(state, fig),
                html=lambda state: f"test digit {controls['index'].value}: {state['text']}")
