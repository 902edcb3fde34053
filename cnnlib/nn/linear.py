"""Linear (fully connected) layer, calling cnnlib.functional.linear_forward/backward."""
import math

import numpy as np

from .. import functional as F
from .. import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ weight.T + bias``, shaped like torch.nn.Linear.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    rng : numpy.random.Generator, optional
        Default: the module-level generator (``cnnlib.nn.manual_seed``).
    dtype : numpy dtype, default float32

    Attributes
    ----------
    weight : Parameter, (out_features, in_features)
    bias : Parameter (out_features,) or None

    Notes
    -----
    torch's default init: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float32):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"in_features and out_features must be positive, "
                             f"got {in_features} and {out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = init.default_rng() if rng is None else rng
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            bound = 1 / math.sqrt(in_features)
            init.uniform_(self.bias, -bound, bound, rng=rng)
        else:
            self.register_parameter("bias", None)
        self._cache = None

    def forward(self, x):
        """x : (N, in_features) ndarray -> (N, out_features) ndarray."""
        b = None if self.bias is None else self.bias.data
        out, self._cache = F.linear_forward(x, self.weight.data, b)
        return out

    def backward(self, dout):
        """dout : (N, out_features) -> dx (N, in_features); accumulates weight/bias grads."""
        dx, dw, db = F.linear_backward(dout, self._get_cache())
        self.weight.accumulate_grad(dw)
        if self.bias is not None:
            self.bias.accumulate_grad(db)
        return dx

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
