"""Work arrays that each thread keeps from one engine call to the next.

Allocating a fresh megabyte-sized array for every call costs page faults
(the kernel hands out zeroed pages) on top of the work itself: measured a
quarter of a training step. Each thread keeps its own arrays, so chunks
running at the same time (:func:`cnnlib._threads.run_chunks`) never share one.
"""
import threading
from collections import OrderedDict

import numpy as np

# Work arrays kept per thread: enough for the layers of a small CNN.
SCRATCH_BYTES = 2 ** 25


class Scratch:
    """One thread's work arrays; the least recently used go first beyond `max_bytes`.

    Parameters
    ----------
    max_bytes : int
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


_local = threading.local()


def thread_scratch():
    """The calling thread's :class:`Scratch` (made on first use)."""
    store = getattr(_local, "scratch", None)
    if store is None:
        store = _local.scratch = Scratch(SCRATCH_BYTES)
    return store


def scratch_array(scratch, name, shape, dtype, zero=False):
    """A work array private to one thread, reused from one chunk (and call) to the next.

    Parameters
    ----------
    scratch : Scratch
        The `scratch` that :func:`cnnlib._threads.run_chunks` passes to the
        chunk function.
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
