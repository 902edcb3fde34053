"""``feedback``: per-student HTML feedback, without hidden-test source.

Runs nbgrader's GenerateFeedback with :class:`autograder.hide_tests.HideHiddenTests`
inserted before the HTML export, so students see every check's report and
their score but never the hidden checks' code. Output:
``COURSE_DIR/feedback/<student>/<lesson>/<lesson>.html``.
"""
import logging
from pathlib import Path

from .course import DEFAULT_COURSE_DIR, UsageError, converter_config, ensure_tools_on_path, existing_dir

PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.hide_tests.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def graded_lessons(course_dir):
    """Lessons with at least one autograded notebook."""
    return sorted({p.name for p in (course_dir / "autograded").glob("*/*") if p.is_dir()})


def generate_feedback(course_dir, lesson):
    """Write the feedback HTML of every graded student of ``lesson``; return the files."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    cfg = converter_config(course_dir, lesson)
    cfg.GenerateFeedback.force = True
    cfg.GenerateFeedback.preprocessors = PREPROCESSORS
    converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
    converter.log.setLevel(logging.WARNING)
    converter.start()
    # nbgrader also copies the student's own files (e.g. a saved model): feedback is the HTML only
    for path in (course_dir / "feedback").glob(f"*/{lesson}/**/*"):
        if path.is_file() and path.suffix != ".html":
            path.unlink()
    return sorted((course_dir / "feedback").glob(f"*/{lesson}/*.html"))


def main(args):
    ensure_tools_on_path()
    course_dir = existing_dir(args.course_dir or DEFAULT_COURSE_DIR, "course directory")
    lessons = graded_lessons(course_dir)
    if args.lesson:
        if args.lesson not in lessons:
            raise UsageError(f"no graded notebooks for lesson {args.lesson!r} in {str(course_dir)!r}; "
                             f"graded lessons: {', '.join(lessons) or '(none: run grade first)'}")
        lessons = [args.lesson]
    if not lessons:
        raise UsageError(f"nothing graded yet in {str(course_dir)!r}: run `python -m autograder grade` first")
    for lesson in lessons:
        files = generate_feedback(course_dir, lesson)
        print(f"{lesson}: {len(files)} feedback files in {Path(course_dir) / 'feedback'}/<student>/{lesson}/")
    return 0
