"""Shift slider: how much do feature maps change when a digit moves by k pixels?

The pipeline is Lesson 01/02's: convolution with hand-made 3×3 kernels
("same" padding) → ReLU → pooling, optionally twice. The change is measured as

    change = ‖f(shifted digit) − f(digit)‖ / ‖f(digit)‖

(Euclidean norm over all values of the maps), 0 for identical maps.
Pure functions (``shift_image``, ``features``, ``relative_change``,
``shift_table``, ``shift_view``, ``shift_figure``) are tested without a
kernel; :func:`shift_explorer` only wires controls to them.
"""
import numpy as np
from matplotlib.figure import Figure

from cnnlib import functional as F
from cnnlib.kernels import get_kernel

__all__ = ["BANK_NAMES", "DIRECTIONS", "bank", "second_stage_weights", "shift_image", "features",
           "relative_change", "shift_table", "shift_view", "shift_figure", "shift_explorer"]

BANK_NAMES = ("sobel_x", "sobel_y", "laplacian", "gaussian_blur")
DIRECTIONS = {"right": (0, 1), "down": (1, 0), "down-right": (1, 1)}
STAGES = ("conv + ReLU", "+ pool", "2 × (conv + ReLU + pool)")


def bank():
    """The first layer's filters: the four kernels of ``BANK_NAMES``, shape ``(4, 1, 3, 3)``."""
    return np.stack([get_kernel(n) for n in BANK_NAMES])[:, None]


def second_stage_weights(seed=0):
    """A second layer of 4 filters over the 4 channels: seeded random positive 3×3 weights, (4, 4, 3, 3)."""
    return np.abs(np.random.default_rng(seed).standard_normal((4, 4, 3, 3))) / 6


def shift_image(image, dy, dx):
    """Move an image down by ``dy`` and right by ``dx`` pixels, filling with zeros.

    Parameters
    ----------
    image : (..., H, W) array_like
    dy, dx : int
        Negative values move up / left. Pixels pushed past the border are lost.

    Returns
    -------
    shifted : (..., H, W) ndarray
    """
    image = np.asarray(image)
    H, W = image.shape[-2:]
    dy, dx = int(dy), int(dx)
    out = np.zeros_like(image)
    if abs(dy) >= H or abs(dx) >= W:
        return out
    src = image[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    out[..., max(dy, 0):H - max(-dy, 0), max(dx, 0):W - max(-dx, 0)] = src
    return out


def _engine_pool(mode):
    forward = F.max_pool2d_forward if mode == "max" else F.avg_pool2d_forward
    return lambda x, k, s=None: forward(x, k, s)[0]


def features(images, pool_size=2, mode="max", pool_fn=None, w2=None):
    """The maps of every stage for a batch of digits.

    Parameters
    ----------
    images : (N, H, W) array_like
    pool_size : int
        Kernel and stride of every pooling layer.
    mode : {"max", "avg"}
        Used when ``pool_fn`` is None (cnnlib's engine).
    pool_fn : callable, optional
        ``pool_fn(x, kernel_size, stride)`` on ``(N, C, H, W)``, e.g. your ``max_pool2d``.
    w2 : (4, 4, 3, 3) ndarray, optional
        Second-stage filters; :func:`second_stage_weights` by default.

    Returns
    -------
    maps : dict
        ``"conv + ReLU"``: (N, 4, H, W); ``"+ pool"``: (N, 4, H//p, W//p);
        ``"2 × (conv + ReLU + pool)"``: (N, 4, H//p//p, W//p//p).
    """
    x = np.asarray(images, dtype=np.float64)[:, None]
    pool = pool_fn or _engine_pool(mode)
    w2 = second_stage_weights() if w2 is None else w2
    conv = np.maximum(F.conv2d_forward(x, bank(), np.zeros(4), padding=1)[0], 0.0)
    pooled = np.asarray(pool(conv, pool_size, pool_size))
    conv2 = np.maximum(F.conv2d_forward(pooled, w2, np.zeros(4), padding=1)[0], 0.0)
    return {STAGES[0]: conv, STAGES[1]: pooled, STAGES[2]: np.asarray(pool(conv2, pool_size, pool_size))}


def relative_change(new, old):
    """‖new − old‖ / ‖old‖ per example (norm over all axes but the first).

    Parameters
    ----------
    new, old : (N, ...) array_like
        Same shape.

    Returns
    -------
    change : (N,) ndarray
        0 where ``old`` is all zeros and ``new`` equals it.
    """
    new, old = np.asarray(new, dtype=np.float64), np.asarray(old, dtype=np.float64)
    if new.shape != old.shape:
        raise ValueError(f"new {new.shape} and old {old.shape} must have the same shape")
    num = np.sqrt(((new - old) ** 2).reshape(len(new), -1).sum(axis=1))
    den = np.sqrt((old ** 2).reshape(len(old), -1).sum(axis=1))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def shift_table(images, shifts=range(5), direction="right", pool_size=2, mode="max", pool_fn=None):
    """Mean relative change of every stage's maps when the digits move by each shift.

    Returns
    -------
    table : dict
        ``{stage name: (len(shifts),) ndarray}``, the mean over the digits.
    """
    dy, dx = DIRECTIONS[direction]
    base = features(images, pool_size, mode, pool_fn)
    table = {name: [] for name in STAGES}
    for k in shifts:
        moved = features(shift_image(images, k * dy, k * dx), pool_size, mode, pool_fn)
        for name in STAGES:
            table[name].append(relative_change(moved[name], base[name]).mean())
    return {name: np.array(values) for name, values in table.items()}


def shift_view(image, shift, direction="right", channel=0, pool_size=2, mode="max", max_shift=4):
    """Everything the shift slider shows for one digit and one shift.

    Returns
    -------
    view : dict
        ``shifted`` (H, W) digit; ``conv``, ``conv_diff`` (H, W) channel ``channel``
        of the conv+ReLU map of the shifted digit and its difference from the
        original's; ``pooled``, ``pooled_diff`` the same after pooling;
        ``change`` {stage: float} for this shift; ``curve`` {stage: (max_shift+1,)}
        the change for shifts 0..max_shift; ``shift``, ``text``.
    """
    image = np.asarray(image, dtype=np.float64)
    dy, dx = DIRECTIONS[direction]
    batch = np.stack([shift_image(image, k * dy, k * dx) for k in range(max_shift + 1)])
    maps = features(batch, pool_size, mode)
    curve = {name: relative_change(m, np.broadcast_to(m[:1], m.shape)) for name, m in maps.items()}
    k = int(np.clip(shift, 0, max_shift))
    change = {name: float(c[k]) for name, c in curve.items()}
    conv, pooled = maps[STAGES[0]][:, channel], maps[STAGES[1]][:, channel]
    text = (f"shift {k} px {direction}: change {change[STAGES[0]]:.0%} after conv + ReLU, "
            f"{change[STAGES[1]]:.0%} after {mode} pooling {pool_size}×{pool_size}, "
            f"{change[STAGES[2]]:.0%} after two conv + pool stages")
    return {"shifted": batch[k], "conv": conv[k], "conv_diff": conv[k] - conv[0], "pooled": pooled[k],
            "pooled_diff": pooled[k] - pooled[0], "change": change, "curve": curve, "shift": k, "text": text,
            "channel": BANK_NAMES[channel], "mode": mode, "pool_size": pool_size}


def shift_figure(view, fig=None):
    """Draw a :func:`shift_view`; with ``fig`` (built here before) update it in place.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Top: shifted digit, its conv map, the change of the conv map. Bottom:
        the pooled map, its change, and the change per shift for the three
        stages (this digit; the dashed line marks the current shift).
    """
    panels = [("shifted", "gray", (0, 1)), ("conv", "magma", None), ("conv_diff", "coolwarm", None),
              ("pooled", "magma", None), ("pooled_diff", "coolwarm", None)]
    if fig is None:
        fig = Figure(figsize=(10, 6.4), dpi=64)
        fig.subplots_adjust(left=0.01, right=0.95, bottom=0.09, top=0.94, wspace=0.12, hspace=0.2)
        axes = fig.subplots(2, 3).ravel()
        a = {"axes": axes, "images": {}, "titles": {}}
        for ax, (key, cmap, _) in zip(axes, panels):
            a["images"][key] = ax.imshow(view[key], cmap=cmap, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        curve_ax = axes[5]
        shifts = np.arange(len(next(iter(view["curve"].values()))))
        a["lines"] = {name: curve_ax.plot(shifts, c, "o-", label=name)[0] for name, c in view["curve"].items()}
        a["marker"] = curve_ax.axvline(view["shift"], color="0.5", ls="--")
        curve_ax.set_xlabel("shift (pixels)", fontsize=10)
        curve_ax.set_xticks(shifts)
        curve_ax.set_ylim(0, 2.0)
        curve_ax.set_yticks([0, 0.5, 1, 1.5, 2])
        curve_ax.yaxis.tick_right()
        curve_ax.legend(fontsize=10, loc="upper left", frameon=False)
        titles = ["shifted digit", "conv + ReLU", "change of the conv map", "pooled", "change of the pooled map",
                  "change vs shift (this digit)"]
        for ax, title in zip(axes, titles):
            ax.set_title(title, fontsize=11)
        fig._shift_artists = a
    a = fig._shift_artists
    for key, cmap, limits in panels:
        im = a["images"][key]
        im.set_data(view[key])
        if limits is None:
            top = max(float(np.abs(view[key]).max()), 1e-12)
            limits = (-top, top) if cmap == "coolwarm" else (0, top)
        im.set_clim(*limits)
    for name, line in a["lines"].items():
        line.set_ydata(np.minimum(view["curve"][name], 2.0))
    a["marker"].set_xdata([view["shift"]])
    return fig


def shift_explorer(images, labels=None):
    """Interactive shift slider: digit, shift, direction, channel, pooling mode and size.

    Parameters
    ----------
    images : (N, H, W) array_like
        Digits in [0, 1].
    labels : (N,) array_like, optional

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``digit``, ``shift``, ``direction``, ``channel``, ``mode``, ``pool_size``.
    """
    import html

    import ipywidgets as widgets

    from ._live import Live

    images = np.asarray(images, dtype=np.float64)
    style = {"description_width": "70px"}
    controls = {
        "digit": widgets.IntSlider(0, 0, len(images) - 1, description="digit", style=style),
        "shift": widgets.IntSlider(1, 0, 4, description="shift (px)", style=style),
        "direction": widgets.Dropdown(options=list(DIRECTIONS), value="right", description="direction", style=style),
        "channel": widgets.Dropdown(options=[(n, i) for i, n in enumerate(BANK_NAMES)], value=0,
                                    description="channel", style=style),
        "mode": widgets.ToggleButtons(options=["max", "avg"], value="max", description="pooling", style=style),
        "pool_size": widgets.IntSlider(2, 2, 4, description="pool size", style=style),
    }

    def compute(digit, shift, direction, channel, mode, pool_size):
        view = shift_view(images[digit], shift, direction, channel, pool_size, mode)
        label = "" if labels is None else f" (label {int(labels[digit])})"
        view["caption"] = (f"digit #{digit}{label}, channel {view['channel']}, {mode} pooling "
                           f"{pool_size}×{pool_size}\n{view['text']}")
        return view

    fig = shift_figure(compute(0, 1, "right", 0, "max", 2))

    def layout(c):
        return widgets.HBox([widgets.VBox([c["digit"], c["shift"], c["direction"]]),
                             widgets.VBox([c["channel"], c["mode"], c["pool_size"]])])

    return Live("shift-explorer", controls, compute, figure=fig, draw=lambda view: shift_figure(view, fig),
                html=lambda view: f"<pre>{html.escape(view['caption'])}</pre>", layout=layout)
