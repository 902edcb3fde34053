"""The autograder CLI end to end, on a tiny throwaway lesson ("toy") the tests build.

One `grade --jobs 2` batch grades every case (correct, partial, noisy, hostile)
and is then reported and turned into feedback, so nbgrader starts few kernels.
"""
import copy
import csv
import os
import re
import shutil
import tempfile
import threading

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.__main__ import main as cli
from autograder.hide_tests import remove_hidden_tests
from lesson_tools import sandbox_args

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder_toy")]

LESSON = "toy"
HIDDEN = "HIDDEN_MARKER_XYZ"  # only in the hidden block: must never reach a student
VISIBLE = "VISIBLE_MARKER_ABC"


def _meta(grade_id, solution=False, grade=False, locked=False, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def toy_source():
    """add() worth 3 (one hidden check), a written answer worth 1, a file check and an env check."""
    add_test = (
        "from cnnlib.checks import Checks\n"
        'checks = Checks("add", points=3)\n'
        f'checks.check("1 + 2 == 3", lambda: add(1, 2) == 3, hint="Use +.")  # {VISIBLE}\n'
        'checks.check("negatives", lambda: add(-1, -1) == -2, hint="Negative numbers too.")\n'
        "### BEGIN HIDDEN TESTS\n"
        f'checks.check("floats", lambda: add(0.5, 0.25) == 0.75, hint="Floats too.")  # {HIDDEN}\n'
        "### END HIDDEN TESTS\n"
        "checks.score()"
    )
    file_test = (
        "from pathlib import Path\nfrom cnnlib.checks import Checks\n"
        'checks = Checks("file", points=1)\n'
        'checks.check("answer.txt next to the notebook says 42",\n'
        '             lambda: Path("answer.txt").read_text().strip() == "42")\n'
        "checks.score()"
    )
    env_test = (
        "import cnnlib\nfrom cnnlib.checks import Checks\n"
        'checks = Checks("env", points=1)\n'
        'checks.check("grading and fast mode on", lambda: cnnlib.grading_mode() and cnnlib.fast_mode())\n'
        "checks.score()"
    )
    cells = [
        new_markdown_cell("# Toy lesson", metadata=_meta("intro", locked=True)),
        new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                      metadata=_meta("add_solution", solution=True)),
        new_code_cell(add_test, metadata=_meta("add_test", grade=True, locked=True, points=3)),
        new_markdown_cell("Why is addition commutative?", metadata=_meta("written_prompt", locked=True)),
        new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                          metadata=_meta("written", solution=True, grade=True, points=1)),
        new_code_cell(file_test, metadata=_meta("file_test", grade=True, locked=True, points=1)),
        new_code_cell(env_test, metadata=_meta("env_test", grade=True, locked=True, points=1)),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make_submission(released, root, student, add_src=None, mutate=None, answer="42", raw=None, written=None):
    d = root / student
    d.mkdir(parents=True)
    if answer is not None:
        (d / "answer.txt").write_text(answer)
    if raw is not None:
        (d / f"{LESSON}.ipynb").write_text(raw)
        return
    nb = copy.deepcopy(released)
    if add_src is not None:
        _cell(nb, "add_solution").source = add_src
    if written is not None:
        _cell(nb, "written").source = written
    if mutate:
        mutate(nb)
    nbformat.write(nb, d / f"{LESSON}.ipynb")


def _delete_test(nb):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "add_test"]


def _test_to_markdown(nb):
    i = nb.cells.index(_cell(nb, "add_test"))
    nb.cells[i] = new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)


GOOD = "def add(a, b):\n    return a + b"
SUBMISSIONS = {  # student -> (make_submission kwargs, expected {grade_id: points}, reason pattern)
    "alice": (dict(add_src=GOOD, written="It does not matter which comes first."),
              {"add_test": 3, "written": None, "file_test": 1, "env_test": 1}, ""),
    "bob": (dict(add_src="def add(a, b):\n    return a + b if isinstance(a, int) else 0", answer="41"),
            {"add_test": 2, "written": 0, "file_test": 0, "env_test": 1}, ""),
    "carol": (dict(add_src="import os, sys, warnings\ndef add(a, b):\n    sys.stderr.write('noise\\n')\n"
                           "    os.write(2, b'fd noise\\n')\n    warnings.warn('careful')\n    return a + b"),
              {"add_test": 3, "written": 0, "file_test": 1, "env_test": 1}, ""),
    "dave": (dict(add_src="def add(a, b):\n    while True:\n        pass"),
             {"add_test": 0, "written": 0, "file_test": 1, "env_test": 1}, ""),
    "eve": (dict(add_src="import os\nos._exit(1)"),
            {"add_test": 0, "written": 0, "file_test": 0, "env_test": 0}, "kernel died"),
    "frank": (dict(add_src="def add(a, b)\n    return a + b"),
              {"add_test": 0, "written": 0, "file_test": 1, "env_test": 1}, ""),
    "gina": (dict(add_src="def add(a, b):\n    return a - b if a < 0 else a + b", mutate=_delete_test),
             {"add_test": 2, "written": 0, "file_test": 1, "env_test": 1}, ""),
    "hank": (dict(add_src=GOOD, mutate=_test_to_markdown),
             {"add_test": 3, "written": 0, "file_test": 1, "env_test": 1}, ""),
    "ivan": (dict(raw='{"cells": [ this is not json'),
             {"add_test": 0, "written": 0, "file_test": 0, "env_test": 0}, "not valid JSON"),
    "nora": (None, {"add_test": 0, "written": 0, "file_test": 0, "env_test": 0}, "no toy.ipynb submitted"),
}
CELL_TIMEOUT = "15"


def build_once(tmp_path_factory, name, build):
    """Return ``<session tmp>/<name>``, calling ``build(path)`` only the first time.

    pytest-xdist may split this module's tests across workers (its ``loadgroup``
    grouping does not take effect with pytest 9), and each worker would then grade
    the whole batch again; a lock file makes the other workers wait and reuse it.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this session
    path = base / name
    with open(base / f"{name}.lock", "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no lock, at worst the work is done twice
            pass
        if not (path / ".done").exists():
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
            build(path)
            (path / ".done").write_text("ok")
    return path


def _build_toy(base):
    src = base / "source"
    (src / LESSON).mkdir(parents=True)
    nbformat.write(toy_source(), src / LESSON / f"{LESSON}.ipynb")
    from autograder.release import release

    os.environ["AUTOGRADER_SOURCE"] = str(src)
    released = nbformat.read(release(LESSON, base / "lessons"), as_version=4)
    subs = base / "subs"
    for student, (kwargs, _, _) in SUBMISSIONS.items():
        if kwargs is None:
            (subs / student).mkdir(parents=True)
            (subs / student / "answer.txt").write_text("42")
        else:
            make_submission(released, subs, student, **kwargs)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Source and release of the toy lesson, and every submission; AUTOGRADER_SOURCE points at it."""
    old = os.environ.get("AUTOGRADER_SOURCE")
    try:
        base = build_once(tmp_path_factory, "toy", _build_toy)
        os.environ["AUTOGRADER_SOURCE"] = str(base / "source")
        yield {"base": base, "subs": base / "subs", "released": base / "lessons" / f"{LESSON}.ipynb"}
    finally:
        if old is None:
            os.environ.pop("AUTOGRADER_SOURCE", None)
        else:
            os.environ["AUTOGRADER_SOURCE"] = old


def grades(course, students=None):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        for s in students or SUBMISSIONS:
            nb = gb.find_submission_notebook(LESSON, LESSON, s)
            out[s] = {g.name: (None if g.needs_manual_grade and g.manual_score is None else g.score)
                      for g in nb.grades}
    return out


def test_release_removes_solutions_and_hidden_tests(toy):
    text = toy["released"].read_text()
    assert HIDDEN not in text and "BEGIN SOLUTION" not in text and "return a + b" not in text
    assert VISIBLE in text and "Because." not in text


def test_grade_batch_with_jobs_2_then_report_and_feedback(toy, tmp_path, capsys):
    """One `grade --jobs 2` over correct, partial, stderr-noisy and hostile submissions.

    (One test, not several: pytest-xdist would split several across workers that
    would each wait for the same batch.) Each step is a helper named after the
    question it answers.
    """
    course = tmp_path / "course"
    assert cli(["grade", str(toy["subs"]), "--lesson", LESSON, "--jobs", "2", "--course-dir", str(course),
                "--timeout", CELL_TIMEOUT] + sandbox_args()) == 0
    summary = capsys.readouterr().out
    every_submission_gets_the_expected_points_per_cell(course)
    summary_prints_each_total_and_the_reason_for_zeros(summary)
    student_files_are_kept_and_logs_written(course)
    report_csv_has_points_per_exercise_and_totals(course, tmp_path / "grades.csv", capsys)
    feedback_shows_reports_and_scores_but_no_hidden_test_source(course)


def every_submission_gets_the_expected_points_per_cell(course):
    """None of the hostile submissions stops the others, and each scores what SUBMISSIONS says."""
    got = grades(course)
    wrong = {s: got[s] for s, (_, expected, _) in SUBMISSIONS.items() if got[s] != pytest.approx(expected)}
    assert not wrong, wrong


def summary_prints_each_total_and_the_reason_for_zeros(summary):
    lines = {ln.split()[0]: ln for ln in summary.splitlines() if ln.startswith("  ") and "/" in ln}
    for student, (_, expected, reason) in SUBMISSIONS.items():
        total = sum(v or 0 for v in expected.values())
        assert re.search(rf"\b{total:.2f} / 6\b", lines[student]), lines[student]
        assert reason in lines[student]
    assert "formgrader" in lines["alice"]  # the written answer waits for a person


def student_files_are_kept_and_logs_written(course):
    assert (course / "autograded" / "bob" / LESSON / "answer.txt").read_text() == "41"
    assert "not valid JSON" in (course / "logs" / LESSON / "ivan.log").read_text()
    # a dead kernel still gets an autograded notebook, which says why each check scored 0
    eve = (course / "autograded" / "eve" / LESSON / f"{LESSON}.ipynb").read_text()
    assert "stopped before reaching this check" in eve
    dave = (course / "autograded" / "dave" / LESSON / f"{LESSON}.ipynb").read_text()
    assert "ran longer than the time limit" in dave


def report_csv_has_points_per_exercise_and_totals(course, path, capsys):
    assert cli(["report", "--course-dir", str(course), "--csv", str(path)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(path.open())}
    assert rows["(max)"]["toy/add_test"] == "3" and rows["(max)"]["total"] == "6"
    assert rows["bob"]["toy/add_test"] == "2" and rows["bob"]["total"] == "3"
    assert rows["alice"]["toy/written"] == ""  # waiting for manual grading
    assert rows["carol"]["total"] == "5" and rows["ivan"]["total"] == "0"
    out = capsys.readouterr().out
    # add_test: full alice carol hank; partial bob gina; zero dave eve frank ivan nora
    assert re.search(r"toy/add_test\s+3\s+3\s+2\s+5\s+0", out), out
    assert re.search(r"toy/written\s+1\s+0\s+0\s+9\s+1", out), out


def feedback_shows_reports_and_scores_but_no_hidden_test_source(course):
    assert cli(["feedback", "--course-dir", str(course)]) == 0
    files = sorted((course / "feedback").glob(f"*/{LESSON}/{LESSON}.html"))
    assert {f.parts[-3] for f in files} >= {"alice", "bob", "dave", "gina"}
    for f in files:
        html = f.read_text()
        assert HIDDEN not in html and "0.25" not in html, f
        assert VISIBLE in html  # visible checks stay
    bob = (course / "feedback" / "bob" / LESSON / f"{LESSON}.html").read_text()
    assert "✗ (hidden) floats" in bob and "Floats too." in bob  # the hidden check's report and hint
    assert "toy (Score: 3.0 / 6.0)" in bob and "Score: 2.0 / 3.0" in bob
    assert not list((course / "feedback").glob("*/toy/answer.txt"))


def test_jobs_1_gives_the_same_grades_as_jobs_2(toy, tmp_path):
    """Graded one at a time, bob and gina score what the --jobs 2 batch test asserts for them."""
    few = tmp_path / "few"
    for s in ("bob", "gina"):
        shutil.copytree(toy["subs"] / s, few / s)
    course1 = tmp_path / "course1"
    assert cli(["grade", str(few), "--lesson", LESSON, "--jobs", "1", "--course-dir", str(course1),
                "--timeout", CELL_TIMEOUT] + sandbox_args()) == 0
    assert grades(course1, ["bob", "gina"]) == {s: pytest.approx(SUBMISSIONS[s][1]) for s in ("bob", "gina")}


def test_hidden_block_removal_keeps_the_rest():
    src = "a = 1\n    ### BEGIN HIDDEN TESTS\n    secret()\n    ### END HIDDEN TESTS\nb = 2"
    assert remove_hidden_tests(src) == "a = 1\n    # (hidden tests removed)\nb = 2"


def test_check_command_exit_code_and_output_without_test_source(toy, capsys):
    assert cli(["check", str(toy["subs"] / "carol" / f"{LESSON}.ipynb"), "--timeout", CELL_TIMEOUT]) == 0
    out = capsys.readouterr().out
    assert "Total (autograded): 5 / 5 points. Full marks!" in out
    assert cli(["check", str(toy["subs"] / "bob" / f"{LESSON}.ipynb"), "--timeout", CELL_TIMEOUT]) == 1
    out = capsys.readouterr().out
    assert "✗ [add_test] 2 / 3 points" in out and "✗ (hidden) floats" in out and "hint: Floats too." in out
    assert HIDDEN not in out and "0.25" not in out and "Total (autograded): 3 / 5 points." in out


def test_wall_clock_limit_kills_the_student_and_its_kernel(toy, tmp_path, monkeypatch):
    """A notebook stuck longer than --student-timeout is killed with its kernel; it scores 0."""
    from autograder.grade import grade

    released = nbformat.read(toy["released"], as_version=4)
    make_submission(released, tmp_path / "one", "zed", add_src="while True:\n    pass")

    def marked():
        """Every process this test started (judge, sandbox, runner, kernel): the host sees into the sandbox."""
        return psutil.Process().children(recursive=True)

    seen_kernel, done = [], threading.Event()

    def watch():
        while not done.wait(0.5):
            for p in marked():
                try:
                    if "ipykernel" in " ".join(p.cmdline()):
                        seen_kernel.append(p.pid)
                except psutil.Error:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:  # cell timeout 120 s, student limit 15 s: only the wall-clock limit can stop this notebook
        _, results = grade(tmp_path / "one", lesson=LESSON, course_dir=tmp_path / "c", student_timeout=15,
                           progress=False, unsafe=bool(sandbox_args()))
    finally:
        done.set()
        watcher.join()
    [outcome] = results[LESSON]
    assert "limit per student" in outcome.reason
    assert grades(tmp_path / "c", ["zed"])["zed"] == {"add_test": 0, "written": 0, "file_test": 0, "env_test": 0}
    assert seen_kernel, "the kernel should have been running when the limit hit"
    assert marked() == []


@pytest.mark.parametrize("argv, message", [
    (["release", "nope"], "no source notebook for lesson 'nope'; available: toy"),
    (["grade", "/does/not/exist"], "does not exist"),
    (["report", "--course-dir", "/does/not/exist"], "does not exist"),
    (["check", "/does/not/exist.ipynb"], "does not exist"),
])
def test_clear_errors_for_missing_lessons_and_dirs(toy, argv, message, capsys):
    assert cli(argv) == 2
    assert message in capsys.readouterr().err


def test_without_lesson_grade_plans_every_lesson_found_in_the_student_folders(toy, tmp_path):
    from autograder.grade import find_submissions

    for student, names in {"amy": ["toy.ipynb", "notes.ipynb"], "ben": ["answer.txt"]}.items():
        (tmp_path / student).mkdir()
        for name in names:
            (tmp_path / student / name).write_text("{}")
    # every student is listed: ben's missing notebook will score 0 with a reason
    assert find_submissions(tmp_path) == {"toy": ["amy", "ben"]}
    assert find_submissions(tmp_path, lesson="toy") == {"toy": ["amy", "ben"]}


def test_grade_refuses_to_run_untrusted_work_without_a_sandbox_unless_told_unsafe(toy, tmp_path, monkeypatch, capsys):
    from autograder import sandbox

    monkeypatch.setattr(sandbox, "available", lambda: (False, "bubblewrap (bwrap) is not installed: install it"))
    assert cli(["grade", str(toy["subs"]), "--lesson", LESSON, "--course-dir", str(tmp_path / "c")]) == 2
    assert "cannot sandbox the submissions: bubblewrap (bwrap) is not installed" in capsys.readouterr().err


def test_grading_works_under_a_temporary_folder_deeper_than_a_unix_socket_path_allows(toy, tmp_path, monkeypatch):
    """CI's pytest workers put TMPDIR ~80 characters deep; the judge's socket must not depend on that."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    few = tmp_path / "few"
    shutil.copytree(toy["subs"] / "bob", few / "bob")
    course = tmp_path / "course"
    assert cli(["grade", str(few), "--lesson", LESSON, "--jobs", "1", "--course-dir", str(course),
                "--timeout", CELL_TIMEOUT] + sandbox_args()) == 0
    assert grades(course, ["bob"]) == {"bob": pytest.approx(SUBMISSIONS["bob"][1])}
