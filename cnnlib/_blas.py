"""Hold numpy's BLAS at one thread while an engine op runs.

OpenBLAS splits each matrix product over all cores and its threads spin
while they wait for each other. The engine's products are small (one chunk
of images), so on a busy 2-core machine a BLAS thread is often descheduled
and every product waits for it: the same conv layer took 268 ms instead of
19 ms. The engine's own threads (:mod:`cnnlib._threads`) share the work
instead, each calling BLAS on one thread.
"""
import contextlib
import os
import threading

_lock = threading.Lock()
_controllers = None  # threadpoolctl controllers of numpy's BLAS, found on first use
_depth = 0           # nesting depth of blas_single_thread over all threads
_saved = []          # thread counts to restore when the depth returns to 0


def _blas_controllers():
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
            _controllers = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # threadpoolctl missing or unable to inspect: leave BLAS alone
            _controllers = []
    return _controllers


@contextlib.contextmanager
def blas_single_thread():
    """Context manager: numpy's BLAS uses one thread inside, the caller's count after.

    The BLAS thread count is global to the process, so nested and concurrent
    uses share one counter: the first to enter sets 1, the last to leave
    restores what was there before. Costs a few microseconds (nothing is
    set when BLAS already uses one thread, e.g. ``OPENBLAS_NUM_THREADS=1``).

    OpenBLAS ignores a new thread count set from a thread other than the
    main one once the main thread has set one; engine ops called from such a
    thread may then run BLAS on several threads.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = [c.get_num_threads() for c in _blas_controllers()]
            for c, n in zip(_controllers, _saved):
                if n != 1:
                    c.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for c, n in zip(_controllers, _saved):
                    if n != 1:
                        c.set_num_threads(n)


def _after_fork():
    # a forked child starts with no op running, whatever the parent was doing
    global _lock, _depth
    _lock, _depth = threading.Lock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
