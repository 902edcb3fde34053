"""Weight initialisers with torch.nn.init's formulas, drawing from numpy Generators.

Every function fills its argument **in place** (a :class:`cnnlib.nn.Parameter`
or a float ndarray) and returns it, like torch.  ``rng`` is a
``numpy.random.Generator``; when omitted, the module-level generator is used,
which :func:`manual_seed` (also exported as ``cnnlib.nn.manual_seed``)
reseeds, playing the role of ``torch.manual_seed``.
"""
import math

import numpy as np

_default_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reseed the generator used by layers and initialisers when ``rng=None``.

    Returns the new ``numpy.random.Generator``.
    """
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def default_rng():
    """The current module-level generator (see :func:`manual_seed`)."""
    return _default_rng


def _rng(rng):
    return _default_rng if rng is None else rng


def _array(tensor):
    arr = tensor.data if not isinstance(tensor, np.ndarray) else tensor
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
        raise ValueError("init functions need a float ndarray or a Parameter holding one, "
                         f"got {type(tensor).__name__}")
    return arr


def _fill(tensor, values):
    arr = _array(tensor)
    arr[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """Recommended gain for a nonlinearity (torch.nn.init.calculate_gain).

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + negative_slope**2)) (slope 0.01 when ``param`` is None);
    selu: 3/4.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(shape):
    """``(fan_in, fan_out)`` for a weight shape, as torch computes them.

    Parameters
    ----------
    shape : tuple of int, ndarray or Parameter
        ``(out, in)`` for Linear, ``(F, C, KH, KW)`` for Conv2d.

    Returns
    -------
    fan_in : int
        ``in * KH * KW`` (inputs feeding one output unit).
    fan_out : int
        ``out * KH * KW``.
    """
    if not isinstance(shape, tuple):
        shape = tuple(_array(shape).shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for a shape with fewer "
                         f"than 2 dimensions, got {shape}")
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tuple(_array(tensor).shape))
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def uniform_(tensor, a=0.0, b=1.0, rng=None):
    """Fill with samples from U(a, b)."""
    arr = _array(tensor)
    return _fill(tensor, _rng(rng).uniform(a, b, size=arr.shape))


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill with samples from N(mean, std**2)."""
    arr = _array(tensor)
    return _fill(tensor, _rng(rng).normal(mean, std, size=arr.shape))


def zeros_(tensor):
    """Fill with zeros."""
    return _fill(tensor, 0.0)


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _fill(tensor, val)


def xavier_uniform_(tensor, gain=1.0, rng=None):
    """Glorot uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tuple(_array(tensor).shape))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, rng=rng)


def xavier_normal_(tensor, gain=1.0, rng=None):
    """Glorot normal: N(0, std**2), ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tuple(_array(tensor).shape))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, rng=rng)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``.

    ``gain = calculate_gain(nonlinearity, a)``; with the defaults (leaky_relu,
    a=0) this is sqrt(2), i.e. the ReLU gain.  torch's Conv2d/Linear default
    init is this with ``a=sqrt(5)``, giving ``bound = 1 / sqrt(fan_in)``.
    """
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """He normal: N(0, std**2), ``std = gain / sqrt(fan)`` (gain as in kaiming_uniform_)."""
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, rng=rng)
