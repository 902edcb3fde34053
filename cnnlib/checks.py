"""Friendly, partial-credit checks for the notebook grade cells.

Every graded exercise ends with one cell like::

    from cnnlib.checks import Checks, close
    checks = Checks("conv2d_single", points=3)
    checks.check("2x2 kernel on a 3x3 image", lambda: close(conv2d_single(img, k), expected),
                 hint="Slide the kernel without flipping it.")
    checks.score()          # last line: prints a report, its value is the points earned

In the learner's notebook only the visible checks run (their fast feedback).
When work is graded, the same cell, hidden checks included, runs in the
grader's *judge* process (see ``autograder/judge.py``): the learner's
functions are called in a sandbox and only their results come back, so
nothing a submission does can change how it is scored. Hidden checks never
show their expected values (:class:`cnnlib.asserts.CheckFailure` carries a
message without them).

:meth:`Checks.score` returns a plain ``float`` in ``[0, points]`` and prints
the report, whose last line ("score: 1.5 / 2 points") explains that number.
Each check runs quietly: prints, progress bars, warnings and stderr of the
code under test are discarded, so noise never costs points.
"""
import math

import numpy as np

from ._quiet import quiet
from .asserts import CheckFailure, close, equal, expect, raises, short

__all__ = ["Checks", "close", "equal", "raises", "expect", "set_hidden"]

_state = {"hidden": False}


def set_hidden(flag):
    """Mark the checks that follow as hidden (the judge calls this at the hidden-test markers)."""
    _state["hidden"] = bool(flag)


class _Result:
    __slots__ = ("description", "hint", "weight", "fraction", "error", "hidden")

    def __init__(self, description, hint, weight, hidden):
        self.description, self.hint, self.weight, self.hidden = description, hint, weight, hidden
        self.fraction, self.error = 0.0, ""

    @property
    def passed(self):
        return self.fraction >= 1.0


class Checks:
    """A group of checks for one exercise, worth ``points`` in total.

    Parameters
    ----------
    name : str
        Exercise name shown in the report (usually the function's name).
    points : float
        Points of the grade cell; :meth:`score` returns a share of them.
    """

    def __init__(self, name, points):
        if not isinstance(points, (int, float)) or isinstance(points, bool) or not points > 0:
            raise ValueError(f"points must be a positive number, got {points!r}")
        if not math.isfinite(points):
            raise ValueError(f"points must be finite, got {points!r}")
        self.name = str(name)
        self.points = float(points)
        self.results = []

    def check(self, description, fn, hint="", weight=1.0):
        """Run ``fn()`` now; it passes if it returns something truthy.

        Any exception (including the :class:`CheckFailure` of :func:`close`) is a
        failure; its type and message are kept for the report, never a traceback.

        Returns
        -------
        passed : bool
        """
        result = self._run(description, fn, hint, weight, _as_pass)
        return result.passed

    def partial(self, description, fn, hint="", weight=1.0):
        """Run ``fn()`` now; it returns the share of this check earned, in ``[0, 1]``.

        For graded quantities such as a model's accuracy; the report shows the percentage.

        Returns
        -------
        fraction : float
        """
        return self._run(description, fn, hint, weight, _as_fraction).fraction

    def _run(self, description, fn, hint, weight, judge):
        if not callable(fn):
            raise TypeError(f"check {description!r}: fn must be a callable such as a lambda, got {type(fn).__name__}")
        if not isinstance(weight, (int, float)) or not weight > 0 or not math.isfinite(weight):
            raise ValueError(f"check {description!r}: weight must be a positive number, got {weight!r}")
        result = _Result(str(description), str(hint), float(weight), _state["hidden"])
        try:
            with quiet():
                try:
                    result.fraction, result.error = judge(fn())
                except KeyboardInterrupt:
                    raise  # a cell timeout must still stop the cell
                except CheckFailure as exc:
                    result.error = short(exc.hidden_message if result.hidden else str(exc))
                except BaseException as exc:  # noqa: BLE001 - a learner's sys.exit() is a failed check too
                    result.error = _describe_exception(exc)
        finally:
            self.results.append(result)
        return result

    def passed_weight(self):
        return sum(r.weight * r.fraction for r in self.results)

    def total_weight(self):
        return sum(r.weight for r in self.results)

    def earned(self):
        """Points earned so far, rounded to 2 decimals, within ``[0, points]``."""
        total = self.total_weight()
        earned = 0.0 if total == 0 else self.points * self.passed_weight() / total
        return float(min(self.points, max(0.0, round(earned, 2))))

    def score(self):
        """Print the per-check report and return the points earned.

        Returns
        -------
        points : float
            ``points * passed_weight / total_weight`` rounded to 2 decimals,
            always a plain float with ``0 <= points <= self.points``.
        """
        earned = self.earned()
        print(self.report(earned))
        return earned

    def report(self, earned=None):
        """The text :meth:`score` prints."""
        earned = self.earned() if earned is None else earned
        n_pass = sum(r.passed for r in self.results)
        n_part = sum(0 < r.fraction < 1 for r in self.results)
        lines = [f"{self.name}: {n_pass}/{len(self.results)} checks passed" + (f", {n_part} in part" if n_part else "")]
        if not self.results:
            lines.append("  (no checks ran)")
        for r in self.results:
            mark = "✓" if r.passed else ("◐" if r.fraction > 0 else "✗")
            share = f" ({r.fraction:.0%} of this check)" if 0 < r.fraction < 1 else ""
            lines.append(f"  {mark} {'(hidden) ' if r.hidden else ''}{r.description}{share}")
            if not r.passed:
                if r.error:
                    lines.append(f"      problem: {r.error}")
                if r.hint:
                    lines.append(f"      hint: {r.hint}")
        if self.results and n_pass == len(self.results):
            if any(r.hidden for r in self.results):
                lines.append("  All checks passed, hidden ones included. Well done!")
            else:
                lines.append("  All checks here passed. Well done! (Grading may run further hidden cases.)")
        lines.append(f"score: {_fmt(earned)} / {_fmt(self.points)} points")
        return "\n".join(lines)

    def __repr__(self):
        return f"Checks({self.name!r}, points={_fmt(self.points)}, {len(self.results)} checks)"


def _as_pass(value):
    if isinstance(value, np.ndarray) and value.size != 1:
        return 0.0, (f"the check got an array of shape {value.shape} where it needs one True/False "
                     "(e.g. use np.allclose)")
    if bool(value):
        return 1.0, ""
    return 0.0, "the condition was not met"


def _as_fraction(value):
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        return 0.0, f"the check needs a number between 0 and 1, got {short(repr(value), 60)}"
    if not 0.0 <= fraction <= 1.0:
        return 0.0, f"the check needs a number between 0 and 1, got {fraction:g}"
    return fraction, ""


def _describe_exception(exc):
    if isinstance(exc, NotImplementedError) and not str(exc):
        return "NotImplementedError: not written yet (replace `raise NotImplementedError()` with your code)"
    return short(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _fmt(x):
    return f"{x:g}"
