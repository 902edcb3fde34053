"""Reading, stripping and executing notebooks: shared by the CLI and the tests."""
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
SOURCE = ROOT / "autograder" / "source"


def strip_outputs(nb):
    """Remove outputs, execution counts and run-time metadata from ``nb`` in place.

    Returns True when anything changed, so callers can rewrite only dirty files.
    """
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                changed = True
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    return changed


def committed_notebooks():
    """Every notebook we commit: the student lessons and the instructor sources."""
    found = list(LESSONS.glob("*.ipynb")) + list(SOURCE.glob("*/*.ipynb"))
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def strip_file(path):
    """Strip one notebook file in place; return True if it was rewritten."""
    nb = nbformat.read(path, as_version=4)
    if strip_outputs(nb):
        nbformat.write(nb, path)
        return True
    return False


def execute(path, cwd=None, timeout=600, env=None):
    """Run a notebook top to bottom in a fresh python3 kernel and return it executed.

    Raises ``nbclient.exceptions.CellExecutionError`` naming the failing cell.
    ``env`` entries are added to this process's environment for the kernel only.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    kernel_env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    kernel_env.update(env or {})
    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=180,  # a loaded 2-core machine can take over a minute to start a kernel
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or Path(path).parent)}},
    )
    # nbclient forwards extra kwargs to the kernel manager's start_kernel.
    client.execute(env=kernel_env)
    return nb


def main_strip(paths=None):
    paths = [Path(p) for p in paths] if paths else committed_notebooks()
    for p in paths:
        if strip_file(p):
            print(f"stripped {p.relative_to(ROOT) if p.is_absolute() else p}")
    return 0


if __name__ == "__main__":
    sys.exit(main_strip(sys.argv[1:]))
