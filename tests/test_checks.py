"""cnnlib.checks: partial credit that nbgrader can read, and no stderr leaks."""
import os
import sys
import warnings

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnnlib.checks import Checks, close, equal, raises


def test_all_passing_checks_earn_all_points(capsys):
    c = Checks("demo", points=3)
    assert c.check("truthy", lambda: True) is True
    assert c.check("numpy bool", lambda: np.allclose([1.0], [1.0])) is True
    assert c.score() == 3.0
    out = capsys.readouterr().out
    assert "demo: 2/2 checks passed" in out and "✓ truthy" in out and "✗" not in out
    assert out.rstrip().endswith("score: 3 / 3 points")  # the bare value under the report is explained


def test_failure_and_exception_show_hint_and_short_message_but_no_traceback(capsys):
    c = Checks("demo", points=2)
    assert c.check("returns False", lambda: False, hint="Look again.") is False
    assert c.check("raises", lambda: 1 / 0, hint="Avoid dividing by zero.") is False
    assert c.score() == 0.0
    out = capsys.readouterr().out
    assert "✗ returns False" in out and "hint: Look again." in out
    assert "ZeroDivisionError: division by zero" in out and "hint: Avoid dividing by zero." in out
    assert "Traceback" not in out


def test_score_is_points_times_passed_weight_share_rounded_to_two_decimals():
    c = Checks("w", points=3)
    c.check("light pass", lambda: True, weight=1)
    c.check("heavy fail", lambda: False, weight=2)
    assert c.score() == 1.0
    c2 = Checks("thirds", points=1)
    for ok in (True, False, False):
        c2.check("x", lambda ok=ok: ok)
    assert c2.score() == 0.33


def test_score_is_a_plain_float_within_bounds_and_repr_parses_as_float():
    """nbgrader gives FULL credit to an execute_result that does not parse as a float."""
    for passed in range(4):
        c = Checks("b", points=2.5)
        for i in range(3):
            c.check(str(i), lambda i=i: i < passed)
        s = c.score()
        assert type(s) is float and 0.0 <= s <= 2.5
        assert float(repr(s)) == s


def test_no_checks_scores_zero_and_bad_arguments_are_rejected():
    assert Checks("empty", points=1).score() == 0.0
    with pytest.raises(ValueError, match="points"):
        Checks("bad", points=0)
    with pytest.raises(ValueError, match="weight"):
        Checks("w", 1).check("neg", lambda: True, weight=-1)
    with pytest.raises(TypeError, match="callable"):
        Checks("w", 1).check("not callable", True)


def test_array_result_and_sys_exit_are_failures_with_explanations(capsys):
    c = Checks("arr", points=1)
    assert not c.check("array", lambda: np.ones(3))
    assert not c.check("exit", lambda: sys.exit(3))
    c.score()
    out = capsys.readouterr().out
    assert "got an array of shape (3,)" in out and "SystemExit: 3" in out


def test_keyboard_interrupt_still_stops_the_cell():
    """A cell timeout interrupts the kernel; swallowing it would hang grading."""
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Checks("k", 1).check("interrupt", interrupted)


def test_a_check_runs_quietly_prints_bars_warnings_and_stderr_never_reach_the_report(capfd):
    """Noise costs no points, and the report under a check cell is only the report."""
    from tqdm import tqdm

    def noisy():
        print("debug print")
        sys.stderr.write("python-level\n")
        os.write(2, b"fd-level\n")
        warnings.warn("careful", RuntimeWarning)
        for _ in tqdm(range(3), desc="train"):
            pass
        return True

    c = Checks("noisy", points=1)
    assert c.check("noisy but right", noisy)
    assert c.score() == 1.0
    out, err = capfd.readouterr()
    assert err == ""
    assert "debug print" not in out and "careful" not in out and "fd-level" not in out and "train" not in out
    assert out.rstrip().endswith("score: 1 / 1 points")


def test_failures_name_what_was_compared_and_hidden_checks_hide_expected_values(capsys):
    from cnnlib.checks import expect, set_hidden

    c = Checks("msgs", points=4)
    c.check("bare comparison", lambda: np.float32(1) == 2)
    c.check("dtype", lambda: equal(np.zeros(2).dtype, np.dtype(np.float32), name="dtype"))
    c.check("expect", lambda: expect(False, "the input was changed"))
    set_hidden(True)
    try:
        c.check("hidden close", lambda: close([1.0, 2.0], [1.0, 3.5]), hint="look at index 1")
        c.check("hidden equal", lambda: equal(4, 7, name="size"))
    finally:
        set_hidden(False)
    c.check("visible close", lambda: close([1.0, 2.0], [1.0, 3.5]))
    c.score()
    out = capsys.readouterr().out
    assert "np.False_" not in out and "the condition was not met" in out
    assert "dtype is dtype('float64') but expected dtype('float32')" in out
    assert "problem: the input was changed" in out
    hidden = out[out.index("(hidden) hidden close"):out.index("✗ visible close")]
    assert "3.5" not in hidden and "7" not in hidden and "got 2" in hidden and "size is 4" in hidden
    assert "expected 3.5" in out[out.index("✗ visible close"):]


def test_partial_checks_earn_their_share_and_say_so(capsys):
    c = Checks("model", points=10)
    assert c.partial("accuracy", lambda: 0.7, hint="train longer") == 0.7
    assert c.score() == 7.0
    out = capsys.readouterr().out
    assert "◐ accuracy (70% of this check)" in out and "hint: train longer" in out and "score: 7 / 10 points" in out
    assert Checks("bad", 1).partial("out of range", lambda: 1.5) == 0.0


def test_close_names_shapes_and_largest_difference():
    assert close(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(AssertionError, match=r"shape \(2, 3, 5, 5\) but expected \(2, 3, 6, 6\)"):
        close(np.zeros((2, 3, 5, 5)), np.zeros((2, 3, 6, 6)))
    with pytest.raises(AssertionError, match=r"has shape \(3,\) but expected \(1, 3\)"):
        close(np.zeros(3), np.zeros((1, 3)))  # never broadcast
    with pytest.raises(AssertionError, match=r"largest difference 0.5 at index \(1, 0\)"):
        close([[0.0, 0.0], [0.5, 0.0]], np.zeros((2, 2)), name="out")
    with pytest.raises(AssertionError, match="None: did you forget to `return`"):
        close(None, np.zeros(2))
    with pytest.raises(AssertionError, match="NaN"):
        close([np.nan], [0.0])


def test_equal_and_raises_helpers():
    assert equal(3, 3) and equal((2, 3), (2, 3))
    with pytest.raises(AssertionError, match=r"output_size\(5, 3\) is 4 but expected 3"):
        equal(4, 3, name="output_size(5, 3)")
    assert raises(ValueError, int, "x")
    with pytest.raises(AssertionError, match="expected ValueError but nothing was raised"):
        raises(ValueError, int, "3")
    with pytest.raises(AssertionError, match="expected ValueError but got TypeError"):
        raises(ValueError, len, 3)


@pytest.mark.slow
def test_in_a_real_kernel_the_grade_cell_has_no_stderr_stream_and_a_float_result(tmp_path):
    """ipykernel forwards fd-2 writes as stderr streams, which nbgrader scores 0."""
    from nbgrader.utils import determine_grade

    from autograder.notebooks import execute

    source = (
        "import os, sys, warnings\n"
        "from cnnlib.checks import Checks\n"
        "def noisy():\n"
        "    sys.stderr.write('py\\n'); os.write(2, b'fd\\n'); warnings.warn('w')\n"
        "    return True\n"
        "checks = Checks('noisy', points=2)\n"
        "checks.check('noisy but right', noisy)\n"
        "checks.check('wrong', lambda: 1 / 0)\n"
        "checks.check('right', lambda: True, weight=2)\n"
        "checks.score()"
    )
    cell = new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t", "schema_version": 3}})
    path = tmp_path / "k.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    ran = execute(path)
    outputs = ran.cells[0].outputs
    assert [o.get("name") for o in outputs if o.output_type == "stream"] == ["stdout"]
    result = [o for o in outputs if o.output_type == "execute_result"]
    assert result[0].data["text/plain"] == "1.5"
    assert determine_grade(ran.cells[0]) == (1.5, 2.0)
