"""Numerical gradient checking: is my backward pass right?

The derivative of ``f`` at ``x`` along one coordinate is approximately
``(f(x + h) - f(x - h)) / (2h)`` (centered differences, error O(h**2)). Doing
this for every coordinate gives a slow but trustworthy gradient to compare an
analytic backward pass against. Always check in float64: in float32 the
rounding error of ``f`` swamps the difference for small ``h``.
"""
import numpy as np


def _check_float64(fn, x):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(
            f"{fn}: x must be a float64 ndarray (perturbed in place), got "
            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}"
        )


def _centered_differences(value, x, h, reduce):
    """``grad[i] = reduce(value(x + h e_i) - value(x - h e_i)) / 2h`` for every index of `x`.

    `x` is perturbed in place, one element at a time, and restored.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = value(x)
        x[i] = old - h
        minus = value(x)
        x[i] = old
        grad[i] = reduce(plus - minus) / (2 * h)
    return grad


def numerical_gradient(f, x, h=1e-5):
    """Centered-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. Called twice per element of `x`.
    x : ndarray, float64
        Point at which to evaluate the gradient. Each element is perturbed in
        place and restored afterwards, so `f` may read `x` through a closure.
    h : float, default 1e-5
        Step size.

    Returns
    -------
    grad : ndarray, same shape as x
        ``grad[i] ~= df/dx[i]``.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda x: np.sum(x ** 2), x)   # doctest: +SKIP
    array([2., 4.])
    """
    _check_float64("numerical_gradient", x)
    return _centered_differences(lambda x: float(f(x)), x, h, reduce=lambda d: d)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Centered-difference gradient of ``sum(f(x) * dout)`` for an array-valued `f`.

    This is what a backward pass computes: the gradient of the loss with
    respect to `x` when the upstream gradient of ``f(x)`` is `dout`.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` of the same shape as `dout`.
    x : ndarray, float64
        Perturbed in place and restored.
    dout : ndarray
        Upstream gradient.
    h : float, default 1e-5

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _check_float64("numerical_gradient_array", x)
    # copy: f may return a view of x, which the next perturbation would change
    value = lambda x: np.array(f(x), dtype=np.float64)  # noqa: E731
    # Differencing the outputs element-wise before weighting by dout keeps the
    # cancellation error smaller than subtracting two weighted sums.
    return _centered_differences(value, x, h, reduce=lambda d: np.sum(d * dout))


def rel_error(a, b):
    """Largest element-wise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    Parameters
    ----------
    a, b : array_like of the same shape

    Returns
    -------
    float
        Below about 1e-7 means "the same" for a float64 gradient check;
        above 1e-3 almost always means a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_layer(forward, backward, inputs, seed=0, h=1e-5, verbose=True):
    """Compare a layer's analytic gradients with numerical ones.

    Parameters
    ----------
    forward : callable
        ``forward(**inputs) -> (out, cache)``. Must be deterministic: wrap a
        random layer so each call uses the same seed, e.g.
        ``lambda x: dropout_forward(x, 0.5, True, np.random.default_rng(0))``.
    backward : callable
        ``backward(dout, cache)`` returning one gradient, or a tuple of
        gradients in the order the float arrays appear in `inputs`. None
        entries (``db`` when ``b=None``) are dropped before matching.
    inputs : dict
        Keyword arguments of `forward`. Float arrays are copied to float64 and
        checked; anything else (ints, None, integer arrays) is passed as is.
    seed : int, default 0
        Seed of the random upstream gradient ``dout``.
    h : float, default 1e-5
        Finite-difference step.
    verbose : bool, default True
        Print one line per checked input.

    Returns
    -------
    dict
        ``{input name: rel_error}``.

    Examples
    --------
    >>> from cnnlib.functional import linear_forward, linear_backward
    >>> rng = np.random.default_rng(0)
    >>> check_layer(linear_forward, linear_backward,
    ...             {"x": rng.normal(size=(3, 4)), "w": rng.normal(size=(2, 4)),
    ...              "b": rng.normal(size=2)})        # doctest: +SKIP
    x: rel_error 2.1e-10  ok
    w: rel_error 1.3e-10  ok
    b: rel_error 4.0e-11  ok
    """
    kwargs = dict(inputs)
    checked = []
    for name, value in inputs.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            kwargs[name] = np.array(value, dtype=np.float64)
            checked.append(name)
    out, cache = forward(**kwargs)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    # a None gradient belongs to an input passed as None (b=None): nothing to check
    grads = tuple(g for g in grads if g is not None)
    if len(grads) != len(checked):
        raise ValueError(
            f"check_layer: backward returned {len(grads)} gradient(s) but inputs has "
            f"{len(checked)} float array(s): {checked}"
        )
    report = {}
    for name, grad in zip(checked, grads):
        num = numerical_gradient_array(lambda _: forward(**kwargs)[0], kwargs[name], dout, h)
        report[name] = rel_error(grad, num)
        if verbose:
            verdict = "ok" if report[name] < 1e-6 else "CHECK THIS"
            print(f"{name}: rel_error {report[name]:.1e}  {verdict}")
    return report
