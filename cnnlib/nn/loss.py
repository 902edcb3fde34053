"""CrossEntropyLoss: softmax + negative log-likelihood, averaged over the batch."""
import numpy as np

from .. import functional as F
from .module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of raw scores (logits) against integer class labels.

    ``loss = crit(logits, targets)`` returns a python float (like
    ``torch.nn.CrossEntropyLoss()(...).item()``); ``crit.backward()`` then
    returns ``dlogits``, the gradient of that mean loss w.r.t. the logits.

    Parameters of ``forward``
    -------------------------
    logits : (N, K) ndarray
    targets : (N,) int ndarray with values in [0, K)
    """

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, logits, targets):
        loss, dlogits = F.cross_entropy(logits, targets)
        self._cache = dlogits
        return float(loss)

    def backward(self, dout=1.0):
        """Gradient w.r.t. the logits, (N, K); ``dout`` scales it (default 1)."""
        dlogits = self._get_cache()
        return dlogits if np.ndim(dout) == 0 and dout == 1.0 else dlogits * dout
