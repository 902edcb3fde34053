"""Output-size explorer: where does a kernel land for given H, K, S, P?

:func:`output_size_info` and :func:`output_size_figure` are pure and tested
without a kernel; :func:`output_size_explorer` wires four sliders to them.
"""
from collections import namedtuple

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["OutputSizeInfo", "output_size_info", "output_size_figure", "output_size_explorer"]

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
    info = output_size_info(H, K, S, P)
    # Fixed margins: constrained layout would double the time a slider move takes.
    fig = Figure(figsize=(10, 3.8), dpi=80)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.9, wspace=0.08)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    ok_args = all(int(v) == v for v in (H, K, S, P)) and H >= 1 and K >= 1 and S >= 1 and P >= 0
    if not ok_args:
        for ax in (ax1, ax2):
            ax.axis("off")
        ax1.text(0, 0.5, info.message, fontsize=11, color="red", wrap=True)
        return fig
    padded = H + 2 * P
    width = max(padded, K)

    def colour(i):
        return "0.8" if i < P or i >= P + H else "white"

    # Collections instead of one patch per cell: a slider move must redraw fast.
    uncovered = range(padded - info.leftover, padded) if info.valid else range(0)
    faces = ["mistyrose" if i in uncovered else colour(i) for i in range(padded)]
    ax1.add_collection(PatchCollection([Rectangle((i, 0), 1, 1) for i in range(padded)],
                                       facecolors=faces, edgecolors="black", linewidths=0.8))
    for i in range(P, P + H):  # input rows keep their own index; padding stays blank
        ax1.text(i + 0.5, 0.5, str(i - P), ha="center", va="center", fontsize=7)
    ax1.text(0, 1.25, "grey: zero padding   red: never covered   orange: one bar per window",
             fontsize=8, color="0.3")
    rows = info.positions if info.valid else [0]
    bars = [Rectangle((start, -1.2 - n), K, 0.8) for n, start in enumerate(rows)]
    ax1.add_collection(PatchCollection(bars, facecolors="tab:orange" if info.valid else "red",
                                       alpha=0.7 if info.valid else 0.35, edgecolors="none"))
    if info.valid and len(rows) <= 20:
        for n, start in enumerate(rows):
            ax1.text(start + K + 0.2, -0.8 - n, f"out[{n}]", va="center", fontsize=7)
    ax1.set_xlim(-0.5, width + 3)
    ax1.set_ylim(-1.4 - len(rows), 1.5)
    ax1.set_aspect("auto")
    ax1.axis("off")
    title = (f"output size {info.size}" if info.valid else "invalid: kernel does not fit")
    ax1.set_title(f"H={H}, K={K}, S={S}, P={P}: {title}", fontsize=10,
                  color="black" if info.valid else "red")

    grid = np.full((padded, padded, 3), 1.0)
    border = np.ones(padded, dtype=bool)
    border[P:P + H] = False
    grid[border, :, :] = 0.8
    grid[:, border, :] = 0.8
    if info.valid and info.leftover:
        grid[padded - info.leftover:, :, :] = (1.0, 0.85, 0.85)
        grid[:, padded - info.leftover:, :] = (1.0, 0.85, 0.85)
    ax2.imshow(grid, interpolation="nearest", extent=(-0.5, padded - 0.5, padded - 0.5, -0.5))
    if info.valid:
        centres = np.array(info.positions) + (K - 1) / 2
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        ax2.scatter(cx.ravel(), cy.ravel(), s=12, c="tab:orange", zorder=3)
        ax2.add_patch(Rectangle((-0.5, -0.5), K, K, fill=False, ec="tab:orange", lw=2))
        ax2.set_title(f"{info.size}×{info.size} window centres on a {padded}×{padded} padded input",
                      fontsize=10)
    else:
        ax2.add_patch(Rectangle((-0.5, -0.5), K, K, fill=False, ec="red", lw=2, ls="--"))
        ax2.set_xlim(-0.5, max(padded, K) - 0.5)
        ax2.set_ylim(max(padded, K) - 0.5, -0.5)
        ax2.set_title("the kernel (red) is bigger than the input", fontsize=10, color="red")
    lines = np.arange(-0.5, padded)
    ax2.vlines(lines, -0.5, padded - 0.5, colors="0.75", lw=0.5)
    ax2.hlines(lines, -0.5, padded - 0.5, colors="0.75", lw=0.5)
    ax2.set_xticks([])
    ax2.set_yticks([])
    return fig


def output_size_explorer(H=7, K=3, S=2, P=0):
    """Four sliders (H, K, S, P) driving :func:`output_size_figure` and its message.

    Returns
    -------
    widget : ipywidgets.VBox
    """
    import ipywidgets as widgets
    from IPython.display import display

    style = {"description_width": "30px"}
    controls = {
        "H": widgets.IntSlider(H, 1, 32, description="H", style=style),
        "K": widgets.IntSlider(K, 1, 9, description="K", style=style),
        "S": widgets.IntSlider(S, 1, 5, description="S", style=style),
        "P": widgets.IntSlider(P, 0, 4, description="P", style=style),
    }

    def show(H, K, S, P):
        display(output_size_figure(H, K, S, P))
        print(output_size_info(H, K, S, P).message)

    out = widgets.interactive_output(show, controls)
    return widgets.VBox([widgets.HBox(list(controls.values())), out])
