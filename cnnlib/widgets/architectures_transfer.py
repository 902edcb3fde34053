"""Lesson 10 transfer explorer: labels per class and method (frozen, fine-tuned, scratch) -> test accuracy.

Pure, tested without a kernel: :func:`transfer_view` (what the explorer shows for a grid of finished
runs and the selected setting) and :class:`TransferFigure` (built once, updated in place).
:func:`transfer_explorer` wires a labels slider and a method toggle to them; settings that are not
in the grid yet are trained by the **Train** button (a short run in the background, with a
progress bar), which adds them to the grid.
"""
import html

import numpy as np
from matplotlib.figure import Figure

from ..architectures import METHODS
from ..data import FASHION_MNIST_CLASSES

__all__ = ["COLORS", "LABEL_CHOICES", "grid_key", "transfer_view", "TransferFigure", "transfer_figure",
           "transfer_explorer"]

COLORS = {"frozen": "tab:blue", "fine-tuned": "tab:green", "scratch": "tab:red"}
LABEL_CHOICES = (10, 30, 100, 300, 1000)   # labels per class the explorer offers
_SHORT = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")


def grid_key(method, labels):
    """The key of a run in a grid: ``(method, labels per class)``."""
    return (str(method), int(labels))


def transfer_view(grid, labels, method, n_test=None):
    """What the explorer shows: every finished run's accuracy, and the selected run's per-class accuracy.

    Parameters
    ----------
    grid : dict
        ``(method, labels per class) -> run`` with at least ``acc`` (float) and ``per_class``
        ((10,) array); optionally ``steps``, ``seconds``, ``n_train`` (see
        :func:`cnnlib.architectures.transfer_run`).
    labels : int
        Selected labels per class.
    method : str
        One of :data:`cnnlib.architectures.METHODS`.
    n_test : int, optional
        Number of test images, for the caption.

    Returns
    -------
    dict
        ``curves``: method -> (labels (k,), accuracy in % (k,)) sorted by labels; ``selected``
        (the run or None); ``point`` ((labels, accuracy %) or None); ``per_class`` ((10,) in %,
        zeros if not trained); ``trained`` (bool); ``caption`` (HTML).
    """
    if method not in METHODS:
        raise ValueError(f"transfer_view: method must be one of {METHODS}, got {method!r}")
    curves = {}
    for m in METHODS:
        done = sorted(lab for (mm, lab) in grid if mm == m)
        curves[m] = (np.array(done, dtype=np.float64), np.array([100 * grid[(m, lab)]["acc"] for lab in done]))
    run = grid.get(grid_key(method, labels))
    where = f"{method}, {labels:,} labels per class ({10 * labels:,} training images)"
    if run is None:
        caption = f"{html.escape(where)}: not trained yet, press <b>Train</b> for a short run."
        per_class, point = np.zeros(10), None
    else:
        per_class = 100 * np.nan_to_num(np.asarray(run["per_class"], dtype=np.float64))
        point = (float(labels), 100 * float(run["acc"]))
        worst = int(np.argmin(per_class))
        tested = f" on {n_test:,} test images" if n_test else ""
        extra = f", {run['steps']} steps in {run['seconds']:.1f} s" if "steps" in run and "seconds" in run else ""
        others = [f"{m} {100 * grid[(m, labels)]['acc']:.1f} %" for m in METHODS
                  if m != method and (m, labels) in grid]
        caption = (f"{html.escape(where)}: test accuracy <b>{100 * run['acc']:.1f} %</b>{tested}{extra}; hardest "
                   f"class: {FASHION_MNIST_CLASSES[worst]} ({per_class[worst]:.0f} %)"
                   + (f". Same labels: {', '.join(others)}." if others else "."))
    return {"curves": curves, "selected": run, "point": point, "per_class": per_class, "trained": run is not None,
            "labels": int(labels), "method": method, "caption": caption}


class TransferFigure:
    """Left: accuracy against labels per class (log axis), one line per method, the selection ringed.
    Right: the selected run's accuracy per class."""

    def __init__(self, view, legend=True):
        self.figure = Figure(figsize=(10, 3.4), dpi=80)
        self.figure.subplots_adjust(left=0.07, right=0.99, bottom=0.24, top=0.9, wspace=0.22)
        left, right = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        self.lines = {m: left.plot([], [], "o-", color=COLORS[m], lw=2, label=m)[0] for m in METHODS}
        (self.ring,) = left.plot([], [], "o", ms=16, mfc="none", mec="black", mew=2)
        left.set_xscale("log")
        left.set_xlim(7, 1400)
        left.set_ylim(40, 100)
        left.set_xticks(LABEL_CHOICES)
        left.set_xticklabels([str(v) for v in LABEL_CHOICES], fontsize=10)
        left.minorticks_off()
        left.set_yticks([40, 60, 80, 100])
        left.tick_params(labelsize=10)
        left.set_xlabel("labels per class", fontsize=10)
        left.set_title("test accuracy (%)", fontsize=11)
        left.grid(alpha=0.3)
        if legend:
            left.legend(fontsize=9, loc="lower right")
        self.bars = right.bar(np.arange(10), np.zeros(10), color=COLORS[view["method"]])
        right.set_ylim(0, 100)
        right.set_yticks([0, 50, 100])
        right.set_xticks(np.arange(10))
        right.set_xticklabels(_SHORT, rotation=40, ha="right", fontsize=10)
        right.tick_params(labelsize=10)
        self.title = right.set_title("", fontsize=11)
        self.update(view)

    def update(self, view):
        """Show ``view`` (from :func:`transfer_view`) by changing the artists' data; returns False (see
        :attr:`animated`)."""
        for m, line in self.lines.items():
            line.set_data(*view["curves"][m])
        self.ring.set_data(*(([view["point"][0]], [view["point"][1]]) if view["point"] else ([], [])))
        for bar, h in zip(self.bars, view["per_class"]):
            bar.set_height(float(h))
            bar.set_color(COLORS[view["method"]])
        self.title.set_text(f"accuracy per class (%): {view['method']}, {view['labels']} labels per class"
                            if view["trained"] else "not trained yet: press Train")
        return False          # only animated artists changed: Live blits them over the cached background

    @property
    def animated(self):
        """The moving artists: curves, ring, bars and the right title (for ``Live(animated=)``)."""
        return list(self.lines.values()) + [self.ring, self.title] + list(self.bars)


def transfer_figure(grid, labels, method, n_test=None):
    """The explorer's figure for one selection (a static figure for the lesson)."""
    return TransferFigure(transfer_view(grid, labels, method, n_test)).figure


def transfer_explorer(grid, run, labels=100, method="frozen", n_test=None, choices=LABEL_CHOICES):
    """Widget: labels per class and method -> the accuracy curves and the selected run's per-class accuracy.

    Parameters
    ----------
    grid : dict
        Finished runs (see :func:`transfer_view`); the explorer adds the runs it trains to it.
    run : callable
        ``run(method, labels, progress) -> run dict`` trains one setting (``progress(fraction)``),
        e.g. a wrapper of :func:`cnnlib.architectures.transfer_run`.
    labels, method : initial selection.
    n_test : int, optional
        Number of test images (caption).
    choices : sequence of int
        The labels-per-class values of the slider.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``labels`` (a selection slider), ``method`` (toggle buttons); a **Train** button
        below them (CSS class ``cnn-transfer-train``, also ``widget.train_button``).
    """
    import ipywidgets as widgets

    from ._live import Live, TaskButton

    controls = {"labels": widgets.SelectionSlider(options=list(choices), value=labels, description="labels/class"),
                "method": widgets.ToggleButtons(options=list(METHODS), value=method, description="method")}

    def compute(labels, method):
        return transfer_view(grid, labels, method, n_test)

    def work(progress):
        labels, method = controls["labels"].value, controls["method"].value
        if grid_key(method, labels) in grid:
            return None
        result = run(method, labels, lambda fraction: progress(fraction, f"training {method}, {labels} labels/class"))
        grid[grid_key(method, labels)] = result
        return result

    plot = TransferFigure(compute(labels, method), legend=True)
    button = TaskButton("Train", work, done=lambda _result: live.refresh(), name="transfer-train")
    live = Live("transfer-explorer", controls, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: f"<div style='font-size:14px'>{view['caption']}</div>", animated=plot.animated,
                layout=lambda c: widgets.VBox([widgets.HBox([c["labels"], c["method"]],
                                                            layout=widgets.Layout(flex_flow="row wrap")), button]))
    live.train_button = button          # for tests: press it with ``_click(None)``, then ``wait()``
    return live
