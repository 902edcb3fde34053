"""Every lesson runs in JupyterLab in a real browser, and every widget in it answers its controls.

For each notebook in lessons/ (fast mode): Run All without a cell error, every widget shown
(no "Loading widget", no "Error displaying widget"), each widget of the lesson's spec driven
step by step (tests/browser/specs/, language in tests/browser/spec.py), and no JavaScript
console error. ``make test-browser`` runs this; it skips, saying so, without a browser.
"""
import pytest

from .conftest import MEASURED
from .harness import ROOT
from .spec import Lesson
from .specs import load

SPECS = load()
LESSONS = [SPECS.get(p.name, Lesson(p.name)) for p in sorted((ROOT / "lessons").glob("*.ipynb"))]
CHECKS = [c for lesson in LESSONS
          for c in [(lesson, "run all cells")] + [(lesson, w) for w in lesson.widgets] + [(lesson, "console")]]


def _id(check):
    lesson, what = check
    return f"{lesson.stem}/{what if isinstance(what, str) else what.name}"


def test_every_spec_names_a_lesson():
    names = {p.name for p in (ROOT / "lessons").glob("*.ipynb")}
    assert set(SPECS) <= names, f"specs for missing notebooks: {set(SPECS) - names}"


@pytest.mark.parametrize("check", CHECKS, ids=map(_id, CHECKS))
def test_lesson(lessons, check):
    lesson, what = check
    page = lessons.open(lesson)
    if what == "run all cells":
        if lessons.failure is not None:
            raise lessons.failure
        return
    if lessons.failure is not None:
        pytest.skip(f"{lesson.notebook} did not run (see its 'run all cells' failure)")
    if what == "console":
        page.check_console()
        return
    driver = page.widget(what)
    driver.check_rendered()
    for step in what.steps:
        result = driver.perform(step)
        MEASURED.append((lesson.stem, what.name, step.label(), result["latency_ms"], result["frames"]))
    page.check_console()
