"""lessons/ is exactly what `python -m autograder release` makes, and it hides every answer."""
import re

import nbformat
import pytest

from autograder.course import available_lessons
from autograder.notebooks import LESSONS, SOURCE
from autograder.release import release

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
BLOCK = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)\n[^\n]*END \1", re.S)


def sources():
    return [SOURCE / les / f"{les}.ipynb" for les in available_lessons()]


def released_files():
    return sorted(p for p in LESSONS.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def secret_and_public_lines():
    """Lines inside solution/hidden-test blocks (and written-answer cells) vs. lines shown to students."""
    secret, public = set(), set()
    for path in sources():
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            text = cell.source
            if cell.cell_type == "markdown" and meta.get("solution"):
                secret |= {ln.strip() for ln in text.splitlines()}  # the whole written answer is replaced
                continue
            inside = {ln.strip() for m in BLOCK.finditer(text) for ln in m.group(2).splitlines()}
            secret |= inside
            public |= {ln.strip() for ln in BLOCK.sub("", text).splitlines()}
    trivial = {ln for ln in secret if len(re.sub(r"\W", "", ln)) < 4}
    return secret - public - trivial, public


@pytest.mark.parametrize("lesson", available_lessons())
def test_lessons_notebook_is_the_byte_identical_release_of_its_source(lesson, tmp_path):
    fresh = release(lesson, tmp_path)
    committed = LESSONS / f"{lesson}.ipynb"
    assert committed.is_file(), f"run `python -m autograder release {lesson}`"
    stale = f"lessons/{lesson}.ipynb is stale: run `python -m autograder release {lesson}`"
    assert committed.read_bytes() == fresh.read_bytes(), stale


def test_every_lessons_notebook_has_a_source():
    assert {p.stem for p in LESSONS.glob("*.ipynb")} <= set(available_lessons())


def test_no_marker_solution_or_hidden_test_line_in_any_released_file():
    secret, _ = secret_and_public_lines()
    assert secret, "the sources have solution blocks"
    for path in released_files():
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{marker!r} in {path}"
        if path.suffix == ".ipynb":
            lines = {ln.strip() for c in nbformat.read(path, as_version=4).cells for ln in c.source.splitlines()}
        else:
            lines = {ln.strip() for ln in text.splitlines()}
        leaked = sorted(lines & secret)
        assert not leaked, f"{path} shows solution/hidden-test lines: {leaked[:5]}"
