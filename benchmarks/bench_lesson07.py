"""Lesson 07 (training from scratch): the full run, notebook run-all times and widget update times.

Goals on 2 CPU cores:
- the full run of Section 10 (``cnnlib.numpy_model.train_recipe``: the lesson's numpy CNN, Adam, 5 epochs on
  all 60,000 training digits, evaluated on the 10,000 test digits after every epoch) reaches >= 98.5 % test
  accuracy in <= 180 s;
- the source (solution) notebook runs top to bottom headless in <= 240 s in full mode (a training lesson,
  like the capstone) and in seconds in fast mode; it runs in a scratch copy, so numpy_cnn.npz is written there;
- each widget's update (pure view function + in-place draw), median over ``n_calls`` changes, <= 100 ms;
  with the PNG encoding the browser then receives (what ``Live`` sends), <= 150 ms. The over/underfitting
  explorer's Train button (background, with a progress bar) is timed per run.

Run:  CNNLIB_DATA_DIR=<folder with mnist/> python benchmarks/bench_lesson07.py [--no-notebook] [--no-full-run]
"""
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "07_training_from_scratch" / "07_training_from_scratch.ipynb"
FULL_RUN_ACC, FULL_RUN_S = 0.985, 180.0
NOTEBOOK_GOAL_S = {"fast": 60.0, "full": 240.0}
UPDATE_GOAL_MS = 100.0
FRAME_GOAL_MS = 150.0


def _load():
    return round(os.getloadavg()[0], 2)


def _full_run_rows():
    sys.path.insert(0, str(ROOT))
    from cnnlib import numpy_model as nm
    from cnnlib.data import load_mnist

    ds = load_mnist(progress=False)
    load = _load()
    start = time.perf_counter()
    _, history = nm.train_recipe(ds)
    seconds = time.perf_counter() - start
    acc = history["val_acc"][-1]
    epochs = "/".join(f"{b - a:.1f}" for a, b in zip([0.0] + history["seconds"][:-1], history["seconds"]))
    return [{"measure": f"full run: numpy CNN, {nm.RECIPE['epochs']} epochs on 60,000 digits (s per epoch {epochs})",
             "value": round(seconds, 1), "unit": "s", "goal": f"<= {FULL_RUN_S:g}", "passed": seconds <= FULL_RUN_S,
             "load": load},
            {"measure": "full run: test accuracy on the 10,000 test digits", "value": round(100 * acc, 2), "unit": "%",
             "goal": f">= {100 * FULL_RUN_ACC:g}", "passed": acc >= FULL_RUN_ACC, "load": load}]


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute

    rows = []
    for label, env in (("fast", {"CNNLIB_FAST": "1"}), ("full", {"CNNLIB_FAST": ""})):
        with tempfile.TemporaryDirectory(prefix="bench-lesson07-") as tmp:
            copy = Path(tmp) / SOURCE.name
            shutil.copy(SOURCE, copy)
            load = _load()
            start = time.perf_counter()
            execute(copy, cwd=tmp, env=env, timeout=1200)
            seconds = time.perf_counter() - start
        goal = NOTEBOOK_GOAL_S[label]
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 1), "unit": "s",
                     "goal": f"<= {goal:g}", "passed": seconds <= goal, "load": load})
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
    from cnnlib.data import load_mnist, normalize, to_float_nchw
    from cnnlib.widgets import training as tw
    from cnnlib.widgets import training_augment as ta
    from cnnlib.widgets import training_fit as tf

    ds = load_mnist(progress=False)
    rng = np.random.default_rng(0)
    stack_digits = tw.shrink(normalize(to_float_nchw(ds.x_test[:4])))
    preview = to_float_nchw(ds.x_test[:4])
    x = normalize(to_float_nchw(ds.x_train[:5000]))
    y = ds.y_train[:5000].astype(np.int64)
    val = (normalize(to_float_nchw(ds.x_train[50_000:51_000])), ds.y_train[50_000:51_000].astype(np.int64))

    init_states = [dict(scheme=str(rng.choice(tw.SCHEMES)), gain=float(rng.choice(tw.GAINS)),
                        activation=str(rng.choice(["relu", "tanh"]))) for _ in range(n_calls)]
    start = time.perf_counter()
    views = {(s, g, a): tw.init_view(stack_digits, s, g, a) for s in tw.SCHEMES for g in tw.GAINS
             for a in ("relu", "tanh")}
    precompute_s = time.perf_counter() - start
    init_view = tw.InitView()
    runs = [tf.fit_run((x, y), val, n_train=200, epochs=10)]
    curves = tf.CurvesView()
    fit_states = [dict(n_train=int(rng.choice(tf.SIZES)), width=int(rng.choice(tf.WIDTHS)),
                       dropout=float(rng.integers(0, 8)) / 10, weight_decay=float(rng.choice(tf.DECAYS)), epochs=10)
                  for _ in range(n_calls)]
    augment = ta.AugmentView(ta.augment_view(preview)["grid"].shape)
    augment_states = [dict(max_shift=int(rng.integers(0, 7)), max_degrees=int(rng.integers(0, 10)) * 5,
                           seed=int(rng.integers(0, 21))) for _ in range(n_calls)]
    widgets = [
        ("init explorer: init_view (computed) + draw",
         lambda s: init_view.draw(tw.init_view(stack_digits, **s)), init_states),
        ("init explorer: precomputed view + draw (what a frame does)",
         lambda s: init_view.draw(views[(s["scheme"], s["gain"], s["activation"])]), init_states),
        ("fit explorer (controls, no training): curves_view + draw",
         lambda s: curves.draw(tf.curves_view(runs, settings=s)), fit_states),
        ("augmentation preview: augment_view + draw",
         lambda s: augment.draw(ta.augment_view(preview, **s)), augment_states),
    ]
    rows = [{"measure": f"init explorer: all {len(views)} settings computed when the widget is built",
             "value": round(precompute_s, 2), "unit": "s", "goal": "(once, in the cell)", "passed": "",
             "load": _load()}]
    for name, update, states in widgets:
        update(states[0])  # warm-up: font cache, first-figure costs
        for png in (False, True):
            load = _load()
            ms = _median_ms(update, states, png)
            goal = FRAME_GOAL_MS if png else UPDATE_GOAL_MS
            rows.append({"measure": f"{name}{' + PNG' if png else ''} (median of {len(states)})",
                         "value": round(ms, 1), "unit": "ms", "goal": f"<= {goal:g}", "passed": ms <= goal,
                         "load": load})
    for n_train, epochs in ((500, 20), (2000, 20)):
        load = _load()
        run = tf.fit_run((x, y), val, n_train=n_train, epochs=epochs)
        rows.append({"measure": f"fit explorer Train: {n_train} digits, width 8, {epochs} epochs",
                     "value": round(run["seconds"], 2), "unit": "s", "goal": "(background, progress bar)",
                     "passed": "", "load": load})
    return rows


def run(notebook=True, full_run=True, n_calls=40):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook twice (fast and full mode), in a scratch folder.
    full_run : bool
        Also time the full run (the recipe of Section 10) on its own.
    n_calls : int
        Widget updates per measurement.

    Returns
    -------
    rows : list of dict
        Keys ``measure``, ``value``, ``unit``, ``goal``, ``passed``, ``load`` (1-minute load average when the
        measurement started: timings taken above 1 are not comparable).
    """
    rows = []
    if full_run:
        rows += _full_run_rows()
    if notebook:
        rows += _notebook_rows()
    return rows + _widget_rows(n_calls)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run_all import format_table

    print(format_table(run(notebook="--no-notebook" not in sys.argv, full_run="--no-full-run" not in sys.argv)))
