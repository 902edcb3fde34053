"""Lesson 02 (activations): notebook run-all time and widget update times.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s (fast and full mode);
- each widget's update (pure view function + in-place draw), median over ``n_calls`` changes,
  <= 100 ms; with the PNG encoding the browser then receives (what ``Live`` sends), <= 150 ms.
  The playground's Train button (background, with a progress bar) is timed per training run.

Run:  CNNLIB_DATA_DIR=<folder with mnist/> python benchmarks/bench_lesson02.py [--no-notebook]
"""
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "02_activations" / "02_activations.ipynb"
NOTEBOOK_GOAL_S = 60.0
UPDATE_GOAL_MS = 100.0
FRAME_GOAL_MS = 150.0


def _load():
    return os.getloadavg()[0]


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute

    rows = []
    for label, env in (("fast", {"CNNLIB_FAST": "1"}), ("full", {"CNNLIB_FAST": ""})):
        load = _load()
        start = time.perf_counter()
        execute(SOURCE, env=env, timeout=600)
        seconds = time.perf_counter() - start
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 2), "unit": "s",
                     "goal": f"<= {NOTEBOOK_GOAL_S:g}", "passed": seconds <= NOTEBOOK_GOAL_S,
                     "load": round(load, 2)})
    return rows


def _median_ms(update, states, png):
    from cnnlib.widgets._live import figure_png

    times = []
    for state in states:
        start = time.perf_counter()
        fig = update(state)
        if png:
            figure_png(fig)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _widget_rows(n_calls):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.widgets import activations as aw
    from cnnlib.widgets import activations_boundary as ab
    from cnnlib.widgets import activations_depth as ad

    rng = np.random.default_rng(0)
    curves, depth = aw.CurvesView(), ad.DepthView()
    X, y = ab.make_rings(seed=0)
    boundary = ab.BoundaryView(X, y)
    trained = [ab.train_toy(a, h, 100, data=(X, y)) for a, h in [("relu", 3), ("tanh", 8), ("sigmoid", 16)]]
    explorer_states = [([n for n in aw.ACTIVATIONS if rng.random() < 0.6], float(rng.integers(2, 40)) / 2,
                        float(rng.integers(0, 101)) / 100) for _ in range(n_calls)]
    depth_states = [(int(rng.integers(1, 51)), ("lecun", "he", "pytorch")[i % 3]) for i in range(n_calls)]
    playground_states = [trained[i % 3] for i in range(n_calls)]
    widgets = [
        ("activation explorer: explorer_view + draw", lambda s: curves.draw(aw.explorer_view(*s)), explorer_states),
        ("depth slider: depth_view + draw", lambda s: depth.draw(ad.depth_view(*s)), depth_states),
        ("playground (after Train): playground_view + draw", lambda s: boundary.draw(ab.playground_view(s)),
         playground_states),
    ]
    rows = []
    for name, update, states in widgets:
        update(states[0])  # warm-up: font cache, first-figure costs
        for png in (False, True):
            load = _load()
            ms = _median_ms(update, states, png)
            goal = FRAME_GOAL_MS if png else UPDATE_GOAL_MS
            rows.append({"measure": f"{name}{' + PNG' if png else ''} (median of {len(states)})",
                         "value": round(ms, 1), "unit": "ms", "goal": f"<= {goal:g}", "passed": ms <= goal,
                         "load": round(load, 2)})
    for activation, hidden, steps in [("relu", 3, 300), ("sigmoid", 32, 2000)]:
        load = _load()
        start = time.perf_counter()
        ab.train_toy(activation, hidden, steps, data=(X, y))
        seconds = time.perf_counter() - start
        rows.append({"measure": f"playground Train: {activation}, {hidden} hidden, {steps} steps", "value": round(seconds, 2),
                     "unit": "s", "goal": "(background, progress bar)", "passed": "", "load": round(load, 2)})
    return rows


def run(notebook=True, n_calls=40):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook twice (fast and full mode).
    n_calls : int
        Widget updates per measurement.

    Returns
    -------
    rows : list of dict
        Keys ``measure``, ``value``, ``unit``, ``goal``, ``passed``, ``load`` (1-minute load average
        when the measurement started: timings taken above 1 are not comparable).
    """
    rows = _widget_rows(n_calls)
    if notebook:
        rows = _notebook_rows() + rows
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run_all import format_table

    print(format_table(run(notebook="--no-notebook" not in sys.argv)))
