"""``report``: the class grade table (CSV) and per-exercise pass rates.

CSV columns: ``student``, then for each lesson and graded cell
``<lesson>/<grade_id>`` (points), then ``<lesson>/total`` and ``total``.
A cell still waiting for manual grading is left empty.
"""
import csv
from pathlib import Path

from .course import DEFAULT_COURSE_DIR, UsageError, ensure_tools_on_path, existing_dir, gradebook_url


def collect(course_dir):
    """Return (columns, max_points, rows) from the course gradebook.

    ``columns`` are (lesson, grade_id) pairs in notebook order; ``rows`` maps
    student -> {(lesson, grade_id): points or None (needs manual grading)}.
    """
    from nbgrader.api import Gradebook, MissingEntry

    if not (course_dir / "gradebook.db").is_file():
        raise UsageError(f"no gradebook in {str(course_dir)!r}: run `python -m autograder grade` first")
    columns, max_points, rows = [], {}, {}
    with Gradebook(gradebook_url(course_dir)) as gb:
        assignments = [a for a in gb.assignments if a.num_submissions > 0]
        for a in assignments:
            for nb in a.notebooks:
                for cell in nb.grade_cells:
                    columns.append((a.name, cell.name))
                    max_points[(a.name, cell.name)] = cell.max_score
        for a in assignments:
            for student in sorted(s.id for s in gb.students):
                try:
                    sub = gb.find_submission(a.name, student)
                except MissingEntry:
                    continue
                row = rows.setdefault(student, {})
                for nb in sub.notebooks:
                    for g in nb.grades:
                        pending = g.needs_manual_grade and g.manual_score is None
                        row[(a.name, g.name)] = None if pending else float(g.score)
    return columns, max_points, rows


def write_csv(path, columns, max_points, rows):
    lessons = list(dict.fromkeys(les for les, _ in columns))
    header = ["student"] + [f"{les}/{gid}" for les, gid in columns] + [f"{les}/total" for les in lessons] + ["total"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerow(["(max)"] + [f"{max_points[c]:g}" for c in columns]
                   + [f"{sum(max_points[c] for c in columns if c[0] == les):g}" for les in lessons]
                   + [f"{sum(max_points.values()):g}"])
        for student in sorted(rows):
            row = rows[student]
            cells = [row.get(c) for c in columns]
            per_lesson = [sum(row.get(c) or 0.0 for c in columns if c[0] == les) for les in lessons]
            w.writerow([student] + ["" if v is None else f"{v:g}" for v in cells]
                       + [f"{t:g}" for t in per_lesson] + [f"{sum(per_lesson):g}"])


def pass_rates(columns, max_points, rows):
    """[(lesson, grade_id, full, partial, zero, pending)] over the students who submitted the lesson."""
    table = []
    for c in columns:
        values = [r[c] for r in rows.values() if c in r]
        full = sum(v is not None and v >= max_points[c] for v in values)
        zero = sum(v is not None and v <= 0 for v in values)
        pending = sum(v is None for v in values)
        table.append((c[0], c[1], full, len(values) - full - zero - pending, zero, pending))
    return table


def main(args):
    ensure_tools_on_path()
    course_dir = existing_dir(args.course_dir or DEFAULT_COURSE_DIR, "course directory")
    columns, max_points, rows = collect(course_dir)
    if not rows:
        raise UsageError(f"no graded submissions in {str(course_dir)!r}: run `python -m autograder grade` first")
    path = Path(args.csv) if args.csv else course_dir / "grades.csv"
    write_csv(path, columns, max_points, rows)
    print(f"wrote {path} ({len(rows)} students, {len(columns)} graded cells)")
    width = max(len(f"{les}/{gid}") for les, gid in columns)
    print(f"\n{'exercise':<{width}}  points  full  partial  zero  to grade")
    for les, gid, full, partial, zero, pending in pass_rates(columns, max_points, rows):
        name = f"{les}/{gid}"
        print(f"{name:<{width}}  {max_points[(les, gid)]:6g}  {full:4d}  {partial:7d}  {zero:4d}  {pending:8d}")
    return 0
