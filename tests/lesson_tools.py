"""Shared helpers for lesson tests: seeded bugs, the visible checks alone, a real grading batch.

A lesson's grading test (see tests/test_lesson01_grading.py) declares its seeded
bugs as edits of the solution cells, then

* :func:`visible_scores` runs the *visible* checks only, in this process, on a
  seeded copy: every seeded bug must lose points there (the learner's fast feedback);
* :func:`grade_batch` grades several notebooks in ONE real ``grade --jobs 2`` batch
  (sandbox + judge, hidden checks included) and returns each student's points;
* :func:`feedback_leaks` and :func:`errors_in_autograded` check what students see.
"""
import contextlib
import io
import os
import re

import nbformat
import pytest

from autograder.hide_tests import remove_hidden_tests
from autograder.notebooks import SOURCE


def source(lesson):
    return nbformat.read(SOURCE / lesson / f"{lesson}.ipynb", as_version=4)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def cell(nb, grade_id):
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


def grade_points(nb):
    """{grade_id: points} of the autograded (code) grade cells."""
    return {meta(c)["grade_id"]: meta(c)["points"] for c in nb.cells
            if c.cell_type == "code" and meta(c).get("grade")}


def seeded(lesson, edits):
    """A copy of the source with ``edits`` = [(solution grade_id, old text, new text)] applied."""
    nb = source(lesson)
    for grade_id, old, new in edits:
        target = cell(nb, grade_id)
        assert old in target.source, f"the {grade_id} solution changed; update this seeded bug: {old!r}"
        target.source = target.source.replace(old, new)
    return nb


def combined(lesson, bugs, apart=()):
    """Fewer notebooks for one grading batch: seeded bugs in different exercises share a notebook.

    ``bugs`` maps a name to ``(edits, {grade_id: points})``. Bugs are packed greedily so that no two
    in one notebook touch the same solution cell or change the same grade cell's points; each
    exercise is graded on its own, so every bug still earns exactly its points. ``apart`` lists
    pairs of bug names that must not share a notebook (one exercise calls the other's function, so
    one bug would change what the other's feedback says).

    Returns
    -------
    dict
        ``{"bugs1": (notebook, {grade_id: points}, [bug names]), ...}``.
    """
    groups = []
    for name, (edits, points) in bugs.items():
        cells = {gid for gid, _, _ in edits}
        for group in groups:
            clash = any({name, other} == set(pair) for pair in apart for other in group["names"])
            if not clash and not (cells & group["cells"]) and not (set(points) & set(group["points"])):
                group["names"].append(name)
                group["cells"] |= cells
                group["edits"] += list(edits)
                group["points"].update(points)
                break
        else:
            groups.append({"names": [name], "cells": set(cells), "edits": list(edits), "points": dict(points)})
    return {f"bugs{i}": (seeded(lesson, g["edits"]), g["points"], g["names"]) for i, g in enumerate(groups, 1)}


def _runnable(src):
    return "\n".join(line for line in src.split("\n") if not line.lstrip().startswith(("%", "!")))


def visible_scores(nb):
    """Run the setup and solution cells, then each grade cell's VISIBLE checks, in this process.

    Returns
    -------
    dict
        ``{grade_id: (points earned, report text)}``.
    """
    ns = {"__name__": "__lesson__"}
    out = {}
    cwd = os.getcwd()
    try:
        for c in nb.cells:
            m = meta(c)
            if c.cell_type != "code":
                continue
            if m.get("grade"):
                text = io.StringIO()
                code = remove_hidden_tests(c.source).rstrip().split("\n")
                with contextlib.redirect_stdout(text):
                    exec(compile("\n".join(code[:-1]), m["grade_id"], "exec"), ns)  # noqa: S102
                    value = eval(code[-1], ns)  # noqa: S307 - `checks.score()`
                out[m["grade_id"]] = (value, text.getvalue())
            elif m.get("solution") or m.get("grade_id") == "setup":
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(_runnable(c.source), m["grade_id"], "exec"), ns)  # noqa: S102
    finally:
        os.chdir(cwd)
    return out


def sandbox_args():
    """``[]`` where bubblewrap works; on a developer machine without it, ``["--unsafe"]`` (our own test
    notebooks are trusted); under CI its absence is a failure, not a silent downgrade."""
    import pytest

    from autograder import sandbox

    ok, why = sandbox.available()
    if ok:
        return []
    if os.environ.get("CI"):
        pytest.fail(f"CI must grade in the sandbox: {why}")
    return ["--unsafe"]


def grade_batch(tmp_path, lesson, notebooks, data_dir, files=None, jobs=2):
    """Grade ``{student: notebook}`` in one ``grade --jobs`` batch; return (course dir, {student: {gid: pts}}).

    ``files`` maps student -> {file name: bytes} submitted next to the notebook.
    """
    from nbgrader.api import Gradebook

    from autograder.__main__ import main as cli

    subs = tmp_path / "subs"
    for student, nb in notebooks.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{lesson}.ipynb")
        for name, data in (files or {}).get(student, {}).items():
            (subs / student / name).write_bytes(data)
    course = tmp_path / "course"
    old = os.environ.get("CNNLIB_DATA_DIR")
    os.environ["CNNLIB_DATA_DIR"] = str(data_dir)
    try:
        code = cli(["grade", str(subs), "--lesson", lesson, "--jobs", str(jobs), "--course-dir", str(course)]
                   + sandbox_args())
    finally:
        if old is None:
            os.environ.pop("CNNLIB_DATA_DIR", None)
        else:
            os.environ["CNNLIB_DATA_DIR"] = old
    assert code == 0
    scores, autograded = {}, grade_points(source(lesson))
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        for student in notebooks:
            sub = gb.find_submission_notebook(lesson, lesson, student)
            scores[student] = {g.name: g.score for g in sub.grades if g.name in autograded}
    return course, scores


def grade_seeded_batch(tmp_path, lesson, full, bugs, data_dir, apart=()):
    """ONE ``grade --jobs 2`` batch of the source, the released notebook and every seeded bug (packed by
    :func:`combined`), with the checks every lesson's batch test makes.

    Asserts that the source's points are ``full``, that each student scores exactly what is expected (the
    source ``full``, the released notebook 0, a bug notebook ``full`` but for its bugs' points), that the rest
    of the released notebook and of every bug notebook still ran, and that no feedback shows hidden-test
    source (:func:`check_graded_batch`).

    Parameters
    ----------
    bugs : dict
        ``{name: (edits, {grade_id: points}, ...)}``, as the lessons' ``BUGS``.
    apart : sequence of pairs of bug names
        Passed to :func:`combined`.

    Returns
    -------
    course : Path
    html : dict
        ``{bug: feedback HTML of the notebook that holds it}``.
    """
    from autograder.release import release_notebook

    assert grade_points(source(lesson)) == full
    packed = combined(lesson, {bug: (spec[0], spec[1]) for bug, spec in bugs.items()}, apart)
    notebooks = {"source": source(lesson), "released": release_notebook(lesson)}
    notebooks.update({student: nb for student, (nb, _, _) in packed.items()})
    course, got = grade_batch(tmp_path, lesson, notebooks, data_dir)

    expected = {"source": full, "released": {k: 0 for k in full}}
    expected.update({student: {**full, **points} for student, (_, points, _) in packed.items()})
    html = check_graded_batch(course, lesson, got, expected, packed)
    assert errors_in_autograded(course, lesson, "released") == [], "released: a later cell failed"
    return course, html


def check_graded_batch(course, lesson, got, expected, packed):
    """The checks after grading a batch that holds the notebooks `packed` by :func:`combined`.

    Asserts that every student in `expected` scored exactly that (``got`` as :func:`grade_batch` returns it),
    that the rest of every bug notebook still ran, and that no feedback shows hidden-test source.

    Returns
    -------
    html : dict
        ``{bug: feedback HTML of the notebook that holds it}``.
    """
    wrong = {s: (got[s], expected[s]) for s in expected if got[s] != pytest.approx(expected[s], abs=1e-9)}
    assert not wrong, f"(got, expected) per student: {wrong}"
    for student, (_, _, names) in packed.items():
        assert errors_in_autograded(course, lesson, student) == [], f"{names}: a later cell failed"
    assert all(not found for found in feedback_leaks(course, lesson).values())
    return {bug: (course / "feedback" / student / lesson / f"{lesson}.html").read_text()
            for student, (_, _, names) in packed.items() for bug in names}


def hidden_names(lesson):
    """Names defined only inside hidden-test blocks (they never appear in a check's printed report)."""
    src = source(lesson)
    visible = "\n".join(remove_hidden_tests(c.source) for c in src.cells)
    names = set()
    for c in src.cells:
        for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", c.source, re.S):
            names |= set(re.findall(r"^\s*def (\w+)", block, re.M))
            names |= {n for lhs in re.findall(r"^(\w[\w, ]*)=(?!=)", block, re.M) for n in re.findall(r"\w+", lhs)}
    return {n for n in names if len(n) > 4 and not re.search(rf"\b{n}\b", visible)}


def feedback_leaks(course, lesson):
    """Run ``feedback``; return {student: [hidden names found in their HTML]} (empty lists = no leak)."""
    from autograder.__main__ import main as cli

    assert cli(["feedback", "--course-dir", str(course), "--lesson", lesson]) == 0
    names = hidden_names(lesson)
    leaks = {}
    for f in sorted((course / "feedback").glob(f"*/{lesson}/{lesson}.html")):
        html = f.read_text()
        found = sorted(n for n in names if re.search(rf"\b{n}\b", html))
        if "BEGIN HIDDEN TESTS" in html:
            found.append("BEGIN HIDDEN TESTS")
        leaks[f.parent.parent.name] = found
    return leaks


def errors_in_autograded(course, lesson, student):
    """Sources (first line) of the cells that ended in an error when the student's notebook ran."""
    nb = nbformat.read(course / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4)
    return [c.source.split("\n")[0] for c in nb.cells if c.cell_type == "code"
            and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
