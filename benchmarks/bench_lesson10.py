"""Lesson 10 (transfer learning and modern architectures): run-all time, widget update times, the transfer table.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 240 s in full mode (the issue's
  budget: it trains 9 transfer runs, two twins and two 1-D networks; the reference model already
  cached) and in <= 120 s in fast mode (what CI runs);
- each widget's pure view function takes <= 100 ms, median over the calls; the same plus drawing
  the figure to PNG is reported too;
- the transfer table of the closing note: frozen / fine-tuned / scratch at 10, 100, 1,000 labels per
  class on all 10,000 Fashion-MNIST test images (full mode's recipe; ``--no-transfer`` skips it).

Run:  python benchmarks/bench_lesson10.py [--no-notebook] [--no-transfer]
The machine is shared: every row carries the 1-minute load average at its start.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "10_transfer_and_architectures" / "10_transfer_and_architectures.ipynb"
FULL_GOAL_S = 240.0
FAST_GOAL_S = 120.0
WIDGET_GOAL_MS = 100.0


def _load():
    return round(os.getloadavg()[0], 2)


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute
    from cnnlib.reference_model import load_reference_model

    for quick in (True, False):
        load_reference_model(quick=quick, progress=False)     # cached first: run-all measures the lesson
    rows = []
    for label, env, goal in (("fast", {"CNNLIB_FAST": "1"}, FAST_GOAL_S), ("full", {"CNNLIB_FAST": ""}, FULL_GOAL_S)):
        load = _load()
        with tempfile.TemporaryDirectory() as tmp:          # no mnist_cnn.pt there: the reference model
            start = time.perf_counter()
            execute(SOURCE, cwd=tmp, env=env, timeout=900)
            seconds = time.perf_counter() - start
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 1), "unit": "s",
                     "goal": f"<= {goal:g}", "passed": seconds <= goal, "load": load})
    return rows


def _median_ms(fn, args_list, draw=None):
    times = []
    for args in args_list:
        start = time.perf_counter()
        view = fn(*args)
        if draw is not None:
            draw(view)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times)), 1000 * float(np.max(times))


def _widget_rows(n_calls=30):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib import architectures as arch
    from cnnlib.widgets._live import figure_png
    from cnnlib.widgets.architectures_cost import CostFigure, cost_view
    from cnnlib.widgets.architectures_transfer import TransferFigure, transfer_view

    rng = np.random.default_rng(0)
    grid = {(m, n): {"acc": float(rng.uniform(0.6, 0.9)), "per_class": rng.uniform(0.3, 1.0, 10), "steps": 150,
                     "seconds": 1.0} for m in arch.METHODS for n in (10, 30, 100, 300, 1000)}
    cost_args = [(int(rng.integers(1, 257)), int(rng.integers(1, 257)), int(rng.choice([1, 3, 5, 7])),
                  int(rng.integers(1, 57)), ["standard", "depthwise separable"][i % 2]) for i in range(n_calls)]
    transfer_args = [(grid, int(rng.choice([10, 30, 100, 300, 1000])), arch.METHODS[i % 3], 10000)
                     for i in range(n_calls)]
    rows = []
    for name, fn, args_list, figure_cls in (("conv cost calculator: cost_view", cost_view, cost_args, CostFigure),
                                            ("transfer explorer: transfer_view", transfer_view, transfer_args,
                                             TransferFigure)):
        plot = figure_cls(fn(*args_list[0]))
        figure_png(plot.figure)                              # warm-up: first-draw and font costs
        for render in (False, True):
            load = _load()
            draw = (lambda view: figure_png(plot.update(view) or plot.figure)) if render else None
            median, worst = _median_ms(fn, args_list, draw)
            note = " (a full draw; the widget blits the moving artists)" if render else ""
            rows.append({"measure": f"{name}{' + draw + PNG' if render else ''}{note} (median of {len(args_list)}, "
                                    f"worst {worst:.0f} ms)", "value": round(median, 2), "unit": "ms",
                         "goal": f"<= {WIDGET_GOAL_MS:g}" if not render else "(info)",
                         "passed": median <= WIDGET_GOAL_MS if not render else "", "load": load})
    return rows


def _transfer_rows():
    """The closing note's table: the lesson's full-mode grid, on all 10,000 test images."""
    import torch

    from cnnlib import architectures as arch
    from cnnlib.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, load_fashion_mnist
    from cnnlib.reference_model import load_reference_model

    fashion = load_fashion_mnist(progress=False)
    net = load_reference_model(quick=False, progress=False)
    pool = arch.per_class_indices(fashion.y_train, 1000, seed=0)
    data = {"x_train": arch.standardize(fashion.x_train[pool], FASHION_MNIST_MEAN, FASHION_MNIST_STD),
            "y_train": torch.from_numpy(fashion.y_train[pool]).long(),
            "x_test": arch.standardize(fashion.x_test, FASHION_MNIST_MEAN, FASHION_MNIST_STD),
            "y_test": torch.from_numpy(fashion.y_test).long()}
    with arch.threads(1):
        data["f_train"] = arch.conv_features(net, data["x_train"])
        data["f_test"] = arch.conv_features(net, data["x_test"])
    rows = []
    for labels in (10, 100, 1000):
        for method in arch.METHODS:
            load = _load()
            run = arch.transfer_run(method, net.state_dict(), data, labels)
            rows.append({"measure": f"transfer, {labels:,} labels/class, {method}: test accuracy on 10,000 images "
                                    f"({run['steps']} steps, trained in {run['seconds']:.1f} s)",
                         "value": round(100 * run["acc"], 2), "unit": "%", "goal": "(info)", "passed": "",
                         "load": load})
    return rows


def run(notebook=True, transfer=True, n_calls=30):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook in fast and full mode (about three minutes).
    transfer : bool
        Also train the full-mode transfer grid on all test images (about 90 s).
    n_calls : int
        Widget update calls per measurement.

    Returns
    -------
    rows : list of dict
        Keys ``measure``, ``value``, ``unit``, ``goal``, ``passed``, ``load``.
    """
    rows = _widget_rows(n_calls)
    if transfer:
        rows += _transfer_rows()
    if notebook:
        rows = _notebook_rows() + rows
    return rows


def _table(rows):
    keys = list(rows[0])
    cells = [keys] + [[str(r[k]) for k in keys] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    print(_table(run(notebook="--no-notebook" not in sys.argv, transfer="--no-transfer" not in sys.argv)))
