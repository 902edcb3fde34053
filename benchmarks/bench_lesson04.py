"""Lesson 04 (dense layers and softmax): notebook run-all time and widget update latency.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s
  (with CNNLIB_FAST=1, as the tests and the autograder run it, and without);
- each widget's frame (what a control change costs in the kernel: the pure state
  function, the in-place update of the figure built once and its PNG, as
  ``cnnlib.widgets._live.Live`` does it, blitting the moving artists) takes
  <= 100 ms, median over ~50 moves, leaving the rest of the 150 ms
  input-to-pixels budget to the browser (measured in a real browser by
  ``benchmarks/bench_widgets.py``). The pure functions with a full Agg draw
  are reported too.

Run:  CNNLIB_DATA_DIR=/path/to/data python benchmarks/bench_lesson04.py [--no-notebook]
"""
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "04_dense_softmax" / "04_dense_softmax.ipynb"
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


def _median_ms(update, args_list, render):
    from cnnlib.widgets._live import figure_png

    times = []
    for args in args_list:
        start = time.perf_counter()
        fig = update(*args)
        if render:
            figure_png(fig)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _live_frame_ms(widget, moves):
    """Median time of a frame of the real widget: control change -> view -> blitted PNG (``Live.frame_ms``)."""
    times = []
    for key, value in moves:
        widget.controls[key].value = value
        widget.wait()
        times.append(widget.frame_ms)
    return float(np.median(times))


def _widget_rows(n_calls=50):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.data import load_mnist
    from cnnlib.weights import load_lesson04_cnn
    from cnnlib.widgets import dense, dense_forward

    images = load_mnist(progress=False).x_test[:n_calls] / np.float32(255.0)
    params = load_lesson04_cnn()
    rng = np.random.default_rng(0)
    figs = {}

    def playground(logits, temperature, true_class):
        figs["pg"] = dense.playground_figure(dense.playground_state(logits, temperature, true_class), figs.get("pg"))
        return figs["pg"]

    def explorer(i):
        figs["fw"] = dense_forward.forward_figure(dense_forward.forward_state(images[i], params, i % 10), figs.get("fw"))
        return figs["fw"]

    pg_args = [(rng.uniform(-20, 20, 10), float(10 ** rng.uniform(-1, 1)), int(rng.integers(10)))
               for _ in range(n_calls)]
    fw_args = [(i,) for i in range(n_calls)]
    rows = []
    for name, fn, args_list in (("softmax playground: playground_state + playground_figure", playground, pg_args),
                                ("forward-pass explorer: forward_state + forward_figure", explorer, fw_args)):
        _median_ms(fn, args_list[:1], render=True)                  # warm-up: builds the figure, font cache
        for render in (False, True):
            ms = _median_ms(fn, args_list, render)
            rows.append({"measure": f"{name}{' + full PNG frame' if render else ' (no drawing)'} (median of {n_calls})",
                         "value": round(ms, 1), "unit": "ms", "goal": "(info)", "passed": ""})
    # The widgets themselves: Live blits the moving artists over a cached background.
    playground = dense.softmax_playground(np.zeros(10))
    moves = [(f"z{int(k)}", float(v)) for k, v in zip(rng.integers(0, 10, n_calls), rng.integers(-40, 41, n_calls) / 2)]
    explorer_widget = dense_forward.forward_explorer(images, np.zeros(n_calls, dtype=int), params)
    for name, ms in (("softmax playground widget frame (Live, blitted)", _live_frame_ms(playground, moves)),
                     ("forward-pass explorer widget frame (Live, blitted)",
                      _live_frame_ms(explorer_widget, [("index", i) for i in range(1, n_calls)]))):
        rows.append({"measure": f"{name} (median of {n_calls - 1}+)", "value": round(ms, 1), "unit": "ms",
                     "goal": f"<= {WIDGET_GOAL_MS:g}", "passed": ms <= WIDGET_GOAL_MS})
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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows.append({"measure": "1-minute load average after the run", "value": round(load, 2), "unit": "",
                 "goal": "(timings are only meaningful below 1 on 2 cores)", "passed": ""})
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
