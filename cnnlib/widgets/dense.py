"""Lesson 04's softmax playground (the forward-pass explorer is in :mod:`.dense_forward`).

Pure functions do all the work and are tested without a Jupyter kernel:
:func:`playground_state` turns ten logits, a temperature and a true class into
probabilities and the cross-entropy loss; :func:`playground_figure` draws that
state (or redraws it in place into the figure it built before). The widget,
:func:`softmax_playground`, only wires controls to them through
:class:`cnnlib.widgets._live.Live`.
"""
import numpy as np
from matplotlib.figure import Figure

from cnnlib.functional import log_softmax, softmax

__all__ = ["softmax_t", "playground_state", "playground_figure", "softmax_playground"]

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

    def draw(state):
        playground_figure(state, fig)
        return False                       # only the bars changed: they are blitted over the cached axes

    return Live("softmax-playground", controls, compute, figure=fig, draw=draw, html=lambda state: state["text"],
                layout=layout, animated=list(fig._playground["p"]))
