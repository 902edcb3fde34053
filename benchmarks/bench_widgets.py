"""Widget latency in a real browser: input event to changed pixels, per widget (issue 10).

Runs the browser suite's harness in measuring mode: JupyterLab as ``make lab`` starts it,
headless Chromium, every lesson with widgets run in fast mode, then each widget's ``bench``
steps (tests/browser/specs/) repeated ``CNN_BENCH_REPEAT`` times (default 5) after one
warm-up round. A burst of 10 arrow-key presses on the widget's first nudged slider measures
coalescing: the time from the last press to the final frame, and how many frames were drawn.

Budget (issue 10): median <= 150 ms and worst <= 300 ms per widget on an idle 2-core machine.
The 1-minute load average is printed with the table: quote numbers only when it is < 0.5.
"""
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser.harness import Browser, HarnessFailure, LabServer, LessonPage, find_chromium  # noqa: E402
from browser.spec import Burst, Nudge  # noqa: E402
from browser.specs import load  # noqa: E402


COLUMNS = ("lesson", "widget", "n", "median_ms", "worst_ms", "burst_ms", "burst_frames", "load", "note")


def _load():
    return round(os.getloadavg()[0], 2)


def _row(**values):
    return {k: values.get(k, "") for k in COLUMNS}


def measure(specs, repeat=5, data_dir=None):
    """Rows of the latency table for every widget of ``specs`` (dict notebook -> Lesson)."""
    chromium = find_chromium()
    if chromium is None:
        return [_row(note="no Chrome/Chromium: nothing measured")]
    data_dir = data_dir or os.environ.get("CNNLIB_DATA_DIR", "")
    rows = []
    with LabServer(env={"CNNLIB_DATA_DIR": data_dir}) as server:
        browser = Browser(chromium)
        try:
            for lesson in specs.values():
                if not lesson.widgets:
                    continue
                page = LessonPage(browser, server, lesson.notebook)
                try:
                    page.run_all(lesson.timeout)
                    page.check_rendered([w.css for w in lesson.widgets])
                    for widget in lesson.widgets:
                        try:
                            rows.append(_measure_widget(page, lesson, widget, repeat))
                        except HarnessFailure as exc:  # one broken widget must not hide the others
                            rows.append(_row(lesson=lesson.stem, widget=widget.name, load=_load(),
                                             note=f"FAILED: {str(exc)[:120]}"))
                finally:
                    page.close()
        finally:
            browser.close()
    return rows


def _measure_widget(page, lesson, widget, repeat):
    driver = page.widget(widget)
    steps = list(widget.bench if widget.bench is not None else widget.steps)
    legacy = driver.state() is None  # a widget without the Live base (the "before" numbers)
    settle = 1500 if legacy else 0
    for step in steps:  # warm-up: first frames pay for imports and caches
        driver.perform(step, settle_ms=settle)
    samples = []
    for _ in range(repeat):
        for step in steps:
            result = driver.perform(step, settle_ms=settle)
            draw_like = legacy and type(step).__name__ == "Draw"
            samples.append(result["settle_ms"] if draw_like else result["latency_ms"])
    row = {"lesson": lesson.stem, "widget": widget.name, "n": len(samples),
           "median_ms": round(statistics.median(samples)), "worst_ms": round(max(samples))}
    slider = next((s.control for s in steps if isinstance(s, Nudge)), None)
    if slider is not None:
        for direction in (1, -1):  # there and back, so the next run starts where this one did
            # Only the final state is asked for: some pictures wait for a button (e.g. Train).
            burst = driver.perform(Burst(slider, presses=10, direction=direction, image_changes=False),
                                   settle_ms=settle or 3000)
        row["burst_ms"] = round(burst.get("settle_ms") or burst["latency_ms"])
        row["burst_frames"] = burst["frames"] if burst["frames"] is not None else "?"
    budget = row["median_ms"] <= 150 and row["worst_ms"] <= 300
    return _row(**row, load=_load(), note="" if budget else "over budget (150/300 ms)")


def run():
    repeat = int(os.environ.get("CNN_BENCH_REPEAT", "5"))
    print(f"load average before: {_load()}", flush=True)
    return measure(load(), repeat=repeat)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
