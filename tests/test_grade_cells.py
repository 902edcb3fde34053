"""Every lesson's grade cells can be judged outside the learner's kernel.

The judge runs each grade cell in a fresh namespace where only the learner's
solution names are bound (to stand-ins that call into the sandbox). So a grade
cell must import and build everything else itself: a grade cell that read, say,
the setup cell's ``digit`` would take its input from the learner's kernel,
which the learner controls.
"""
import ast

import pytest

from autograder.assemble import defined_names
from autograder.course import available_lessons
from autograder.judge import free_names, grade_cells, mark_hidden
from lesson_tools import meta, source

LESSONS = available_lessons()


def solution_names(nb):
    names = set()
    for c in nb.cells:
        if c.cell_type == "code" and meta(c).get("solution"):
            names |= defined_names(c.source)
    return names


@pytest.mark.parametrize("lesson", LESSONS)
def test_grade_cells_use_only_their_own_names_and_the_learners_solutions(lesson):
    nb = source(lesson)
    allowed = solution_names(nb)
    for grade_id, _, src in grade_cells(nb):
        strangers = set(free_names(src)) - allowed
        assert not strangers, f"{lesson}/{grade_id} uses {sorted(strangers)} from the notebook: define them in the cell"


@pytest.mark.parametrize("lesson", LESSONS)
def test_grade_cells_end_with_the_score_and_parse_with_hidden_markers(lesson):
    for grade_id, points, src in grade_cells(source(lesson)):
        tree = ast.parse(mark_hidden(src))
        last = tree.body[-1]
        assert isinstance(last, ast.Expr) and ast.unparse(last).endswith(".score()"), \
            f"{lesson}/{grade_id} must end with checks.score()"
        assert points > 0


def test_free_names_sees_through_functions_lambdas_and_comprehensions():
    src = ("import numpy as np\nfrom x import y as z\ndef f(a):\n    return conv(a) + np.sum(b)\n"
           "g = lambda q: pad(q)\nvals = [Net()(k) for k in range(3)]\nclass C:\n    pass\n"
           "try:\n    pass\nexcept ValueError as err:\n    print(err, z, C, f, g, vals)\n")
    assert free_names(src) == ["Net", "b", "conv", "pad"]


def test_hidden_markers_become_calls_with_the_same_indentation():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nif a:\n    ### BEGIN HIDDEN TESTS\n    b = 2\n    ### END HIDDEN TESTS\n"
    assert mark_hidden(src).split("\n")[1] == "__cnn_hidden__(True)"
    assert mark_hidden(src).split("\n")[3] == "    __cnn_hidden__(True)"
    assert mark_hidden(src).split("\n")[5] == "    __cnn_hidden__(False)"
