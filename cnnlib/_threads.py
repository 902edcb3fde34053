"""The engine's own threads: a batch cut into chunks that a few threads share.

Engine ops (conv, linear, max-pool) cut their batch into chunks of a fixed
size and call :func:`run_chunks`; up to :func:`get_num_threads` threads take
chunks from a shared counter, numpy's BLAS held at one thread meanwhile
(:mod:`cnnlib._blas`). The calling thread works too and only ever waits for a
chunk that another thread has already started.

Chunk boundaries never depend on the thread count and partial sums are added
in chunk order, so results are bit-identical with 1 or 8 threads.

Threads only pay off while they get a core each. On a busy machine a worker
is often descheduled in the middle of a chunk, and every numpy call hands
the GIL over through the scheduler: measured 5x slower than one thread for
a small op at load 8. So each call site (e.g. the forward pass of one conv
layer shape) keeps the recent wall times of both ways of running it, all
threads or the caller's thread alone, uses the faster one (all threads only
when at least 10 % faster), and re-tries the other now and then (for two
calls in a row, and less and less often while it keeps losing).

The thread count defaults to the usable cores (at most 4), or
``CNNLIB_NUM_THREADS`` if set; change it with :func:`set_num_threads` or, for
a block of code, ``with num_threads(1): ...``.
"""
import contextlib
import itertools
import numbers
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ._blas import blas_single_thread  # noqa: F401  (engine ops import it from here)
from ._scratch import Scratch, scratch_array, thread_scratch  # noqa: F401

# More threads rarely help: a training batch of 64 small images is only a few
# chunks, and a laptop's other cores are busy with the browser.
MAX_DEFAULT_THREADS = 4
# Calls between two tries of the slower way of running a call site: doubles
# while the slower way keeps losing, back to the minimum when it wins.
EXPLORE_MIN, EXPLORE_MAX = 16, 128
# Calls in a row that a retry of the slower way takes.
RETRY_CALLS = 2
# All threads are used only when their median time is below this fraction of
# one thread's: for a small op the two are close, and on a busy machine a
# thread that gets descheduled costs a whole time slice.
THREADS_MARGIN = 0.9

_lock = threading.Lock()
_num_threads = None  # None: not chosen yet, see get_num_threads
_pool = None
_sites = {}          # call-site key -> _Site


def _default_num_threads():
    env = os.environ.get("CNNLIB_NUM_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"CNNLIB_NUM_THREADS must be a positive int, got {env!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))  # respects taskset / container limits
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_THREADS))


def get_num_threads():
    """Most threads the engine's ops use (the caller's thread included).

    Returns
    -------
    int
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_num_threads()
    return _num_threads


def set_num_threads(n):
    """Set the most threads the engine's ops use.

    Parameters
    ----------
    n : int or None
        A positive count, or None for the default (``CNNLIB_NUM_THREADS``, else
        the usable cores up to 4).

    Returns
    -------
    int
        The previous count.
    """
    global _num_threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
        raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    old = get_num_threads()
    _num_threads = _default_num_threads() if n is None else int(n)
    return old


@contextlib.contextmanager
def num_threads(n):
    """Context manager: use at most `n` engine threads inside the block, then restore.

    Parameters
    ----------
    n : int or None
        As in :func:`set_num_threads`.
    """
    old = set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(old)


class _Site:
    """Recent wall times of one call site, run on all its threads and on one."""

    def __init__(self):
        self.times = {}        # thread count -> its last 3 wall times
        self.warm = set()      # thread counts whose first (warm-up) call is behind
        self.since = 0         # calls since the slower way was last tried
        self.every = EXPLORE_MIN
        self.retry = 0         # calls left in the current retry of the slower way
        self.retry_way = self.before = None

    def faster(self, workers):
        """The thread count with the lower median time, None while one is unmeasured."""
        medians = [sorted(t)[len(t) // 2] for t in (self.times.get(workers), self.times.get(1))
                   if t]
        if len(medians) < 2:
            return None
        return workers if medians[0] <= THREADS_MARGIN * medians[1] else 1

    def pick(self, workers):
        best = self.faster(workers)
        if best is None:  # measure both ways first
            self.retry = 0
            return workers if len(self.times.get(workers, ())) < 1 else 1
        if self.retry:
            return self.retry_way
        self.since += 1
        if self.since < self.every:
            return best
        self.since, self.retry, self.before = 0, RETRY_CALLS, best
        self.retry_way = 1 if best == workers else workers
        return self.retry_way

    def record(self, workers, used, seconds):
        if used not in self.warm:  # the first call pays for starting threads and work arrays
            self.warm.add(used)
            return
        times = self.times.setdefault(used, [])
        if not self.retry:
            times[:] = (times + [seconds])[-3:]
            return
        # a retry starts the slower way's record afresh (its old times are from
        # another load); the median of its RETRY_CALLS times is the slower one,
        # so one lucky call does not switch
        times[:] = (times if self.retry < RETRY_CALLS else []) + [seconds]
        self.retry -= 1
        if not self.retry:
            flipped = self.faster(workers) != self.before
            self.every = EXPLORE_MIN if flipped else min(2 * self.every, EXPLORE_MAX)


def _get_pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_DEFAULT_THREADS * 4,
                                       thread_name_prefix="cnnlib")
        return _pool


def _forget_pool():
    # a forked child has the pool object but none of its threads
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_chunks(fn, n_chunks, key=None):
    """Call ``fn(i, scratch)`` for every chunk ``i`` in ``range(n_chunks)``, on a few threads.

    Parameters
    ----------
    fn : callable
        ``fn(i, scratch)`` processes chunk `i`. `scratch` is the
        :class:`~cnnlib._scratch.Scratch` of the thread running it (see
        :func:`~cnnlib._scratch.scratch_array`). Chunks run in any order and
        concurrently, so they must write to disjoint places.
    n_chunks : int
    key : hashable, optional
        Names the call site for choosing between all threads and one (see
        the module docstring), e.g. the op and its shapes. Default: `fn`'s
        code and `n_chunks`.

    Raises
    ------
    BaseException
        The first exception raised by `fn`, after every started chunk ended.
    """
    workers = min(get_num_threads(), n_chunks)
    if workers <= 1:
        _run_serial(fn, n_chunks)
        return
    key = (fn.__code__, n_chunks) if key is None else key
    site = _sites.get(key)
    if site is None:
        if len(_sites) > 1000:
            _sites.clear()
        site = _sites[key] = _Site()
    used = site.pick(workers)
    start = time.perf_counter()
    if used == 1:
        _run_serial(fn, n_chunks)
    else:
        _run_parallel(fn, n_chunks, used)
    site.record(workers, used, time.perf_counter() - start)


def run_ranges(fn, total, step, key=None):
    """Call ``fn(lo, hi, scratch)`` for consecutive ranges of `step` items, on a few threads.

    The ranges ``[0, step), [step, 2*step), ...`` cover ``range(total)`` (the
    last may be shorter); :func:`run_chunks` runs them.

    Parameters
    ----------
    fn : callable
        ``fn(lo, hi, scratch)`` processes items ``lo:hi``.
    total, step : int
    key : hashable, optional
        As in :func:`run_chunks`. Default: `fn`'s code, `total` and `step`.
    """
    key = (fn.__code__, total, step) if key is None else key
    run_chunks(lambda i, scratch: fn(i * step, min(total, (i + 1) * step), scratch),
               -(-total // step), key=key)


def even_step(total, step):
    """The step that cuts ``range(total)`` into as many ranges as `step` does, as even as can be.

    64 items at step 9 make 8 ranges of 8, not 7 of 9 and 1 of 1: with two
    threads, uneven ranges leave one thread idle at the end.

    Parameters
    ----------
    total, step : int
        ``step >= 1``.

    Returns
    -------
    int
    """
    if total <= 0:
        return step
    return -(-total // -(-total // step))


def _run_serial(fn, n_chunks):
    scratch = thread_scratch()
    for i in range(n_chunks):
        fn(i, scratch)


def _run_parallel(fn, n_chunks, workers):
    counter = itertools.count()  # next() on it is atomic under the GIL
    state = {"done": 0, "error": None}
    lock, finished = threading.Lock(), threading.Event()

    def work():
        scratch = thread_scratch()
        for i in counter:
            if i >= n_chunks:
                return
            try:
                fn(i, scratch)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                state["error"] = state["error"] or e
            with lock:
                state["done"] += 1
                if state["done"] == n_chunks:
                    finished.set()

    pool = _get_pool()
    for _ in range(workers - 1):
        pool.submit(work)
    work()
    # only chunks that another thread already took are still running
    finished.wait()
    if state["error"] is not None:
        raise state["error"]
