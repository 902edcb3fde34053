"""Lesson 02, the depth slider: how the gradient's size changes through a deep random stack.

Pure functions (tested without a kernel, against torch autograd): :func:`gradient_profile`,
:func:`depth_view`. :class:`DepthView` draws a view in place; :func:`depth_explorer` only
wires a depth slider and a choice of initialisation to both.
"""
import functools
import math

import numpy as np

from .. import functional as F
from .. import init
from .activations import COLORS, _figure, _fixed, _swatch

__all__ = ["gradient_profile", "depth_view", "DepthView", "depth_figure", "depth_explorer"]

_INITS = {"lecun": lambda w, rng: init.normal_(w, 0.0, 1.0 / math.sqrt(w.shape[1]), rng=rng),
          "he": lambda w, rng: init.kaiming_normal_(w, nonlinearity="relu", rng=rng),
          "pytorch": lambda w, rng: init.kaiming_uniform_(w, a=math.sqrt(5), rng=rng)}
_ENGINE = {"relu": (F.relu_forward, F.relu_backward),
           "leaky_relu": (F.leaky_relu_forward, F.leaky_relu_backward),
           "sigmoid": (F.sigmoid_forward, F.sigmoid_backward),
           "tanh": (F.tanh_forward, F.tanh_backward)}


@functools.lru_cache(maxsize=8)
def _draws(init_name, width, batch, seed, n):
    """Input, top gradient and ``n`` weight matrices, drawn in that order (cached: the slider re-asks)."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((batch, width))
    dout = rng.standard_normal((batch, width))
    weights = tuple(_INITS[init_name](np.empty((width, width)), rng) for _ in range(n))
    for w in weights:
        w.flags.writeable = False
    return x0, dout, weights


def gradient_profile(depth, init_name="lecun", activations=("relu", "leaky_relu", "tanh", "sigmoid"),
                     width=64, batch=64, seed=0):
    """How the size of the gradient changes on its way down a random deep stack.

    A stack of ``depth`` blocks ``linear (width -> width, no bias) -> activation``, computed
    with cnnlib's ``linear_forward`` and activation functions (the same random weights for
    every activation), gets a standard-normal batch; a standard-normal ``dout`` is sent back
    from the top with the matching backward functions. Block k's weights do not depend on
    ``depth``, so a deeper stack extends a shallower one.

    Parameters
    ----------
    depth : int >= 1
    init_name : {"lecun", "he", "pytorch"}
        Weights ~ N(0, 1/width), N(0, 2/width), or torch's default U(+-1/sqrt(width)).
    activations : tuple of str
        Names from ``("relu", "leaky_relu", "sigmoid", "tanh")`` (leaky slope 0.01).
    width, batch, seed : int

    Returns
    -------
    ratios : dict str -> (depth + 1,) ndarray
        ``ratios[a][k]`` = norm of the gradient after going back through k blocks, divided by
        the norm of ``dout`` (so ``ratios[a][0] == 1``).
    """
    if isinstance(depth, bool) or int(depth) != depth or depth < 1:
        raise ValueError(f"gradient_profile: depth must be a whole number >= 1, got {depth!r}")
    if init_name not in _INITS:
        raise ValueError(f"gradient_profile: init_name must be one of {sorted(_INITS)}, got {init_name!r}")
    x0, dout, weights = _draws(init_name, width, batch, seed, -(-int(depth) // 50) * 50)
    weights = weights[:int(depth)]
    ratios = {}
    for name in activations:
        forward, backward = _ENGINE[name]
        x, caches = x0, []
        for w in weights:
            z, linear_cache = F.linear_forward(x, w, None)
            x, act_cache = forward(z)
            caches.append((linear_cache, act_cache))
        g, norms = dout, [np.linalg.norm(dout)]
        for linear_cache, act_cache in reversed(caches):
            g = F.linear_backward(backward(g, act_cache), linear_cache)[0]
            norms.append(np.linalg.norm(g))
        ratios[name] = np.array(norms) / norms[0]
    return ratios


def depth_view(depth=20, init_name="lecun"):
    """What the depth slider shows: :func:`gradient_profile` and a caption.

    Returns
    -------
    view : dict
        ``ratios`` {name: (depth + 1,) ndarray}, ``depth``, ``init_name``, ``caption`` (HTML).
    """
    ratios = gradient_profile(depth, init_name)
    rows = ", ".join(f"{_swatch(name)}{name} {r[-1]:.1e}" for name, r in ratios.items())
    caption = (f"gradient size after {depth} block{'s' if depth != 1 else ''} ({init_name} init): {rows}; "
               f"0.25<sup>{depth}</sup> = {0.25 ** depth:.1e}")
    return {"ratios": ratios, "depth": int(depth), "init_name": init_name, "caption": caption}


class DepthView:
    """The depth slider's figure: gradient size after k blocks, one line per activation (log scale).

    Parameters
    ----------
    activations : tuple of str
    legend : bool
        Draw a legend (static figures); the widget's caption names the lines instead.
    """

    def __init__(self, activations=("relu", "leaky_relu", "tanh", "sigmoid"), legend=False):
        from matplotlib.ticker import LogLocator, NullLocator

        self.figure = fig = _figure((8, 3.6))
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.9)
        self.ax = ax = fig.subplots()
        self.lines = {name: ax.plot([], [], marker="o", ms=3, color=COLORS[name], label=name,
                                    ls="--" if name == "leaky_relu" else "-")[0] for name in activations}
        (self.bound,) = ax.plot([], [], ":", color=COLORS["sigmoid"], label="0.25^k")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.grid(alpha=0.3)
        if legend:
            ax.legend(fontsize=10, loc="lower left")
        self.title = _fixed(ax, "", "blocks the gradient went back through (k)", "gradient size (top = 1)",
                            ylabel_x=-0.09)

    def draw(self, view):
        """Update the lines, limits and title in place for a :func:`depth_view`."""
        depth = view["depth"]
        k = np.arange(depth + 1)
        for name, line in self.lines.items():
            line.set_data(k, view["ratios"][name])
        self.bound.set_data(k, 0.25 ** k)
        lowest = min(float(r[-1]) for r in view["ratios"].values())
        self.ax.set_xlim(-0.5, depth + 0.5)
        self.ax.set_ylim(max(1e-40, min(1e-3, lowest / 10)), 1e2)
        self.title.set_text(f"gradient size through {depth} blocks ({view['init_name']} init)")
        return self.figure


def depth_figure(depth=20, init_name="lecun"):
    """One setting of the depth slider as a static figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    return DepthView(legend=True).draw(depth_view(depth, init_name))


def depth_explorer(depth=20, init_name="lecun"):
    """A depth slider and a choice of initialisation, driving a :class:`DepthView`."""
    import ipywidgets as w

    from ._live import Live

    view = DepthView()
    controls = {"depth": w.IntSlider(depth, min=1, max=50, description="depth L"),
                "init_name": w.Dropdown(options=[("variance 1/64 (lecun)", "lecun"), ("variance 2/64 (he)", "he"),
                                                 ("PyTorch default", "pytorch")], value=init_name,
                                        description="weights")}
    return Live("depth-explorer", controls, depth_view, figure=view.figure, draw=view.draw,
                html=lambda v: v["caption"])
