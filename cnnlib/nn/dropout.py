"""Dropout layer (inverted dropout, calling cnnlib.functional.dropout_forward/backward)."""
from .. import functional as F
from .. import init
from .module import Module


class Dropout(Module):
    """Zero each input with probability ``p`` while training, scale the rest by 1/(1-p).

    In eval mode (``model.eval()``) it passes inputs through unchanged,
    like torch.nn.Dropout.

    Parameters
    ----------
    p : float, default 0.5
        Drop probability, in [0, 1].
    rng : numpy.random.Generator, optional
        Draws the masks.  Seed it for reproducible masks:
        ``Dropout(0.5, rng=np.random.default_rng(0))``.  When None, each
        forward uses the module-level generator, which
        ``cnnlib.nn.manual_seed(seed)`` reseeds.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.rng = rng
        self._cache = None

    def forward(self, x):
        rng = init.default_rng() if self.rng is None else self.rng
        out, self._cache = F.dropout_forward(x, self.p, self.training, rng)
        return out

    def backward(self, dout):
        return F.dropout_backward(dout, self._get_cache())

    def extra_repr(self):
        return f"p={self.p}, inplace=False"
