"""Parameter counts: a convolution versus a dense layer on the same image.

The comparison is fair in the sense that both layers map the same input
(C, n, n) to the same output (F, n, n), the output of a "same"-padded convolution.
The convolution's count does not depend on n; the dense layer's grows like n**4.
:func:`params_view` is pure; :class:`ParamsFigure` draws a view once and later ones in place.
"""
import html

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from ._live import Live

__all__ = ["conv_param_count", "dense_param_count", "param_counts", "params_view", "ParamsFigure",
           "params_figure", "param_explorer"]


def _positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def conv_param_count(C, F, K, bias=True):
    """Weights (and biases) of a conv layer with F filters of size K over C channels.

    Parameters
    ----------
    C : int
        Input channels.
    F : int
        Filters (output channels).
    K : int or tuple (KH, KW)
        Kernel size.
    bias : bool
        One bias per filter.

    Returns
    -------
    count : int
        ``F * C * KH * KW + (F if bias else 0)``; weight shape is (F, C, KH, KW).
    """
    KH, KW = (K, K) if np.ndim(K) == 0 else K
    C, F, KH, KW = (_positive_int(n, v) for n, v in (("C", C), ("F", F), ("KH", KH), ("KW", KW)))
    return F * C * KH * KW + (F if bias else 0)


def dense_param_count(in_features, out_features, bias=True):
    """Weights (and biases) of a fully connected layer.

    Returns
    -------
    count : int
        ``in_features * out_features + (out_features if bias else 0)``.
    """
    n_in = _positive_int("in_features", in_features)
    n_out = _positive_int("out_features", out_features)
    return n_in * n_out + (n_out if bias else 0)


def param_counts(sides, C, F, K):
    """Conv and dense parameter counts for square images of each side length.

    Parameters
    ----------
    sides : (M,) array_like of int
        Image side n; the input is (C, n, n), both layers output (F, n, n).
    C, F, K : int
        Channels, filters, kernel size.

    Returns
    -------
    counts : dict
        ``side`` (M,) int64, ``conv`` (M,) int64 (constant), ``dense`` (M,) float64
        (float because it overflows int64 for large images).
    """
    sides = np.asarray(sides)
    if sides.ndim != 1 or sides.size == 0:
        raise ValueError(f"sides must be a non-empty 1-D array, got shape {sides.shape}")
    conv = conv_param_count(C, F, K)
    dense = [float(C * n * n) * float(F * n * n) + F * n * n for n in sides.tolist()]
    return {"side": sides.astype(np.int64), "conv": np.full(sides.shape, conv, dtype=np.int64),
            "dense": np.array(dense, dtype=np.float64)}


def params_view(C=1, F=8, K=3, max_side=64, mark=28, ylim=None):
    """Curves, labels and the annotation of :func:`params_figure` for one setting (pure).

    ``ylim`` fixes the y range (the widget uses the range of all its slider settings, so
    curves move against a still axis); by default it fits the curves.

    Returns
    -------
    view : dict
        ``side``, ``conv``, ``dense`` (arrays), ``labels`` (dense, conv), ``mark`` (side or
        None), ``note`` (annotation text), ``note_y``, ``ylim``, ``decades`` (tick positions).
    """
    max_side = _positive_int("max_side", max_side)
    counts = param_counts(np.arange(1, max_side + 1), C, F, K)
    view = dict(counts, labels=(f"dense ({C}·n² → {F}·n²)", f"conv {K}×{K}, {C}→{F} channels"),
                mark=mark if mark is not None and 1 <= mark <= max_side else None, note="", note_y=1.0)
    if view["mark"] is not None:
        conv, dense = counts["conv"][mark - 1], counts["dense"][mark - 1]
        view["note"] = f"n={mark}: dense {dense:,.0f}\nconv {conv:,}  ({dense / conv:,.0f}× fewer)"
        view["note_y"] = float(np.sqrt(dense * conv))
    lo = min(counts["conv"].min(), counts["dense"].min()) if ylim is None else ylim[0]
    hi = max(counts["conv"].max(), counts["dense"].max()) if ylim is None else ylim[1]
    lo_dec, hi_dec = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    view["ylim"] = (10.0 ** lo_dec, 10.0 ** hi_dec)
    step = max(1, -(-(hi_dec - lo_dec) // 8))  # at most ~8 labelled decades
    view["decades"] = [10.0 ** e for e in range(lo_dec, hi_dec + 1, step)]
    return view


class ParamsFigure:
    """Conv vs dense parameter counts against the image side (log scale), updated in place."""

    def __init__(self, view, labels=True):
        # labels=False leaves the legend and the annotation to the widget's HTML caption:
        # every matplotlib text costs about a millisecond per frame.
        # Fixed margins: constrained layout would double the time a frame takes.
        self.figure = Figure(figsize=(7, 3.8), dpi=80)
        self.figure.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.91)
        ax = self.ax = self.figure.subplots()
        ax.set_yscale("log")
        (self.dense,) = ax.plot([1], [1], lw=2)
        (self.conv,) = ax.plot([1], [1], lw=2)
        self.mark = ax.axvline(1, color="0.6", ls=":")
        self.note = ax.annotate("", (1, 1), fontsize=10, xytext=(6, 0), textcoords="offset points",
                                visible=labels)
        self.labels = labels
        ax.set_xlabel("image side n (input C×n×n, output F×n×n)", fontsize=10)
        ax.set_ylabel("parameters (log scale)", fontsize=10)
        ax.set_title("A convolution's parameter count does not grow with the image", fontsize=11)
        self.legend = ax.legend([self.dense, self.conv], view["labels"], loc="upper left", fontsize=10,
                                handlelength=1.5)
        self.legend.set_visible(labels)
        ax.grid(True, which="major", alpha=0.3)
        # Fixed, plain-text powers of ten: the default log locator and mathtext labels
        # triple the drawing time.
        ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelsize=10)
        self._layout = None
        self.update(view)

    def update(self, view):
        """Show ``view`` (from :func:`params_view`) by changing the artists' data."""
        self.dense.set_data(view["side"], view["dense"])
        self.conv.set_data(view["side"], view["conv"])
        for text, label in zip(self.legend.get_texts(), view["labels"]):
            text.set_text(label)
        on = view["mark"] is not None
        self.mark.set_visible(on)
        self.note.set_visible(on and self.labels)
        if on:
            self.mark.set_xdata([view["mark"], view["mark"]])
            self.note.xy = (view["mark"], view["note_y"])
            self.note.set_text(view["note"])
        layout = (view["side"][-1], view["ylim"], view["mark"], self.labels and view["labels"])
        if layout == self._layout:
            return False  # only the curves moved
        self._layout = layout
        self.ax.set_xlim(0, view["side"][-1] + 1)
        self.ax.set_ylim(*view["ylim"])
        self.ax.yaxis.set_major_locator(FixedLocator(view["decades"]))
        return True

    @property
    def animated(self):
        """The curves: all that C, F and K change in the widget (for ``Live(animated=)``)."""
        return [self.dense, self.conv]


def params_figure(C=1, F=8, K=3, max_side=64, mark=28):
    """Plot conv vs dense parameter counts against the image side (log scale).

    Parameters
    ----------
    C, F, K : int
        Channels, filters, kernel size.
    max_side : int
        Largest image side plotted.
    mark : int or None
        Side to annotate (28 for MNIST).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    return ParamsFigure(params_view(C, F, K, max_side, mark)).figure


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _pos=None):
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if not np.isclose(exponent, round(exponent)):
        return ""
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)


def param_explorer(C=1, F=8, K=3, max_side=64):
    """Sliders for channels, filters, kernel size and largest side driving :class:`ParamsFigure`.

    Returns
    -------
    widget : Live
    """
    import ipywidgets as widgets

    style = {"description_width": "80px"}
    controls = {
        "C": widgets.IntSlider(C, 1, 64, description="channels C", style=style),
        "F": widgets.IntSlider(F, 1, 128, description="filters F", style=style),
        "K": widgets.IntSlider(K, 1, 7, step=2, description="kernel K", style=style),
        "max_side": widgets.IntSlider(max_side, 8, 256, step=8, description="max side", style=style),
    }
    # The y range of every slider setting: 2 parameters (C=F=K=1) up to 64·256² → 128·256².
    ylim = (1.0, float(conv_param_count(64, 128, 7) + dense_param_count(64 * 256 ** 2, 128 * 256 ** 2)))

    def compute(C, F, K, max_side):
        return params_view(C, F, K, max_side, ylim=ylim)

    plot = ParamsFigure(compute(C, F, K, max_side), labels=False)
    colours = [to_hex(line.get_color()) for line in (plot.dense, plot.conv)]

    def caption(view):
        keys = "".join(f"<span style='color:{c};font-weight:bold'>━━</span> {html.escape(t)}&nbsp;&nbsp; "
                       for c, t in zip(colours, view["labels"]))
        note = html.escape(view["note"]).replace("\n", ", ")
        return f"<div style='font-size:14px'>{keys}</div><div style='font-size:14px'>{note}</div>"

    def layout(c):
        return widgets.VBox([widgets.HBox([c["C"], c["F"]]), widgets.HBox([c["K"], c["max_side"]])])

    return Live("param-explorer", controls, compute, figure=plot.figure, draw=plot.update,
                html=caption, layout=layout, animated=plot.animated)
