"""Inverted dropout, like ``torch.nn.functional.dropout``."""
import numbers

import numpy as np

from ._validate import as_float_array, check_cache, check_dout


def dropout_forward(x, p, training, rng=None):
    """Zero each element with probability `p` and scale the survivors by ``1 / (1 - p)``.

    Scaling during training ("inverted" dropout) keeps the expected value of
    every element unchanged, so nothing needs rescaling at test time.

    Parameters
    ----------
    x : ndarray, any shape
    p : float
        Drop probability, in [0, 1).
    training : bool
        When False the layer is the identity.
    rng : numpy.random.Generator, optional
        Source of the random mask; pass a seeded one for reproducible runs.
        None draws from a fresh ``np.random.default_rng()``.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : dict
        Holds the scaled mask (None when the layer was the identity).

    Raises
    ------
    ValueError
        If `p` is not in [0, 1) or `rng` is not a Generator.
    """
    fn = "dropout_forward"
    x = as_float_array(fn, "x", x)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"{fn}: p must be a probability in [0, 1), got {p!r}")
    cache = {"op": fn, "mask": None, "shape": x.shape, "dtype": x.dtype}
    if not training or p == 0:
        return x.copy(), cache
    if rng is None:
        rng = np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{fn}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    draw_dtype = np.float32 if x.dtype == np.float32 else np.float64
    keep = rng.random(x.shape, dtype=draw_dtype) >= p
    mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
    cache["mask"] = mask
    return x * mask, cache


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`: the same mask and scale, applied to `dout`.

    Parameters
    ----------
    dout : ndarray
    cache : dict
        Returned by :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray
    """
    fn = "dropout_backward"
    check_cache(fn, cache, "dropout_forward")
    dout = check_dout(fn, dout, cache["shape"]).astype(cache["dtype"], copy=False)
    if cache["mask"] is None:
        return dout.copy()
    return dout * cache["mask"]
