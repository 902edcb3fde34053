"""Lesson 06: optimizers walking over 2-D loss surfaces (the pure half of the trajectory playground).

Pure functions (tested without a kernel): :func:`make_surface` (an elongated quadratic bowl
with a condition-number control, a saddle, the Rosenbrock valley), :func:`stability` (the
learning-rate limit ``2 / lambda_max`` of gradient descent), :func:`trajectory` (one optimizer's
path, computed with cnnlib's update rules, so it is torch.optim's path) and
:func:`trajectory_view`; :func:`rate_choices` / :func:`rate_slider` give the lessons' learning-rate
sliders round values. The figure and the widget are in :mod:`cnnlib.widgets.optimizers_playground`.
"""
import functools
from collections import namedtuple

import numpy as np

from ..optim import rules

__all__ = ["SURFACES", "OPTIMIZERS", "COLORS", "LABELS", "rate_choices", "rate_slider", "make_surface", "stability",
           "trajectory", "landscape", "trajectory_view"]

SURFACES = ("bowl", "saddle", "rosenbrock")
OPTIMIZERS = ("gd", "momentum", "nesterov", "rmsprop", "adam")
COLORS = {"gd": "tab:blue", "momentum": "tab:orange", "nesterov": "tab:brown", "rmsprop": "tab:green",
          "adam": "tab:red", "sgd": "tab:blue"}
LABELS = {"gd": "gradient descent", "momentum": "momentum", "nesterov": "Nesterov", "rmsprop": "RMSprop",
          "adam": "Adam", "sgd": "SGD"}
BLOW_UP = 1e3          # a path leaving |w| <= BLOW_UP counts as diverged

MANTISSAS = (1, 1.2, 1.5, 1.8, 1.9, 2, 2.1, 2.5, 3, 4, 5, 6, 8)   # 1.9, 2, 2.1: either side of 2 / lambda_max


def rate_choices(lowest, highest):
    """Round values from ``lowest`` to ``highest``: each decade's :data:`MANTISSAS` times a power of 10.

    Returns
    -------
    list of (label, float)
        For an ``ipywidgets.SelectionSlider``: its readout then shows the exact value.
    """
    out = []
    for exponent in range(int(np.floor(np.log10(lowest))), int(np.ceil(np.log10(highest))) + 1):
        for m in MANTISSAS:
            value = float(f"{m:g}e{exponent}")
            if lowest * (1 - 1e-9) <= value <= highest * (1 + 1e-9):
                out.append((f"{value:g}", value))
    return out


def rate_slider(value, lowest, highest, description):
    """A slider over :func:`rate_choices` (a log scale with round values), starting at ``value``."""
    import ipywidgets as w

    options = rate_choices(lowest, highest)
    values = [v for _, v in options]
    if value not in values:
        raise ValueError(f"rate_slider: {value!r} is not one of {values}")
    return w.SelectionSlider(options=options, value=value, description=description, continuous_update=True)


Surface = namedtuple("Surface", "name loss grad start minimum loss_min xlim ylim hessian")
Surface.__doc__ = """A 2-D loss surface.

``loss(w1, w2)`` works on broadcast arrays (a grid), ``grad(w)`` takes a (2,) array; ``start``
and ``minimum`` are (2,) arrays, ``loss_min`` the loss at the minimum, ``xlim``/``ylim`` the
plotted box, ``hessian`` the (2, 2) Hessian at the minimum."""


def make_surface(name="bowl", condition=10.0):
    """One of :data:`SURFACES`.

    * ``"bowl"``: ``L = (w1**2 / condition + w2**2) / 2``: curvatures (eigenvalues of the
      Hessian) ``1 / condition`` along w1 and 1 along w2, so ``condition`` is the condition
      number ``lambda_max / lambda_min``.
    * ``"saddle"``: ``L = w1**2 / 2 - w2**2 / 2 + w2**4 / 4``: a saddle point at the origin,
      minima at ``(0, +-1)`` where ``L = -1/4``.
    * ``"rosenbrock"``: ``L = (1 - w1)**2 + 100 (w2 - w1**2)**2``: a curved, narrow valley,
      minimum at ``(1, 1)``.

    Parameters
    ----------
    name : str
    condition : float >= 1
        Used by the bowl only.

    Returns
    -------
    Surface
    """
    if name == "bowl":
        k = float(condition)
        if not k >= 1:
            raise ValueError(f"make_surface: the condition number must be >= 1, got {condition!r}")
        return Surface("bowl", lambda a, b: 0.5 * (a * a / k + b * b),
                       lambda w: np.array([w[0] / k, w[1]]), np.array([-2.0, 0.9]), np.zeros(2), 0.0,
                       (-2.4, 2.4), (-1.2, 1.2), np.diag([1.0 / k, 1.0]))
    if name == "saddle":
        return Surface("saddle", lambda a, b: 0.5 * a * a - 0.5 * b * b + 0.25 * b ** 4,
                       lambda w: np.array([w[0], -w[1] + w[1] ** 3]), np.array([1.8, 0.01]),
                       np.array([0.0, 1.0]), -0.25, (-2.2, 2.2), (-1.6, 1.6), np.diag([1.0, 2.0]))
    if name == "rosenbrock":
        return Surface("rosenbrock", lambda a, b: (1 - a) ** 2 + 100 * (b - a * a) ** 2,
                       lambda w: np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2),
                                           200 * (w[1] - w[0] ** 2)]),
                       np.array([-1.2, 1.0]), np.ones(2), 0.0, (-2.0, 2.0), (-1.0, 3.0),
                       np.array([[802.0, -400.0], [-400.0, 200.0]]))
    raise ValueError(f"make_surface: unknown surface {name!r}; use one of {SURFACES}")


def stability(surface):
    """What the Hessian at the minimum says about gradient descent with a fixed learning rate.

    Near the minimum the loss is the quadratic ``(w - w*)^T H (w - w*) / 2``; along an
    eigenvector of ``H`` with eigenvalue ``lam`` one step multiplies the distance by
    ``1 - lr * lam``, which shrinks only if ``lr < 2 / lam``.

    Returns
    -------
    dict
        ``lam_max``, ``lam_min``, ``condition`` (their ratio), ``lr_limit`` = 2 / lam_max and
        ``lr_best`` = 2 / (lam_max + lam_min) (the fastest fixed learning rate on a quadratic).
    """
    lam = np.linalg.eigvalsh(surface.hessian)
    lo, hi = float(lam[0]), float(lam[-1])
    return {"lam_max": hi, "lam_min": lo, "condition": hi / lo, "lr_limit": 2.0 / hi, "lr_best": 2.0 / (hi + lo)}


def _rule(optimizer, lr, momentum, beta2, eps):
    if optimizer == "gd" or (optimizer in ("momentum", "nesterov") and momentum == 0):
        return lambda w, g, s: rules.sgd_update(w, g, s, lr)
    if optimizer in ("momentum", "nesterov"):
        return lambda w, g, s: rules.sgd_update(w, g, s, lr, momentum=momentum, nesterov=optimizer == "nesterov")
    if optimizer == "rmsprop":
        return lambda w, g, s: rules.rmsprop_update(w, g, s, lr=lr, alpha=beta2, eps=eps)
    if optimizer == "adam":
        return lambda w, g, s: rules.adam_update(w, g, s, lr=lr, betas=(momentum, beta2), eps=eps)
    raise ValueError(f"trajectory: unknown optimizer {optimizer!r}; use one of {OPTIMIZERS}")


def trajectory(surface, optimizer="gd", lr=0.1, steps=50, momentum=0.9, beta2=0.99, eps=1e-8):
    """The path of one optimizer from ``surface.start``, with torch.optim's update formulas.

    Parameters
    ----------
    surface : Surface
    optimizer : str
        ``"gd"`` (plain gradient descent), ``"momentum"`` (heavy ball), ``"nesterov"``,
        ``"rmsprop"`` (``alpha = beta2``) or ``"adam"`` (``betas = (momentum, beta2)``).
    lr : float >= 0
    steps : int >= 0
    momentum, beta2, eps : float

    Returns
    -------
    dict
        ``path`` (k + 1, 2) positions (k = steps unless it diverged), ``gap`` (k + 1,) the loss
        minus the surface's minimum, ``diverged`` (the step at which |w| left 1e3 or became
        non-finite, else None).
    """
    step_fn = _rule(optimizer, lr, momentum, beta2, eps)
    w, state = surface.start.astype(np.float64), {}
    path, diverged = [w], None
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, int(steps) + 1):
            w, state = step_fn(w, surface.grad(w), state)
            if not np.all(np.isfinite(w)) or np.abs(w).max() > BLOW_UP:
                diverged = k
                break
            path.append(w)
    path = np.array(path)
    gap = surface.loss(path[:, 0], path[:, 1]) - surface.loss_min
    return {"path": path, "gap": np.maximum(gap, 0.0), "diverged": diverged}


@functools.lru_cache(maxsize=16)
def landscape(name, condition, n=160):
    """The picture behind the paths: log10 of (loss - minimum + 1e-3) on the surface's box.

    Cached (read-only arrays): the playground asks again at every slider move.

    Returns
    -------
    xs : (n,) ndarray
    ys : (n,) ndarray
    image : (n, n) ndarray
        Row i is ``ys[i]`` (for ``origin="lower"``).
    """
    s = make_surface(name, condition)
    xs, ys = np.linspace(*s.xlim, n), np.linspace(*s.ylim, n)
    gap = s.loss(xs[None, :], ys[:, None]) - s.loss_min
    image = np.log10(np.maximum(gap, 0.0) + 1e-3)
    image.flags.writeable = False
    return xs, ys, image


def _fmt(value):
    return f"{value:.3g}"


def trajectory_view(surface="bowl", optimizers=("gd",), lr=0.1, momentum=0.9, beta2=0.99, steps=50,
                    condition=10.0):
    """What the playground shows: each chosen optimizer's path over the surface and its loss.

    Parameters
    ----------
    surface : str
        One of :data:`SURFACES`.
    optimizers : sequence of str
        Names from :data:`OPTIMIZERS` (kept in that order).
    lr, momentum, beta2 : float
        Shared by the optimizers: ``momentum`` is Adam's beta1 too, ``beta2`` is RMSprop's alpha.
    steps : int
    condition : float
        The bowl's condition number.

    Returns
    -------
    view : dict
        ``surface`` (name), ``key`` ((name, condition) of the background), ``xs`` (n,), ``ys``
        (n,), ``image`` (n, n) log10 loss gap, ``xlim``, ``ylim``, ``start`` (2,), ``minimum``
        (2,), ``runs`` {name: :func:`trajectory` dict}, ``steps``, ``lr``, ``caption`` (HTML).
    """
    condition = float(condition) if surface == "bowl" else 1.0
    s = make_surface(surface, condition)
    runs = {name: trajectory(s, name, lr, steps, momentum, beta2) for name in OPTIMIZERS if name in optimizers}
    st = stability(s)
    where = "" if surface == "bowl" else " at the minimum"
    rows = [f"Hessian{where}: &lambda;<sub>max</sub> = {_fmt(st['lam_max'])}, &lambda;<sub>min</sub> = "
            f"{_fmt(st['lam_min'])}, condition number {_fmt(st['condition'])}. Gradient descent is stable"
            f"{' near the minimum' if where else ''} for lr &lt; 2/&lambda;<sub>max</sub> = {_fmt(st['lr_limit'])}; "
            f"this lr is {_fmt(lr / st['lr_limit'])} &times; that limit."]
    for name, run in runs.items():
        swatch = f"<span style='color:{_hex(COLORS[name])}'>&#9644;</span> <b>{LABELS[name]}</b>"
        if run["diverged"] is not None:
            rows.append(f"{swatch}: diverged at step {run['diverged']}")
        else:
            w = run["path"][-1]
            rows.append(f"{swatch}: after {len(run['path']) - 1} steps L - L* = {run['gap'][-1]:.2e}, "
                        f"w = ({w[0]:.3f}, {w[1]:.3f})")
    if not runs:
        rows.append("tick at least one optimizer")
    xs, ys, image = landscape(surface, condition)
    return {"surface": surface, "key": (surface, condition), "xs": xs, "ys": ys, "image": image, "xlim": s.xlim,
            "ylim": s.ylim, "start": s.start, "minimum": s.minimum, "runs": runs, "steps": int(steps), "lr": lr,
            "caption": "<br>".join(rows)}


def _hex(color):
    from matplotlib.colors import to_hex

    return to_hex(color)
