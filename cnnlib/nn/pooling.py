"""MaxPool2d and AvgPool2d layers (call the cnnlib.functional pooling ops)."""
from .. import functional as F
from .module import Module


class _Pool2d(Module):
    _op = None  # name of the functional op, e.g. "max_pool2d"

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = kernel_size
        # like torch: stride defaults to the kernel size (non-overlapping windows)
        self.stride = kernel_size if stride is None else stride
        self._cache = None

    def forward(self, x):
        """x : (N, C, H, W) ndarray -> (N, C, OH, OW) ndarray."""
        out, self._cache = getattr(F, self._op + "_forward")(x, self.kernel_size, self.stride)
        return out

    def backward(self, dout):
        """dout : (N, C, OH, OW) -> dx (N, C, H, W)."""
        return getattr(F, self._op + "_backward")(dout, self._get_cache())


class MaxPool2d(_Pool2d):
    """Max over each ``kernel_size`` window, like torch.nn.MaxPool2d (no padding).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.

    The gradient flows only to the position of each window's maximum.
    """
    _op = "max_pool2d"

    def extra_repr(self):
        # same text as torch, which also prints its (unsupported here) options
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0, "
                f"dilation=1, ceil_mode=False")


class AvgPool2d(_Pool2d):
    """Mean over each ``kernel_size`` window, like torch.nn.AvgPool2d (no padding).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    """
    _op = "avg_pool2d"

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0"
