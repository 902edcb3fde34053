"""Lesson 10 conv cost calculator: a standard k x k convolution against a depthwise separable one.

Pure, tested without a kernel: :func:`cost_view` (the counts of :func:`cnnlib.architectures.conv_params_and_macs`,
split into the depthwise and pointwise parts, as bar heights in % of the standard layer) and
:class:`CostFigure` (built once, updated in place: only bar heights and four short labels move).
:func:`cost_calculator` wires sliders to them.
"""
import numpy as np
from matplotlib.figure import Figure

from ..architectures import conv_params_and_macs

__all__ = ["YMAX", "cost_view", "CostFigure", "cost_figure", "cost_calculator"]

YMAX = 130.0          # the y axis (% of the standard layer); taller bars are cut there and say so
_STD, _DW, _PW = "tab:blue", "tab:orange", "tab:green"


def _fmt(n):
    return f"{n:,}"


def cost_view(c_in=32, c_out=64, k=3, size=14, formula="depthwise separable"):
    """Everything the calculator shows for one layer setting.

    Parameters
    ----------
    c_in, c_out, k : int
        Input channels, output channels, kernel size.
    size : int
        Side of the (square) output feature map, ``h = w = size`` (stride 1, "same" padding).
    formula : {"standard", "depthwise separable"}
        Which layer's formula the caption writes out with the numbers.

    Returns
    -------
    dict
        ``standard``, ``depthwise``, ``pointwise``, ``separable``: ``(params, macs)`` int pairs;
        ``heights``: ``{"params": (standard, depthwise, pointwise), "macs": (...)}`` in % of the
        standard layer; ``ratio_params``, ``ratio_macs`` (separable / standard); ``labels``
        (percent texts above the two bars of each panel); ``caption`` (HTML).
    """
    if formula not in ("standard", "depthwise separable"):
        raise ValueError(f"cost_view: formula must be 'standard' or 'depthwise separable', got {formula!r}")
    standard = conv_params_and_macs(c_in, c_out, k, size, size, False)
    separable = conv_params_and_macs(c_in, c_out, k, size, size, True)
    depthwise = (c_in * k * k + c_in, c_in * k * k * size * size)
    pointwise = (c_in * c_out + c_out, c_in * c_out * size * size)
    heights, labels = {}, {}
    for i, key in enumerate(("params", "macs")):
        parts = np.array([standard[i], depthwise[i], pointwise[i]], dtype=np.float64) / standard[i] * 100
        heights[key] = tuple(float(v) for v in parts)
        labels[key] = ("100 %", f"{100 * separable[i] / standard[i]:.1f} %")
    ratio_p, ratio_m = separable[0] / standard[0], separable[1] / standard[1]
    shape = f"({c_in}, {size}, {size}) → ({c_out}, {size}, {size}), kernel {k}×{k}"
    if formula == "standard":
        detail = (f"standard: params = C_out·C_in·k² + C_out = {c_out}·{c_in}·{k * k} + {c_out} = "
                  f"<b>{_fmt(standard[0])}</b>; multiply-adds = C_out·C_in·k²·h·w = {c_out}·{c_in}·{k * k}·{size}·{size}"
                  f" = <b>{_fmt(standard[1])}</b>")
    else:
        detail = (f"depthwise: C_in·k² + C_in = {_fmt(depthwise[0])} params, C_in·k²·h·w = {_fmt(depthwise[1])} "
                  f"multiply-adds; pointwise 1×1: C_in·C_out + C_out = {_fmt(pointwise[0])} params, "
                  f"C_in·C_out·h·w = {_fmt(pointwise[1])} multiply-adds; together <b>{_fmt(separable[0])}</b> params"
                  f" and <b>{_fmt(separable[1])}</b> multiply-adds")
    caption = (f"{shape}: the depthwise separable layer needs <b>{100 * ratio_p:.1f} %</b> of the parameters "
               f"({_fmt(separable[0])} vs {_fmt(standard[0])}) and <b>{100 * ratio_m:.1f} %</b> of the "
               f"multiply-adds ({_fmt(separable[1])} vs {_fmt(standard[1])}) of the standard one.<br>{detail}")
    return {"c_in": c_in, "c_out": c_out, "k": k, "size": size, "standard": standard, "depthwise": depthwise,
            "pointwise": pointwise, "separable": separable, "heights": heights, "labels": labels,
            "ratio_params": ratio_p, "ratio_macs": ratio_m, "formula": formula, "caption": caption}


class CostFigure:
    """Two panels (parameters, multiply-adds), each a standard bar (100 %) and a stacked separable bar."""

    def __init__(self, view):
        self.figure = Figure(figsize=(8, 3.2), dpi=80)
        self.figure.subplots_adjust(left=0.08, right=0.99, bottom=0.1, top=0.86, wspace=0.25)
        self.bars, self.texts = {}, {}
        for ax, key, title in zip(self.figure.subplots(1, 2), ("params", "macs"), ("parameters", "multiply-adds")):
            std = ax.bar([0], [100], width=0.6, color=_STD)[0]
            dw = ax.bar([1], [0], width=0.6, color=_DW)[0]
            pw = ax.bar([1], [0], width=0.6, color=_PW)[0]
            self.bars[key] = (std, dw, pw)
            self.texts[key] = (ax.text(0, 103, "", ha="center", fontsize=10),
                               ax.text(1, 103, "", ha="center", fontsize=10))
            ax.set_xlim(-0.6, 1.6)
            ax.set_ylim(0, YMAX)
            ax.set_xticks([0, 1])
            ax.set_xticklabels(["standard", "depthwise\n+ pointwise"], fontsize=10)
            ax.set_yticks([0, 50, 100])
            ax.set_yticklabels(["0", "50 %", "100 %"], fontsize=10)
            ax.set_title(f"{title} (% of the standard conv)", fontsize=11)
            ax.legend([dw, pw], ["depthwise k×k", "pointwise 1×1"], fontsize=9, loc="upper right", frameon=False)
        self.update(view)

    def update(self, view):
        """Set the bar heights and the percent labels of ``view`` (from :func:`cost_view`)."""
        for key in ("params", "macs"):
            std, dw, pw = self.bars[key]
            h_std, h_dw, h_pw = view["heights"][key]
            std.set_height(min(h_std, YMAX))
            dw.set_height(min(h_dw, YMAX))
            pw.set_y(min(h_dw, YMAX))
            pw.set_height(max(0.0, min(h_dw + h_pw, YMAX) - min(h_dw, YMAX)))
            top = h_dw + h_pw
            left, right = self.texts[key]
            left.set_text(view["labels"][key][0])
            right.set_text(view["labels"][key][1] + (" ↑" if top > YMAX else ""))
            right.set_y(min(top, YMAX - 8) + 3)
        return False          # only animated artists changed: Live blits them over the cached background

    @property
    def animated(self):
        """The moving artists: bars and their labels (for ``Live(animated=)``)."""
        return [a for key in ("params", "macs") for a in self.bars[key] + self.texts[key]]


def cost_figure(c_in=32, c_out=64, k=3, size=14):
    """The calculator's figure for one setting (a static figure for the lesson)."""
    return CostFigure(cost_view(c_in, c_out, k, size)).figure


def cost_calculator(c_in=32, c_out=64, k=3, size=14, formula="depthwise separable"):
    """Widget: C_in, C_out, kernel and output size -> parameters and multiply-adds of both layers, as bars.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``c_in``, ``c_out`` (1-256), ``k`` (1-7, odd), ``size`` (1-56) and ``formula``.
    """
    import ipywidgets as widgets

    from ._live import Live

    style = {"description_width": "90px"}
    controls = {"c_in": widgets.IntSlider(c_in, 1, 256, description="C_in", style=style),
                "c_out": widgets.IntSlider(c_out, 1, 256, description="C_out", style=style),
                "k": widgets.IntSlider(k, 1, 7, step=2, description="kernel k", style=style),
                "size": widgets.IntSlider(size, 1, 56, description="output h = w", style=style),
                "formula": widgets.ToggleButtons(options=["standard", "depthwise separable"], value=formula,
                                                 description="formula")}
    plot = CostFigure(cost_view(c_in, c_out, k, size, formula))

    def layout(c):
        return widgets.VBox([widgets.HBox([c["c_in"], c["c_out"]]), widgets.HBox([c["k"], c["size"]]), c["formula"]])

    return Live("cost-calculator", controls, cost_view, figure=plot.figure, draw=plot.update,
                html=lambda view: f"<div style='font-size:14px'>{view['caption']}</div>", layout=layout,
                animated=plot.animated)

