"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh (wrapping cnnlib.functional)."""
from .. import functional as F
from .module import Module


class _Activation(Module):
    def __init__(self):
        super().__init__()
        self._cache = None

    def _fwd(self, x):
        raise NotImplementedError

    def _bwd(self, dout, cache):
        raise NotImplementedError

    def forward(self, x):
        """Elementwise; output has the shape of ``x``."""
        out, self._cache = self._fwd(x)
        return out

    def backward(self, dout):
        """Elementwise; dx has the shape of ``dout``."""
        return self._bwd(dout, self._get_cache())


class ReLU(_Activation):
    """``max(x, 0)``, like torch.nn.ReLU."""

    def _fwd(self, x):
        return F.relu_forward(x)

    def _bwd(self, dout, cache):
        return F.relu_backward(dout, cache)


class LeakyReLU(_Activation):
    """``x`` if ``x > 0`` else ``negative_slope * x``, like torch.nn.LeakyReLU.

    Parameters
    ----------
    negative_slope : float, default 0.01
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def _fwd(self, x):
        return F.leaky_relu_forward(x, self.negative_slope)

    def _bwd(self, dout, cache):
        return F.leaky_relu_backward(dout, cache)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``, like torch.nn.Sigmoid."""

    def _fwd(self, x):
        return F.sigmoid_forward(x)

    def _bwd(self, dout, cache):
        return F.sigmoid_backward(dout, cache)


class Tanh(_Activation):
    """``tanh(x)``, like torch.nn.Tanh."""

    def _fwd(self, x):
        return F.tanh_forward(x)

    def _bwd(self, dout, cache):
        return F.tanh_backward(dout, cache)
