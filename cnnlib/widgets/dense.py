"""Lesson 04 widgets: the softmax playground and the forward-pass explorer.

Pure functions do all the work and are tested without a Jupyter kernel:

* :func:`playground_state` turns ten logits, a temperature and a true class
  into probabilities and the cross-entropy loss; :func:`playground_figure`
  draws that state (or redraws it in place into the figure it built before).
* :func:`tile_maps` lays a stack of feature maps out as one image;
  :func:`forward_state` runs the small CNN of :mod:`cnnlib.weights` on one
  digit and keeps every stage; :func:`forward_figure` draws it (in place too).

The interactive wrappers only wire controls to these functions.
"""
import numpy as np
from matplotlib.figure import Figure

from cnnlib.functional import log_softmax, softmax
from cnnlib.weights import forward_stages

__all__ = ["softmax_t", "playground_state", "playground_figure", "tile_maps", "forward_state",
           "forward_figure", "softmax_playground", "forward_explorer"]

_TRUE, _OTHER, _PRED = "tab:green", "tab:gray", "tab:orange"


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
    text = (f"p(true class {k}) = {probs[k]:.3f}, loss = -ln p = {loss:.3f}  "
            f"(uniform guess: ln {z.size} = {np.log(z.size):.3f});  predicted {pred} (p = {probs[pred]:.3f})")
    return {"logits": z, "scaled": scaled, "probs": probs, "loss": loss, "predicted": pred,
            "true_class": k, "temperature": t, "text": text}


def _colors(n, true_class, predicted):
    colors = [_OTHER] * n
    colors[predicted] = _PRED
    colors[true_class] = _TRUE
    return colors


def playground_figure(state, fig=None):
    """Draw a :func:`playground_state`: scaled logits (left) and probabilities (right).

    Parameters
    ----------
    state : dict
        From :func:`playground_state`.
    fig : Figure, optional
        A figure this function built before: its bars and texts are updated in
        place (no new axes), which keeps a slider move cheap.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    K = len(state["probs"])
    colors = _colors(K, state["true_class"], state["predicted"])
    if fig is None or getattr(fig, "_playground", None) is None or len(fig._playground["p"]) != K:
        fig = Figure(figsize=(9, 3.2), dpi=80)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.82, wspace=0.25)
        ax_z, ax_p = fig.subplots(1, 2)
        bars_z = ax_z.bar(range(K), state["scaled"])
        ax_z.axhline(0, color="0.5", lw=0.8)
        ax_z.set_ylim(-12, 12)
        ax_z.set_title("logits / temperature", fontsize=10)
        bars_p = ax_p.bar(range(K), state["probs"])
        ax_p.axhline(1 / K, color="0.5", lw=0.8, ls="--")
        ax_p.set_ylim(0, 1.05)
        ax_p.set_title("softmax probabilities (dashed: uniform 1/K)", fontsize=10)
        labels = [ax_p.text(i, 0, "", ha="center", va="bottom", fontsize=8) for i in range(K)]
        for ax in (ax_z, ax_p):
            ax.set_xticks(range(K))
            ax.set_xlabel("class")
        fig._playground = {"z": bars_z, "p": bars_p, "labels": labels,
                           "title": fig.suptitle("", fontsize=10), "ax_z": ax_z}
    art = fig._playground
    for i in range(K):
        art["z"][i].set_height(float(np.clip(state["scaled"][i], -12, 12)))
        art["p"][i].set_height(float(state["probs"][i]))
        art["z"][i].set_color(colors[i])
        art["p"][i].set_color(colors[i])
        p = state["probs"][i]
        art["labels"][i].set_text(f"{p:.2f}" if p >= 0.005 else "")
        art["labels"][i].set_y(float(p) + 0.01)
    art["title"].set_text(f"T = {state['temperature']:.2f}, true class {state['true_class']} (green), "
                          f"predicted {state['predicted']} (orange if wrong):  "
                          f"cross-entropy loss = {state['loss']:.3f}")
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


# stage name, caption, maps per row in the figure
_SHOWN = (("relu1", "conv1 + ReLU", 4), ("pool1", "max-pool", 4),
          ("relu2", "conv2 + ReLU", 4), ("pool2", "max-pool", 4))


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
        one), ``shapes`` (``name -> shape``), ``tiles`` (``name -> 2-D montage`` of
        each shown stage), ``probs (K,)``, ``predicted`` (int), ``label``, ``text``.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.shape[0] != 1:
        raise ValueError(f"image must be (H, W) or (1, H, W), got shape {image.shape}")
    stages = forward_stages(image[None], params)
    probs = stages["softmax"][0].astype(np.float64)
    pred = int(np.argmax(probs))
    tiles = {name: tile_maps(stages[name][0], ncols) for name, _, ncols in _SHOWN}
    verdict = "" if label is None else (f", true {int(label)}: " + ("right" if pred == int(label) else "WRONG"))
    text = f"predicted {pred} with p = {probs[pred]:.3f}{verdict}"
    return {"stages": stages, "shapes": {k: tuple(v.shape) for k, v in stages.items()}, "tiles": tiles,
            "probs": probs, "predicted": pred, "label": None if label is None else int(label), "text": text}


def forward_figure(state, fig=None):
    """Draw a :func:`forward_state`: the digit, the feature maps after each stage, the probabilities.

    Parameters
    ----------
    state : dict
        From :func:`forward_state`.
    fig : Figure, optional
        A figure this function built before: images and bars are updated in place.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    K = len(state["probs"])
    pred, label = state["predicted"], state["label"]
    colors = _colors(K, pred if label is None else label, pred)
    if fig is None or getattr(fig, "_forward", None) is None:
        fig = Figure(figsize=(12, 3.2), dpi=80)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.1, top=0.8, wspace=0.1)
        axes = fig.subplots(1, 6, gridspec_kw={"width_ratios": [1, 2, 2, 1, 1, 1.3]})
        images = {"input": axes[0].imshow(state["stages"]["input"][0, 0], cmap="gray_r", vmin=0, vmax=1)}
        for ax, (name, _, _) in zip(axes[1:5], _SHOWN):
            images[name] = ax.imshow(state["tiles"][name], cmap="viridis", interpolation="nearest")
        for ax in axes[:5]:
            ax.set_xticks([])
            ax.set_yticks([])
        bars = axes[5].bar(range(K), state["probs"])
        axes[5].set_ylim(0, 1.05)
        axes[5].set_xticks(range(K))
        axes[5].tick_params(labelsize=8)
        axes[5].set_title("softmax", fontsize=9)
        fig._forward = {"axes": axes, "images": images, "bars": bars, "title": fig.suptitle("", fontsize=11)}
    art = fig._forward
    shapes = state["shapes"]
    art["images"]["input"].set_data(state["stages"]["input"][0, 0])
    art["axes"][0].set_title(f"input {shapes['input'][1:]}", fontsize=9)
    for ax, (name, caption, _) in zip(art["axes"][1:5], _SHOWN):
        tile = state["tiles"][name]
        art["images"][name].set_data(tile)
        art["images"][name].set_clim(0, max(float(np.nanmax(tile)), 1e-6))
        ax.set_title(f"{caption} {shapes[name][1:]}", fontsize=9)
    for i, bar in enumerate(art["bars"]):
        bar.set_height(float(state["probs"][i]))
        bar.set_color(colors[i])
    art["title"].set_text(state["text"] + f"   (flatten: {shapes['flatten'][1]} numbers -> dense -> "
                          f"{shapes['logits'][1]} logits)")
    return fig


def _show(out, fig):
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        display(fig)


def softmax_playground(logits=None, temperature=1.0, true_class=0, limit=20.0):
    """Softmax playground (ipywidgets): ten logit sliders, a temperature and the true class.

    Parameters
    ----------
    logits : (10,) array_like, optional
        Initial slider values (clipped to ``[-limit, limit]``); default all zero.
    temperature : float > 0
    true_class : int
    limit : float
        Range of the logit sliders.

    Returns
    -------
    widget : ipywidgets.VBox
    """
    import ipywidgets as widgets

    z0 = np.zeros(10) if logits is None else np.clip(np.asarray(logits, dtype=float), -limit, limit)
    layout = widgets.Layout(height="150px", width="46px")
    sliders = [widgets.FloatSlider(float(v), min=-limit, max=limit, step=0.5, orientation="vertical",
                                   description=str(k), readout_format=".1f", layout=layout)
               for k, v in enumerate(z0)]
    temp = widgets.FloatLogSlider(temperature, base=10, min=-1, max=1, step=0.05, description="temperature")
    true = widgets.Dropdown(options=list(range(len(z0))), value=int(true_class), description="true class")
    info, out = widgets.HTML(), widgets.Output()
    fig = {"fig": None}

    def redraw(_=None):
        state = playground_state([s.value for s in sliders], temp.value, true.value)
        fig["fig"] = playground_figure(state, fig["fig"])
        info.value = state["text"]
        _show(out, fig["fig"])

    for w in sliders + [temp, true]:
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(sliders), widgets.HBox([temp, true]), info, out])


def forward_explorer(images, labels, params):
    """Forward-pass explorer (ipywidgets): pick a test digit, see every stage and the probabilities.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) array_like
        Pixels in [0, 1].
    labels : (N,) array_like of int
    params : dict
        Parameters of the small CNN.

    Returns
    -------
    widget : ipywidgets.VBox
    """
    import ipywidgets as widgets

    images = np.asarray(images, dtype=np.float32)
    index = widgets.IntSlider(0, 0, len(images) - 1, description="test digit")
    out = widgets.Output()
    fig = {"fig": None}

    def redraw(_=None):
        state = forward_state(images[index.value], params, int(labels[index.value]))
        fig["fig"] = forward_figure(state, fig["fig"])
        _show(out, fig["fig"])

    index.observe(redraw, names="value")
    redraw()
    return widgets.VBox([index, out])
