"""Input checks shared by every op in :mod:`cnnlib.functional`.

Every message starts with the name of the public function, so a student who
passes a wrong shape reads ``conv2d_forward: x must be 4-D ...`` rather than a
numpy broadcasting error ten lines deeper.
"""
import numbers

import numpy as np


def as_float_array(fn, name, a):
    """Return `a` as an ndarray, keeping float dtypes and turning others into float64.

    Parameters
    ----------
    fn : str
        Name of the calling function, used in error messages.
    name : str
        Name of the argument (``"x"``, ``"w"``...).
    a : array_like
        The value passed in.

    Returns
    -------
    ndarray
        `a` itself when it already is a float ndarray (no copy).
    """
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return a
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    raise ValueError(f"{fn}: {name} must hold real numbers, got dtype {a.dtype}")


def check_ndim(fn, name, a, ndim, layout):
    """Raise ValueError unless ``a.ndim == ndim``.

    Parameters
    ----------
    fn, name : str
        Calling function and argument name, for the message.
    a : ndarray
        Array to check.
    ndim : int
        Required number of dimensions.
    layout : str
        Human-readable layout such as ``"(N, C, H, W)"``.
    """
    if a.ndim != ndim:
        raise ValueError(
            f"{fn}: {name} must be {ndim}-D {layout}, got shape {tuple(a.shape)}"
        )


def pair(fn, name, value, minimum):
    """Turn an int or an (h, w) pair of ints into a validated ``(int, int)``.

    Parameters
    ----------
    fn, name : str
        Calling function and argument name, for the message.
    value : int or tuple of two ints
        The stride, padding or kernel size passed by the caller.
    minimum : int
        Smallest allowed value (1 for strides and kernels, 0 for padding).

    Returns
    -------
    tuple of two ints
    """
    what = "positive" if minimum == 1 else "non-negative"
    msg = f"{fn}: {name} must be a {what} int or a pair of {what} ints, got {value!r}"
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(msg)
    out = []
    for v in items:
        # bool is an int subclass, but stride=True is surely a mistake
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(msg)
        if v < minimum:
            raise ValueError(msg)
        out.append(int(v))
    return tuple(out)


def check_cache(fn, cache, op):
    """Raise ValueError unless `cache` is the dict returned by the forward `op`.

    Parameters
    ----------
    fn : str
        Name of the backward function.
    cache : object
        What the caller passed as cache.
    op : str
        Name of the forward function whose cache is expected.
    """
    if cache is None:
        raise ValueError(
            f"{fn}: cache is None - call {op} first and pass the cache it returned"
        )
    if not isinstance(cache, dict) or "op" not in cache:
        raise ValueError(
            f"{fn}: cache must be the cache returned by {op}, got {type(cache).__name__}"
        )
    if cache["op"] != op:
        raise ValueError(
            f"{fn}: this cache comes from {cache['op']}, but {fn} needs the cache of {op}"
        )


def check_dout(fn, dout, shape):
    """Return `dout` as a float ndarray after checking it has the forward output's shape.

    Parameters
    ----------
    fn : str
        Name of the backward function.
    dout : array_like
        Upstream gradient.
    shape : tuple of int
        Shape of the forward output.

    Returns
    -------
    ndarray
    """
    dout = as_float_array(fn, "dout", dout)
    if tuple(dout.shape) != tuple(shape):
        raise ValueError(
            f"{fn}: dout must have the forward output's shape {tuple(shape)}, "
            f"got {tuple(dout.shape)}"
        )
    return dout


def result_dtype(*arrays):
    """Float dtype a computation on `arrays` should produce (numpy promotion rules)."""
    dtype = np.result_type(*[a.dtype for a in arrays if a is not None])
    return dtype if dtype.kind == "f" else np.dtype(np.float64)
