"""The parts of ../shared/LESSON_BAR.md a program can check, for every lesson.

Structure (goals, one setup cell, a recap that names the next lesson), graded points,
checks whose failures name the case (no bare comparisons), try-it cells that survive
a learner's bug, and a widget followed by a static figure.
"""
import ast
import re

import pytest

from autograder.course import available_lessons
from lesson_tools import meta, source

LESSONS = available_lessons()
GRADED = [les for les in LESSONS if les not in ("00_welcome", "08_mnist_classifier")]  # 08: capstone, 18 points


def _grade_cells(nb):
    return [c for c in nb.cells if meta(c).get("grade")]


@pytest.mark.parametrize("lesson", LESSONS)
def test_goals_first_one_setup_cell_and_a_recap_that_names_what_comes_next(lesson):
    nb = source(lesson)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# Lesson {lesson[:2]}")
    assert re.search(r"goals|you will", nb.cells[0].source, re.I), "learning goals come first"
    setups = [c for c in nb.cells if meta(c).get("grade_id") == "setup"]
    assert len(setups) == 1 and meta(setups[0]).get("locked")
    recap = [c for c in nb.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("## Recap")]
    assert recap, "a recap at the end"
    if lesson != LESSONS[-1]:
        assert re.search(r"\bNext\b", recap[-1].source), "the recap names what the next lesson builds on"


@pytest.mark.parametrize("lesson", GRADED)
def test_10_to_14_points_with_one_written_answer_graded_by_hand(lesson):
    cells = _grade_cells(source(lesson))
    total = sum(meta(c)["points"] for c in cells)
    written = [c for c in cells if c.cell_type == "markdown"]
    assert 10 <= total <= 14, total
    assert len(written) == 1 and meta(written[0]).get("solution")
    assert len(cells) - len(written) >= 4, "several functions of rising difficulty"


def _bare_comparisons(src):
    """Lambdas passed to checks.check that return a comparison or np.allclose/array_equal themselves."""
    found = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "check" and len(node.args) >= 2:
            fn = node.args[1]
            if isinstance(fn, ast.Lambda):
                body = fn.body
                bare = isinstance(body, ast.Compare) or (
                    isinstance(body, ast.Call) and getattr(body.func, "attr", "") in
                    ("allclose", "array_equal", "isclose", "all", "any", "equal"))
                if bare and not (isinstance(body, ast.Call) and isinstance(body.func, ast.Name)):
                    found.append(ast.unparse(body)[:80])
    return found


@pytest.mark.parametrize("lesson", LESSONS)
def test_checks_never_return_a_bare_comparison(lesson):
    """A bare `x == y` fails with "the condition was not met": use close/equal/expect, which name the case."""
    bad = {meta(c)["grade_id"]: _bare_comparisons(c.source) for c in _grade_cells(source(lesson))
           if c.cell_type == "code"}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.parametrize("lesson", LESSONS)
def test_try_it_cells_catch_every_error_not_only_not_implemented(lesson):
    """`except NotImplementedError` lets a learner's real bug crash the cell (and later ones)."""
    bad = [c.source.split("\n")[0] for c in source(lesson).cells
           if c.cell_type == "code" and not meta(c).get("grade") and "except NotImplementedError" in c.source]
    assert not bad


def _widget_cells(lesson):
    """The ``cell=`` markers of the lesson's browser spec: every widget of a lesson is in that suite."""
    import importlib

    try:
        spec = importlib.import_module(f"browser.specs.lesson{lesson[:2]}").LESSON
    except ModuleNotFoundError:
        return []
    return [w.cell for w in spec.widgets]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_widget_has_a_static_figure_beside_it(lesson):
    """A static viewer (GitHub, nbviewer, a PDF) still shows the idea: the code cell right after the
    widget (or, where the lesson shows the setting first, right before it) draws one setting."""
    code = [c.source for c in source(lesson).cells if c.cell_type == "code"]
    draws = re.compile(r"figure|plt\.|imshow|\.show\(|view\[")
    for marker in _widget_cells(lesson):
        i = next(k for k, src in enumerate(code) if marker in src)
        beside = code[i + 1:i + 2] + code[max(i - 1, 0):i]
        assert any(draws.search(src) for src in beside), f"{lesson}: no static figure beside the widget {marker!r}"
