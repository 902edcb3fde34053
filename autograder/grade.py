"""``grade SUBMISSIONS_DIR``: autograde every student's notebook, in parallel, robustly.

nbgrader's autograde is serial and shares one gradebook (nbgrader issue 174),
so each student is graded by ``nbgrader autograde`` in a subprocess with its
own throwaway course directory and gradebook, under a wall-clock limit. The
results (autograded notebook, submitted files, scores) are then merged into
the main course directory one student at a time. A submission that breaks
nbgrader (invalid JSON, dead kernel, timeout) gets 0 points and a logged reason;
the batch always finishes.
"""
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .course import (CELL_TIMEOUT, UsageError, available_lessons, ensure_tools_on_path, error_lines,
                     existing_dir, gradebook_url, prepare_assignment, remove_ipc_files, run_nbgrader,
                     source_notebook, write_config)

STUDENT_TIMEOUT = 900  # wall-clock seconds for one student's whole notebook


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
    scores: dict = field(default_factory=dict)  # grade_id -> (auto_score, max_score)


def find_submissions(submissions_dir, lesson=None):
    """Map lesson -> sorted student names from ``SUBMISSIONS_DIR/<student>/<lesson>.ipynb``.

    With ``lesson`` given, every student folder is listed (a missing notebook
    scores 0); otherwise the lessons are those found in any student's folder.
    """
    students = sorted(p.name for p in submissions_dir.iterdir()
                      if p.is_dir() and not p.name.startswith("."))
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
    """Copy the lesson notebook and every non-notebook file of a student into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in student_dir.iterdir():
        if item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, dirs_exist_ok=True)
        elif item.suffix != ".ipynb" or item.name == f"{lesson}.ipynb":
            shutil.copy2(item, dest / item.name)


def grade_one(template, lesson, student, student_dir, work, cell_timeout, student_timeout):
    """Autograde one student in the throwaway course dir ``work``; return an :class:`Outcome` (never raises)."""
    out = Outcome(student, lesson)
    start = time.monotonic()
    try:
        (work / "source").mkdir(parents=True)
        shutil.copytree(template / "source" / lesson, work / "source" / lesson)
        shutil.copy2(template / "gradebook.db", work / "gradebook.db")
        write_config(work, cell_timeout)
        out.work_dir = work
        if not (student_dir / f"{lesson}.ipynb").is_file():
            out.reason = f"0 points: no {lesson}.ipynb submitted"
            return out
        stage_submission(student_dir, lesson, work / "submitted" / student / lesson)
        for attempt in range(2):  # a kernel that fails to start is the machine's fault: retry once
            code, out.log = run_nbgrader(["autograde", lesson, "--student", student, "--force"], work,
                                         log_path=work / "autograde.log", timeout=student_timeout)
            if code == 0 or not any(k in out.log for k in KERNEL_START_FAILURES):
                break
        graded = work / "autograded" / student / lesson / f"{lesson}.ipynb"
        remove_ipc_files(work)  # a dead or killed kernel leaves its sockets behind
        if code is None:
            out.reason = f"0 points: stopped after the {student_timeout:g} s limit per student"
        elif code != 0 or not graded.is_file():
            out.reason = explain_failure(out.log, code)
        else:
            out.ok = True
            out.scores = read_scores(work, lesson, student)
    except Exception as exc:  # noqa: BLE001 - one student's problem must not stop the batch
        out.reason = f"{type(exc).__name__}: {exc}"
    finally:
        out.seconds = time.monotonic() - start
    return out


KERNEL_START_FAILURES = ("Kernel didn't respond", "Kernel died before replying")
KNOWN_FAILURES = [
    ("DeadKernelError", "the kernel died while running the notebook (os._exit, a crash or out of memory)"),
    ("NotJSONError", "the notebook file is not valid JSON (damaged or not a notebook)"),
    ("JSONDecodeError", "the notebook file is not valid JSON (damaged or not a notebook)"),
    ("Kernel didn't respond", "the kernel did not start"),
    ("Kernel died before replying", "the kernel did not start"),
]


def explain_failure(log, code):
    """A one-line reason why nbgrader could not grade a notebook."""
    for needle, reason in KNOWN_FAILURES:
        if needle in log:
            return f"0 points: {reason}"
    return "0 points: nbgrader could not grade it: " + (error_lines(log) or f"exit code {code}")


def read_scores(course_dir, lesson, student):
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course_dir)) as gb:
        nb = gb.find_submission_notebook(lesson, lesson, student)
        return {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in nb.grades}


def merge(course_dir, outcome):
    """Copy one student's results into the main course dir and gradebook."""
    from nbgrader.api import Gradebook

    s, les = outcome.student, outcome.lesson
    for kind in ("submitted", "autograded"):
        dest = course_dir / kind / s / les
        if dest.exists():
            shutil.rmtree(dest)
        src = outcome.work_dir / kind / s / les if outcome.work_dir else None
        if src is not None and src.is_dir():
            shutil.copytree(src, dest)
    logs = course_dir / "logs" / les
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{s}.log").write_text(f"reason: {outcome.reason or 'graded'}\n\n{outcome.log}")
    with warnings.catch_warnings(), Gradebook(gradebook_url(course_dir)) as gb:
        # nbgrader's own update_or_create_submission trips SQLAlchemy autoflush warnings
        warnings.simplefilter("ignore")
        gb.update_or_create_student(s)
        gb.update_or_create_submission(les, s)
        nb = gb.find_submission_notebook(les, les, s)
        for grade in nb.grades:
            if outcome.ok:
                auto, _, manual = outcome.scores.get(grade.name, (0.0, None, False))
                grade.auto_score = auto
                grade.needs_manual_grade = bool(manual or grade.manual_score is not None)
            else:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        if outcome.ok:
            with Gradebook(gradebook_url(outcome.work_dir)) as wgb:
                for c in wgb.find_submission_notebook(les, les, s).comments:
                    gb.find_comment(c.name, les, les, s).auto_comment = c.auto_comment
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


def grade(submissions_dir, lesson=None, jobs=1, course_dir=None, cell_timeout=CELL_TIMEOUT,
          student_timeout=STUDENT_TIMEOUT, progress=True):
    """Grade a submissions folder; return {lesson: [Outcome, ...]} sorted by student."""
    from tqdm import tqdm

    from .course import DEFAULT_COURSE_DIR

    ensure_tools_on_path()
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    submissions_dir = existing_dir(submissions_dir, "submissions directory")
    plan = find_submissions(submissions_dir, lesson)
    course_dir = Path(course_dir or DEFAULT_COURSE_DIR).resolve()
    results = {}
    with tempfile.TemporaryDirectory(prefix="cnn-grade-") as tmp:
        tmp = Path(tmp)
        for les, students in plan.items():
            prepare_assignment(course_dir, les, cell_timeout)
            # each worker starts from the main gradebook (it knows the assignment's cells)
            template = tmp / les / "template"
            (template / "source").mkdir(parents=True)
            shutil.copytree(course_dir / "source" / les, template / "source" / les)
            shutil.copy2(course_dir / "gradebook.db", template / "gradebook.db")
            work_root = tmp / les / "work"
            work_root.mkdir(parents=True)
            outcomes = []
            bar = tqdm(total=len(students), desc=f"grading {les}", unit="student", disable=not progress)
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                # short work dir names: kernels' unix socket paths must stay < 108 bytes
                futures = [pool.submit(grade_one, template, les, s, submissions_dir / s, work_root / f"s{i}",
                                       cell_timeout, student_timeout) for i, s in enumerate(students)]
                for fut in as_completed(futures):
                    outcome = fut.result()
                    merge(course_dir, outcome)  # serial: one gradebook writer at a time
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
                                student_timeout=args.student_timeout)
    print_summary(course_dir, results)
    return 0
