"""Lesson 02 widgets: the activation explorer (and the stacked-kernels helper).

Pure functions (tested without a kernel, against torch where a twin exists):
:func:`activation_curve`, :func:`explorer_view`, :func:`compose_kernels`. :class:`CurvesView`
draws an explorer view in place; :func:`activation_explorer` only wires controls to both.
The decision-boundary playground is in :mod:`cnnlib.widgets.activations_boundary`, the
depth slider in :mod:`cnnlib.widgets.activations_depth`.
"""
import math

import numpy as np

from .. import functional as F

__all__ = ["ACTIVATIONS", "activation_curve", "compose_kernels", "explorer_view", "CurvesView", "curves_figure",
           "activation_explorer"]

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu")
COLORS = {"none": "0.5", "relu": "tab:blue", "leaky_relu": "tab:cyan", "sigmoid": "tab:red",
          "tanh": "tab:orange", "softplus": "tab:green", "gelu": "tab:purple"}
_erf = np.vectorize(math.erf, otypes=[float])


def activation_curve(name, x, slope=0.01):
    """An activation and its derivative at the points ``x``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`, or ``"none"`` (the identity).
    x : (n,) array_like
    slope : float
        The negative slope of ``"leaky_relu"``.

    Returns
    -------
    f, df : (n,) float64 ndarray
        ``f(x)`` and ``f'(x)``; ReLU-type kinks take the right-hand value only for ``x > 0``
        (the derivative at exactly 0 is 0 for ReLU and ``slope`` for leaky ReLU, as in torch).
    """
    x = np.asarray(x, dtype=np.float64)
    ones = np.ones_like(x)
    engine = {"relu": (F.relu_forward, F.relu_backward),
              "leaky_relu": (lambda v: F.leaky_relu_forward(v, slope), F.leaky_relu_backward),
              "sigmoid": (F.sigmoid_forward, F.sigmoid_backward),
              "tanh": (F.tanh_forward, F.tanh_backward)}
    if name in engine:
        forward, backward = engine[name]
        f, cache = forward(x)
        return f, backward(ones, cache)
    if name == "softplus":        # log(1 + e^x), computed without overflow; its derivative is the sigmoid
        return np.logaddexp(0.0, x), F.sigmoid_forward(x)[0]
    if name == "gelu":            # x * Phi(x), Phi the standard normal CDF (torch's exact GELU)
        cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
        return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    if name == "none":
        return x.copy(), ones
    raise ValueError(f"activation_curve: unknown activation {name!r}; use one of {ACTIVATIONS + ('none',)}")


def compose_kernels(k1, k2):
    """The one kernel that does what two stacked cross-correlations do.

    ``corr(corr(x, k1), k2) == corr(x, k)`` (no padding, stride 1), with
    ``k[p, q] = sum_{m, n} k1[m, n] * k2[p - m, q - n]``: the full *convolution* of k1 and k2.

    Parameters
    ----------
    k1 : (K1H, K1W) array_like
    k2 : (K2H, K2W) array_like

    Returns
    -------
    k : (K1H + K2H - 1, K1W + K2W - 1) float64 ndarray
    """
    k1, k2 = np.asarray(k1, dtype=np.float64), np.asarray(k2, dtype=np.float64)
    if k1.ndim != 2 or k2.ndim != 2:
        raise ValueError(f"compose_kernels: kernels must be 2-D, got shapes {k1.shape} and {k2.shape}")
    ph, pw = k2.shape[0] - 1, k2.shape[1] - 1
    padded = np.pad(k1, ((ph, ph), (pw, pw)))
    out, _ = F.conv2d_forward(padded[None, None], k2[::-1, ::-1][None, None].copy(), None)
    return out[0, 0]


# --- views (pure) and figures (built once, drawn in place) -------------------------------------

def explorer_view(names=("relu", "leaky_relu", "sigmoid", "tanh"), span=5.0, slope=0.1, n=401):
    """What the activation explorer shows: each chosen function and its derivative on ``[-span, span]``.

    Parameters
    ----------
    names : sequence of str
        Activations to draw (from :data:`ACTIVATIONS`).
    span : float > 0
    slope : float
        The negative slope of leaky ReLU.
    n : int
        Number of x values.

    Returns
    -------
    view : dict
        ``x`` (n,), ``curves`` {name: (f (n,), df (n,))}, ``span``, ``slope``, ``caption`` (HTML).
    """
    if not span > 0:
        raise ValueError(f"explorer_view: span must be > 0, got {span!r}")
    x = np.linspace(-span, span, n)
    curves = {name: activation_curve(name, x, slope) for name in ACTIVATIONS if name in names}
    rows = [f"{_swatch(name)}<b>{name}</b>: f from {f.min():.3g} to {f.max():.3g}, "
            f"f' from {df.min():.3g} to {df.max():.3g}" for name, (f, df) in curves.items()]
    caption = "<br>".join(rows) if rows else "tick at least one function"
    return {"x": x, "curves": curves, "span": span, "slope": slope, "caption": caption}


def _swatch(name):
    """A short line in the activation's colour, for HTML captions (the live figures have no legend)."""
    from matplotlib.colors import to_hex

    return f"<span style='color:{to_hex(COLORS[name])}'>&#9644;</span> "


def _fixed(ax, title, xlabel=None, ylabel=None, ylabel_x=-0.1):
    """Title and axis labels at fixed places: a figure redrawn in place then skips measuring every
    tick label at every frame to place them. Returns the title (a Text to update)."""
    text = ax.set_title(title, fontsize=11, y=1.01)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=10)
        ax.xaxis.set_label_coords(0.5, -0.13)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=10)
        ax.yaxis.set_label_coords(ylabel_x, 0.5)
    return text


def _figure(size):
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=80)


class CurvesView:
    """The explorer's figure: activations (left, solid) and their derivatives (right, dashed).

    Parameters
    ----------
    legend : bool
        Draw a legend (static figures); the widget names the curves in its caption instead,
        which keeps every frame cheaper to draw.
    """

    def __init__(self, legend=False):
        self.show_legend = legend
        self.figure = fig = _figure((10, 3.6))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.14, top=0.9, wspace=0.18)
        self.ax_f, self.ax_d = fig.subplots(1, 2, sharex=True)
        self.lines = {}
        for name in ACTIVATIONS:
            (f,) = self.ax_f.plot([], [], color=COLORS[name], lw=2, label=name)
            (d,) = self.ax_d.plot([], [], color=COLORS[name], lw=2, ls="--")
            self.lines[name] = (f, d)
        for ax, title in ((self.ax_f, "f(x)"), (self.ax_d, "derivative f'(x)")):
            ax.axhline(0, color="0.7", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)
            _fixed(ax, title, "x")
            ax.grid(alpha=0.3)
        self.legend = None

    def draw(self, view):
        """Update the lines, limits and legend in place for an :func:`explorer_view`."""
        lows, highs = [[0.0], [0.0]], [[0.0], [0.0]]
        for name, (f_line, d_line) in self.lines.items():
            shown = name in view["curves"]
            f_line.set_visible(shown)
            d_line.set_visible(shown)
            if shown:
                f, df = view["curves"][name]
                f_line.set_data(view["x"], f)
                d_line.set_data(view["x"], df)
                for i, arr in enumerate((f, df)):
                    lows[i].append(float(arr.min()))
                    highs[i].append(float(arr.max()))
        for ax, low, high in zip((self.ax_f, self.ax_d), map(min, lows), map(max, highs)):
            pad = 0.06 * (high - low) + 1e-3
            ax.set_ylim(low - pad, high + pad)
        self.ax_f.set_xlim(-view["span"], view["span"])
        handles = [f for name, (f, _) in self.lines.items() if name in view["curves"]]
        if self.legend is not None:
            self.legend.remove()
            self.legend = None
        if handles and self.show_legend:
            labels = [f"leaky_relu ({view['slope']:g})" if h.get_label() == "leaky_relu" else h.get_label()
                      for h in handles]
            self.legend = self.ax_f.legend(handles, labels, fontsize=10, loc="upper left")
        return self.figure


def curves_figure(names=("relu", "leaky_relu", "sigmoid", "tanh"), span=5.0, slope=0.1):
    """One setting of the explorer as a static figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    return CurvesView(legend=True).draw(explorer_view(names, span, slope))


# --- widgets ---------------------------------------------------------------------------------

def activation_explorer(names=("relu", "leaky_relu", "sigmoid", "tanh"), span=5.0, slope=0.1):
    """A checkbox per activation, the input range and the leaky slope, driving a :class:`CurvesView`."""
    import ipywidgets as w

    from ._live import Live

    view = CurvesView()
    controls = {name: w.Checkbox(name in names, description=name, indent=False, layout=w.Layout(width="110px"))
                for name in ACTIVATIONS}
    controls["span"] = w.FloatSlider(span, min=1.0, max=20.0, step=0.5, description="x range ±")
    controls["slope"] = w.FloatSlider(slope, min=0.0, max=1.0, step=0.01, description="leaky slope")

    def compute(span, slope, **shown):
        return explorer_view([name for name, on in shown.items() if on], span, slope)

    def layout(c):
        return w.VBox([w.HBox([c[name] for name in ACTIVATIONS]), w.HBox([c["span"], c["slope"]])])

    return Live("activation-explorer", controls, compute, figure=view.figure, draw=view.draw,
                html=lambda v: v["caption"], layout=layout)
