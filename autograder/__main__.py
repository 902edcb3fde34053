"""python -m autograder COMMAND: the instructor side of the course, a thin layer over nbgrader.

Workflow: release -> hand out lessons/ -> collect submissions -> grade -> (manual
grading in formgrader) -> feedback -> report. Self-learners use `check`.

Submissions layout for `grade`:
    SUBMISSIONS_DIR/<student>/<lesson>.ipynb      e.g. subs/alice/01_convolution.ipynb
    SUBMISSIONS_DIR/<student>/<any other file>    copied next to the notebook (e.g. mnist_cnn.pt)
Results go to the nbgrader course directory (default: course/ in the repository): gradebook.db,
autograded/<student>/<lesson>/, feedback/<student>/<lesson>/, logs/<lesson>/<student>.log.
"""
import argparse
import sys

from . import notebooks
from .course import CELL_TIMEOUT, UsageError, ensure_tools_on_path


def build_parser():
    from .grade import STUDENT_TIMEOUT

    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("strip", help="strip outputs from committed notebooks")
    p.add_argument("paths", nargs="*", help="notebooks (default: lessons/ and autograder/source/)")

    p = sub.add_parser("release", help="regenerate lessons/<lesson>.ipynb from autograder/source/",
                       description="Regenerate student notebooks with nbgrader generate_assignment "
                                   "(solutions and hidden tests removed, outputs stripped).")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help="lesson names (default: every source)")

    p = sub.add_parser("grade", help="autograde SUBMISSIONS_DIR/<student>/<lesson>.ipynb",
                       formatter_class=raw, description=__doc__.split("\n\n", 1)[1])
    p.add_argument("submissions_dir", metavar="SUBMISSIONS_DIR")
    p.add_argument("--lesson", help="grade only this lesson (default: lessons found in the folders)")
    p.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default 1)")
    p.add_argument("--course-dir", help="nbgrader course directory (default: course/ in the repository)")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                   help=f"seconds per cell before it is interrupted (default {CELL_TIMEOUT})")
    p.add_argument("--student-timeout", type=float, default=STUDENT_TIMEOUT,
                   help=f"wall-clock seconds per student notebook (default {STUDENT_TIMEOUT})")
    p.add_argument("--unsafe", action="store_true",
                   help="grade without a sandbox when bubblewrap is unavailable (trusted work only)")

    p = sub.add_parser("feedback", help="per-student HTML feedback without hidden-test source")
    p.add_argument("--course-dir", help="nbgrader course directory (default: course/ in the repository)")
    p.add_argument("--lesson", help="only this lesson (default: every graded lesson)")

    p = sub.add_parser("report", help="class CSV and per-exercise pass rates")
    p.add_argument("--course-dir", help="nbgrader course directory (default: course/ in the repository)")
    p.add_argument("--csv", help="where to write the CSV (default COURSE_DIR/grades.csv)")

    p = sub.add_parser("check", help="self-check: run ALL checks on your notebook (exit 0 = full marks)")
    p.add_argument("notebook", metavar="NOTEBOOK", help="e.g. lessons/01_convolution.ipynb")
    p.add_argument("--lesson", help="lesson name if the file was renamed")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    ensure_tools_on_path()
    try:
        if args.command == "strip":
            return notebooks.main_strip(args.paths)
        if args.command == "release":
            from . import release
            return release.main(args.lessons)
        if args.command == "grade":
            from . import grade
            return grade.main(args)
        if args.command == "feedback":
            from . import feedback
            return feedback.main(args)
        if args.command == "report":
            from . import report
            return report.main(args)
        if args.command == "check":
            from . import check
            return check.main(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
