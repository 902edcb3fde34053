"""Every notebook runs top to bottom headless, and every committed notebook is stripped."""
import shutil

import nbformat
import pytest

from autograder.notebooks import committed_notebooks, execute, strip_outputs
from conftest import ROOT

NOTEBOOKS = committed_notebooks()


def _id(path):
    return str(path.relative_to(ROOT))


def test_there_is_a_notebook_per_lesson_folder():
    assert any(p.name == "00_welcome.ipynb" for p in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_runs_headless_in_fast_mode(path, tmp_path, real_data_dir):
    """Run a copy in a scratch folder, so files a notebook writes (saved models) stay out of the repo."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = execute(copy, cwd=tmp_path, timeout=600, env={"CNNLIB_FAST": "1"})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_committed_notebook_has_no_outputs_or_execution_counts(path):
    nb = nbformat.read(path, as_version=4)
    assert not strip_outputs(nb), f"{_id(path)} has outputs: run `make strip`"


def test_strip_removes_outputs_counts_and_widget_state(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"state": {}}
    assert strip_outputs(nb)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None and "widgets" not in nb.metadata
    assert not strip_outputs(nb)
