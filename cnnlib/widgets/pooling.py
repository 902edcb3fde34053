"""Pooling explorer: a window slides over a feature map, the output fills in.

Pure functions (``relu_feature_map``, ``explorer_state``, ``window_text``,
``explorer_figure``, ``gradient_figure``) do all the work and are tested without a Jupyter kernel;
:func:`pooling_explorer` only wires ipywidgets controls to them. Every pooled
value comes from cnnlib's engine (:mod:`cnnlib.functional.pool`), so the
explorer shows exactly what ``max_pool2d_forward`` / ``avg_pool2d_forward``
compute (floor output size, first maximum on ties, like PyTorch).
"""
import html

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlib import functional as F
from cnnlib.kernels import get_kernel

__all__ = ["relu_feature_map", "pool", "explorer_state", "window_text", "explorer_figure", "gradient_figure",
           "pooling_explorer"]

MODES = ("max", "avg")


def relu_feature_map(image, kernel="sobel_x"):
    """The Lesson 01/02 pipeline before pooling: conv ("same" padding) then ReLU.

    Parameters
    ----------
    image : (H, W) array_like
    kernel : str or (3, 3) array_like
        A preset name from :mod:`cnnlib.kernels` or the weights.

    Returns
    -------
    fmap : (H, W) ndarray of float64
        ``max(0, image ⋆ kernel)``, cross-correlation with padding 1.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    k = get_kernel(kernel) if isinstance(kernel, str) else np.asarray(kernel, dtype=np.float64)
    out, _ = F.conv2d_forward(image[None, None], k[None, None], np.zeros(1), stride=1, padding=k.shape[0] // 2)
    return np.maximum(out[0, 0], 0.0)


def pool(fmap, kernel_size, stride=None, mode="max"):
    """Max or average pooling of one 2-D map with cnnlib's engine.

    Parameters
    ----------
    fmap : (H, W) array_like
    kernel_size, stride : int
        ``stride=None`` means ``stride = kernel_size``.
    mode : {"max", "avg"}

    Returns
    -------
    out : (OH, OW) ndarray
        ``OH = (H - K) // S + 1``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    forward = F.max_pool2d_forward if mode == "max" else F.avg_pool2d_forward
    out, _ = forward(np.asarray(fmap, dtype=np.float64)[None, None], kernel_size, stride)
    return out[0, 0]


def explorer_state(fmap, kernel_size, stride, mode, step):
    """Everything the pooling explorer shows after ``step + 1`` windows (row-major order).

    Parameters
    ----------
    fmap : (H, W) array_like
    kernel_size, stride : int >= 1
    mode : {"max", "avg"}
    step : int
        Index of the current window; clamped into ``0 .. OH*OW - 1``.

    Returns
    -------
    state : dict
        ``fmap`` (H, W); ``out`` (OH, OW) the whole pooled map; ``filled``
        (OH, OW) the same with NaN after the current window; ``step``, ``row``,
        ``col`` (clamped); ``top``, ``left`` (window corner in ``fmap``);
        ``winner`` ((r, c) of the first maximum in ``fmap`` coordinates, or
        None for "avg"); ``covered`` ((rows, cols) of fmap that some window
        touches); ``kernel_size``, ``stride``, ``mode``; ``text`` (str).
    """
    fmap = np.asarray(fmap, dtype=np.float64)
    K = int(kernel_size)
    S = K if stride is None else int(stride)
    out = pool(fmap, K, S, mode)
    OH, OW = out.shape
    step = int(np.clip(step, 0, OH * OW - 1))
    row, col = divmod(step, OW)
    top, left = row * S, col * S
    window = fmap[top:top + K, left:left + K]
    filled = np.full(out.shape, np.nan)
    filled.ravel()[:step + 1] = out.ravel()[:step + 1]
    winner = None
    if mode == "max":
        r, c = divmod(int(np.argmax(window)), K)       # argmax: the first maximum in row-major order
        winner = (top + r, left + c)
        what = f"max of the {K}×{K} window = {out[row, col]:.3g} (at row {winner[0]}, col {winner[1]})"
    else:
        what = f"mean of the {K}×{K} window = {window.sum():.3g} / {K * K} = {out[row, col]:.3g}"
    H, W = fmap.shape
    covered = ((OH - 1) * S + K, (OW - 1) * S + K)
    overlap = "overlapping windows" if S < K else ("windows tile the map" if S == K else "gaps between windows")
    text = (f"output[{row}, {col}] = {what}\n"
            f"{H}×{W} map, kernel {K}, stride {S} ({overlap}): output ({H} − {K}) // {S} + 1 = {OH} by "
            f"({W} − {K}) // {S} + 1 = {OW}")
    if covered != (H, W):
        text += f"; rows {covered[0]}.. and columns {covered[1]}.. are in no window (dropped)"
    return {"fmap": fmap, "out": out, "filled": filled, "step": step, "row": row, "col": col,
            "top": top, "left": left, "winner": winner, "covered": covered, "window": window.copy(),
            "kernel_size": K, "stride": S, "mode": mode, "text": text}


def window_text(state):
    """The current window's values as a small text grid, the winner of max pooling in [brackets].

    Parameters
    ----------
    state : dict
        From :func:`explorer_state`.

    Returns
    -------
    text : str
        One line per window row, values with 2 decimals.
    """
    winner = state["winner"]
    lines = []
    for r, values in enumerate(state["window"]):
        cells = []
        for c, v in enumerate(values):
            mark = winner == (state["top"] + r, state["left"] + c)
            cells.append(f"[{v:5.2f}]" if mark else f" {v:5.2f} ")
        lines.append("".join(cells))
    return "\n".join(lines)


def _axis(ax, title):
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def explorer_figure(state, fig=None):
    """Draw an :func:`explorer_state`: feature map with the window, and the output filling in.

    Parameters
    ----------
    state : dict
        From :func:`explorer_state`.
    fig : Figure, optional
        A figure this function built before: its artists are updated in place
        (a widget builds the figure once). Without it a new figure is built.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fmap, filled, K, S = state["fmap"], state["filled"], state["kernel_size"], state["stride"]
    vmax = max(float(fmap.max()), 1e-12)
    if fig is None:
        fig = Figure(figsize=(9, 4.2), dpi=80)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.08)
        ax_in, ax_out = fig.subplots(1, 2)
        a = {"in": ax_in, "out": ax_out}
        a["im_in"] = ax_in.imshow(fmap, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        a["im_out"] = ax_out.imshow(filled, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        ax_out.set_facecolor("0.85")
        a["window"] = ax_in.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="cyan", lw=2))
        a["dropped"] = ax_in.add_patch(Rectangle((0, 0), 1, 1, fc="tab:red", alpha=0.25, ec="none"))
        a["dropped_c"] = ax_in.add_patch(Rectangle((0, 0), 1, 1, fc="tab:red", alpha=0.25, ec="none"))
        (a["winner"],) = ax_in.plot([], [], "x", color="cyan", ms=10, mew=2.5)
        a["cell"] = ax_out.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="cyan", lw=2))
        fig._pool_artists = a
    a = fig._pool_artists
    H, W = fmap.shape
    OH, OW = filled.shape
    a["im_in"].set_data(fmap)
    a["im_in"].set_clim(0, vmax)
    a["im_out"].set_data(filled)
    a["im_out"].set_clim(0, vmax)
    a["im_out"].set_extent((-0.5, OW - 0.5, OH - 0.5, -0.5))
    a["out"].set_xlim(-0.5, OW - 0.5)
    a["out"].set_ylim(OH - 0.5, -0.5)
    a["window"].set_bounds(state["left"] - 0.5, state["top"] - 0.5, K, K)
    rows, cols = state["covered"]
    a["dropped"].set_bounds(-0.5, rows - 0.5, W, H - rows)
    a["dropped_c"].set_bounds(cols - 0.5, -0.5, W - cols, rows)
    winner = state["winner"]
    a["winner"].set_data([winner[1]] if winner else [], [winner[0]] if winner else [])
    a["cell"].set_bounds(state["col"] - 0.5, state["row"] - 0.5, 1, 1)
    _axis(a["in"], f"feature map {H}×{W}, window {K}×{K}, stride {S}")
    _axis(a["out"], f"{state['mode']} pooled {OH}×{OW}: output[{state['row']}, {state['col']}] = "
                    f"{state['out'][state['row'], state['col']]:.3g}")
    return fig


def gradient_figure(x, dout, dx, kernel_size, stride, title=""):
    """Show an input, the upstream gradient ``dout`` and the ``dx`` it becomes, with numbers.

    Parameters
    ----------
    x : (H, W) array_like
        The pooled input.
    dout : (OH, OW) array_like
    dx : (H, W) array_like
    kernel_size, stride : int
        Drawn as the window grid on ``x``.
    title : str

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    panels = [("input x", np.asarray(x, dtype=float)), ("upstream gradient dout", np.asarray(dout, dtype=float)),
              ("dx = gradient w.r.t. x", np.asarray(dx, dtype=float))]
    fig = Figure(figsize=(10, 3.4), dpi=80)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.82, wspace=0.1)
    axes = fig.subplots(1, 3)
    for ax, (name, values) in zip(axes, panels):
        limit = max(np.abs(values).max(), 1e-12)
        ax.imshow(values, cmap="coolwarm", vmin=-limit, vmax=limit, interpolation="nearest")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=9 if values.size <= 36 else 7)
        _axis(ax, name)
    OH, OW = panels[1][1].shape
    K, S = int(kernel_size), int(stride)
    colours = ["tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive"]
    for n, (i, j) in enumerate(np.ndindex(OH, OW)):
        offset = 0.06 * (n % 3)
        axes[0].add_patch(Rectangle((j * S - 0.5 + offset, i * S - 0.5 + offset), K - 2 * offset, K - 2 * offset,
                                    fill=False, ec=colours[n % len(colours)], lw=2))
        axes[1].add_patch(Rectangle((j - 0.5 + 0.04, i - 0.5 + 0.04), 0.92, 0.92, fill=False,
                                    ec=colours[n % len(colours)], lw=2))
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def pooling_explorer(images, labels=None, kernel="sobel_x"):
    """Interactive pooling explorer: digit, kernel size, stride, max/avg, and the window (▶ plays it).

    Parameters
    ----------
    images : (N, H, W) array_like
        Digits in [0, 1]; each is turned into ``relu_feature_map(image, kernel)``.
    labels : (N,) array_like, optional
    kernel : str
        Preset of the convolution before the ReLU.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``digit``, ``kernel_size``, ``stride``, ``mode``, ``window``.
    """
    import ipywidgets as widgets

    from ._live import Live

    images = np.asarray(images, dtype=np.float64)
    maps = [relu_feature_map(image, kernel) for image in images]
    style = {"description_width": "60px"}
    controls = {
        "digit": widgets.IntSlider(0, 0, len(images) - 1, description="digit", style=style),
        "kernel_size": widgets.IntSlider(2, 1, 6, description="kernel", style=style),
        "stride": widgets.IntSlider(2, 1, 6, description="stride", style=style),
        "mode": widgets.ToggleButtons(options=MODES, value="max", description="pooling", style=style),
        "window": widgets.IntSlider(0, 0, 195, description="window", style=style),
    }
    play = widgets.Play(value=0, min=0, max=195, interval=300, description="play")
    widgets.jslink((play, "value"), (controls["window"], "value"))

    def compute(digit, kernel_size, stride, mode, window):
        state = explorer_state(maps[digit], kernel_size, stride, mode, window)
        label = "" if labels is None else f" (label {int(labels[digit])})"
        state["caption"] = (f"digit #{digit}{label}, conv {kernel} + ReLU\n{state['text']}\n"
                            f"window rows {state['top']}-{state['top'] + kernel_size - 1}, "
                            f"columns {state['left']}-{state['left'] + kernel_size - 1}:\n{window_text(state)}")
        return state

    fig = explorer_figure(compute(0, 2, 2, "max", 0))

    def layout(c):
        return widgets.VBox([widgets.HBox([c["digit"], c["kernel_size"], c["stride"]]),
                             widgets.HBox([c["mode"], play, c["window"]])])

    live = Live("pooling-explorer", controls, compute, figure=fig, draw=lambda state: explorer_figure(state, fig),
                html=lambda state: f"<pre>{html.escape(state['caption'])}</pre>", layout=layout)

    def bound_window(_):
        K, S = controls["kernel_size"].value, controls["stride"].value
        H, W = maps[0].shape
        last = ((H - K) // S + 1) * ((W - K) // S + 1) - 1
        with live.hold():
            controls["window"].max = play.max = last

    controls["kernel_size"].observe(bound_window, names="value")
    controls["stride"].observe(bound_window, names="value")
    return live
