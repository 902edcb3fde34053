"""Friendly, partial-credit checks for the notebook grade cells.

Every graded exercise ends with one cell like::

    from cnnlib.checks import Checks, close
    checks = Checks("conv2d_single", points=3)
    checks.check("2x2 kernel on a 3x3 image", lambda: close(conv2d_single(img, k), expected),
                 hint="Slide the kernel without flipping it.")
    checks.score()          # last line: prints a report, its value is the points earned

nbgrader 0.9 grades such a cell by the first ``execute_result`` whose text
parses as a float, and gives 0 to a cell with *any* stderr output. So each
check runs with Python-level stderr, warnings and file descriptor 2 captured,
and :meth:`Checks.score` always returns a plain ``float`` in ``[0, points]``
(a non-number would earn full credit in nbgrader).
"""
import contextlib
import math
import os
import sys
import tempfile
import warnings

import numpy as np

__all__ = ["Checks", "close", "equal", "raises"]

_MAX_MESSAGE = 300  # characters of an error message shown to the student


def _short(text, limit=_MAX_MESSAGE):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def _capture_fd2():
    """Send OS-level writes to file descriptor 2 into a temporary file.

    ipykernel forwards whatever reaches fd 2 (C extensions, torch's C++
    warnings, subprocesses) as a stderr stream, which nbgrader scores 0.
    Yields a list that receives the captured text when the block ends.
    """
    captured = []
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (some embedded interpreters): nothing to guard
        yield captured
        return
    with tempfile.TemporaryFile() as tmp:
        for stream in (sys.__stderr__, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # earlier buffered text belongs to the cell, not the check
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            with contextlib.suppress(Exception):
                sys.__stderr__.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace"))


class _Result:
    __slots__ = ("description", "hint", "weight", "passed", "error", "warnings", "stderr")

    def __init__(self, description, hint, weight):
        self.description, self.hint, self.weight = description, hint, weight
        self.passed, self.error, self.warnings, self.stderr = False, "", [], ""


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

        Any exception (including ``AssertionError`` from :func:`close`) is a
        failure; its type and message are kept for the report, never a
        traceback. Everything ``fn`` writes to stderr and every warning is
        captured, so a correct answer never loses points because of noise.

        Returns
        -------
        passed : bool
        """
        if not callable(fn):
            raise TypeError(f"check {description!r}: fn must be a callable such as a lambda, got {type(fn).__name__}")
        if not isinstance(weight, (int, float)) or not weight > 0 or not math.isfinite(weight):
            raise ValueError(f"check {description!r}: weight must be a positive number, got {weight!r}")
        result = _Result(str(description), str(hint), float(weight))
        err = _StringSink()
        caught, fd_text = [], []
        try:
            with _capture_fd2() as fd_text, contextlib.redirect_stderr(err), \
                    warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    value = fn()
                    result.passed = _truth(value)
                    if not result.passed:
                        result.error = "the check returned " + _short(repr(value), 60)
                except KeyboardInterrupt:
                    raise  # a cell timeout must still stop the cell
                except BaseException as exc:  # noqa: BLE001 - a student's sys.exit() is a failed check too
                    result.error = _describe_exception(exc)
        finally:
            result.warnings = [_short(f"{w.category.__name__}: {w.message}", 120) for w in caught]
            result.stderr = (err.getvalue() + "".join(fd_text)).strip()
            self.results.append(result)
        return result.passed

    def passed_weight(self):
        return sum(r.weight for r in self.results if r.passed)

    def total_weight(self):
        return sum(r.weight for r in self.results)

    def score(self):
        """Print the per-check report and return the points earned.

        Returns
        -------
        points : float
            ``points * passed_weight / total_weight`` rounded to 2 decimals,
            always a plain float with ``0 <= points <= self.points``.
        """
        total = self.total_weight()
        earned = 0.0 if total == 0 else self.points * self.passed_weight() / total
        earned = float(min(self.points, max(0.0, round(earned, 2))))
        print(self.report(earned))
        return earned

    def report(self, earned=None):
        """The text :meth:`score` prints (stdout only)."""
        n_pass = sum(r.passed for r in self.results)
        if earned is None:
            total = self.total_weight()
            earned = 0.0 if total == 0 else round(self.points * self.passed_weight() / total, 2)
        head = f"{self.name}: {n_pass}/{len(self.results)} checks passed, {_fmt(earned)}/{_fmt(self.points)} points"
        lines = [head]
        if not self.results:
            lines.append("  (no checks ran)")
        for r in self.results:
            lines.append(f"  {'✓' if r.passed else '✗'} {r.description}")
            if not r.passed:
                if r.error:
                    lines.append(f"      problem: {r.error}")
                if r.hint:
                    lines.append(f"      hint: {r.hint}")
            if r.warnings:
                shown = "; ".join(r.warnings[:3]) + (f" (+{len(r.warnings) - 3} more)" if len(r.warnings) > 3 else "")
                lines.append(f"      note: {len(r.warnings)} warning(s) while checking: {shown}")
            if r.stderr:
                lines.append(f"      note: output on stderr while checking: {_short(r.stderr, 120)}")
        if self.results and n_pass == len(self.results):
            lines.append("  All checks passed. Well done!")
        return "\n".join(lines)

    def __repr__(self):
        return f"Checks({self.name!r}, points={_fmt(self.points)}, {len(self.results)} checks)"


class _StringSink:
    """A minimal text stream for ``redirect_stderr`` (isatty False, no fileno)."""

    def __init__(self):
        self._parts = []

    def write(self, s):
        self._parts.append(str(s))
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return False

    def getvalue(self):
        return "".join(self._parts)


def _describe_exception(exc):
    if isinstance(exc, NotImplementedError) and not str(exc):
        return "NotImplementedError: not written yet (replace `raise NotImplementedError()` with your code)"
    return _short(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _fmt(x):
    return f"{x:g}"


def _truth(value):
    if isinstance(value, np.ndarray) and value.size != 1:
        raise ValueError(
            f"the check returned an array of shape {value.shape}; "
            "return True/False (e.g. with np.allclose) instead"
        )
    return bool(value)


def _describe(x):
    if x is None:
        return "None"
    return f"{type(x).__name__} of shape {np.shape(x)}"


def close(actual, expected, atol=1e-6, rtol=1e-5, name="result"):
    """Check that ``actual`` equals ``expected`` up to tolerances, same shape.

    Shapes are compared exactly: nothing is broadcast.

    Returns
    -------
    True
        So it can be used directly as a check: ``lambda: close(f(x), y)``.

    Raises
    ------
    AssertionError
        Naming the shapes or the largest difference and where it is.
    """
    if actual is None:
        raise AssertionError(f"{name} is None: did you forget to `return` it?")
    try:
        a = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} is a {type(actual).__name__}, not an array of numbers") from None
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise AssertionError(f"{name} has shape {a.shape} but expected {e.shape}")
    if a.size == 0:
        return True
    bad_nan = np.isnan(a) & ~np.isnan(e)
    if bad_nan.any():
        where = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        raise AssertionError(f"{name} contains NaN (first at index {where})")
    ok = np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
    if not ok.all():
        diff = np.where(ok, 0.0, np.abs(a - e))
        diff = np.where(np.isnan(diff), np.inf, diff)
        idx = np.unravel_index(int(np.argmax(diff)), a.shape)
        where = tuple(int(i) for i in idx)
        raise AssertionError(
            f"{name} differs from the expected values at {int((~ok).sum())} of {a.size} positions; "
            f"largest difference {float(diff[idx]):.3g} at index {where} "
            f"(got {a[idx]:.6g}, expected {e[idx]:.6g})"
        )
    return True


def equal(actual, expected, name="result"):
    """Check ``actual == expected`` exactly (ints, tuples, strings, shapes).

    Returns True, or raises AssertionError saying what was returned instead.
    """
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape:
            raise AssertionError(f"{name} has shape {a.shape} but expected {e.shape}")
        if not np.array_equal(a, e):
            raise AssertionError(f"{name} differs from the expected values at {int((a != e).sum())} positions")
        return True
    if actual is None and expected is not None:
        raise AssertionError(f"{name} is None: did you forget to `return` it?")
    if not actual == expected:
        raise AssertionError(f"{name} is {_short(repr(actual), 80)} but expected {_short(repr(expected), 80)}")
    return True


def raises(exc_type, fn, *args, **kwargs):
    """Check that ``fn(*args, **kwargs)`` raises ``exc_type`` (e.g. ValueError on bad input).

    Returns True, or raises AssertionError if nothing (or something else) was raised.
    """
    try:
        fn(*args, **kwargs)
    except exc_type:
        return True
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(
            f"expected {exc_type.__name__} but got {type(exc).__name__}: {_short(exc, 120)}"
        ) from None
    raise AssertionError(f"expected {exc_type.__name__} but nothing was raised")
