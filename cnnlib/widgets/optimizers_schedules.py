"""Lesson 06, the schedule explorer: how the learning rate changes over training.

Pure functions (tested without a kernel, against ``torch.optim.lr_scheduler``):
:func:`schedule_curve` gives the learning rate at every step for a constant rate, step decay
(``MultiStepLR``), cosine (``CosineAnnealingLR``), linear warm-up then cosine, and OneCycle
(``OneCycleLR``); :func:`schedule_view` is what the explorer shows. :class:`ScheduleView`
draws a view in place; :func:`schedule_explorer` only wires controls to both.
"""
import numpy as np

from .optimizers_playground import fixed_layout

__all__ = ["SCHEDULES", "cosine_rate", "schedule_curve", "schedule_view", "ScheduleView", "schedules_figure", "schedule_explorer"]

SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "onecycle")
TITLES = {"constant": "constant", "step": "step decay", "cosine": "cosine", "warmup_cosine": "warm-up + cosine",
          "onecycle": "OneCycle"}
COLORS = {"constant": "tab:gray", "step": "tab:blue", "cosine": "tab:green", "warmup_cosine": "tab:orange",
          "onecycle": "tab:red"}


def _cosine(start, end, fraction):
    """From ``start`` at fraction 0 to ``end`` at fraction 1 along half a cosine wave."""
    return end + (start - end) * (1 + np.cos(np.pi * fraction)) / 2


def cosine_rate(step, total, lr_max, lr_min=0.0):
    """The cosine schedule's rate at one step: ``lr_min + (lr_max - lr_min) (1 + cos(pi step / total)) / 2``.

    Parameters
    ----------
    step, total : int
        ``total >= 1`` and ``0 <= step <= total`` (else ValueError).
    lr_max, lr_min : float

    Returns
    -------
    float
        The rate of ``CosineAnnealingLR(T_max=total, eta_min=lr_min)`` after ``step`` scheduler steps.
    """
    if total < 1 or not 0 <= step <= total:
        raise ValueError(f"cosine_rate: need total >= 1 and 0 <= step <= total, got step={step}, total={total}")
    return float(lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * step / total)) / 2)


def schedule_curve(kind, total, lr_max, lr_min=0.0, warmup=0.1, gamma=0.1, milestones=(0.5, 0.75),
                   div_factor=25.0, final_div_factor=1e4):
    """The learning rate of every step ``0, 1, ..., total - 1``.

    Parameters
    ----------
    kind : str
        * ``"constant"``: ``lr_max`` throughout.
        * ``"step"``: ``lr_max * gamma**k`` after the k-th milestone (``torch.optim.lr_scheduler.MultiStepLR``
          with milestones at ``int(m * total)``).
        * ``"cosine"``: ``lr_min + (lr_max - lr_min) (1 + cos(pi t / total)) / 2`` (``CosineAnnealingLR``
          with ``T_max = total``).
        * ``"warmup_cosine"``: ``lr_max (t + 1) / W`` for the first ``W = max(1, round(warmup * total))``
          steps (``LinearLR`` from ``1 / W``), then cosine from ``lr_max`` to ``lr_min`` over the other
          ``total - W`` steps.
        * ``"onecycle"``: ``OneCycleLR(max_lr=lr_max, total_steps=total, pct_start=warmup, div_factor,
          final_div_factor)``: half a cosine up from ``lr_max / div_factor`` to ``lr_max`` during the first
          ``warmup`` of training, then half a cosine down to ``lr_max / div_factor / final_div_factor``.
    total : int >= 2
    lr_max : float > 0
    lr_min : float >= 0
        Final value of the cosine schedules.
    warmup : float in [0, 1)
        Fraction of the steps spent warming up (``"warmup_cosine"``, ``"onecycle"``).
    gamma : float
        Factor of each step-decay drop.
    milestones : tuple of float
        Step decay: where the drops happen, as fractions of ``total``.
    div_factor, final_div_factor : float
        OneCycle's start and end ratios (torch's defaults).

    Returns
    -------
    lrs : (total,) float64 ndarray
    """
    total = int(total)
    if total < 2:
        raise ValueError(f"schedule_curve: total must be at least 2 steps, got {total}")
    if not lr_max > 0:
        raise ValueError(f"schedule_curve: lr_max must be > 0, got {lr_max!r}")
    if not 0 <= warmup < 1:
        raise ValueError(f"schedule_curve: warmup must be a fraction in [0, 1), got {warmup!r}")
    t = np.arange(total, dtype=np.float64)
    if kind == "constant":
        return np.full(total, float(lr_max))
    if kind == "step":
        drops = sum((t >= int(m * total)).astype(int) for m in milestones)
        return lr_max * float(gamma) ** drops
    if kind == "cosine":
        return _cosine(lr_max, lr_min, t / total)
    if kind == "warmup_cosine":
        w = max(1, round(warmup * total))
        if w >= total:
            raise ValueError(f"schedule_curve: the warm-up ({w} steps) must be shorter than total ({total})")
        return np.where(t < w, lr_max * (t + 1) / w, _cosine(lr_max, lr_min, (t - w) / (total - w)))
    if kind == "onecycle":
        start, peak = lr_max / div_factor, float(lr_max)
        end = start / final_div_factor
        rise = float(warmup * total) - 1           # torch's end step of the first phase
        if rise <= 0:
            raise ValueError(f"schedule_curve: OneCycle needs warmup * total > 1, got {warmup * total:g}")
        up = _cosine(start, peak, t / rise)
        down = _cosine(peak, end, (t - rise) / (total - 1 - rise))
        return np.where(t <= rise, up, down)
    raise ValueError(f"schedule_curve: unknown schedule {kind!r}; use one of {SCHEDULES}")


def schedule_view(kind="onecycle", lr_max=0.1, total=500, warmup=0.25, gamma=0.1, lr_min_ratio=0.0):
    """What the explorer shows: the chosen schedule, with the others faintly for comparison.

    Parameters
    ----------
    kind : str
        One of :data:`SCHEDULES`.
    lr_max : float
    total : int
    warmup : float
        Warm-up fraction (warm-up + cosine) and OneCycle's ``pct_start``.
    gamma : float
        Step decay's factor (drops at 50 % and 75 % of training).
    lr_min_ratio : float
        The cosine schedules end at ``lr_min = lr_min_ratio * lr_max``.

    Returns
    -------
    view : dict
        ``kind``, ``steps`` (total,), ``curves`` {name: (total,) lrs} for every schedule,
        ``lr_max``, ``caption`` (HTML).
    """
    settings = dict(lr_min=lr_min_ratio * lr_max, warmup=warmup, gamma=gamma)
    curves = {name: schedule_curve(name, total, lr_max, **settings) for name in SCHEDULES}
    lrs = curves[kind]
    used = {"constant": "lr max", "step": "lr max, γ (drops at 50 % and 75 %)",
            "cosine": "lr max, min/max", "warmup_cosine": "lr max, warm-up, min/max",
            "onecycle": "lr max, warm-up (torch's div_factor 25, final_div_factor 10<sup>4</sup>)"}[kind]
    caption = (f"<b>{TITLES[kind]}</b> over {total} steps: lr {lrs[0]:.3g} at step 0, highest {lrs.max():.3g} "
               f"(step {int(lrs.argmax())}), {lrs[-1]:.3g} at step {total - 1}; mean {lrs.mean():.3g}. "
               f"Uses: {used}.")
    return {"kind": kind, "steps": np.arange(total), "curves": curves, "lr_max": lr_max, "caption": caption}


def _figure(size):
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=80)


class ScheduleView:
    """The explorer's figure: the chosen schedule (bold) over the others (thin)."""

    def __init__(self):
        self.figure = fig = _figure((8, 3.0))
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.9)
        self.ax = fig.subplots()
        self.lines = {name: self.ax.plot([], [], color=COLORS[name], lw=1, alpha=0.35)[0] for name in SCHEDULES}
        self.title = fixed_layout(self.ax, "", "step", "learning rate", ylabel_x=-0.08)
        self.ax.grid(alpha=0.3)

    def draw(self, view):
        """Update the lines in place for a :func:`schedule_view`."""
        for name, line in self.lines.items():
            line.set_data(view["steps"], view["curves"][name])
            chosen = name == view["kind"]
            line.set_linewidth(2.6 if chosen else 1.0)
            line.set_alpha(1.0 if chosen else 0.35)
            line.set_zorder(3 if chosen else 2)
        self.ax.set_xlim(0, len(view["steps"]) - 1)
        self.ax.set_ylim(0, view["lr_max"] * 1.08)
        self.title.set_text(f"{TITLES[view['kind']]} (bold); the other schedules thin")
        return self.figure


def schedules_figure(total=500, lr_max=0.1, warmup=0.25, gamma=0.1):
    """Every schedule side by side, one panel each, as a static figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig = _figure((2.4 * len(SCHEDULES), 2.5))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.2, top=0.86, wspace=0.3)
    axes = fig.subplots(1, len(SCHEDULES), sharey=True)
    for ax, name in zip(axes, SCHEDULES):
        lrs = schedule_curve(name, total, lr_max, warmup=warmup, gamma=gamma)
        ax.plot(lrs, color=COLORS[name], lw=2)
        ax.set_title(TITLES[name], fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.set_ylim(0, lr_max * 1.08)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("learning rate", fontsize=9)
    return fig


def schedule_explorer(kind="onecycle", lr_max=0.1, total=500, warmup=0.25, gamma=0.1, lr_min_ratio=0.0):
    """Schedule type and its parameters, driving a :class:`ScheduleView`."""
    import ipywidgets as w

    from ._live import Live
    from .optimizers import rate_slider

    view = ScheduleView()
    controls = {"kind": w.Dropdown(options=[(TITLES[s], s) for s in SCHEDULES], value=kind, description="schedule"),
                "lr_max": rate_slider(lr_max, 1e-4, 1, "lr max"),
                "total": w.IntSlider(total, min=20, max=2000, step=10, description="steps"),
                "warmup": w.FloatSlider(warmup, min=0.05, max=0.5, step=0.05, description="warm-up"),
                "gamma": w.FloatSlider(gamma, min=0.05, max=0.9, step=0.05, description="γ (step)"),
                "lr_min_ratio": w.FloatSlider(lr_min_ratio, min=0.0, max=0.5, step=0.05, description="min / max")}

    def layout(c):
        return w.VBox([w.HBox([c["kind"], c["lr_max"], c["total"]], layout=w.Layout(flex_flow="row wrap")),
                       w.HBox([c["warmup"], c["gamma"], c["lr_min_ratio"]], layout=w.Layout(flex_flow="row wrap"))])

    return Live("schedule-explorer", controls, schedule_view, figure=view.figure, draw=view.draw,
                html=lambda v: v["caption"], layout=layout)
