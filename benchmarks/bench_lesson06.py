"""Lesson 06 (optimizers): notebook run-all time and widget update times.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s (fast and full mode);
- each widget's update (pure view function + in-place draw), median over ``n_calls`` changes,
  <= 100 ms; with the PNG encoding the browser then receives (what ``Live`` sends), <= 150 ms.
  The learning-rate explorer's Train button (background, with a progress bar) is timed per run.

Run:  CNNLIB_DATA_DIR=<folder with mnist/> python benchmarks/bench_lesson06.py [--no-notebook]
"""
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "06_optimizers" / "06_optimizers.ipynb"
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
        execute(SOURCE, env=env, timeout=900)
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


def _digits(n, offset=0):
    from cnnlib.data import load_mnist, normalize, to_float_nchw

    ds = load_mnist(progress=False)
    return normalize(to_float_nchw(ds.x_train[offset:offset + n])), ds.y_train[offset:offset + n].astype(np.int64)


def _widget_rows(n_calls):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.widgets import optimizers as ow
    from cnnlib.widgets import optimizers_playground as op
    from cnnlib.widgets import optimizers_schedules as osch
    from cnnlib.widgets import optimizers_train as ot

    rng = np.random.default_rng(0)
    lrs = [v for _, v in ow.rate_choices(1e-4, 4)]
    trajectory, schedule, runs = op.TrajectoryView(), osch.ScheduleView(), ot.RunsView()
    # What a student does: move lr, steps, momentum on one surface (the background is cached); every
    # tenth change switches the surface or kappa, which redraws the contour lines too.
    traj_states = []
    for i in range(n_calls):
        surface = "bowl" if i % 10 else ("rosenbrock", "saddle", "bowl")[(i // 10) % 3]
        traj_states.append(dict(surface=surface, optimizers=ow.OPTIMIZERS[:2 + i % 4], lr=float(rng.choice(lrs)),
                                momentum=float(rng.integers(0, 100)) / 100, steps=int(rng.integers(20, 501)),
                                condition=float((10, 100)[(i // 10) % 2])))
    sched_states = [dict(kind=osch.SCHEDULES[i % 5], lr_max=0.1, total=int(rng.integers(2, 201)) * 10,
                         warmup=float(rng.integers(1, 11)) / 20) for i in range(n_calls)]
    train = _digits(1000)
    fake = [ot.train_run(name, lr, train, 100) for name, lr in (("momentum", 0.05), ("adam", 1e-3), ("sgd", 1.0))]
    runs_states = [fake[:1 + i % 3] for i in range(n_calls)]
    widgets = [
        ("trajectory playground: trajectory_view + draw", lambda s: trajectory.draw(ow.trajectory_view(**s)), traj_states),
        ("schedule explorer: schedule_view + draw", lambda s: schedule.draw(osch.schedule_view(**s)), sched_states),
        ("lr explorer (after Train): runs_view + draw", lambda s: runs.draw(ot.runs_view(s)), runs_states),
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
    data, held_out = _digits(6000), _digits(1000, offset=50_000)
    for name, lr, steps in [("momentum", 0.05, 300), ("adam", 1e-3, 300)]:
        load = _load()
        run = ot.train_run(name, lr, data, steps, eval_data=held_out)
        rows.append({"measure": f"lr explorer Train: {name}, lr {lr}, {steps} steps of 64 (small CNN)",
                     "value": round(run["seconds"], 2), "unit": "s", "goal": "(background, progress bar)",
                     "passed": "", "load": round(load, 2)})
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
