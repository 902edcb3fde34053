"""``grade SUBMISSIONS_DIR``: autograde every student's notebook, safely, in parallel.

For each student a fresh judge process (:mod:`autograder.judge`) runs the
notebook in a sandbox and scores every grade cell itself; the student's code
never computes its own score and cannot reach the course directory, the
gradebook or any other student. Only this process writes the gradebook, one
student at a time, after that student's sandbox has ended, so the batch always
finishes with a row for every student, whatever a submission does.
"""
import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .assemble import written_answers
from .course import (CELL_TIMEOUT, UsageError, available_lessons, ensure_tools_on_path, existing_dir,
                     gradebook_url, kill_tree, prepare_assignment, source_notebook)

STUDENT_TIMEOUT = 900  # wall-clock seconds for one student's whole notebook
MAX_FILE_BYTES = 1 << 30  # a submitted file larger than this is refused


@dataclass
class Outcome:
    """What happened to one (student, lesson) submission."""

    student: str
    lesson: str
    ok: bool = False
    reason: str = ""
    seconds: float = 0.0
    work_dir: Path = None
    log: str = ""
    scores: dict = field(default_factory=dict)  # grade_id -> (auto_score, max_score, needs_manual)
    reports: dict = field(default_factory=dict)  # grade_id -> printed report (+ reason)


def find_submissions(submissions_dir, lesson=None):
    """Map lesson -> sorted student names from ``SUBMISSIONS_DIR/<student>/<lesson>.ipynb``.

    With ``lesson`` given, every student folder is listed (a missing notebook
    scores 0); otherwise the lessons are those found in any student's folder.
    """
    students = sorted(p.name for p in submissions_dir.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    if not students:
        raise UsageError(f"no student folders in {str(submissions_dir)!r}; expected "
                         "SUBMISSIONS_DIR/<student>/<lesson>.ipynb")
    if lesson:
        source_notebook(lesson)
        return {lesson: students}
    known = set(available_lessons())
    found = {}
    for s in students:
        for nb in (submissions_dir / s).glob("*.ipynb"):
            if nb.stem in known:
                found.setdefault(nb.stem, set()).add(s)
    if not found:
        raise UsageError(f"no notebook named after a lesson in {str(submissions_dir)!r}; "
                         f"available lessons: {', '.join(sorted(known))}")
    return {les: students for les in sorted(found)}


def stage_submission(student_dir, lesson, dest):
    """Copy the lesson notebook and the student's other regular files into ``dest``.

    Returns a reason string if the submission is refused (a symlink anywhere,
    a file too large), else "".
    """
    dest.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(student_dir, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                return f"0 points: {path.relative_to(student_dir)} is a symbolic link; submit real files only"
            if not path.is_dir() and not stat.S_ISREG(path.lstat().st_mode):
                return f"0 points: {path.relative_to(student_dir)} is not a regular file"
    for item in sorted(student_dir.iterdir()):
        if item.name.startswith(".") or not item.is_file():
            continue
        if item.suffix == ".ipynb" and item.name != f"{lesson}.ipynb":
            continue
        if item.stat().st_size > MAX_FILE_BYTES:
            return f"0 points: {item.name} is larger than {MAX_FILE_BYTES >> 20} MB"
        shutil.copyfile(item, dest / item.name)
    return ""


def judge_command(lesson, work, cell_timeout, student_timeout, unsafe, slot):
    cmd = [sys.executable, "-m", "autograder.judge", "--lesson", lesson, "--work", str(work),
           "--cell-timeout", str(cell_timeout), "--student-timeout", str(student_timeout), "--slot", str(slot)]
    return cmd + (["--unsafe"] if unsafe else [])


def judge_env():
    from .course import nbgrader_env

    env = nbgrader_env({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return env


def grade_one(lesson, student, student_dir, work, cell_timeout, student_timeout, unsafe=False, slot=0):
    """Judge one student in the throwaway folder ``work``; return an :class:`Outcome` (never raises)."""
    from .assemble import autograded, read_notebook

    out = Outcome(student, lesson, work_dir=work)
    start = time.monotonic()
    try:
        work.mkdir(parents=True)
        if not (student_dir / f"{lesson}.ipynb").is_file():
            out.reason = f"0 points: no {lesson}.ipynb submitted"
            return out
        out.reason = stage_submission(student_dir, lesson, work / "submission")
        if out.reason:
            return out
        try:
            read_notebook(work / "submission" / f"{lesson}.ipynb")
        except ValueError as exc:
            out.reason = f"0 points: {exc}"
            return out
        log_path = work / "judge.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(judge_command(lesson, work, cell_timeout, student_timeout, unsafe, slot),
                                    env=judge_env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                proc.wait(timeout=student_timeout + 120)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                proc.wait()
        out.log = _tail(log_path) + _tail(work / "runner.log")
        result_path = work / "result.json"
        if not result_path.is_file():
            out.reason = "0 points: the grader failed on this notebook (see the log)"
            return out
        result = json.loads(result_path.read_text())
        source = read_notebook(source_notebook(lesson))
        try:
            executed = read_notebook(work / "sandbox" / "executed.ipynb")
        except (OSError, ValueError):
            executed = None
        import nbformat

        nbformat.write(autograded(executed, work / "submission" / f"{lesson}.ipynb", source, result["cells"]),
                       work / "autograded.ipynb")
        for gid, cell in result["cells"].items():
            out.scores[gid] = (cell["score"], cell["max"], False)
            out.reports[gid] = cell["report"] + (("\n" + cell["reason"]) if cell["reason"] else "")
        for gid, (points, started) in written_answers(work / "submission" / f"{lesson}.ipynb", source).items():
            # like nbgrader: an answer never started scores 0 at once; a started one waits for a person
            out.scores[gid] = (None, points, True) if started else (0.0, points, False)
        out.ok = True
        if result.get("timed_out"):
            out.reason = f"stopped after the {student_timeout:g} s limit per student (checks not reached score 0)"
        elif result.get("runner_code"):
            out.reason = ("the kernel died while running the notebook (os._exit, a crash or out of memory): "
                          "checks not reached score 0")
    except Exception as exc:  # noqa: BLE001 - one student's problem must not stop the batch
        out.reason = f"0 points: {type(exc).__name__}: {exc}"
    finally:
        out.seconds = time.monotonic() - start
    return out


def _tail(path, limit=20_000):
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def merge(course_dir, outcome):
    """Write one student's results into the course directory and gradebook (the only gradebook writer)."""
    from nbgrader.api import Gradebook

    s, les = outcome.student, outcome.lesson
    for kind in ("submitted", "autograded"):
        dest = course_dir / kind / s / les
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
    work = outcome.work_dir
    if work is not None and (work / "submission").is_dir():
        for item in (work / "submission").iterdir():
            shutil.copyfile(item, course_dir / "submitted" / s / les / item.name)
    if outcome.ok:
        for item in (work / "submission").iterdir():
            if item.suffix != ".ipynb":
                shutil.copyfile(item, course_dir / "autograded" / s / les / item.name)
        shutil.copyfile(work / "autograded.ipynb", course_dir / "autograded" / s / les / f"{les}.ipynb")
    logs = course_dir / "logs" / les
    logs.mkdir(parents=True, exist_ok=True)
    reports = "\n\n".join(f"[{gid}]\n{text}" for gid, text in outcome.reports.items())
    (logs / f"{s}.log").write_text(f"reason: {outcome.reason or 'graded'}\n\n{reports}\n\n{outcome.log}")
    with warnings.catch_warnings(), Gradebook(gradebook_url(course_dir)) as gb:
        # nbgrader's own update_or_create_submission trips SQLAlchemy autoflush warnings
        warnings.simplefilter("ignore")
        gb.update_or_create_student(s)
        gb.update_or_create_submission(les, s)
        nb = gb.find_submission_notebook(les, les, s)
        for grade in nb.grades:
            auto, _, manual = outcome.scores.get(grade.name, (0.0, None, False)) if outcome.ok else (0.0, None, False)
            grade.auto_score = auto
            grade.needs_manual_grade = bool(manual and grade.manual_score is None)
        gb.db.commit()


def totals(course_dir, lesson, students):
    """(student, score, max_score, needs_manual) rows from the main gradebook."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(gradebook_url(course_dir)) as gb:
        for s in students:
            sub = gb.find_submission(lesson, s)
            rows.append((s, sub.score, sub.max_score, sub.needs_manual_grade))
    return rows


def check_sandbox(unsafe):
    """Refuse to grade untrusted work without a sandbox, unless told ``--unsafe``."""
    from . import sandbox

    ok, why = sandbox.available()
    if not ok and not unsafe:
        raise UsageError(f"cannot sandbox the submissions: {why}")
    return ok and not unsafe


def grade(submissions_dir, lesson=None, jobs=1, course_dir=None, cell_timeout=CELL_TIMEOUT,
          student_timeout=STUDENT_TIMEOUT, progress=True, unsafe=False):
    """Grade a submissions folder; return (course_dir, {lesson: [Outcome, ...]} sorted by student)."""
    from tqdm import tqdm

    from .course import DEFAULT_COURSE_DIR

    ensure_tools_on_path()
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    sandboxed = check_sandbox(unsafe)
    submissions_dir = existing_dir(submissions_dir, "submissions directory")
    plan = find_submissions(submissions_dir, lesson)
    course_dir = Path(course_dir or DEFAULT_COURSE_DIR).resolve()
    results = {}
    with tempfile.TemporaryDirectory(prefix="cnn-grade-") as tmp:
        tmp = Path(tmp)
        for les, students in plan.items():
            prepare_assignment(course_dir, les, cell_timeout)
            slots = queue.Queue()
            for slot in range(max(1, jobs)):
                slots.put(slot)

            def task(i, s, les=les, slots=slots):
                slot = slots.get()
                try:
                    # short folder names: unix socket paths must stay < 108 bytes
                    return grade_one(les, s, submissions_dir / s, tmp / les[:2] / f"s{i}", cell_timeout,
                                     student_timeout, unsafe=not sandboxed, slot=slot)
                finally:
                    slots.put(slot)

            outcomes = []
            bar = tqdm(total=len(students), desc=f"grading {les}", unit="student", disable=not progress)
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futures = [pool.submit(task, i, s) for i, s in enumerate(students)]
                for fut in as_completed(futures):
                    outcome = fut.result()
                    merge(course_dir, outcome)  # serial: one gradebook writer, after the sandbox ended
                    if outcome.work_dir is not None:
                        shutil.rmtree(outcome.work_dir, ignore_errors=True)
                    outcomes.append(outcome)
                    bar.update(1)
            bar.close()
            results[les] = sorted(outcomes, key=lambda o: o.student)
    return course_dir, results


def print_summary(course_dir, results):
    for les, outcomes in results.items():
        by_student = {o.student: o for o in outcomes}
        print(f"\n{les}: {len(outcomes)} students (course dir {course_dir})")
        width = max(len("student"), *(len(o.student) for o in outcomes))
        print(f"  {'student':<{width}}  {'points':>13}  {'time':>6}  note")
        for s, score, max_score, manual in totals(course_dir, les, sorted(by_student)):
            o = by_student[s]
            note = o.reason or ("written answers to grade in formgrader" if manual else "")
            print(f"  {s:<{width}}  {score:6.2f} / {max_score:<4g}  {o.seconds:5.1f}s  {note}")


def main(args):
    course_dir, results = grade(args.submissions_dir, lesson=args.lesson, jobs=args.jobs,
                                course_dir=args.course_dir, cell_timeout=args.timeout,
                                student_timeout=args.student_timeout, unsafe=args.unsafe)
    print_summary(course_dir, results)
    return 0
