"""Lesson 01 (convolution): notebook run-all time and widget update latency.

Goals on 2 CPU cores:
- the source (solution) notebook runs top to bottom headless in <= 60 s
  (with CNNLIB_FAST=1, as the tests and the autograder run it, and without);
- each widget's pure update function (what a slider change calls) takes
  <= 100 ms, median over 50 calls. The same call plus rendering the figure to
  PNG (what the browser then receives) is reported too.

Run:  python benchmarks/bench_lesson01.py
"""
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "autograder" / "source" / "01_convolution" / "01_convolution.ipynb"
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


def _median_ms(fn, args_list, render):
    from matplotlib.figure import Figure

    times = []
    for args in args_list:
        start = time.perf_counter()
        result = fn(*args)
        if render:
            fig = result["figure"] if isinstance(result, dict) else result
            assert isinstance(fig, Figure)
            fig.savefig(io.BytesIO(), format="png")
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _widget_rows(n_calls=50):
    import matplotlib

    matplotlib.use("Agg")
    from cnnlib.data import load_mnist
    from cnnlib.kernels import get_kernel, names
    from cnnlib.widgets import conv_params, conv_size, convolution

    images = load_mnist(progress=False).x_test[:8] / 255.0
    rng = np.random.default_rng(0)
    presets = [get_kernel(n) for n in names()]
    explorer_args = [(images[i % 8], presets[i % len(presets)], int(rng.integers(0, 28)),
                      int(rng.integers(0, 28)), int(rng.integers(1, 4)), int(rng.integers(0, 3)))
                     for i in range(n_calls)]
    size_args = [(int(rng.integers(1, 33)), int(rng.integers(1, 10)), int(rng.integers(1, 6)),
                  int(rng.integers(0, 5))) for _ in range(n_calls)]
    param_args = [(int(rng.integers(1, 65)), int(rng.integers(1, 129)), int(rng.choice([1, 3, 5, 7])),
                   int(rng.integers(1, 33)) * 8) for _ in range(n_calls)]
    widgets = [("kernel explorer: explorer_view", convolution.explorer_view, explorer_args),
               ("output-size explorer: output_size_figure", conv_size.output_size_figure, size_args),
               ("parameter explorer: params_figure", conv_params.params_figure, param_args)]
    rows = []
    for name, fn, args_list in widgets:
        fn(*args_list[0])  # warm-up: font cache, first-figure costs
        for render in (False, True):
            ms = _median_ms(fn, args_list, render)
            rows.append({"measure": f"{name}{' + PNG render' if render else ''} (median of {n_calls})",
                         "value": round(ms, 1), "unit": "ms",
                         "goal": f"<= {WIDGET_GOAL_MS:g}" if not render else "(info)",
                         "passed": ms <= WIDGET_GOAL_MS if not render else ""})
    return rows


def run(notebook=True, n_calls=50):
    """Measure and return the rows of the table.

    Parameters
    ----------
    notebook : bool
        Also execute the source notebook twice (fast and full mode, ~30 s).
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
