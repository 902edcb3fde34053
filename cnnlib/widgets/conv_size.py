"""Output-size explorer: where does a kernel land for given H, K, S, P?

:func:`output_size_info` and :func:`output_size_view` are pure and tested without a
kernel; :class:`OutputSizeFigure` draws a view once and later views in place;
:func:`output_size_explorer` wires four sliders to them through ``Live``.
"""
import html
from collections import namedtuple

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._live import Live

__all__ = ["OutputSizeInfo", "output_size_info", "output_size_view", "OutputSizeFigure",
           "output_size_figure", "output_size_explorer"]

OutputSizeInfo = namedtuple("OutputSizeInfo", "size valid exact leftover positions message")
OutputSizeInfo.__doc__ = """Result of :func:`output_size_info`.

size : int
    Output length along one axis (0 when invalid).
valid : bool
    False when the kernel does not fit or an argument is out of range.
exact : bool
    True when (H + 2P - K) is divisible by S, i.e. no flooring happened.
leftover : int
    Rows at the end of the padded input never covered by any window.
positions : list of int
    Start index of every window in the padded input (0-based).
message : str
    Student-facing explanation.
"""


def output_size_info(H, K, S, P):
    """Explain the output length of a convolution along one axis.

    Uses :math:`O = \\lfloor (H + 2P - K) / S \\rfloor + 1`, the rule PyTorch uses.

    Parameters
    ----------
    H : int >= 1
        Input length (height or width).
    K : int >= 1
        Kernel length.
    S : int >= 1
        Stride.
    P : int >= 0
        Zero padding added on *each* side.

    Returns
    -------
    info : OutputSizeInfo
        Invalid settings are reported (``valid=False`` with a message), not raised,
        so a slider can pass through them.
    """
    for name, value, low in (("H", H, 1), ("K", K, 1), ("S", S, 1), ("P", P, 0)):
        if int(value) != value or value < low:
            return OutputSizeInfo(0, False, False, 0, [],
                                  f"{name} must be a whole number ≥ {low}, got {value}.")
    H, K, S, P = int(H), int(K), int(S), int(P)
    padded = H + 2 * P
    if K > padded:
        return OutputSizeInfo(
            0, False, False, 0, [],
            f"Invalid: the kernel (K = {K}) is larger than the padded input "
            f"(H + 2P = {H} + 2·{P} = {padded}), so it fits nowhere. "
            f"Use a smaller kernel or more padding.")
    span = padded - K
    size, leftover = span // S + 1, span % S
    positions = [i * S for i in range(size)]
    formula = f"({H} + 2·{P} − {K}) / {S} + 1"
    if leftover == 0:
        message = f"Output size = {formula} = {span // S} + 1 = {size}. Every row is covered."
    else:
        rows = "row" if leftover == 1 else f"{leftover} rows"
        message = (f"({H} + 2·{P} − {K}) / {S} = {span}/{S} = {span / S:.3g} is not a whole number. "
                   f"The kernel only takes whole steps, so we round down: "
                   f"⌊{span / S:.3g}⌋ + 1 = {size}. The last {rows} of the padded input "
                   f"{'is' if leftover == 1 else 'are'} never covered: PyTorch silently drops "
                   f"{'it' if leftover == 1 else 'them'}.")
    return OutputSizeInfo(size, True, leftover == 0, leftover, positions, message)


_PAD, _INPUT, _UNCOVERED = (0.8, 0.8, 0.8), (1.0, 1.0, 1.0), (1.0, 0.85, 0.85)
_MAX_LABELS = 16
_LEGEND = ("<div style='font-size:13px;color:#444'>"
           + "&nbsp;&nbsp; ".join(f"<span style='background:{c};border:1px solid #888'>&nbsp;&nbsp;&nbsp;</span> {t}"
                                  for c, t in (("#ccc", "zero padding"), ("#ffd9d9", "never covered"),
                                               ("#ffa54f", "one bar per window")))
           + "</div>")  # more numbers than this no longer fit at a readable 10 pt


def _every(n):
    """Label every k-th of n items so that at most _MAX_LABELS are written."""
    return max(1, -(-n // _MAX_LABELS))


def output_size_view(H, K, S, P):
    """Everything the explorer draws for one setting (pure).

    Returns
    -------
    view : dict
        ``info`` (:class:`OutputSizeInfo`), ``args_ok``, ``padded`` (H + 2P), ``strip``
        ((1, padded, 3) colours: padding grey, uncovered red), ``index_labels`` ([(x, text)]
        for input rows), ``bars`` (window starts), ``out_labels`` ([(n, x, text)]),
        ``grid`` ((padded, padded, 3) colours), ``centres`` ((M, 2) window centres, x/y),
        ``title``, ``title2``, ``caption`` (HTML message).
    """
    info = output_size_info(H, K, S, P)
    args_ok = all(int(v) == v for v in (H, K, S, P)) and H >= 1 and K >= 1 and S >= 1 and P >= 0
    view = {"info": info, "args_ok": args_ok, "H": H, "K": K, "S": S, "P": P,
            "caption": _LEGEND + f"<div style='font-size:14px;max-width:780px;word-break:normal;"
                       f"{'' if info.valid else 'color:#b00020;'}'>{html.escape(info.message)}</div>"}
    if not args_ok:
        return view
    H, K, S, P = int(H), int(K), int(S), int(P)
    padded = H + 2 * P
    border = np.ones(padded, dtype=bool)
    border[P:P + H] = False
    strip = np.where(border[:, None], _PAD, _INPUT)
    grid = np.ones((padded, padded, 3))
    grid[border], grid[:, border] = _PAD, _PAD
    if info.valid and info.leftover:
        strip[padded - info.leftover:] = _UNCOVERED
        grid[padded - info.leftover:], grid[:, padded - info.leftover:] = _UNCOVERED, _UNCOVERED
    step = _every(H)
    centres = np.array(info.positions, dtype=float) + (K - 1) / 2
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    out_step = _every(info.size)
    view.update(
        padded=padded, strip=strip[None], grid=grid,
        index_labels=[(P + i + 0.5, str(i)) for i in range(0, H, step)],
        bars=info.positions if info.valid else [0],
        out_labels=[(n, start + K + 0.2, f"out[{n}]") for n, start in enumerate(info.positions)
                    if n % out_step == 0 or n == info.size - 1],
        centres=np.column_stack([cx.ravel(), cy.ravel()]) if info.valid else np.zeros((0, 2)),
        title=f"H={H}, K={K}, S={S}, P={P}: " + (f"output size {info.size}" if info.valid
                                                 else "invalid: kernel does not fit"),
        title2=(f"{info.size}×{info.size} window centres on a {padded}×{padded} padded input"
                if info.valid else "the kernel (red) is bigger than the input"))
    return view


class OutputSizeFigure:
    """1-D window placements (left) and 2-D window centres (right), updated in place."""

    def __init__(self, view):
        # Fixed margins: constrained layout would double the time a frame takes.
        self.figure = Figure(figsize=(10, 3.8), dpi=80)
        self.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.9, wspace=0.08)
        self.ax1, self.ax2 = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        a1, a2 = self.ax1, self.ax2
        a1.axis("off")
        self.strip = a1.imshow(np.ones((1, 1, 3)), interpolation="nearest", aspect="auto")
        self.cell_lines = a1.add_collection(LineCollection([], colors="black", linewidths=0.8))
        self.bars = a1.add_collection(PatchCollection([], edgecolors="none"))
        self.index_labels = [a1.text(0, 0.5, "", ha="center", va="center", fontsize=10)
                             for _ in range(_MAX_LABELS)]
        self.out_labels = [a1.text(0, 0, "", va="center", fontsize=10) for _ in range(_MAX_LABELS + 1)]
        self.message = a1.text(0, 0.5, "", fontsize=11, color="red", wrap=True)
        self.grid = a2.imshow(np.ones((1, 1, 3)), interpolation="nearest")
        self.grid_lines = a2.add_collection(LineCollection([], colors="0.75", linewidths=0.5))
        self.centres = a2.scatter([], [], s=12, c="tab:orange", zorder=3)
        self.kernel_box = a2.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, lw=2))
        a2.set_xticks([])
        a2.set_yticks([])
        self.update(view)

    def update(self, view):
        """Show ``view`` (from :func:`output_size_view`) by changing the artists' data."""
        ok = view["args_ok"]
        self.ax2.set_visible(ok)
        self.message.set_text("" if ok else view["info"].message)
        for artist in (self.strip, self.cell_lines, self.bars, *self.index_labels, *self.out_labels):
            artist.set_visible(ok)
        if not ok:
            self.ax1.set_title("")
            return self.figure
        info, K, padded = view["info"], view["K"], view["padded"]
        width = max(padded, K)
        self.strip.set_data(view["strip"])
        self.strip.set_extent((0, padded, 0, 1))
        self.cell_lines.set_segments([[(x, 0), (x, 1)] for x in range(padded + 1)]
                                     + [[(0, y), (padded, y)] for y in (0, 1)])
        rows = view["bars"]
        self.bars.set_paths([Rectangle((start, -1.2 - n), K, 0.8) for n, start in enumerate(rows)])
        self.bars.set_facecolor("tab:orange" if info.valid else "red")
        self.bars.set_alpha(0.7 if info.valid else 0.35)
        self._fill(self.index_labels, [(x, 0.5, t) for x, t in view["index_labels"]])
        self._fill(self.out_labels, [(x, -0.8 - n, t) for n, x, t in view["out_labels"]])
        self.ax1.set_xlim(-0.5, width + 3)
        self.ax1.set_ylim(-1.4 - len(rows), 1.5)
        self.ax1.set_title(view["title"], fontsize=11, color="black" if info.valid else "red")
        self.grid.set_data(view["grid"])
        self.grid.set_extent((-0.5, padded - 0.5, padded - 0.5, -0.5))
        lines = np.arange(-0.5, padded)
        self.grid_lines.set_segments([[(x, -0.5), (x, padded - 0.5)] for x in lines]
                                     + [[(-0.5, y), (padded - 0.5, y)] for y in lines])
        self.centres.set_offsets(view["centres"])
        self.kernel_box.set_bounds(-0.5, -0.5, K, K)
        self.kernel_box.set_edgecolor("tab:orange" if info.valid else "red")
        self.kernel_box.set_linestyle("-" if info.valid else "--")
        side = max(padded, K) - 0.5
        self.ax2.set_xlim(-0.5, side)
        self.ax2.set_ylim(side, -0.5)
        self.ax2.set_title(view["title2"], fontsize=11, color="black" if info.valid else "red")
        return self.figure

    @staticmethod
    def _fill(pool, items):
        for text, item in zip(pool, items + [None] * (len(pool) - len(items))):
            text.set_visible(item is not None)
            if item is not None:
                text.set_position(item[:2])
                text.set_text(item[2])


def output_size_figure(H, K, S, P):
    """Draw where the kernel lands, in 1-D (one bar per window) and in 2-D (square input).

    Parameters
    ----------
    H, K, S, P : int
        As in :func:`output_size_info`; the 2-D panel uses an H×H input.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: left the 1-D placements, right the 2-D grid of window centres.
        Padding cells are grey, uncovered cells red.
    """
    return OutputSizeFigure(output_size_view(H, K, S, P)).figure


def output_size_explorer(H=7, K=3, S=2, P=0):
    """Four sliders (H, K, S, P) driving :class:`OutputSizeFigure` and its message.

    Returns
    -------
    widget : Live
    """
    import ipywidgets as widgets

    style = {"description_width": "30px"}
    controls = {
        "H": widgets.IntSlider(H, 1, 32, description="H", style=style),
        "K": widgets.IntSlider(K, 1, 9, description="K", style=style),
        "S": widgets.IntSlider(S, 1, 5, description="S", style=style),
        "P": widgets.IntSlider(P, 0, 4, description="P", style=style),
    }
    plot = OutputSizeFigure(output_size_view(H, K, S, P))
    return Live("output-size-explorer", controls, output_size_view, figure=plot.figure,
                draw=plot.update, html=lambda view: view["caption"])
