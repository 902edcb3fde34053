"""Comparisons for checks: ``close``, ``equal``, ``raises``, ``expect``.

Each returns True or raises :class:`CheckFailure`, an ``AssertionError`` that
carries two messages: the full one (shapes, first wrong index, got vs expected)
for visible checks, and one without the expected values for hidden checks,
which must never reveal them. :class:`cnnlib.checks.Checks` picks the right one.
"""
import numpy as np

__all__ = ["CheckFailure", "close", "equal", "raises", "expect"]

_MAX_MESSAGE = 300  # characters of a message shown to the student


def short(text, limit=_MAX_MESSAGE):
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CheckFailure(AssertionError):
    """A failed comparison; ``hidden_message`` omits the expected values."""

    def __init__(self, message, hidden_message=None):
        super().__init__(message)
        self.hidden_message = message if hidden_message is None else hidden_message


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"


def close(actual, expected, atol=1e-6, rtol=1e-5, name="result"):
    """Check that ``actual`` equals ``expected`` up to tolerances, with the same shape.

    Shapes are compared exactly: nothing is broadcast.

    Returns
    -------
    True
        So it can be used directly as a check: ``lambda: close(f(x), y)``.

    Raises
    ------
    CheckFailure
        Naming the shapes, or how many values differ, the largest difference and where.
    """
    if actual is None:
        raise CheckFailure(f"{name} is None: did you forget to `return` it?")
    if hasattr(actual, "detach") and hasattr(actual, "numpy"):  # a torch tensor
        actual = actual.detach().numpy()
    try:
        a = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailure(f"{name} is {_describe(actual)}, not an array of numbers") from None
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise CheckFailure(f"{name} has shape {a.shape} but expected {e.shape}")
    if a.size == 0:
        return True
    bad_nan = np.isnan(a) & ~np.isnan(e)
    if bad_nan.any():
        where = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        raise CheckFailure(f"{name} contains NaN (first at index {where})")
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
        if ok.all():
            return True
        diff = np.where(ok, 0.0, np.abs(a - e))
    diff = np.where(np.isnan(diff), np.inf, diff)
    idx = np.unravel_index(int(np.argmax(diff)), a.shape)
    where = tuple(int(i) for i in idx)
    first = tuple(int(i) for i in np.argwhere(~ok)[0])
    head = (f"{name} differs from the expected values at {int((~ok).sum())} of {a.size} positions "
            f"(first at index {first}); largest difference {float(diff[idx]):.3g} at index {where}")
    raise CheckFailure(f"{head} (got {a[idx]:.6g}, expected {e[idx]:.6g})", f"{head} (got {a[idx]:.6g})")


def equal(actual, expected, name="result"):
    """Check ``actual == expected`` exactly (ints, tuples, strings, dtypes, shapes, int arrays).

    Returns True, or raises :class:`CheckFailure` saying what was returned instead.
    """
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape:
            raise CheckFailure(f"{name} has shape {a.shape} but expected {e.shape}")
        if not np.array_equal(a, e):
            wrong = a != e
            first = tuple(int(i) for i in np.argwhere(wrong)[0])
            head = f"{name} differs from the expected values at {int(wrong.sum())} positions (first at index {first}"
            raise CheckFailure(f"{head}: got {a[first]!r}, expected {e[first]!r})", f"{head}: got {a[first]!r})")
        return True
    if actual is None and expected is not None:
        raise CheckFailure(f"{name} is None: did you forget to `return` it?")
    if type(actual) is not type(expected) and isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(actual, (float, np.floating)) and isinstance(expected, int):
            raise CheckFailure(f"{name} is the float {actual!r}; expected the int {expected!r}",
                               f"{name} is the float {actual!r}; expected an int")
    if not actual == expected:
        got = short(repr(actual), 80)
        raise CheckFailure(f"{name} is {got} but expected {short(repr(expected), 80)}",
                           f"{name} is {got}, which is not the expected value")
    return True


def raises(exc_type, fn, *args, **kwargs):
    """Check that ``fn(*args, **kwargs)`` raises ``exc_type`` (e.g. ValueError on bad input).

    Returns True, or raises :class:`CheckFailure` if nothing (or something else) was raised.
    """
    try:
        fn(*args, **kwargs)
    except exc_type:
        return True
    except Exception as exc:  # noqa: BLE001
        raise CheckFailure(f"expected {exc_type.__name__} but got {type(exc).__name__}: {short(exc, 120)}") from None
    raise CheckFailure(f"expected {exc_type.__name__} but nothing was raised")


def expect(condition, message, hidden_message=None):
    """Pass if ``condition`` is true; otherwise fail with ``message`` (say what was found).

    Use it instead of returning a bare comparison, so the report names the case::

        lambda: expect(out.dtype == np.float32, f"the dtype is {out.dtype}, expected float32")
    """
    if isinstance(condition, np.ndarray) and condition.size != 1:
        raise TypeError(f"expect() needs one True/False, got an array of shape {condition.shape}")
    if not bool(condition):
        raise CheckFailure(message, hidden_message)
    return True
