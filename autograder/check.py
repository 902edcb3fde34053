"""``check NOTEBOOK``: for self-learners, grade your own notebook with every check.

Your notebook (a copy, in a temporary folder) is graded exactly as an
instructor's ``grade`` would: it runs (sandboxed when bubblewrap is available;
it is your own code, so otherwise it runs as you) and the judge runs every
check, hidden ones included. Only the check reports are printed (what passed,
hints), never the test code or the hidden expected values.
Exit code 0 means full marks on every autograded exercise.
"""
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import UsageError, available_lessons, ensure_tools_on_path, source_notebook
from .assemble import written_answers
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


def check(notebook, lesson=None, cell_timeout=120, student_timeout=STUDENT_TIMEOUT):
    """Grade one notebook; print the per-exercise results; return True for full marks."""
    from . import sandbox

    path = Path(notebook)
    if not path.is_file():
        raise UsageError(f"notebook {str(path)!r} does not exist")
    lesson = lesson_for(path, lesson)
    ensure_tools_on_path()
    sandboxed, _ = sandbox.available()
    with tempfile.TemporaryDirectory(prefix="cnn-check-") as tmp:
        tmp = Path(tmp)
        mine = tmp / "mine"  # the learner's folder: this notebook under the lesson's name, plus the files next to it
        mine.mkdir()
        for item in path.resolve().parent.iterdir():
            if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb" and not item.name.startswith("."):
                shutil.copy2(item, mine / item.name)
        shutil.copy2(path, mine / f"{lesson}.ipynb")
        print(f"Checking {path} as lesson {lesson} (every check, hidden ones included"
              f"{'' if sandboxed else '; no sandbox here, so it runs as you'})...", flush=True)
        outcome = grade_one(lesson, STUDENT, mine, tmp / "w", cell_timeout, student_timeout, unsafe=not sandboxed)
        if not outcome.ok:
            print(f"\nCould not grade your notebook: {outcome.reason}")
            return False
        answers = written_answers(mine / f"{lesson}.ipynb", nbformat.read(source_notebook(lesson), as_version=4))
    earned = total = 0.0
    print()
    for grade_id, (score, max_score, _) in outcome.scores.items():
        if grade_id in answers:
            continue
        earned += score
        total += max_score
        mark = "✓" if score >= max_score else "✗"
        print(f"{mark} [{grade_id}] {score:g} / {max_score:g} points")
        text = outcome.reports.get(grade_id, "").strip()
        if text:
            print("    " + text.replace("\n", "\n    "))
        print()
    for grade_id, (points, started) in answers.items():
        state = "written answer present" if started else "written answer not started"
        print(f"[{grade_id}] {state} ({points:g} points, graded by a person, not counted here)\n")
    full = earned >= total
    print(f"Total (autograded): {earned:g} / {total:g} points." + (" Full marks!" if full else ""))
    return full


def main(args):
    return 0 if check(args.notebook, lesson=args.lesson, cell_timeout=args.timeout) else 1
