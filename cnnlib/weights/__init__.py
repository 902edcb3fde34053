"""Small trained weights shipped inside cnnlib (never downloaded), and the code that makes them.

``lesson04_cnn.npz`` holds the small CNN of Lesson 04 (9,098 parameters)::

    (N, 1, 28, 28) -conv1 8x3x3, pad 1-> ReLU -> max-pool 2 -> (N, 8, 14, 14)
    -conv2 16x8x3x3, pad 1-> ReLU -> max-pool 2 -> (N, 16, 7, 7)
    -flatten-> (N, 784) -fc 10x784-> (N, 10) logits -softmax-> probabilities

It was trained by cnnlib's own numpy engine (``cnnlib.nn`` layers,
``cnnlib.optim.Adam``, ``cnnlib.train.fit``) on the 60,000 MNIST training
images with pixels scaled to [0, 1] (:func:`cnnlib.data.to_float_nchw`), seeded.
``python scripts/make_lesson04_weights.py`` regenerates the file with
:func:`train_lesson04_cnn` and records the test accuracy it reached
(:func:`lesson04_info`).

Parameters are a plain dict with torch's ``state_dict`` names
(``"conv1.weight"``, ``"conv1.bias"``, ``"conv2.weight"``, ``"conv2.bias"``,
``"fc.weight"``, ``"fc.bias"``), so they load unchanged into the torch twin
(:func:`lesson04_torch_model`).
"""
import json
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["LESSON04_FILE", "PARAM_NAMES", "load_lesson04_cnn", "lesson04_info", "forward_stages",
           "lesson04_model", "lesson04_torch_model", "train_lesson04_cnn", "save_lesson04_cnn"]

LESSON04_FILE = Path(__file__).resolve().parent / "lesson04_cnn.npz"
PARAM_NAMES = ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias")
# position of each named layer in the cnnlib.nn.Sequential twin (its state_dict keys are "0.weight", ...)
_SEQ_INDEX = {"conv1": 0, "conv2": 3, "fc": 7}


def load_lesson04_cnn(path=None):
    """The trained parameters of Lesson 04's small CNN, as a fresh dict of float32 arrays.

    Parameters
    ----------
    path : path-like, optional
        Default: the file shipped with cnnlib.

    Returns
    -------
    params : dict
        ``conv1.weight (8, 1, 3, 3)``, ``conv1.bias (8,)``, ``conv2.weight (16, 8, 3, 3)``,
        ``conv2.bias (16,)``, ``fc.weight (10, 784)``, ``fc.bias (10,)``; new arrays on
        every call, so changing them changes nothing for the next caller.
    """
    with np.load(LESSON04_FILE if path is None else path) as data:
        missing = [k for k in PARAM_NAMES if k not in data.files]
        if missing:
            raise ValueError(f"{path or LESSON04_FILE} lacks the parameters {missing}")
        return {k: np.array(data[k]) for k in PARAM_NAMES}


def lesson04_info(path=None):
    """How the shipped weights were made and what they reach.

    Returns
    -------
    info : dict
        ``test_accuracy`` (float), ``test_correct`` and ``test_n`` (ints, over the
        10,000 MNIST test images), ``epochs``, ``seed``, ``lr``, ``batch_size``,
        ``n_train``, ``num_params``.
    """
    with np.load(LESSON04_FILE if path is None else path) as data:
        return json.loads(str(data["info"]))


def forward_stages(x, params):
    """Run the small CNN on a batch and keep every intermediate result.

    Built only from :mod:`cnnlib.functional`; works for any channel counts and
    image size the parameters fit (conv 3x3 with padding 1, max-pool 2x2).

    Parameters
    ----------
    x : (N, 1, H, W) ndarray
        Images, pixels in [0, 1].
    params : dict
        As returned by :func:`load_lesson04_cnn`.

    Returns
    -------
    stages : OrderedDict
        ``name -> ndarray`` in the order they are computed: ``input (N, 1, H, W)``,
        ``conv1 (N, C1, H, W)``, ``relu1``, ``pool1 (N, C1, H/2, W/2)``, ``conv2 (N, C2, H/2, W/2)``,
        ``relu2``, ``pool2 (N, C2, H/4, W/4)``, ``flatten (N, C2*(H/4)*(W/4))``,
        ``logits (N, K)`` and ``softmax (N, K)``.
    """
    from cnnlib import functional as F

    stages = OrderedDict(input=np.asarray(x))
    out = stages["input"]
    for i in (1, 2):
        out = F.conv2d_forward(out, params[f"conv{i}.weight"], params[f"conv{i}.bias"], 1, 1)[0]
        stages[f"conv{i}"] = out
        out = stages[f"relu{i}"] = F.relu_forward(out)[0]
        out = stages[f"pool{i}"] = F.max_pool2d_forward(out, 2, 2)[0]
    out = stages["flatten"] = out.reshape(len(out), -1)
    out = stages["logits"] = F.linear_forward(out, params["fc.weight"], params["fc.bias"])[0]
    stages["softmax"] = F.softmax(out)
    return stages


def lesson04_model(params=None, seed=0):
    """The small CNN as a ``cnnlib.nn.Sequential`` (freshly initialised, or holding ``params``).

    Parameters
    ----------
    params : dict, optional
        Named parameters to load (see :func:`load_lesson04_cnn`).
    seed : int
        Seeds the initialisation (a Generator of its own: cnnlib's global seed is left alone).

    Returns
    -------
    model : cnnlib.nn.Sequential
        ``Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, MaxPool2d, Flatten, Linear``; its
        output is the logits ``(N, 10)``.
    """
    from cnnlib import nn

    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 7 * 7, 10, rng=rng))
    if params is not None:
        model.load_state_dict(_to_sequential(params))
    return model


def lesson04_torch_model(params):
    """The PyTorch twin of the small CNN, holding ``params`` (float32), in eval mode.

    Its ``state_dict`` keys are exactly :data:`PARAM_NAMES`.

    Returns
    -------
    model : torch.nn.Sequential
    """
    import torch
    from torch import nn

    model = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 8, 3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(8, 16, 3, padding=1), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(), fc=nn.Linear(16 * 7 * 7, 10)))
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in params.items()})
    return model.eval()


def _to_sequential(params):
    return {f"{_SEQ_INDEX[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in params.items()}


def _from_sequential(state):
    names = {str(i): name for name, i in _SEQ_INDEX.items()}
    return {f"{names[k.split('.')[0]]}.{k.split('.')[1]}": np.array(v) for k, v in state.items()}


def train_lesson04_cnn(x, y, epochs=3, batch_size=64, lr=3e-3, lr_decay=0.5, seed=0, progress=False):
    """Train the small CNN with cnnlib's engine; the same inputs give the same weights.

    Adam with learning rate ``lr``, multiplied by ``lr_decay`` after every epoch;
    the data order and the initial weights both come from ``seed``.

    Parameters
    ----------
    x : (N, 1, 28, 28) float32 ndarray
        Pixels in [0, 1].
    y : (N,) int ndarray
    epochs, batch_size : int
    lr, lr_decay : float
    seed : int
    progress : bool
        Show a progress bar.

    Returns
    -------
    params : dict
        Named float32 parameters (see :func:`load_lesson04_cnn`).
    history : cnnlib.train.History
    """
    from cnnlib.optim import Adam
    from cnnlib.train import fit

    model = lesson04_model(seed=seed)
    optimizer = Adam(model.parameters(), lr=lr)

    def decay(epoch, history):
        for group in optimizer.param_groups:
            group["lr"] *= lr_decay

    history = fit(model, x, y, optimizer=optimizer, num_epochs=epochs, batch_size=batch_size,
                  seed=seed, callback=decay, progress=progress)
    return _from_sequential(model.state_dict()), history


def save_lesson04_cnn(path, params, info):
    """Write ``params`` and the ``info`` dict (JSON) to an ``.npz`` file, compressed."""
    arrays = {k: np.asarray(params[k], dtype=np.float32) for k in PARAM_NAMES}
    np.savez_compressed(path, info=np.array(json.dumps(info, sort_keys=True)), **arrays)
