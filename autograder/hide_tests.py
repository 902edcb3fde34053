"""Keep hidden-test source out of student feedback.

nbgrader puts hidden tests back into autograded notebooks and shows them in
feedback by design (nbgrader issue #917). This preprocessor runs before the
HTML export: it removes every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN
TESTS`` block from cell sources and reduces error outputs to "Name: message",
because IPython tracebacks quote the source lines of the failing cell. The
printed check report (stdout) and the score are kept.
"""
from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
NOTE = "# (hidden tests removed)"


def remove_hidden_tests(source):
    """Return ``source`` without its hidden-test blocks (a note marks each one)."""
    out, hiding = [], False
    for line in source.split("\n"):
        if BEGIN in line:
            hiding = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + NOTE)
        elif END in line:
            hiding = False
        elif not hiding:
            out.append(line)
    return "\n".join(out)


def hide_cell(cell):
    """Strip hidden tests and traceback text from one cell in place."""
    if BEGIN in cell.source:
        cell.source = remove_hidden_tests(cell.source)
    if cell.cell_type == "code":
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    return cell


class HideHiddenTests(NbGraderPreprocessor):
    """nbgrader preprocessor wrapper around :func:`hide_cell`."""

    def preprocess_cell(self, cell, resources, cell_index):
        return hide_cell(cell), resources
