"""Lesson 01 through the real grading pipeline: one `grade --jobs 2` batch.

Seeded bugs are made by rewriting the solution code in a copy of the source
notebook; each must lose exactly the checks that bug breaks. The expected
scores are worked out check by check in the comments of BUGS.
"""
import os
import re

import nbformat
import pytest

from autograder.__main__ import main as cli
from autograder.notebooks import SOURCE

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lesson01_grading")]

LESSON = "01_convolution"
SRC = SOURCE / LESSON / f"{LESSON}.ipynb"
POINTS = {"test_conv2d_single": 2, "test_output_size": 2, "test_pad2d": 1, "test_conv2d": 3,
          "test_count_params": 2}
FULL = dict(POINTS)


def _with(**changed):
    return {**FULL, **changed}


# (solution cell, text in the solution, replacement) per bug
BUGS = {
    # conv2d_single: 9 checks. A 180-degree flip still passes the output shape, the symmetric box
    # blur, the 1x1 kernel and "inputs untouched" -> 4/9 of 2 points = 0.89
    "flipped_kernel": ([("conv2d_single", "np.sum(image[i:i + KH, j:j + KW] * kernel)",
                         "np.sum(image[i:i + KH, j:j + KW] * kernel[::-1, ::-1])")],
                       _with(test_conv2d_single=0.89)),
    # output_size: 10 checks. Without "+ 1" every size is one short; only "returns an int" and the two
    # ValueError checks pass -> 3/10 of 2 points = 0.6
    "off_by_one": ([("output_size", "return int((H + 2 * P - K) // S + 1)", "return int((H + 2 * P - K) // S)")],
                   _with(test_output_size=0.6)),
    # pad2d: 7 checks. Padding N and C instead of H and W is invisible on a 2-D image; the batch shape
    # and batch values fail, P=0, dtype and "input untouched" pass -> 5/7 of 1 point = 0.71
    "pad_wrong_axes": ([("pad2d", "pad_width = [(0, 0)] * (x.ndim - 2) + [(P, P), (P, P)]",
                         "pad_width = [(P, P), (P, P)] + [(0, 0)] * (x.ndim - 2)")],
                       _with(test_pad2d=0.71)),
    # conv2d: 12 checks. Ignoring the stride fails the stride-2 shape, the stride 2/3 comparison and the
    # random cases (strides 1-3); the 9 stride-1 checks pass -> 9/12 of 3 points = 2.25
    "stride_ignored": ([("conv2d", "OH = (H + 2 * padding - KH) // stride + 1", "OH = H + 2 * padding - KH + 1"),
                        ("conv2d", "OW = (W + 2 * padding - KW) // stride + 1", "OW = W + 2 * padding - KW + 1"),
                        ("conv2d", "windows[:, :, ::stride, ::stride][:, :, :OH, :OW]", "windows[:, :, :OH, :OW]")],
                       _with(test_conv2d=2.25)),
}


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def seeded(edits):
    nb = nbformat.read(SRC, as_version=4)
    for grade_id, old, new in edits:
        cell = _cell(nb, grade_id)
        assert old in cell.source, f"the {grade_id} solution changed; update this seeded bug"
        cell.source = cell.source.replace(old, new)
    return nb


def mangled():
    """Flipped kernel AND off-by-one, with the conv2d_single test deleted and the output_size test
    turned into markdown: nbgrader restores both cells, so both bugs still cost points."""
    nb = seeded(BUGS["flipped_kernel"][0] + BUGS["off_by_one"][0])
    nb.cells.remove(_cell(nb, "test_conv2d_single"))
    test = _cell(nb, "test_output_size")
    nb.cells[nb.cells.index(test)] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    return nb


def hidden_names():
    """Names defined only inside hidden-test blocks (they never appear in a check's printed report)."""
    from autograder.hide_tests import remove_hidden_tests

    src = nbformat.read(SRC, as_version=4)
    visible = "\n".join(remove_hidden_tests(c.source) for c in src.cells)
    names = set()
    for cell in src.cells:
        for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", cell.source, re.S):
            names |= set(re.findall(r"^\s*def (\w+)", block, re.M))
            names |= {n for lhs in re.findall(r"^(\w[\w, ]*)=(?!=)", block, re.M) for n in re.findall(r"\w+", lhs)}
    return {n for n in names if len(n) > 4 and not re.search(rf"\b{n}\b", visible)}


def scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        nb = gb.find_submission_notebook(LESSON, LESSON, student)
        return {g.name: g.score for g in nb.grades if g.name in POINTS}


def test_lesson01_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir, capsys):
    """ONE `grade --jobs 2` call over the source (full marks), the released notebook (0), four
    seeded bugs (exact partial credit) and a mangled notebook; then feedback without hidden tests.

    (One test, not several: pytest-xdist would split several across workers that would each
    wait for the same batch.)
    """
    if not SRC.is_file():
        pytest.skip(f"{SRC} not written yet")
    from autograder.release import release_notebook

    subs = tmp_path / "subs"
    notebooks = {"source": nbformat.read(SRC, as_version=4), "released": release_notebook(LESSON),
                 "mangled": mangled()}
    notebooks.update({name: seeded(edits) for name, (edits, _) in BUGS.items()})
    for student, nb in notebooks.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LESSON}.ipynb")
    old = os.environ.get("CNNLIB_DATA_DIR")
    os.environ["CNNLIB_DATA_DIR"] = str(real_data_dir)
    try:
        course = tmp_path / "course"
        assert cli(["grade", str(subs), "--lesson", LESSON, "--jobs", "2", "--course-dir", str(course)]) == 0
    finally:
        if old is None:
            os.environ.pop("CNNLIB_DATA_DIR", None)
        else:
            os.environ["CNNLIB_DATA_DIR"] = old
    print(capsys.readouterr().out)  # the summary, shown if an assertion below fails

    expected = {"source": FULL, "released": {k: 0 for k in POINTS},
                "mangled": _with(test_conv2d_single=0.89, test_output_size=0.6)}
    expected.update({bug: points for bug, (_, points) in BUGS.items()})
    got = {student: scores(course, student) for student in expected}
    wrong = {s: (got[s], expected[s]) for s in expected if got[s] != pytest.approx(expected[s], abs=1e-9)}
    assert not wrong, f"(got, expected) per student: {wrong}"
    feedback_contains_no_hidden_test_source(course)


def feedback_contains_no_hidden_test_source(course):
    names = hidden_names()
    assert len(names) >= 5, names  # the lesson does define hidden helpers
    assert cli(["feedback", "--course-dir", str(course), "--lesson", LESSON]) == 0
    files = sorted((course / "feedback").glob(f"*/{LESSON}/{LESSON}.html"))
    assert len(files) == 7
    for f in files:
        html = f.read_text()
        assert "BEGIN HIDDEN TESTS" not in html
        leaked = sorted(n for n in names if re.search(rf"\b{n}\b", html))
        assert not leaked, (f, leaked)
    flipped = (course / "feedback" / "flipped_kernel" / LESSON / f"{LESSON}.html").read_text()
    assert "Getting 8 there means the kernel was flipped" in flipped  # the report and hints remain
