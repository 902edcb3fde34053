"""Lesson 07, initialization: what the first weights do to the activations of a deep stack.

A stack of ``depth`` convolutions (3x3, padding 1, ``channels`` filters, zero biases), each
followed by ReLU or tanh, runs on a few real digits (shrunk to 14 x 14 by :func:`shrink` to keep a
frame fast; 64 filters per layer keep each layer's random factor close to its expected value). The weights are drawn from one scheme:
all zeros, N(0, 0.01^2) (too small), N(0, 1) (too large), Xavier/Glorot
``std = sqrt(2 / (fan_in + fan_out))`` or He/Kaiming ``std = sqrt(2 / fan_in)``, times a gain.

Pure functions (tested without a kernel): :func:`fans`, :func:`scheme_std`, :func:`stack_activations`,
:func:`init_view`. :class:`InitView` draws one view in place: a histogram of every layer's
activations as one column of a picture (log scale of ``|a|``, from 1e-12 to 1e12, exact zeros in
the bottom row) with the root-mean-square size of each layer drawn over it. :func:`init_explorer`
wires a scheme, a gain and an activation to it; :func:`init_figure` puts several schemes side
by side (the static figure).
"""
import html

import numpy as np

from .. import functional as F

__all__ = ["SCHEMES", "LABELS", "GAINS", "shrink", "fans", "scheme_std", "stack_activations", "init_view", "InitView",
           "init_figure", "init_explorer"]

SCHEMES = ("zeros", "small", "large", "xavier", "he")
LABELS = {"zeros": "all zeros", "small": "N(0, 0.01²): too small", "large": "N(0, 1): too large",
          "xavier": "Xavier / Glorot", "he": "He / Kaiming"}
FORMULAS = {"zeros": "0", "small": "0.01", "large": "1", "xavier": "sqrt(2 / (fan_in + fan_out))",
            "he": "sqrt(2 / fan_in)"}
GAINS = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)   # powers of sqrt(2)
DEPTH, CHANNELS = 10, 64
LOW, HIGH, PER_DECADE = -12, 12, 4        # histogram of log10|a|: 1e-12 .. 1e12, 4 bins per decade
EDGES = np.linspace(LOW, HIGH, (HIGH - LOW) * PER_DECADE + 1)
_BASE = {}


def shrink(digits):
    """Average 2 x 2 blocks: ``(N, C, 28, 28)`` digits -> ``(N, C, 14, 14)`` float32."""
    x = np.asarray(digits, dtype=np.float32)
    N, C, H, W = x.shape
    return x[:, :, :H // 2 * 2, :W // 2 * 2].reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5))


def fans(shape):
    """``(fan_in, fan_out)`` of a weight shape: ``(out, in)`` or ``(F, C, KH, KW)``.

    For a convolution every output number sees ``C * KH * KW`` inputs (fan_in) and every input
    number reaches ``F * KH * KW`` outputs (fan_out), like ``torch.nn.init``.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"fans: a weight shape has at least 2 dimensions, got {shape}")
    field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * field, shape[0] * field


def scheme_std(scheme, shape, gain=1.0):
    """Standard deviation of the normal draws of ``scheme`` for a weight of ``shape``, times ``gain``."""
    fan_in, fan_out = fans(shape)
    base = {"zeros": 0.0, "small": 0.01, "large": 1.0, "xavier": np.sqrt(2.0 / (fan_in + fan_out)),
            "he": np.sqrt(2.0 / fan_in)}
    if scheme not in base:
        raise ValueError(f"scheme_std: unknown scheme {scheme!r}; use one of {SCHEMES}")
    return float(gain * base[scheme])


def _base_draws(depth, channels, seed):
    """Standard normal weights of every layer, drawn once per (depth, channels, seed)."""
    key = (depth, channels, seed)
    if key not in _BASE:
        rng = np.random.default_rng(seed)
        _BASE[key] = [rng.standard_normal((channels, 1 if k == 0 else channels, 3, 3)).astype(np.float32)
                      for k in range(depth)]
    return _BASE[key]


def stack_activations(digits, scheme="he", gain=1.0, activation="relu", depth=DEPTH, channels=CHANNELS, seed=0,
                      init=None):
    """Run ``digits`` through the stack; return every layer's activations.

    Parameters
    ----------
    digits : (N, 1, H, W) float ndarray
        Standardized digits.
    scheme : str
        One of :data:`SCHEMES` (ignored when ``init`` is given).
    gain : float
        Multiplies the scheme's standard deviation.
    activation : {"relu", "tanh"}
    depth, channels, seed : int
    init : callable, optional
        ``init(shape, rng) -> weights`` draws the weights instead (e.g. the learner's ``he_init``),
        from ``np.random.default_rng(seed)``.

    Returns
    -------
    list of (N, channels, H, W) float32 ndarray
        One per layer, after its activation.
    """
    if activation not in ("relu", "tanh"):
        raise ValueError(f"stack_activations: activation must be 'relu' or 'tanh', got {activation!r}")
    act = F.relu_forward if activation == "relu" else F.tanh_forward
    x = np.asarray(digits, dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = []
    with np.errstate(all="ignore"):
        for base in _base_draws(depth, channels, seed):
            if init is not None:
                w = (gain * np.asarray(init(base.shape, rng))).astype(np.float32)
            else:
                w = np.float32(scheme_std(scheme, base.shape, gain)) * base
            x, _ = F.conv2d_forward(x, w, None, 1, 1)
            x, _ = act(x)
            out.append(x)
    return out


def init_view(digits, scheme="he", gain=1.0, activation="relu", depth=DEPTH, channels=CHANNELS, seed=0, init=None,
              label=None):
    """What the initialization explorer shows for one setting.

    Returns
    -------
    view : dict
        ``hist`` (1 + bins, depth) float: column k is the share of layer k's activations in each
        bin of ``log10|a|`` (:data:`EDGES`; row 0 holds the exact zeros, values beyond the range
        go to the end bins); ``rms`` (depth,) root mean square per layer (NaN if not finite);
        ``zeros`` and ``saturated`` (depth,) shares of exact zeros and of ``|a| > 0.99``;
        ``std`` the first inner layer's weight standard deviation; ``title`` and ``caption``.
    """
    acts = stack_activations(digits, scheme, gain, activation, depth, channels, seed, init)
    bins = len(EDGES) - 1
    hist = np.zeros((1 + bins, depth))
    rms, zeros, saturated = np.empty(depth), np.empty(depth), np.empty(depth)
    with np.errstate(all="ignore"):
        for k, a in enumerate(acts):
            a = np.abs(a.astype(np.float64).ravel())
            zero = a == 0
            zeros[k] = zero.mean()
            saturated[k] = (a > 0.99).mean() if activation == "tanh" else 0.0
            logs = np.clip(np.log10(a[~zero & np.isfinite(a)]), LOW, HIGH - 1e-9)
            counts = np.bincount(((logs - LOW) * PER_DECADE).astype(np.int64), minlength=bins)[:bins]
            hist[0, k] = zero.sum()
            hist[1:, k] = counts
            hist[:, k] /= a.size
            value = np.sqrt(np.mean(a * a))
            rms[k] = value if np.isfinite(value) else np.nan
    name = label or LABELS.get(scheme, scheme)
    inner = (channels, channels, 3, 3)
    std = scheme_std(scheme, inner, gain) if init is None else float("nan")
    title = f"{name}, gain {gain:g}, {activation}"
    caption = _caption(name, scheme, gain, activation, rms, zeros, saturated, std, init is not None, fans(inner))
    return {"hist": hist, "rms": rms, "zeros": zeros, "saturated": saturated, "std": std, "title": title,
            "caption": caption, "depth": depth}


def _size(v):
    return "∞ / NaN" if not np.isfinite(v) else ("0" if v == 0 else f"{v:.3g}")


def _caption(name, scheme, gain, activation, rms, zeros, saturated, std, custom, inner_fans):
    head = f"<b>{html.escape(name)}</b>"
    if not custom:
        formula = FORMULAS[scheme]
        head += (f": std = {gain:g} × {formula}" if scheme != "zeros" else ": every weight 0")
        if scheme in ("xavier", "he"):
            head += f" = {std:.3g} for the inner layers (fan_in = fan_out = {inner_fans[0]})"
    head += f", then {activation}."
    first, last = rms[0], rms[-1]
    grow = ""
    if np.isfinite(first) and np.isfinite(last) and first > 0 and last > 0:
        grow = f" (× {(last / first) ** (1 / (len(rms) - 1)):.3g} per layer)"
    sizes = (f"rms size after layer 1: <b>{_size(first)}</b>, after layer {len(rms)}: <b>{_size(last)}</b>{grow}.")
    extra = (f" Exactly 0: {zeros[0]:.0%} in layer 1, {zeros[-1]:.0%} in layer {len(rms)}." if activation == "relu"
             else f" Saturated (|a| &gt; 0.99): {saturated[0]:.0%} in layer 1, {saturated[-1]:.0%} in layer {len(rms)}.")
    return f"{head}<br>{sizes}{extra}"


class InitView:
    """One stack's activation histograms (columns) and rms sizes (line), updated in place.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Draw into it (static figures with several panels); default: a figure of its own.
    """

    def __init__(self, depth=DEPTH, ax=None, colorbar=True):
        from matplotlib.figure import Figure

        if ax is None:
            self.figure = Figure(figsize=(7.2, 3.6), dpi=80)
            self.figure.subplots_adjust(left=0.13, right=0.9 if colorbar else 0.97, bottom=0.14, top=0.9)
            ax = self.figure.subplots()
        else:
            self.figure = ax.figure
        self.ax = ax
        bins = len(EDGES) - 1
        self.image = ax.imshow(np.zeros((1 + bins, depth)), origin="lower", aspect="auto", cmap="Blues",
                               vmin=0, vmax=0.15, interpolation="nearest",
                               extent=(0.5, depth + 0.5, LOW - 1, HIGH))
        ax.axhline(LOW, color="0.5", lw=0.8)
        (self.line,) = ax.plot(np.arange(1, depth + 1), np.zeros(depth), "o-", color="tab:orange", lw=2, ms=4)
        ax.set_xlim(0.5, depth + 0.5)
        ax.set_ylim(LOW - 1, HIGH)
        decades = list(range(LOW + 4, HIGH, 4))
        ax.set_yticks([LOW - 0.5] + decades, ["= 0"] + [f"1e{t}" if t else "1" for t in decades], fontsize=9)
        ax.set_xticks(range(1, depth + 1), [str(k) for k in range(1, depth + 1)], fontsize=9)
        ax.set_xlabel("layer", fontsize=10)
        ax.set_ylabel("|activation| (log scale)", fontsize=10)
        ax.xaxis.set_label_coords(0.5, -0.09)
        ax.yaxis.set_label_coords(-0.12, 0.5)
        self.title = ax.set_title("", fontsize=10, y=1.01)
        if colorbar:
            bar = self.figure.colorbar(self.image, ax=ax, fraction=0.05, pad=0.02)
            bar.ax.tick_params(labelsize=8)
            bar.set_label("share of the layer's values", fontsize=9)

    def draw(self, view):
        """Update the picture, the rms line and the title for an :func:`init_view`."""
        self.image.set_data(view["hist"])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.line.set_ydata(np.where(view["rms"] > 0, np.log10(view["rms"]), np.nan))
        self.title.set_text(view["title"])
        return self.figure


def init_figure(digits, settings=(("small", 1.0), ("xavier", 1.0), ("he", 1.0), ("large", 1.0)), activation="relu"):
    """Several schemes side by side, as a static figure (one panel per ``(scheme, gain)``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.1 * len(settings), 3.3), dpi=80)
    axes = fig.subplots(1, len(settings), sharey=True)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.15, top=0.88, wspace=0.08)
    for ax, (scheme, gain) in zip(np.atleast_1d(axes), settings):
        view = init_view(digits, scheme, gain, activation)
        panel = InitView(depth=view["depth"], ax=ax, colorbar=False)
        panel.draw(view)
        panel.title.set_text(LABELS[scheme] + ("" if gain == 1 else f" × {gain:g}"))
        if ax is np.atleast_1d(axes)[0]:
            ax.yaxis.set_label_coords(-0.2, 0.5)
        else:
            ax.set_ylabel("")
    return fig


def init_explorer(digits, scheme="small", gain=1.0, activation="relu"):
    """Scheme, gain and activation -> the stack's activation histograms (a :class:`Live` widget).

    Parameters
    ----------
    digits : (N, 1, H, W) float ndarray
        Standardized digits, e.g. ``shrink(x[:4])`` (4 digits of 14 x 14: every setting is computed
        up front in about 1.5 s).
    """
    import ipywidgets as w

    from ._live import Live

    view = InitView()
    controls = {"scheme": w.Dropdown(options=[(LABELS[s], s) for s in SCHEMES], value=scheme, description="init"),
                "gain": w.SelectionSlider(options=[(f"{g:g}", g) for g in GAINS], value=gain, description="gain",
                                          continuous_update=True),
                "activation": w.ToggleButtons(options=["relu", "tanh"], value=activation,
                                              style={"button_width": "60px"})}
    # Every setting is computed here, in the kernel's main thread (about 90 x 15 ms): engine ops called from
    # Live's drawing thread can run numpy's BLAS on several spinning threads (see cnnlib._blas) and took up
    # to 800 ms there instead of 15 ms; a frame is then a lookup and an in-place draw.
    views = {(s, g, a): init_view(digits, s, g, a) for s in SCHEMES for g in GAINS for a in ("relu", "tanh")}

    def draw(v):
        view.draw(v)
        return False          # only the animated artists changed: Live redraws just them

    return Live("init-explorer", controls,
                lambda scheme, gain, activation: views[(scheme, gain, activation)],
                figure=view.figure, draw=draw, html=lambda v: v["caption"],
                animated=[view.image, view.line, view.title])
