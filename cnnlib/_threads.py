"""Threads for the engine's hot loops: a few of our own, and BLAS at one thread.

Why not let numpy's BLAS use every core? OpenBLAS splits each matrix product
over all cores and its threads spin while they wait for each other. The
engine's products are small (one chunk of images), so on a busy 2-core
machine a BLAS thread is often descheduled and every product waits for it:
the same conv layer took 268 ms instead of 19 ms. Instead, while an engine
op runs:

* numpy's BLAS is held at one thread (:func:`blas_single_thread`); the
  caller's own setting is restored when the op returns;
* the batch is cut into chunks of a fixed size and up to
  :func:`get_num_threads` threads take chunks from a shared counter
  (:func:`run_chunks`). The calling thread works too, and it waits only for
  chunks another thread has already started, never for a thread that has not
  been scheduled yet, so a busy machine costs at most one chunk of waiting.

Chunk boundaries never depend on the thread count and partial sums are added
in chunk order, so results are bit-identical with 1 or 8 threads.

The thread count defaults to the usable cores (at most 4), or
``CNNLIB_NUM_THREADS`` if set; change it with :func:`set_num_threads` or, for
a block of code, ``with num_threads(1): ...``.
"""
import contextlib
import itertools
import numbers
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# More threads rarely help: a training batch of 64 small images is only a few
# chunks, and a laptop's other cores are busy with the browser.
MAX_DEFAULT_THREADS = 4

_lock = threading.Lock()
_num_threads = None  # None: not chosen yet, see get_num_threads
_pool = None
_blas = None         # list of threadpoolctl library controllers, filled on first use
_blas_depth = 0      # nesting depth of blas_single_thread over all threads
_blas_saved = []     # thread counts to restore when the depth returns to 0


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
    """Number of threads the engine's ops use (the caller's thread included).

    Returns
    -------
    int
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_num_threads()
    return _num_threads


def set_num_threads(n):
    """Set the number of threads the engine's ops use.

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
    """Context manager: use `n` engine threads inside the block, then restore.

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


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # threadpoolctl missing or unable to inspect: leave BLAS alone
            _blas = []
    return _blas


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
    global _blas_depth, _blas_saved
    with _lock:
        if _blas_depth == 0:
            _blas_saved = [c.get_num_threads() for c in _blas_controllers()]
            for c, n in zip(_blas, _blas_saved):
                if n != 1:
                    c.set_num_threads(1)
        _blas_depth += 1
    try:
        yield
    finally:
        with _lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for c, n in zip(_blas, _blas_saved):
                    if n != 1:
                        c.set_num_threads(n)


def _get_pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_DEFAULT_THREADS * 4,
                                       thread_name_prefix="cnnlib")
        return _pool


def _forget_pool():
    # a forked child has the pool object but none of its threads
    global _pool, _lock, _blas_depth
    _pool, _lock, _blas_depth = None, threading.Lock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


class Scratch:
    """One thread's work arrays, kept from call to call (least recently used dropped first).

    Allocating a fresh megabyte-sized array for every call costs page faults
    (the kernel hands out zeroed pages) on top of the work itself: measured
    a quarter of a training step. Each thread keeps its own arrays, so
    chunks running at the same time never share one.
    """

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._arrays = OrderedDict()
        self._bytes = 0

    def array(self, name, shape, dtype, zero=False):
        """A work array of this thread; see :func:`scratch_array`."""
        key = (name, tuple(shape), np.dtype(dtype), zero)
        buf = self._arrays.pop(key, None)
        if buf is None:
            buf = (np.zeros if zero else np.empty)(shape, dtype=dtype)
            self._bytes += buf.nbytes
            while self._arrays and self._bytes > self.max_bytes:
                self._bytes -= self._arrays.popitem(last=False)[1].nbytes
        self._arrays[key] = buf  # most recently used last
        return buf


# Work arrays kept per thread: enough for the layers of a small CNN.
SCRATCH_BYTES = 2 ** 25
_local = threading.local()


def _scratch():
    store = getattr(_local, "scratch", None)
    if store is None:
        store = _local.scratch = Scratch(SCRATCH_BYTES)
    return store


def scratch_array(scratch, name, shape, dtype, zero=False):
    """A work array private to one thread, reused from one chunk (and call) to the next.

    Parameters
    ----------
    scratch : Scratch
        The `scratch` that :func:`run_chunks` passes to the chunk function.
    name : str
        Names the array; together with shape, dtype and `zero` it picks one.
    shape : tuple of int
        Shape for the largest chunk; slice it for a smaller one.
    dtype : numpy dtype
    zero : bool, default False
        Filled with zeros when first made, for callers that rely on the parts
        they never write staying zero. Every caller using the same name and
        shape must then leave the same parts unwritten: put what decides
        them in `name`.

    Returns
    -------
    ndarray
        Its content is whatever the thread's previous user left (except for
        the never-written zeros above).
    """
    return scratch.array(name, shape, dtype, zero)


def run_chunks(fn, n_chunks):
    """Call ``fn(i, scratch)`` for every chunk ``i`` in ``range(n_chunks)``, on a few threads.

    Parameters
    ----------
    fn : callable
        ``fn(i, scratch)`` processes chunk `i`. `scratch` is the
        :class:`Scratch` of the thread running it, for work arrays (see
        :func:`scratch_array`).
        Chunks run in any order and concurrently, so they must write to
        disjoint places.
    n_chunks : int

    Raises
    ------
    BaseException
        The first exception raised by `fn`, after every started chunk ended.
    """
    workers = min(get_num_threads(), n_chunks)
    if workers <= 1:
        scratch = _scratch()
        for i in range(n_chunks):
            fn(i, scratch)
        return
    counter = itertools.count()  # next() on it is atomic under the GIL
    state = {"done": 0, "error": None}
    lock, finished = threading.Lock(), threading.Event()

    def work():
        scratch = _scratch()
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
