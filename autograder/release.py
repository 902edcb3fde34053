"""``release [LESSON ...]``: regenerate lessons/<lesson>.ipynb from its nbgrader source.

nbgrader generate_assignment runs in a throwaway course directory; only the
generated notebook is copied back, outputs stripped, so the same source always
gives a byte-identical student notebook.
"""
import tempfile
from pathlib import Path

import nbformat

from .course import available_lessons, generate, source_notebook
from .notebooks import LESSONS, strip_outputs


def release_notebook(lesson):
    """Return the student version of ``lesson`` as a stripped notebook node."""
    source_notebook(lesson)  # clear error before any work
    with tempfile.TemporaryDirectory(prefix="cnn-release-") as tmp:
        nb = nbformat.read(generate(tmp, lesson, database=False), as_version=4)
    strip_outputs(nb)
    return nb


def release(lesson, out_dir=LESSONS):
    """Write ``out_dir/<lesson>.ipynb``; return its path."""
    nb = release_notebook(lesson)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{lesson}.ipynb"
    nbformat.write(nb, path)
    return path


def main(lessons, out_dir=LESSONS):
    lessons = lessons or available_lessons()
    for lesson in lessons:
        source_notebook(lesson)
    for lesson in lessons:
        path = release(lesson, out_dir)
        print(f"released {lesson} -> {path}")
    return 0
