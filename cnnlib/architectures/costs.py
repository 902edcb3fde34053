"""What an architecture costs: parameters, multiply-adds (counted by forward hooks or by the formula), CPU time."""
import time

import numpy as np
import torch
from torch import nn

from .blocks import threads

__all__ = ["count_params", "count_macs", "layer_macs", "conv_params_and_macs", "time_inference", "cost_table"]


def count_params(model, trainable_only=False):
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def layer_macs(module, out):
    """Multiply-adds of one layer for ONE input, given its output (batch axis first); 0 for other layers.

    ``Conv1d``/``Conv2d``: every output value costs ``(C_in / groups) * prod(kernel_size)``;
    ``Linear``: ``in_features`` per output value. Biases, BatchNorm, activations and pooling are
    not counted (they cost one operation per value, not per weight).
    """
    per_item = int(out[0].numel()) if out.ndim > 0 and out.shape[0] else 0
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return per_item * (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
    if isinstance(module, nn.Linear):
        return per_item * module.in_features
    return 0


def count_macs(model, input_shape=(1, 28, 28), per_layer=False):
    """Multiply-adds of one forward pass for one input, counted by forward hooks (see :func:`layer_macs`).

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : tuple
        One input without the batch axis, e.g. ``(1, 28, 28)``.
    per_layer : bool
        Also return ``[(name, type, output shape, macs)]`` for the conv and linear layers.

    Returns
    -------
    int, or (int, list)
    """
    rows, handles = [], []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            handles.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: rows.append((name, type(mod).__name__, tuple(out.shape[1:]),
                                                              layer_macs(mod, out)))))
    was = [(m, m.training) for m in model.modules()]
    first = next(model.parameters(), None)
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape), dtype=first.dtype if first is not None else torch.float32))
    finally:
        for h in handles:
            h.remove()
        for m, flag in was:
            m.training = flag
    total = int(sum(r[3] for r in rows))
    return (total, rows) if per_layer else total


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def conv_params_and_macs(c_in, c_out, k, h, w, depthwise_separable=False):
    """Parameters and multiply-adds of a k x k convolution layer with biases, producing an (h, w) map.

    Standard: ``params = c_out*c_in*k*k + c_out``, ``macs = c_out*c_in*k*k*h*w``.
    Depthwise separable (depthwise k x k with ``groups=c_in``, then 1x1 to ``c_out``, both with
    bias, both producing (h, w)): ``params = c_in*k*k + c_in + c_in*c_out + c_out``,
    ``macs = (c_in*k*k + c_in*c_out)*h*w``.

    Returns
    -------
    (int, int)
        Python ints (no overflow for any size).
    """
    c_in, c_out, k, h, w = (_positive(n, v) for n, v in (("c_in", c_in), ("c_out", c_out), ("k", k),
                                                            ("h", h), ("w", w)))
    if depthwise_separable:
        return c_in * k * k + c_in + c_in * c_out + c_out, (c_in * k * k + c_in * c_out) * h * w
    return c_out * c_in * k * k + c_out, c_out * c_in * k * k * h * w


def time_inference(model, input_shape=(1, 28, 28), batch=256, repeats=5, n_threads=1, seed=0):
    """Median wall time of one forward pass over a batch (eval mode, no autograd), after one warm-up.

    Returns
    -------
    float
        Seconds per batch.
    """
    x = torch.randn((batch,) + tuple(input_shape), generator=torch.Generator().manual_seed(seed))
    was = model.training
    model.eval()
    times = []
    try:
        with threads(n_threads), torch.inference_mode():
            model(x)
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
    finally:
        model.train(was)
    return float(np.median(times))


def cost_table(builders=None, input_shape=(1, 28, 28), batch=256, repeats=5, n_threads=1, seed=0):
    """Parameters, multiply-adds and measured CPU inference time of each architecture.

    Parameters
    ----------
    builders : dict name -> callable, optional
        Default :data:`ARCHITECTURES`. Each is built after ``torch.manual_seed(seed)``.

    Returns
    -------
    list of dict
        ``name, params, macs, ms`` (per batch of ``batch`` inputs), ``us_per_image``,
        ``out_shape`` and ``model`` (the built network).
    """
    rows = []
    for name, build in (builders or _default()).items():
        torch.manual_seed(seed)
        model = build()
        seconds = time_inference(model, input_shape, batch, repeats, n_threads, seed)
        with torch.no_grad():
            out = model.eval()(torch.zeros((2,) + tuple(input_shape)))
        rows.append({"name": name, "params": count_params(model), "macs": count_macs(model, input_shape),
                     "ms": 1000 * seconds, "us_per_image": 1e6 * seconds / batch, "out_shape": tuple(out.shape),
                     "model": model})
    return rows



def _default():
    from .builders import ARCHITECTURES

    return ARCHITECTURES
