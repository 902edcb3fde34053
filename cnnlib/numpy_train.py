"""Lesson 07's training loop on numpy: the reference of the ``train_one_epoch`` exercise and the
full run (:data:`cnnlib.numpy_model.RECIPE`). Engine side: numpy and :mod:`cnnlib` only, no torch.
"""
import time

import numpy as np

from . import nn

__all__ = ["train_one_epoch", "train_recipe"]


def train_one_epoch(model, x, y, optimizer, batch_size=64, rng=None, transform=None, progress=False):
    """One pass over ``(x, y)`` in shuffled mini-batches: the reference of Lesson 07's exercise.

    Parameters
    ----------
    model : cnnlib.nn.Module
        Put in training mode; left there.
    x : (N, 1, 28, 28) float ndarray
    y : (N,) int ndarray
    optimizer : cnnlib.optim.Optimizer
        Over ``model.parameters()``.
    batch_size : int
    rng : numpy.random.Generator, optional
        Shuffles: ``perm = rng.permutation(N)``, batch k is ``perm[k * batch_size:(k + 1) * batch_size]``
        (exactly :func:`cnnlib.train.fit`'s order). None: a fresh unseeded generator.
    transform : callable, optional
        ``transform(xb) -> xb`` applied to every batch of images (data augmentation).
    progress : bool
        Show a tqdm bar over the batches.

    Returns
    -------
    dict
        ``loss``: mean cross-entropy per example, ``acc``: fraction of examples whose largest
        logit is the label (both measured on the fly, in training mode).
    """
    rng = np.random.default_rng() if rng is None else rng
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    n = len(x)
    perm = rng.permutation(n)
    starts = range(0, n, batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, leave=False, desc="batches")
    total_loss, correct = 0.0, 0
    for i in starts:
        idx = perm[i:i + batch_size]
        xb, yb = x[idx], y[idx]
        if transform is not None:
            xb = transform(xb)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        total_loss += loss * len(idx)
        correct += int((logits.argmax(axis=1) == yb).sum())
    return {"loss": total_loss / n, "acc": correct / n}


def train_recipe(ds, n_train=None, n_test=None, epochs=None, seed=None, train_fn=None, callback=None,
                 progress=False):
    """Lesson 07's full run (:data:`RECIPE`): Adam on the lesson's CNN, evaluated after every epoch.

    Parameters
    ----------
    ds : cnnlib.data.Dataset
        From :func:`cnnlib.data.load_mnist`.
    n_train, n_test : int, optional
        Use only the first images (default: all 60,000 and all 10,000).
    epochs, seed : int, optional
        Override the recipe's.
    train_fn : callable, optional
        ``train_fn(model, x, y, optimizer, batch_size, rng)`` (default :func:`train_one_epoch`).
    callback : callable, optional
        ``callback(history)`` after every epoch.

    Returns
    -------
    model : cnnlib.nn.Sequential
    history : dict of lists
        ``epoch, train_loss, train_acc, val_loss, val_acc, seconds`` (seconds: cumulative wall time,
        training and evaluation).
    """
    from .data import normalize, to_float_nchw
    from .numpy_model import RECIPE, build_model
    from .optim import Adam
    from .train import evaluate

    epochs = RECIPE["epochs"] if epochs is None else epochs
    seed = RECIPE["seed"] if seed is None else seed
    train_fn = train_one_epoch if train_fn is None else train_fn
    x = normalize(to_float_nchw(ds.x_train[:n_train]))
    y = ds.y_train[:n_train].astype(np.int64)
    x_test = normalize(to_float_nchw(ds.x_test[:n_test]))
    y_test = ds.y_test[:n_test].astype(np.int64)
    model = build_model(seed)
    optimizer = Adam(model.parameters(), lr=RECIPE["lr"])
    rng = np.random.default_rng(seed)
    history = {k: [] for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        stats = train_fn(model, x, y, optimizer, RECIPE["batch_size"], rng)
        val_loss, val_acc = evaluate(model, x_test, y_test, batch_size=1000)
        for key, value in (("epoch", epoch), ("train_loss", stats["loss"]), ("train_acc", stats["acc"]),
                           ("val_loss", val_loss), ("val_acc", val_acc),
                           ("seconds", time.perf_counter() - start)):
            history[key].append(value)
        optimizer.param_groups[0]["lr"] *= RECIPE["lr_decay"]
        if callback is not None:
            callback(history)
        if progress:
            print(f"epoch {epoch}/{epochs}: train loss {stats['loss']:.4f}, test accuracy {val_acc:.2%}")
    return model, history
