"""Lesson 05 (backpropagation): notebook run-all time and widget update latency.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s
  (with CNNLIB_FAST=1, as the tests and the autograder run it, and without);
- each widget's frame (what a control change costs in the kernel: the pure view function, the
  in-place update of the figure built once, and its rendering to PNG bytes, exactly as
  ``cnnlib.widgets._live.Live`` does) takes <= 100 ms, median over the calls, leaving the rest
  of the 150 ms input-to-pixels budget to the browser (measured by the tests/browser suite and
  benchmarks/bench_widgets.py).

The gradient-check explorer has two kinds of frames: moving ε or the dtype reuses the cached
error curves (the usual frame), choosing another layer or kink distance computes them (a "cold"
frame, a few thousand small losses); both are reported.

Run:  CNNLIB_DATA_DIR=/path/to/data python benchmarks/bench_lesson05.py [--no-notebook]
"""
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "05_backprop" / "05_backprop.ipynb"
NOTEBOOK_GOAL_S = 60.0
WIDGET_GOAL_MS = 100.0


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute

    rows = []
    for label, env in (("fast", {"CNNLIB_FAST": "1"}), ("full", {"CNNLIB_FAST": ""})):
        start = time.perf_counter()
        execute(SOURCE, env=env, timeout=900)
        seconds = time.perf_counter() - start
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 2),
                     "unit": "s", "goal": f"<= {NOTEBOOK_GOAL_S:g}", "passed": seconds <= NOTEBOOK_GOAL_S})
    return rows


def _median_ms(frame, args_list, render):
    from cnnlib.widgets._live import figure_png

    times = []
    for args in args_list:
        start = time.perf_counter()
        fig = frame(*args)
        if render:
            figure_png(fig)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _widget_rows(n_calls=40):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.data import load_mnist, to_float_nchw
    from cnnlib.widgets import backprop_descent as bd
    from cnnlib.widgets import backprop_gradcheck as bc
    from cnnlib.widgets import backprop_graph as bg

    graph_view = bg.GraphView()
    check_view = bc.CheckView()
    problem = bd.kernel_problem(to_float_nchw(load_mnist(progress=False).x_train[:16]))
    descent_view = bd.DescentView(problem)
    rng = np.random.default_rng(0)

    def stepper(step, x):
        return graph_view.draw(bg.graph_state(x=x, step=step))

    def explorer(layer, eps, dtype, kink):
        return check_view.draw(bc.check_view(layer, eps, dtype, kink))

    def explorer_cold(layer, eps, dtype, kink):
        bc._curve.cache_clear()
        return explorer(layer, eps, dtype, kink)

    def descent(lr, steps):
        return descent_view.draw(bd.descent_view(problem, lr, steps))

    stepper_args = [(int(k) % (bg.N_STEPS + 1), 1.0 + 0.1 * (k % 3)) for k in range(n_calls)]
    explorer_args = [(bc.LAYERS[k % len(bc.LAYERS)], 10.0 ** rng.uniform(-12, -1), ("float64", "float32")[k % 2], 1.0)
                     for k in range(n_calls)]
    for args in explorer_args:                                       # warm: every (layer, dtype) curve cached
        bc.check_view(*args)
    cold_args = [(bc.LAYERS[k % len(bc.LAYERS)], 1e-5, "float64", 10.0 ** -(k % 10)) for k in range(10)]
    descent_args = [(10.0 ** rng.uniform(-3, 0.5), int(rng.integers(0, 51)) * 10) for _ in range(n_calls)]
    rows = []
    for name, fn, args_list in (("backprop stepper: graph_state + GraphView.draw", stepper, stepper_args),
                                ("gradient-check explorer, ε/dtype moves: check_view + CheckView.draw", explorer,
                                 explorer_args),
                                ("gradient-check explorer, layer/kink changes (curves recomputed)", explorer_cold,
                                 cold_args),
                                ("learning a kernel: descent_view + DescentView.draw", descent, descent_args)):
        _median_ms(fn, args_list[:1], render=True)                  # warm-up: font cache, first draw
        for render in (False, True):
            ms = _median_ms(fn, args_list, render)
            rows.append({"measure": f"{name}{' + PNG frame' if render else ' (no drawing)'} "
                                    f"(median of {len(args_list)})",
                         "value": round(ms, 1), "unit": "ms",
                         "goal": f"<= {WIDGET_GOAL_MS:g}" if render else "(info)",
                         "passed": ms <= WIDGET_GOAL_MS if render else ""})
    return rows


def run(notebook=True, n_calls=40):
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
