"""Conv2d layer (calls cnnlib.functional.conv2d_forward / conv2d_backward)."""
import math

import numpy as np

from .. import functional as F
from .. import init
from .module import Module, Parameter


def _pair(name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return tuple(int(v) for v in value)
    return (int(value), int(value))


class Conv2d(Module):
    """2-D convolution over NCHW batches, shaped like torch.nn.Conv2d.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
    bias : bool, default True
    rng : numpy.random.Generator, optional
        Source of the initial weights; default: the module-level generator
        (reseed with ``cnnlib.nn.manual_seed``).
    dtype : numpy dtype, default float32

    Attributes
    ----------
    weight : Parameter, (out_channels, in_channels, KH, KW)
    bias : Parameter (out_channels,) or None

    Notes
    -----
    Initialisation is torch's: ``kaiming_uniform_(weight, a=sqrt(5))`` i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels*KH*KW``,
    and the bias from the same interval.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, rng=None, dtype=np.float32):
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"in_channels and out_channels must be positive, "
                             f"got {in_channels} and {out_channels}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        self.padding = _pair("padding", padding)
        rng = init.default_rng() if rng is None else rng
        shape = (out_channels, in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight.shape)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, rng=rng)
        else:
            self.register_parameter("bias", None)
        self._cache = None

    def forward(self, x):
        """x : (N, C_in, H, W) ndarray -> (N, C_out, OH, OW) ndarray."""
        b = None if self.bias is None else self.bias.data
        out, self._cache = F.conv2d_forward(x, self.weight.data, b, self.stride, self.padding)
        return out

    def backward(self, dout):
        """dout : (N, C_out, OH, OW) -> dx (N, C_in, H, W); accumulates weight/bias grads."""
        dx, dw, db = F.conv2d_backward(dout, self._get_cache())
        self.weight.accumulate_grad(dw)
        if self.bias is not None:
            self.bias.accumulate_grad(db)
        return dx

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s
