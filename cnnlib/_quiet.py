"""Run code quietly: swallow prints, displays, warnings, progress bars and stderr.

Checks run the learner's code inside :func:`quiet`, so the report under a check
cell is only the report: no "train: 0%|" bars, no debug prints, and nothing
on stderr (nbgrader scores any stderr output 0).
"""
import contextlib
import io
import os
import sys
import tempfile
import warnings

__all__ = ["quiet"]


@contextlib.contextmanager
def _capture_fd2():
    """Send OS-level writes to file descriptor 2 into a temporary file.

    ipykernel forwards whatever reaches fd 2 (C extensions, torch's C++
    warnings, subprocesses) as a stderr stream.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (some embedded interpreters): nothing to guard
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        for stream in (sys.__stderr__, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # earlier buffered text belongs to the cell, not to the check
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.__stderr__.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _display_capture():
    """IPython's capture of rich displays (tqdm.notebook bars, plots), when in a kernel."""
    shell = sys.modules.get("IPython") and _get_ipython()
    if shell is None:
        return contextlib.nullcontext()
    from IPython.utils.capture import capture_output

    return capture_output(stdout=False, stderr=False, display=True)


def _get_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


@contextlib.contextmanager
def quiet():
    """Everything printed, displayed, warned or written to stderr inside is discarded.

    Yields a list that receives the ``warnings.WarningMessage`` objects caught.
    """
    sink_out, sink_err = io.StringIO(), io.StringIO()
    with _capture_fd2(), contextlib.redirect_stdout(sink_out), contextlib.redirect_stderr(sink_err), \
            _display_capture(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
