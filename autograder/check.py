"""``check NOTEBOOK``: for self-learners, grade your own notebook with every check.

Your notebook (a copy, in a temporary folder) is autograded against the lesson's
source, hidden checks included, exactly as an instructor would grade it. Only
the check reports are printed (what passed, hints), never the test code.
Exit code 0 means full marks on every autograded exercise.
"""
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import UsageError, available_lessons, ensure_tools_on_path, prepare_assignment, source_notebook
from .grade import STUDENT_TIMEOUT, grade_one

STUDENT = "you"


def lesson_for(path, lesson=None):
    """The lesson a notebook belongs to: ``lesson``, its file name, or a lesson name it starts with."""
    if lesson:
        source_notebook(lesson)
        return lesson
    lessons = available_lessons()
    if path.stem in lessons:
        return path.stem
    matches = [les for les in lessons if path.stem.startswith(les)]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(f"cannot tell which lesson {path.name!r} is: name it <lesson>.ipynb or pass "
                     f"--lesson; available: {', '.join(lessons) or '(none)'}")


def grade_cell_reports(notebook_path):
    """[(grade_id, printed text)] for each grade cell of an autograded notebook, in order."""
    nb = nbformat.read(notebook_path, as_version=4)
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        texts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                texts.append(o.get("text", "").rstrip("\n"))
            elif o.get("output_type") == "stream":
                texts.append("(this cell wrote to stderr, which scores 0)")
            elif o.get("output_type") == "error":
                texts.append(f"error: {o.get('ename')}: {o.get('evalue')}")
        out.append((meta.get("grade_id"), cell.cell_type, "\n".join(t for t in texts if t)))
    return out


def check(notebook, lesson=None, cell_timeout=120, student_timeout=STUDENT_TIMEOUT):
    """Grade one notebook; print the per-exercise results; return True for full marks."""
    path = Path(notebook)
    if not path.is_file():
        raise UsageError(f"notebook {str(path)!r} does not exist")
    lesson = lesson_for(path, lesson)
    ensure_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="cnn-check-") as tmp:
        tmp = Path(tmp)
        prepare_assignment(tmp / "course", lesson, cell_timeout)
        # the student's folder: this notebook under the lesson's name, plus the files next to it
        mine = tmp / "mine"
        mine.mkdir()
        for item in path.resolve().parent.iterdir():
            if item.is_file() and item.suffix != ".ipynb" and not item.name.startswith("."):
                shutil.copy2(item, mine / item.name)
        shutil.copy2(path, mine / f"{lesson}.ipynb")
        print(f"Checking {path} as lesson {lesson} (every check, hidden ones included)...", flush=True)
        outcome = grade_one(tmp / "course", lesson, STUDENT, mine, tmp / "work", cell_timeout, student_timeout)
        if not outcome.ok:
            print(f"\nCould not grade your notebook: {outcome.reason}")
            return False
        reports = grade_cell_reports(tmp / "work" / "autograded" / STUDENT / lesson / f"{lesson}.ipynb")
    earned = total = 0.0
    print()
    for grade_id, cell_type, text in reports:
        score, max_score, _ = outcome.scores.get(grade_id, (0.0, 0.0, False))
        if cell_type == "markdown" or (score is None):
            print(f"[{grade_id}] written answer, {max_score:g} points: graded by a person, not counted here\n")
            continue
        earned += score
        total += max_score
        mark = "✓" if score >= max_score else "✗"
        print(f"{mark} [{grade_id}] {score:g} / {max_score:g} points")
        if text:
            print("    " + text.replace("\n", "\n    "))
        print()
    full = earned >= total
    print(f"Total (autograded): {earned:g} / {total:g} points." + (" Full marks!" if full else ""))
    return full


def main(args):
    return 0 if check(args.notebook, lesson=args.lesson, cell_timeout=args.timeout) else 1
