"""Lesson cells that survive a learner's bug.

A "try it" cell after an exercise runs the learner's function on real data. If
that function is unfinished or broken, the cell must say so in one clear line
and the rest of the lesson must still run. Two tools:

* :func:`try_it` wraps the body of a try-it cell::

      with try_it("conv2d_single"):
          edges = conv2d_single(digit, sobel_x)
          plt.imshow(edges)

* :func:`mine_or_reference` picks the function later cells use: the learner's
  if it runs on a small probe, otherwise cnnlib's reference (and says so)::

      conv = mine_or_reference("conv2d", conv2d, reference_conv2d,
                               probe=lambda f: f(x[:2], w, b))
"""
import contextlib

from .asserts import short

__all__ = ["try_it", "mine_or_reference", "explain"]


def explain(name, exc):
    """One line saying what went wrong while using the learner's ``name``."""
    if isinstance(exc, NotImplementedError):
        return f"{name} is not written yet"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"trying your {name} failed with {short(text, 200)}"


def _capital(text):
    return text[:1].upper() + text[1:]


@contextlib.contextmanager
def try_it(name):
    """Run a try-it cell's body; if it raises, print one line instead of a traceback.

    Parameters
    ----------
    name : str
        The learner's function(s) the cell tries, e.g. ``"conv2d"`` or ``"pad2d and conv2d"``.
    """
    try:
        yield
    except NotImplementedError:
        print(f"{name} is not written yet: implement it above, then re-run this cell.")
    except Exception as exc:  # noqa: BLE001 - any bug of the learner's, or output it cannot handle
        print(f"{_capital(explain(name, exc))}: fix it above and re-run this cell. "
              "(The rest of the lesson still runs.)")


def mine_or_reference(name, mine, reference, probe=None, quiet=False):
    """Return ``mine`` if it works on ``probe``, else ``reference``, saying which in one line.

    Parameters
    ----------
    name : str
        What the learner wrote, e.g. ``"Net"`` or ``"conv2d"``.
    mine, reference : callable
        The learner's version and cnnlib's.
    probe : callable, optional
        ``probe(candidate)`` exercises a candidate (e.g. builds a model and runs
        one batch); any exception means "not usable". Without it, ``mine`` is
        only called if it is the learner's class, never probed.
    quiet : bool
        Print nothing when the learner's version is used.

    Returns
    -------
    callable
        ``mine`` or ``reference``.
    """
    try:
        if probe is not None:
            probe(mine)
    except Exception as exc:  # noqa: BLE001
        print(f"{_capital(explain(name, exc))}: the rest of this lesson uses cnnlib's reference "
              f"{name} until you fix it and re-run from there.")
        return reference
    if not quiet:
        print(f"Using your {name}.")
    return mine
