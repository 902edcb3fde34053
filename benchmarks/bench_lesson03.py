"""Lesson 03 (pooling): notebook run-all time and widget update latency.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s
  (with CNNLIB_FAST=1, as the tests and the autograder run it, and without);
- each widget's pure view function (what a control change calls) plus the in-place
  redraw and the PNG the browser receives (``cnnlib.widgets._live.figure_png``) takes
  <= 100 ms, median over 50 calls, leaving room in the 150 ms input-to-pixels budget
  for the kernel round trip (measured in a real browser by the browser suite).

Run:  CNNLIB_DATA_DIR=/path/to/data python benchmarks/bench_lesson03.py [--no-notebook]
"""
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "03_pooling" / "03_pooling.ipynb"
NOTEBOOK_GOAL_S = 60.0
WIDGET_GOAL_MS = 100.0


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute

    rows = []
    for label, env in (("fast", {"CNNLIB_FAST": "1"}), ("full", {"CNNLIB_FAST": ""})):
        start = time.perf_counter()
        execute(SOURCE, env=env, timeout=600)
        seconds = time.perf_counter() - start
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 2),
                     "unit": "s", "goal": f"<= {NOTEBOOK_GOAL_S:g}", "passed": seconds <= NOTEBOOK_GOAL_S})
    return rows


def _median_ms(fn, args_list):
    times = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _widget_rows(n_calls=50):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.data import load_mnist
    from cnnlib.widgets import pooling as pw
    from cnnlib.widgets import pooling_receptive as prf
    from cnnlib.widgets import pooling_shift as psh
    from cnnlib.widgets._live import figure_png

    images = load_mnist(progress=False).x_test[:8] / 255.0
    maps = [pw.relu_feature_map(image) for image in images]
    rng = np.random.default_rng(0)
    stacks = list(prf.PRESETS.values())

    pool_args = [(maps[i % 8], int(rng.integers(1, 7)), int(rng.integers(1, 7)), ("max", "avg")[i % 2],
                  int(rng.integers(0, 200))) for i in range(n_calls)]
    shift_args = [(images[i % 8], int(rng.integers(0, 5)), ("right", "down", "down-right")[i % 3],
                   int(rng.integers(0, 4)), int(rng.integers(2, 5)), ("max", "avg")[i % 2]) for i in range(n_calls)]
    rf_args = [(stacks[i % len(stacks)], int(rng.integers(0, 28)), int(rng.integers(0, 28))) for i in range(n_calls)]

    pool_fig = pw.explorer_figure(pw.explorer_state(*pool_args[0]))
    shift_fig = psh.shift_figure(psh.shift_view(*shift_args[0]))
    rf_fig = prf.rf_figure(prf.rf_view(*rf_args[0]), images[0], grid=False)
    widgets = [
        ("pooling explorer: explorer_state", pw.explorer_state,
         lambda *a: figure_png(pw.explorer_figure(pw.explorer_state(*a), pool_fig)), pool_args),
        ("shift slider: shift_view", psh.shift_view,
         lambda *a: figure_png(psh.shift_figure(psh.shift_view(*a), shift_fig)), shift_args),
        ("receptive-field explorer: rf_view", prf.rf_view,
         lambda *a: figure_png(prf.rf_figure(prf.rf_view(*a), images[0], rf_fig, grid=False)), rf_args),
    ]
    rows = []
    for name, view, frame, args_list in widgets:
        frame(*args_list[0])  # warm-up: font cache, first-figure costs
        ms = _median_ms(view, args_list)
        rows.append({"measure": f"{name} (median of {n_calls})", "value": round(ms, 2), "unit": "ms",
                     "goal": "(info)", "passed": ""})
        ms = _median_ms(frame, args_list)
        rows.append({"measure": f"{name} + in-place draw + PNG (median of {n_calls})", "value": round(ms, 1),
                     "unit": "ms", "goal": f"<= {WIDGET_GOAL_MS:g}", "passed": ms <= WIDGET_GOAL_MS})
    return rows


def run(notebook=True, n_calls=50):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook twice (fast and full mode).
    n_calls : int
        Widget update calls per measurement.

    Returns
    -------
    rows : list of dict
        Keys ``measure``, ``value``, ``unit``, ``goal``, ``passed``.
    """
    rows = _widget_rows(n_calls)
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
    print(_table(run(notebook="--no-notebook" not in sys.argv)))
