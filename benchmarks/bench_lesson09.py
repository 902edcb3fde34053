"""Lesson 09 (inside the CNN): notebook run-all time, widget update times, the reference model, FGSM vs eps.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s in full mode (the reference
  model already cached, as it is after its first training) and in fast mode;
- each widget's pure view function (what a control change calls) takes <= 100 ms, median over
  the calls (the occlusion explorer's first visit of a setting included: it is memoised after);
  the same plus drawing the figure to PNG is reported too;
- the reference model (cnnlib.reference_model, full recipe) trains in <= 90 s; its training time and
  test accuracy are read from the cache (``--train`` retrains it into a scratch cache to measure);
- the FGSM accuracy-vs-eps table on all 10,000 test digits (the closing note's table).

Run:  python benchmarks/bench_lesson09.py [--no-notebook] [--train]
The machine is shared: every row carries the 1-minute load average at its start.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "09_inside_the_cnn" / "09_inside_the_cnn.ipynb"
NOTEBOOK_GOAL_S = 60.0
WIDGET_GOAL_MS = 100.0
TRAIN_GOAL_S = 90.0
EPS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def _load():
    return round(os.getloadavg()[0], 2)


def _notebook_rows():
    sys.path.insert(0, str(ROOT))
    from autograder.notebooks import execute
    from cnnlib.reference_model import load_reference_model

    for quick in (True, False):
        load_reference_model(quick=quick, progress=False)     # cached first: run-all measures the lesson
    rows = []
    for label, env in (("fast", {"CNNLIB_FAST": "1"}), ("full", {"CNNLIB_FAST": ""})):
        load = _load()
        with tempfile.TemporaryDirectory() as tmp:          # no mnist_cnn.pt there: the reference model
            start = time.perf_counter()
            execute(SOURCE, cwd=tmp, env=env, timeout=900)
            seconds = time.perf_counter() - start
        rows.append({"measure": f"source notebook run-all ({label} mode)", "value": round(seconds, 1), "unit": "s",
                     "goal": f"<= {NOTEBOOK_GOAL_S:g}", "passed": seconds <= NOTEBOOK_GOAL_S, "load": load})
    return rows


def _reference_rows(train=False):
    from cnnlib import reference_model as rm

    rows = []
    if train:
        with tempfile.TemporaryDirectory() as tmp:
            old = os.environ.get("CNNLIB_CACHE_DIR")
            os.environ["CNNLIB_CACHE_DIR"] = tmp
            try:
                for quick in (True, False):
                    load = _load()
                    rm._memo.clear()
                    info = rm.reference_info(quick=quick, progress=False)
                    rows.append(_info_row(info, load, "trained now"))
            finally:
                rm._memo.clear()
                if old is None:
                    os.environ.pop("CNNLIB_CACHE_DIR")
                else:
                    os.environ["CNNLIB_CACHE_DIR"] = old
        return rows
    for quick in (True, False):
        rows.append(_info_row(rm.reference_info(quick=quick, progress=False), "", "from the cache"))
    return rows


def _info_row(info, load, how):
    goal = info["recipe"] == "full"
    return {"measure": f"reference model, {info['recipe']} recipe ({how}): {info['steps']} steps, "
                       f"{info['threads']} thread(s), test accuracy {100 * info['test_acc']:.2f} % on "
                       f"{info['n_test']:,} digits", "value": info["train_seconds"], "unit": "s (training)",
            "goal": f"<= {TRAIN_GOAL_S:g}" if goal else "(info)",
            "passed": info["train_seconds"] <= TRAIN_GOAL_S if goal else "", "load": load}


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
    import torch

    from cnnlib.data import load_mnist, to_float_nchw
    from cnnlib.reference_model import load_reference_model, pixel_model
    from cnnlib.widgets import inside
    from cnnlib.widgets._live import figure_png
    from cnnlib.widgets.inside_features import FeatureFigure, feature_view
    from cnnlib.widgets.inside_fgsm import FGSMFigure, fgsm_view
    from cnnlib.widgets.inside_occlusion import OcclusionFigure, occlusion_view

    ds = load_mnist(progress=False)
    model = pixel_model(load_reference_model(quick=False, progress=False))
    x = torch.from_numpy(to_float_nchw(ds.x_test[:2000]))
    images, labels = x[:, 0].numpy(), ds.y_test[:2000]
    scores = inside.channel_scores(model, x)
    rng = np.random.default_rng(0)
    stages = list(scores)
    feature_args = [(model, images, labels, scores, int(rng.integers(0, 2000)), stages[i % len(stages)],
                     int(rng.integers(0, 16))) for i in range(n_calls)]
    memo = {}
    occlusion_args = [(model, images[i % 8], int(labels[i % 8]), int(rng.integers(2, 15)), int(rng.integers(2, 8)),
                       0.5, "true", inside.occlusion_map, inside.saliency_map, memo) for i in range(n_calls)]
    fgsm_args = [(model, images[i % 20], int(labels[i % 20]), float(rng.integers(0, 31)) / 100) for i in range(n_calls)]
    worst_args = [(model, images[i], int(labels[i]), 2, 2, 0.5, "true", inside.occlusion_map, inside.saliency_map, {})
                  for i in range(5)]
    widgets = [("feature browser: feature_view", feature_view, feature_args, FeatureFigure),
               ("occlusion explorer: occlusion_view (first visit)", occlusion_view, occlusion_args, OcclusionFigure),
               ("occlusion explorer: its worst case, patch 2, stride 2 (196 positions)", occlusion_view, worst_args,
                OcclusionFigure),
               ("FGSM slider: fgsm_view", fgsm_view, fgsm_args, FGSMFigure)]
    rows = []
    for name, fn, args_list, figure_cls in widgets:
        with inside.one_thread():                           # as the widgets run them
            plot = figure_cls(fn(*args_list[0]))            # warm-up: first-figure and font costs
            if "first visit" in name:
                memo.clear()
            for render in (False, True):
                load = _load()
                if "first visit" in name:
                    memo.clear()
                draw = (lambda view: figure_png(plot.update(view))) if render else None
                median, worst = _median_ms(fn, args_list, draw)
                rows.append({"measure": f"{name}{' + draw + PNG' if render else ''} (median of {len(args_list)}, "
                                        f"worst {worst:.0f} ms)", "value": round(median, 1), "unit": "ms",
                             "goal": f"<= {WIDGET_GOAL_MS:g}" if not render else "(info)",
                             "passed": median <= WIDGET_GOAL_MS if not render else "", "load": load})
    return rows


def _fgsm_rows():
    import torch

    from cnnlib.data import load_mnist, to_float_nchw
    from cnnlib.reference_model import load_reference_model, pixel_model
    from cnnlib.widgets import inside

    ds = load_mnist(progress=False)
    model = pixel_model(load_reference_model(quick=False, progress=False))
    x, y = torch.from_numpy(to_float_nchw(ds.x_test)), torch.from_numpy(ds.y_test)
    load, start = _load(), time.perf_counter()
    table = inside.attack_table(model, x, y, EPS)
    seconds = time.perf_counter() - start
    return [{"measure": f"reference model on all 10,000 test digits, eps {r['eps']:.2f}: FGSM accuracy "
                        f"(random ±eps: {100 * r['noise_acc']:.2f} %)", "value": round(100 * r["fgsm_acc"], 2),
             "unit": "%", "goal": "(info)", "passed": "", "load": load} for r in table] + [
        {"measure": "time for the table above (one gradient per digit, 16 forward passes)", "value": round(seconds, 1),
         "unit": "s", "goal": "(info)", "passed": "", "load": load}]


def run(notebook=True, train=False, n_calls=30):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook in fast and full mode (about a minute).
    train : bool
        Retrain both reference recipes in a scratch cache (about 70 s more) instead of reading
        their training time from the cache.
    n_calls : int
        Widget update calls per measurement.

    Returns
    -------
    rows : list of dict
        Keys ``measure``, ``value``, ``unit``, ``goal``, ``passed``, ``load``.
    """
    rows = _reference_rows(train)
    rows += _widget_rows(n_calls)
    rows += _fgsm_rows()
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
    print(_table(run(notebook="--no-notebook" not in sys.argv, train="--train" in sys.argv)))
