"""Element-wise activation functions and their gradients.

Each works on arrays of any shape and keeps the input's float dtype.
"""
import numbers

import numpy as np

from ._validate import as_float_array, check_cache, check_dout


def _backward(fn, op, dout, cache):
    check_cache(fn, cache, op)
    return check_dout(fn, dout, cache["shape"]).astype(cache["dtype"], copy=False)


def relu_forward(x):
    """ReLU: ``max(x, 0)``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : dict
        Holds the boolean mask ``x > 0``.
    """
    x = as_float_array("relu_forward", "x", x)
    # np.maximum and a bool multiply run several times faster than np.where
    out = np.maximum(x, x.dtype.type(0))
    return out, {"op": "relu_forward", "mask": x > 0, "shape": x.shape, "dtype": x.dtype}


def relu_backward(dout, cache):
    """Gradient of ReLU: `dout` where ``x > 0``, else 0 (also at exactly 0, like torch).

    Parameters
    ----------
    dout : ndarray, shape of the forward output
    cache : dict
        Returned by :func:`relu_forward`.

    Returns
    -------
    dx : ndarray
    """
    dout = _backward("relu_backward", "relu_forward", dout, cache)
    return dout * cache["mask"]


def leaky_relu_forward(x, negative_slope=0.01):
    """Leaky ReLU: ``x`` where ``x > 0``, else ``negative_slope * x``.

    Parameters
    ----------
    x : ndarray, any shape
    negative_slope : float, default 0.01

    Returns
    -------
    out : ndarray
    cache : dict
    """
    fn = "leaky_relu_forward"
    x = as_float_array(fn, "x", x)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise ValueError(f"{fn}: negative_slope must be a real number, got {negative_slope!r}")
    mask = x > 0
    zero = x.dtype.type(0)
    # exact in every case: one of the two terms is always a zero
    out = np.maximum(x, zero) + np.minimum(x, zero) * x.dtype.type(negative_slope)
    cache = {"op": fn, "mask": mask, "slope": negative_slope, "shape": x.shape, "dtype": x.dtype}
    return out, cache


def leaky_relu_backward(dout, cache):
    """Gradient of leaky ReLU: `dout` where ``x > 0``, else ``negative_slope * dout``.

    At exactly 0 the slope is `negative_slope`, as in torch.

    Parameters
    ----------
    dout : ndarray
    cache : dict
        Returned by :func:`leaky_relu_forward`.

    Returns
    -------
    dx : ndarray
    """
    dout = _backward("leaky_relu_backward", "leaky_relu_forward", dout, cache)
    mask = cache["mask"]
    return dout * mask + (dout * dout.dtype.type(cache["slope"])) * ~mask


def sigmoid_forward(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, values in [0, 1]
    cache : dict
        Holds `out`, from which the gradient follows.
    """
    x = as_float_array("sigmoid_forward", "x", x)
    # exp(-|x|) never overflows; both branches below are the same function
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    out = np.where(x >= 0, one / (one + e), e / (one + e))
    return out, {"op": "sigmoid_forward", "out": out, "shape": x.shape, "dtype": x.dtype}


def sigmoid_backward(dout, cache):
    """Gradient of the sigmoid: ``dout * s * (1 - s)`` with ``s`` the forward output.

    Parameters
    ----------
    dout : ndarray
    cache : dict
        Returned by :func:`sigmoid_forward`.

    Returns
    -------
    dx : ndarray
    """
    dout = _backward("sigmoid_backward", "sigmoid_forward", dout, cache)
    s = cache["out"]
    return dout * s * (1 - s)


def tanh_forward(x):
    """Hyperbolic tangent.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, values in [-1, 1]
    cache : dict
    """
    x = as_float_array("tanh_forward", "x", x)
    out = np.tanh(x)
    return out, {"op": "tanh_forward", "out": out, "shape": x.shape, "dtype": x.dtype}


def tanh_backward(dout, cache):
    """Gradient of tanh: ``dout * (1 - t**2)`` with ``t`` the forward output.

    Parameters
    ----------
    dout : ndarray
    cache : dict
        Returned by :func:`tanh_forward`.

    Returns
    -------
    dx : ndarray
    """
    dout = _backward("tanh_backward", "tanh_forward", dout, cache)
    t = cache["out"]
    return dout * (1 - t * t)
