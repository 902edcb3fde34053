"""Probe layers for checks: observe how a learner's code runs a model.

Hidden checks run the learner's functions in a sandbox and see only what comes
back (return values and the final state of the arguments), so a hook in the
checking process would never fire. A probe layer placed inside the model
records what it saw in its own buffers, which travel back with the model.
"""
import torch
from torch import nn

__all__ = ["ModeProbe"]


class ModeProbe(nn.Module):
    """Identity layer that counts its calls by autograd and train/eval mode.

    Buffers (int64 scalars): ``calls``, ``calls_grad`` (autograd was recording),
    ``calls_training`` (the model was in training mode).

    Examples
    --------
    >>> model = nn.Sequential(ModeProbe(), nn.Flatten(), nn.Linear(4, 2))
    >>> with torch.no_grad():
    ...     _ = model.eval()(torch.zeros(1, 4))
    >>> int(model[0].calls), int(model[0].calls_grad), int(model[0].calls_training)
    (1, 0, 0)
    """

    def __init__(self):
        super().__init__()
        for name in ("calls", "calls_grad", "calls_training"):
            self.register_buffer(name, torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        recording = torch.is_grad_enabled()  # read before no_grad() below changes it
        with torch.no_grad():
            self.calls += 1
            self.calls_grad += int(recording)
            self.calls_training += int(self.training)
        return x
