"""Transfer learning with the course's capstone network: freeze, replace the head, train on few labels."""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .blocks import threads

__all__ = ["freeze", "unfreeze", "replace_head", "trainable_names", "standardize", "per_class_indices", "train",
           "accuracy", "conv_features", "METHODS", "transfer_steps", "transfer_run"]


def freeze(model):
    """Set ``requires_grad=False`` on every parameter of ``model`` (in place); return ``model``."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def unfreeze(model):
    """Set ``requires_grad=True`` on every parameter of ``model`` (in place); return ``model``."""
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def replace_head(model, num_classes):
    """Replace the last ``nn.Linear`` of ``model`` (in ``named_modules()`` order) by a new one.

    The new layer is ``nn.Linear(in_features, num_classes)`` (freshly initialized, trainable, the
    old layer's dtype), set on the old layer's parent with ``setattr``, so any container works.

    Returns
    -------
    model
        The same object.

    Raises
    ------
    ValueError
        No ``nn.Linear`` in the model, or ``num_classes < 1``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("replace_head: the model has no nn.Linear layer")
    name, old = linears[-1]
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    setattr(parent, attr, nn.Linear(old.in_features, int(num_classes), dtype=old.weight.dtype))
    return model


def trainable_names(model):
    """Names of the parameters that require grad."""
    return [name for name, p in model.named_parameters() if p.requires_grad]


def standardize(images, mean, std):
    """uint8 images ``(N, 28, 28)`` -> float32 tensor ``(N, 1, 28, 28)`` of ``(pixels / 255 - mean) / std``."""
    from ..data import normalize, to_float_nchw

    return torch.from_numpy(normalize(to_float_nchw(images), mean, std))


def per_class_indices(labels, n_per_class, seed=0, num_classes=10):
    """Indices of ``n_per_class`` examples of each class, drawn by one seeded shuffle.

    The same seed gives nested subsets: the 10 examples per class are among the 100.

    Returns
    -------
    (num_classes * n_per_class,) int64 ndarray
        Sorted.

    Raises
    ------
    ValueError
        A class has fewer than ``n_per_class`` examples.
    """
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    picked = []
    for c in range(num_classes):
        of_c = order[labels[order] == c]
        if len(of_c) < n_per_class:
            raise ValueError(f"per_class_indices: class {c} has only {len(of_c)} examples, {n_per_class} asked")
        picked.append(of_c[:n_per_class])
    return np.sort(np.concatenate(picked)).astype(np.int64)


def train(model, x, y, steps, lr, batch_size=64, seed=0, weight_decay=1e-4, progress=None):
    """Train the parameters of ``model`` that require grad: AdamW, OneCycle to ``lr``, cross-entropy.

    Batches come from a seeded shuffle, a new order each epoch. ``model.train()`` during the
    loop (modules that are meant to stay fixed, e.g. a frozen backbone, are the caller's business).

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, ...) float tensor
    y : (N,) int64 tensor
    steps : int
    lr : float
        Peak learning rate.
    progress : callable, optional
        ``progress(step, steps)`` after every step (may raise to stop).

    Returns
    -------
    dict
        ``losses`` (list of floats), ``seconds``, ``steps``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("train: no parameter of the model requires grad")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=int(steps), pct_start=0.25)
    gen = torch.Generator().manual_seed(seed)
    batch_size = min(int(batch_size), len(x))
    order, pos, losses = torch.randperm(len(x), generator=gen), 0, []
    model.train()
    start = time.perf_counter()
    for step in range(int(steps)):
        if pos + batch_size > len(x):
            order, pos = torch.randperm(len(x), generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.item()))
        if progress is not None:
            progress(step + 1, int(steps))
    return {"losses": losses, "seconds": time.perf_counter() - start, "steps": int(steps)}


@torch.inference_mode()
def accuracy(model, x, y, batch_size=1000, num_classes=10):
    """Accuracy of ``model`` (eval mode) on ``(x, y)``, overall and per class.

    Returns
    -------
    acc : float
    per_class : (num_classes,) float64 ndarray
        Fraction correct of each true class (nan for a class absent from ``y``).
    """
    model.eval()
    pred = torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
    right = (pred == y).numpy()
    labels = y.numpy()
    per_class = np.array([right[labels == c].mean() if np.any(labels == c) else np.nan for c in range(num_classes)])
    return float(right.mean()), per_class


@torch.inference_mode()
def conv_features(net, x, batch_size=1000):
    """The frozen convolutional part's output ``net.features(x)`` in eval mode, in batches.

    Returns
    -------
    tensor (N, ...)
        E.g. ``(N, 64, 3, 3)`` for the capstone network: what its classifier receives.
    """
    net.eval()
    return torch.cat([net.features(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


#: the three ways of using the pretrained network, in the lesson's order
METHODS = ("frozen", "fine-tuned", "scratch")
_LR = {"head": 1e-2, "fine-tuned": 1e-3, "scratch": 1e-2}


def transfer_steps(n_train, fast=False):
    """Optimizer steps and batch size for a training set of ``n_train`` images.

    Batches of 32 (up to 100 images), 64 (up to 1,000) or 128; at least 2 epochs and at least
    150 steps (fast mode: 30 steps). Lesson 10's full-mode grid (10, 100, 1,000 labels per class)
    must train in about two minutes on 2 cores: 150, 150 and 158 steps.

    Returns
    -------
    (steps, batch_size)
    """
    batch = 32 if n_train <= 100 else 64 if n_train <= 1000 else 128
    if fast:
        return 30, batch
    return max(150, 2 * math.ceil(n_train / batch)), batch


def transfer_run(method, state_dict, data, n_per_class, fast=False, seed=0, freeze_fn=freeze,
                 replace_head_fn=replace_head, progress=None):
    """Train the capstone network on ``n_per_class`` labelled images per class in one of three ways.

    * ``"frozen"``: the pretrained network, frozen, with a new head (``freeze_fn``,
      ``replace_head_fn``); only the head is trained, on the cached convolutional features
      ``data["f_train"]`` (the same as training the frozen model with its backbone in eval mode);
    * ``"fine-tuned"``: the frozen model's trained head first, then every layer trained with a
      10x lower learning rate (1e-3), BatchNorm in training mode;
    * ``"scratch"``: the same architecture, randomly initialized, every layer trained (lr 1e-2).

    Parameters
    ----------
    state_dict : dict
        The pretrained :class:`cnnlib.models.CapstoneNet` weights.
    data : dict
        ``x_train, y_train, x_test, y_test`` (standardized image tensors and int64 labels) and
        ``f_train, f_test`` (:func:`conv_features` of the pretrained network).
    n_per_class : int
        Labelled training images per class (:func:`per_class_indices`, seeded with ``seed``).
    progress : callable, optional
        ``progress(fraction)``.

    Returns
    -------
    dict
        ``method, labels`` (per class), ``n_train, steps, batch_size, acc, per_class (10,), seconds``
        (training), ``model`` (the trained network, eval mode).
    """
    from ..models import CapstoneNet

    if method not in METHODS:
        raise ValueError(f"transfer_run: method must be one of {METHODS}, got {method!r}")
    idx = torch.from_numpy(per_class_indices(data["y_train"].numpy(), n_per_class, seed))
    steps, batch = transfer_steps(len(idx), fast)
    y = data["y_train"][idx]
    phases = 1 if method != "fine-tuned" else 2
    done = [0]

    def tick(step, total):
        if progress is not None:
            progress((done[0] + step / total) / phases)

    seconds = 0.0
    with threads(1):
        torch.manual_seed(seed)
        if method == "scratch":
            model = CapstoneNet()
            seconds += train(model, data["x_train"][idx], y, steps, _LR["scratch"], batch, seed, progress=tick)["seconds"]
            acc, per_class = accuracy(model, data["x_test"], data["y_test"])
        else:
            model = CapstoneNet()
            model.load_state_dict(state_dict)
            model = replace_head_fn(freeze_fn(model), 10)
            seconds += train(model.classifier, data["f_train"][idx], y, steps, _LR["head"], batch, seed,
                             progress=tick)["seconds"]
            if method == "frozen":
                acc, per_class = accuracy(model.classifier, data["f_test"], data["y_test"])
            else:
                done[0] = 1
                unfreeze(model)
                seconds += train(model, data["x_train"][idx], y, steps, _LR["fine-tuned"], batch, seed,
                                 progress=tick)["seconds"]
                acc, per_class = accuracy(model, data["x_test"], data["y_test"])
    return {"method": method, "labels": int(n_per_class), "n_train": len(idx), "steps": steps, "batch_size": batch,
            "acc": acc, "per_class": per_class, "seconds": seconds, "model": model.eval()}
