"""Lesson 05, the gradient-check explorer: analytic gradients against centred differences.

Pick a layer, a step ``eps`` and a dtype: every input (and weight) of a small layer is checked
with centred differences, and the relative error of each one is shown as a heatmap, next to
the largest error as a function of ``eps`` in float64 and float32. The ``kink`` control puts
one input that close to a kink (ReLU at 0, a tie in a max-pooling window): once it is closer
than ``eps``, the centred difference straddles the kink and a correct gradient looks wrong.

Pure functions (tested without a kernel): :func:`centred_gradient`, :func:`relative_errors`,
:func:`make_problem`, :func:`check_view`; :class:`CheckView` draws a view in place;
:func:`gradcheck_explorer` wires the controls.

The analytic gradients are cnnlib's backward passes; the losses the differences are taken of
are written here in plain numpy (the same formulas as the forward passes), which keeps a frame
fast: a cold frame computes a few thousand small losses.
"""
import functools

import numpy as np

from .. import functional as F

__all__ = ["LAYERS", "EPS_GRID", "MARKED", "centred_gradient", "relative_errors", "make_problem", "check_view",
           "CheckView", "check_figure", "gradcheck_explorer"]

LAYERS = ("linear", "relu", "max-pool", "conv", "softmax + cross-entropy")
KINKY = ("relu", "max-pool")           # layers with kinks; the others are smooth everywhere
EPS_GRID = 10.0 ** np.arange(-12, 0)   # 1e-12 ... 1e-1, the eps of the curves
MARKED = (2, 3)                        # the input moved towards a kink, in the 6x6 map
FINE, BUG = 1e-7, 1e-2                 # below FINE: fine; above BUG: a bug (unless a kink explains it)


def centred_gradient(f, x, eps):
    """``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every index ``i``, in ``x``'s own dtype.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray (float32 or float64)
        Not modified: a copy is perturbed (so in float32, ``x + eps`` is rounded to float32).
    eps : float > 0

    Returns
    -------
    grad : ndarray of float64, x's shape
    """
    x = np.array(x)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = float(f(x))
        x[i] = old - eps
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_errors(analytic, numeric):
    """Element-wise ``|a - n| / max(1e-8, |a| + |n|)`` (the largest is ``cnnlib.gradcheck.rel_error``).

    Returns
    -------
    errors : ndarray of float64, the inputs' shape
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))


def _windows(x, k):                     # (N, C, H, W) -> (N, C, OH, OW, k, k), stride 1
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))


def make_problem(layer, dtype="float64", kink=None, seed=0):
    """A small layer, its inputs, the loss to differentiate and cnnlib's analytic gradients.

    The loss is ``sum(layer(x) * dout)`` for a fixed random ``dout`` (what a backward pass
    receives), or the cross-entropy itself for ``"softmax + cross-entropy"``. Inputs are drawn
    away from kinks: ReLU inputs at least 0.2 from 0, max-pooling values at least 0.1 apart.

    Parameters
    ----------
    layer : str
        One of :data:`LAYERS`.
    dtype : {"float64", "float32"}
    kink : float, optional
        For ``"relu"`` and ``"max-pool"``: put input :data:`MARKED` this far from a kink (ReLU:
        ``x = kink``; max-pool: ``kink`` below the largest value of its 2x2 window). Ignored by
        the smooth layers.
    seed : int

    Returns
    -------
    problem : dict
        ``tensors`` (``name -> ndarray``: ``x``, and ``w`` for linear and conv), ``loss``
        (``loss(name, value) -> float``: the loss with that tensor replaced), ``grads`` (the
        analytic gradients, float64), ``marked`` (index into ``x``, or None), ``shape`` of the
        map drawn for ``x``.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; use one of {LAYERS}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    marked = None
    if layer == "linear":
        x, w, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6)), rng.standard_normal(3)
        dout = rng.standard_normal((4, 3))
        tensors = {"x": x, "w": w}
        forward = lambda x, w: x @ w.T + b.astype(dt)                                 # noqa: E731
        _, cache = F.linear_forward(x.astype(dt), w.astype(dt), b.astype(dt))
        grads = dict(zip(("x", "w"), F.linear_backward(dout.astype(dt), cache)[:2]))
    elif layer == "conv":
        x, w, b = rng.standard_normal((1, 1, 6, 6)), rng.standard_normal((1, 1, 3, 3)), rng.standard_normal(1)
        dout = rng.standard_normal((1, 1, 4, 4))
        tensors = {"x": x, "w": w}
        forward = lambda x, w: (np.einsum("ncijkl,fckl->nfij", _windows(x, 3), w)    # noqa: E731
                                + b.astype(dt)[None, :, None, None])
        _, cache = F.conv2d_forward(x.astype(dt), w.astype(dt), b.astype(dt))
        grads = dict(zip(("x", "w"), F.conv2d_backward(dout.astype(dt), cache)[:2]))
    elif layer == "relu":
        x = np.sign(rng.standard_normal((6, 6))) * (0.2 + np.abs(rng.standard_normal((6, 6))))
        if kink is not None:
            x[MARKED], marked = kink, MARKED
        dout = rng.standard_normal((6, 6))
        tensors = {"x": x}
        forward = lambda x: np.maximum(x, 0)                                          # noqa: E731
        grads = {"x": F.relu_backward(dout.astype(dt), F.relu_forward(x.astype(dt))[1])}
    elif layer == "max-pool":
        x = (rng.permutation(36) * 0.1 - 1.75).reshape(1, 1, 6, 6) + 0.01 * rng.random((1, 1, 6, 6))
        if kink is not None:
            r, c = MARKED
            window = x[0, 0, r // 2 * 2:r // 2 * 2 + 2, c // 2 * 2:c // 2 * 2 + 2]
            others = np.delete(window.ravel(), (r % 2) * 2 + c % 2)
            x[0, 0, r, c], marked = others.max() - kink, (0, 0) + MARKED
        dout = rng.standard_normal((1, 1, 3, 3))
        tensors = {"x": x}
        forward = lambda x: x.reshape(1, 1, 3, 2, 3, 2).max(axis=(3, 5))             # noqa: E731
        _, cache = F.max_pool2d_forward(x.astype(dt), 2)
        grads = {"x": F.max_pool2d_backward(dout.astype(dt), cache)}
    else:
        x, y = rng.standard_normal((4, 6)) * 2, rng.integers(0, 6, 4)
        tensors = {"x": x}
        dout = None
        forward = None
        grads = {"x": F.cross_entropy(x.astype(dt), y)[1]}

    tensors = {k: v.astype(dt) for k, v in tensors.items()}
    if forward is None:
        rows = np.arange(4)

        def loss(name, value):
            return -np.mean(F.log_softmax(value)[rows, y])
    else:
        dout_t = dout.astype(dt)

        def loss(name, value):
            args = dict(tensors, **{name: value})
            return np.sum(forward(**args) * dout_t)
    shape = tensors["x"].shape[-2:]
    return {"tensors": tensors, "loss": loss, "grads": {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()},
            "marked": marked, "shape": shape, "layer": layer, "dtype": dtype}


def _errors(problem, eps):
    """{tensor name: element-wise relative errors} at step eps."""
    out = {}
    for name, value in problem["tensors"].items():
        numeric = centred_gradient(lambda v: problem["loss"](name, v), value, eps)
        out[name] = relative_errors(problem["grads"][name], numeric)
    return out


@functools.lru_cache(maxsize=64)
def _curve(layer, dtype, kink):
    problem = make_problem(layer, dtype, kink)
    return np.array([max(e.max() for e in _errors(problem, eps).values()) for eps in EPS_GRID])


def _verdict(err):
    if err < FINE:
        return "fine"
    if err < BUG:
        return "suspicious"
    return "looks like a bug"


def check_view(layer="relu", eps=1e-5, dtype="float64", kink=1.0):
    """Everything the explorer shows for one setting of its controls.

    Parameters
    ----------
    layer : str
        One of :data:`LAYERS`.
    eps : float > 0
        Step of the centred differences.
    dtype : {"float64", "float32"}
    kink : float > 0
        Distance of input :data:`MARKED` from its kink (ReLU and max-pool only).

    Returns
    -------
    view : dict
        ``maps`` (``"x"``: 2-D relative errors of the input gradient; ``"w"``: of the weight
        gradient, or None), ``max_error``, ``curves`` (``dtype -> (len(EPS_GRID),)`` largest error
        per eps), ``marked`` ((row, col) in the map, or None), ``layer``, ``eps``, ``dtype``,
        ``kink``, ``text``.
    """
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    key_kink = float(kink) if layer in KINKY else None
    problem = make_problem(layer, dtype, key_kink)
    errors = _errors(problem, eps)
    maps = {name: errors[name].reshape(errors[name].shape[-2:]) if name in errors else None for name in ("x", "w")}
    worst = float(max(e.max() for e in errors.values()))
    curves = {dt: _curve(layer, dt, key_kink) for dt in ("float64", "float32")}
    marked = None if problem["marked"] is None else MARKED
    text = (f"<b>{layer}</b>, {dtype}, ε = {eps:.0e}: largest relative error <b>{worst:.1e}</b>: {_verdict(worst)}")
    if layer in KINKY:
        where = "0" if layer == "relu" else "the largest value of its window"
        near = float(kink) < eps
        text += (f". The marked input is {float(kink):.0e} from {where}, "
                 + ("closer than ε: x - ε and x + ε lie on opposite sides of the kink, so the centred difference "
                    "mixes two slopes (a false alarm, not a bug)." if near else "farther than ε: both x - ε and "
                    "x + ε stay on its side of the kink."))
        if near and errors["x"][problem["marked"]] < BUG:
            text += " (Here the difference happens to stay small.)"
    else:
        text += ". This layer has no kinks: the marked-input control does nothing here."
    return {"maps": maps, "max_error": worst, "curves": curves, "marked": marked, "layer": layer, "eps": eps,
            "dtype": dtype, "kink": float(kink), "text": text}


class CheckView:
    """The explorer's figure: error heatmaps of dx and dw, and the largest error against eps."""

    def __init__(self):
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        self.figure = fig = Figure(figsize=(11, 3.3), dpi=80)
        fig.subplots_adjust(left=0.03, right=0.98, bottom=0.17, top=0.88, wspace=0.3)
        self.ax_x, self.ax_w, self.ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.6]})
        self.images = {}
        for name, ax in (("x", self.ax_x), ("w", self.ax_w)):
            self.images[name] = ax.imshow(np.zeros((6, 6)), cmap="RdYlGn_r", vmin=-16, vmax=0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        # titles and labels at fixed places (y=..., label coords): a frame then skips measuring tick labels
        self.titles = {"x": self.ax_x.set_title("", fontsize=10, y=1.01), "w": self.ax_w.set_title("", fontsize=10, y=1.01)}
        bar = fig.colorbar(self.images["w"], ax=[self.ax_x, self.ax_w], fraction=0.04, pad=0.02)
        bar.set_ticks([-16, -8, 0])
        bar.set_ticklabels(["1e-16", "1e-8", "1"])
        self.mark = Rectangle((MARKED[1] - 0.5, MARKED[0] - 0.5), 1, 1, fill=False, ec="black", lw=2.5)
        self.ax_x.add_patch(self.mark)
        ax = self.ax_c
        (self.line64,) = ax.plot(EPS_GRID, np.ones_like(EPS_GRID), "o-", color="tab:blue", ms=3)
        (self.line32,) = ax.plot(EPS_GRID, np.ones_like(EPS_GRID), "s--", color="tab:orange", ms=3)
        (self.point,) = ax.plot([1e-5], [1.0], "o", ms=11, mfc="none", mec="black", mew=2)
        ax.axhspan(BUG, 10, color="tab:red", alpha=0.08)
        ax.axhspan(1e-17, FINE, color="tab:green", alpha=0.08)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(3e-13, 0.3)
        ax.set_ylim(1e-17, 10)
        # plain tick labels: the default log labels go through mathtext, slow on every frame
        ax.set_xticks([1e-12, 1e-9, 1e-6, 1e-3], ["1e-12", "1e-9", "1e-6", "1e-3"], fontsize=10)
        ax.set_xticks([], minor=True)
        ax.set_yticks([1e-16, 1e-8, 1], ["1e-16", "1e-8", "1"], fontsize=10)
        ax.set_yticks([], minor=True)
        ax.set_xlabel("ε", fontsize=10)
        ax.xaxis.set_label_coords(0.5, -0.14)
        # one title instead of a legend: every text costs drawing time on each frame
        ax.set_title("largest error vs ε: float64 (blue), float32 (orange)", fontsize=10, y=1.01)

    def draw(self, view):
        """Show ``view`` (from :func:`check_view`) in place; returns the figure."""
        for name in ("x", "w"):
            m = view["maps"][name]
            image = self.images[name]
            if m is None:
                image.set_data(np.full((1, 1), np.nan))
                image.set_extent((-0.5, 0.5, 0.5, -0.5))
                self.titles[name].set_text("(no weights)")
                continue
            image.set_data(np.log10(np.maximum(m, 1e-16)))
            image.set_extent((-0.5, m.shape[1] - 0.5, m.shape[0] - 0.5, -0.5))
            what = "input" if name == "x" else "weights"
            self.titles[name].set_text(f"d{name} ({what}): error per entry")
        self.mark.set_visible(view["marked"] is not None)
        self.line64.set_ydata(np.maximum(view["curves"]["float64"], 1e-17))
        self.line32.set_ydata(np.maximum(view["curves"]["float32"], 1e-17))
        self.point.set_data([view["eps"]], [max(view["max_error"], 1e-17)])
        self.point.set_markeredgecolor("tab:blue" if view["dtype"] == "float64" else "tab:orange")
        return self.figure


def check_figure(view):
    """One explorer setting as a static figure (a new :class:`CheckView`)."""
    return CheckView().draw(view)


def gradcheck_explorer(layer="relu", eps=1e-5, dtype="float64", kink=1.0):
    """Gradient-check explorer: layer, ε, dtype and how close one input sits to a kink.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
    """
    import ipywidgets as widgets

    from ._live import Live

    controls = {"layer": widgets.Dropdown(options=list(LAYERS), value=layer, description="layer"),
                "eps": widgets.FloatLogSlider(eps, base=10, min=-12, max=-1, step=0.5, description="ε",
                                              readout_format=".0e"),
                "dtype": widgets.ToggleButtons(options=["float64", "float32"], value=dtype,
                                               style={"button_width": "70px"}),
                "kink": widgets.FloatLogSlider(kink, base=10, min=-10, max=0, step=0.5,
                                               description="kink dist.", readout_format=".0e")}
    view = CheckView()
    return Live("gradcheck-explorer", controls, check_view, figure=view.figure, draw=view.draw,
                html=lambda v: v["text"])
