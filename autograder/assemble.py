"""Notebook surgery for grading, on trusted data only (no code runs here).

:func:`prepare` turns a submission into the notebook the sandbox runs: every
grade cell, wherever it is and whatever its metadata became, is replaced by a
call to the judge (:func:`autograder.agent.serve`); a grade cell the learner
deleted or retyped is put back after the cell that defines the exercise's
function (found by name, so a renamed ``grade_id``, a duplicated solution
cell or stripped metadata still grade correctly); locked cells come from the
lesson's source.

:func:`autograded` builds the notebook an instructor (formgrader) and the
feedback see: the learner's cells with their outputs (text and images only,
truncated), and every grade cell from the source with the judge's report.
"""
import ast
import copy
import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

MAX_NOTEBOOK_BYTES = 50 << 20
MAX_TEXT = 20_000  # characters kept per text output
MAX_IMAGE = 1 << 20  # bytes of one base64 image kept
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")  # no HTML/JS/SVG from a submission reaches a browser


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def read_notebook(path):
    """Read a (possibly hostile) notebook: size-limited, nbformat 4, or ValueError saying why."""
    data = open(path, "rb").read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise ValueError("the notebook file is not UTF-8 text (damaged or not a notebook)") from None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the notebook file is not valid JSON (damaged or not a notebook: {type(exc).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("the notebook has no list of cells")
    return nb


def defined_names(source):
    """Top-level names a code cell defines (functions, classes, assignments); empty if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


PLACEHOLDER = "YOUR ANSWER HERE"


def written_answers(notebook_path, source_nb):
    """``{grade_id: (points, started)}`` for the written answers of a submission (by grade_id)."""
    try:
        sub = read_notebook(notebook_path)
    except ValueError:
        sub = nbformat.v4.new_notebook()
    given = {_meta(c).get("grade_id"): str(c.get("source", "")) for c in sub.cells if c.get("cell_type") == "markdown"}
    out = {}
    for cell in source_nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "markdown" and meta.get("grade"):
            text = given.get(meta["grade_id"], "").strip()
            out[meta["grade_id"]] = (float(meta.get("points", 0)), bool(text) and text != PLACEHOLDER)
    return out


def serve_cell(grade_id, address):
    cell = new_code_cell(f"import autograder.agent as _cnn_agent\n_cnn_agent.serve({grade_id!r}, {address!r})")
    cell.metadata["cnn_serve"] = grade_id
    return cell


def _exercise_names(source_nb):
    """grade_id of each code grade cell -> names defined by the solution cell(s) just before it."""
    names, pending = {}, set()
    for cell in source_nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            pending |= defined_names(cell.source)
        elif cell.cell_type == "code" and meta.get("grade"):
            names[meta["grade_id"]], pending = pending, set()
    return names


def prepare(student_path, source_nb, address):
    """The notebook the sandbox runs for ``student_path`` (see the module docstring)."""
    student = read_notebook(student_path)
    grade_ids = [_meta(c)["grade_id"] for c in source_nb.cells if c.cell_type == "code" and _meta(c).get("grade")]
    locked = {_meta(c)["grade_id"]: c for c in source_nb.cells
              if c.cell_type == "code" and _meta(c).get("locked") and not _meta(c).get("grade")}
    out, placed = [], set()
    for index, cell in enumerate(student.cells):
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        gid = _meta(cell).get("grade_id")
        if gid in grade_ids:
            if gid not in placed:
                out.append(serve_cell(gid, address))
                placed.add(gid)
            continue
        if cell.cell_type != "code":
            continue  # only code runs; the autograded notebook takes markdown from the submission
        if gid in locked and _meta(cell).get("locked"):
            out.append(new_code_cell(locked[gid].source, metadata={"nbgrader": dict(_meta(locked[gid]))}))
        else:
            out.append(new_code_cell(str(cell.get("source", ""))))
        out[-1].metadata["cnn_from"] = index  # which submission cell this is, to bring its outputs back
    exercise = _exercise_names(source_nb)
    for gid in grade_ids:
        if gid in placed:
            continue
        after = max((i for i, c in enumerate(out)
                     if not c.metadata.get("cnn_serve") and defined_names(c.source) & exercise.get(gid, set())),
                    default=len(out) - 1)
        out.insert(after + 1, serve_cell(gid, address))
    nb = nbformat.v4.new_notebook(cells=out)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _clean_outputs(outputs):
    clean = []
    for out in outputs if isinstance(outputs, list) else []:
        kind = out.get("output_type")
        if kind == "stream":
            text = str(out.get("text", ""))
            clean.append(new_output("stream", name=out.get("name") if out.get("name") in ("stdout", "stderr")
                                    else "stdout", text=text[:MAX_TEXT] + ("\n…(cut)" if len(text) > MAX_TEXT else "")))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in (out.get("data") or {}).items() if k in SAFE_MIME}
            data = {k: (str(v)[:MAX_TEXT] if k == "text/plain" else v) for k, v in data.items()
                    if k == "text/plain" or len(str(v)) <= MAX_IMAGE}
            if data:
                clean.append(new_output("display_data", data=data))
        elif kind == "error":
            clean.append(new_output("error", ename=str(out.get("ename", "Error"))[:200],
                                    evalue=str(out.get("evalue", ""))[:MAX_TEXT], traceback=[]))
    return clean


def autograded(executed, student_path, source_nb, results):
    """The autograded notebook: submission cells (safe outputs) + source grade cells with the judge's reports.

    Parameters
    ----------
    executed : NotebookNode or None
        What the sandbox ran (untrusted; None if unreadable).
    student_path : path
        The submission, for its markdown cells (written answers).
    results : dict
        ``grade_id -> {"score", "max", "report", "reason"}`` from the judge.
    """
    grade_cells = {_meta(c)["grade_id"]: c for c in source_nb.cells if _meta(c).get("grade")}
    solution_ids = {_meta(c)["grade_id"] for c in source_nb.cells if _meta(c).get("solution")}
    ran = {}
    for cell in (executed.cells if executed is not None else []):
        index = cell.get("metadata", {}).get("cnn_from")
        if isinstance(index, int):
            ran[index] = cell.get("outputs", [])
    try:
        student = read_notebook(student_path)
    except ValueError:
        student = nbformat.v4.new_notebook()
    cells, seen = [], set()
    for index, cell in enumerate(student.cells):
        gid = _meta(cell).get("grade_id")
        if gid in grade_cells and grade_cells[gid].cell_type == "code":
            if gid not in seen:
                cells.append(_graded_cell(grade_cells[gid], results.get(gid)))
                seen.add(gid)
            continue
        if gid in grade_cells and cell.get("cell_type") == "markdown" and gid not in seen:
            answer = new_markdown_cell(str(cell.get("source", "")), metadata={"nbgrader": dict(_meta(grade_cells[gid]))})
            cells.append(answer)
            seen.add(gid)
            continue
        keep_meta = gid in solution_ids and gid not in seen  # duplicates and unknown ids lose their metadata
        if keep_meta:
            seen.add(gid)
        meta = {"nbgrader": dict(_meta(cell))} if keep_meta else {}
        if cell.get("cell_type") == "markdown":
            cells.append(new_markdown_cell(str(cell.get("source", "")), metadata=meta))
        elif cell.get("cell_type") == "code":
            outputs = _clean_outputs(ran.get(index, []))
            cells.append(new_code_cell(str(cell.get("source", "")), metadata=meta, outputs=outputs))
    for gid, src in grade_cells.items():  # deleted by the learner: shown (and graded) anyway
        if gid not in seen:
            if src.cell_type == "code":
                cells.append(_graded_cell(src, results.get(gid)))
            else:
                cells.append(new_markdown_cell("*(no answer: this cell was missing from the submission)*",
                                               metadata={"nbgrader": dict(_meta(src))}))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _graded_cell(source_cell, result):
    cell = copy.deepcopy(source_cell)
    result = result or {"score": 0.0, "report": "", "reason": "0 points: not graded"}
    text = result.get("report", "") or ""
    if result.get("reason"):
        text += ("\n" if text else "") + result["reason"]
    cell.outputs = [new_output("stream", name="stdout", text=text.rstrip("\n") + "\n"),
                    new_output("execute_result", data={"text/plain": repr(float(result.get("score", 0.0)))},
                               execution_count=None)]
    return cell
