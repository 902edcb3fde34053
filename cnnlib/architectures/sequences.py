"""CNNs beyond images: 1-D convolution in numpy and a seeded synthetic sequence dataset."""
import numpy as np
from torch import nn

__all__ = ["conv1d_output_size", "conv1d", "WAVEFORMS", "make_waveforms", "sequence_cnn", "sequence_mlp"]


def conv1d_output_size(L, K, stride=1, padding=0):
    """``floor((L + 2*padding - K) / stride) + 1``."""
    return (L + 2 * padding - K) // stride + 1


def conv1d(x, w, b=None, stride=1, padding=0):
    """1-D cross-correlation of a batch of sequences, as ``torch.nn.functional.conv1d``.

    A 1-D convolution is a 2-D one on images one pixel high: this calls
    :func:`cnnlib.functional.conv2d_forward` on ``(N, C, 1, L)`` with a ``(F, C, 1, K)`` kernel,
    stride ``(1, stride)`` and padding ``(0, padding)``.

    Parameters
    ----------
    x : (N, C, L) ndarray
    w : (F, C, K) ndarray
    b : (F,) ndarray or None
    stride, padding : int

    Returns
    -------
    (N, F, L_out) ndarray
        ``L_out = (L + 2*padding - K) // stride + 1``.
    """
    from ..functional import conv2d_forward

    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(f"conv1d: expected x (N, C, L) and w (F, C, K), got {x.shape} and {w.shape}")
    out, _ = conv2d_forward(x[:, :, None, :], w[:, :, None, :], None if b is None else np.asarray(b),
                            stride=(1, int(stride)), padding=(0, int(padding)))
    return out[:, :, 0, :]


#: class names of :func:`make_waveforms`
WAVEFORMS = ("sine", "square", "triangle", "sawtooth")


def make_waveforms(n, length=128, seed=0, noise=0.3):
    """A seeded synthetic "sensor" dataset: four periodic wave shapes with random frequency, phase and gain.

    Class ``k`` is :data:`WAVEFORMS` ``[k]``. Each sequence has ``2`` to ``6`` periods over its
    length, a uniformly random phase (a random shift in time), an amplitude in [0.6, 1.4], an
    offset in [-0.3, 0.3] and Gaussian noise of standard deviation ``noise``. Balanced classes.

    Returns
    -------
    x : (n, 1, length) float32 ndarray
    y : (n,) int64 ndarray
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(WAVEFORMS)).astype(np.int64)
    t = np.arange(length) / length
    periods = rng.uniform(2, 6, size=(n, 1))
    phase = rng.uniform(0, 1, size=(n, 1))
    u = (periods * t + phase) % 1.0                       # position in the period, in [0, 1)
    shapes = np.stack([np.sin(2 * np.pi * u),
                       np.where(u < 0.5, 1.0, -1.0),
                       1 - 4 * np.abs(u - 0.5),
                       2 * u - 1])                          # (4, n, length)
    x = shapes[y, np.arange(n)]
    x = x * rng.uniform(0.6, 1.4, size=(n, 1)) + rng.uniform(-0.3, 0.3, size=(n, 1))
    x = x + noise * rng.standard_normal((n, length))
    return x[:, None, :].astype(np.float32), y


def sequence_cnn(n_classes=len(WAVEFORMS), channels=(16, 32, 32), k=9):
    """A small 1-D CNN: three ``Conv1d(k, padding k//2) -> BN -> ReLU`` (max-pool 2 after the first two),
    global average pool, linear. ``(N, 1, L) -> (N, n_classes)``."""
    c0, c1, c2 = channels
    p = k // 2
    return nn.Sequential(nn.Conv1d(1, c0, k, padding=p, bias=False), nn.BatchNorm1d(c0), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(c0, c1, k, padding=p, bias=False), nn.BatchNorm1d(c1), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(c1, c2, k, padding=p, bias=False), nn.BatchNorm1d(c2), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c2, n_classes))


def sequence_mlp(length=128, n_classes=len(WAVEFORMS), hidden=64):
    """The dense baseline: ``flatten -> linear length -> hidden -> ReLU -> linear hidden -> n_classes``."""
    return nn.Sequential(nn.Flatten(), nn.Linear(length, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
