"""Flatten: reshape (N, C, H, W) -> (N, C*H*W) between conv and linear layers."""
import math

import numpy as np

from .module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one, like torch.nn.Flatten.

    Parameters
    ----------
    start_dim : int, default 1
        Keeps the batch axis.
    end_dim : int, default -1

    A reshape moves no numbers, so backward simply reshapes ``dout`` back.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim
        self._cache = None

    def forward(self, x):
        x = np.asarray(x)
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} is after end_dim {self.end_dim} "
                             f"for input of shape {x.shape}")
        self._cache = x.shape
        new_shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
        return x.reshape(new_shape)

    def backward(self, dout):
        shape = self._get_cache()
        dout = np.asarray(dout)
        if dout.size != math.prod(shape):
            raise ValueError(f"Flatten.backward: dout of shape {dout.shape} does not match "
                             f"the forward input shape {shape}")
        return dout.reshape(shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
