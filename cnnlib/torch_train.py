"""Training and evaluating PyTorch classifiers: the reference loop of the capstone lesson.

The lesson asks the learner to write ``train_one_epoch`` and ``evaluate``
themselves; :func:`fit` accepts theirs (``train_fn=``, ``eval_fn=``) so the
same history, schedule and live plot work with either.
"""
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["train_one_epoch", "evaluate", "predict_proba", "one_cycle", "fit",
           "count_parameters", "load_state_dict_file", "accuracy_credit", "accuracy_thresholds",
           "measure_saved_model"]


def _progress(iterable, enabled, desc, total=None):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # a widget bar in Jupyter, text in a terminal
    return tqdm(iterable, desc=desc, total=total, leave=False)


def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", transform=None,
                    progress=False, desc="train"):
    """One pass over ``loader``: forward, cross-entropy, backward, step (and schedule) per batch.

    Parameters
    ----------
    model : torch.nn.Module
    loader : iterable of ``(x, y)``
        ``x : (B, 1, 28, 28) float32``, ``y : (B,) int64``.
    optimizer : torch.optim.Optimizer
    scheduler : LR scheduler stepped once per batch (e.g. OneCycleLR), optional
    transform : callable, optional
        Applied to each input batch (data augmentation).
    progress : bool
        Show a tqdm bar with the running loss.

    Returns
    -------
    dict
        ``loss`` (mean over examples) and ``acc`` (fraction correct) during the pass.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = _progress(loader, progress, desc, total=_len(loader))
    for x, y in bar:
        x, y = x.to(device), y.to(device)
        if transform is not None:
            x = transform(x)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = y.shape[0]
        total_loss += loss.item() * n
        correct += (logits.argmax(1) == y).sum().item()
        seen += n
        if progress:
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}")
    if seen == 0:
        raise ValueError("train_one_epoch: the loader yielded no batches")
    return {"loss": total_loss / seen, "acc": correct / seen}


@torch.inference_mode()
def evaluate(model, loader, device="cpu"):
    """Mean cross-entropy and accuracy of ``model`` over ``loader``, in eval mode without gradients.

    Returns
    -------
    dict
        ``loss`` (mean over examples), ``acc`` (fraction correct), ``n`` (examples seen).
    """
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += y.shape[0]
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {"loss": total_loss / seen, "acc": correct / seen, "n": seen}


@torch.inference_mode()
def predict_proba(model, x, batch_size=1000):
    """Class probabilities for a batch of images.

    Parameters
    ----------
    x : (N, 1, 28, 28) float32 tensor or ndarray
        Normalized images.

    Returns
    -------
    (N, 10) float32 ndarray
        Softmax probabilities, rows sum to 1.
    """
    model.eval()
    x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    if x.ndim != 4:
        raise ValueError(f"predict_proba: expected (N, 1, H, W) images, got shape {tuple(x.shape)}")
    out = [torch.softmax(model(x[i:i + batch_size]), dim=1) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


def one_cycle(optimizer, max_lr, num_epochs, steps_per_epoch, pct_start=0.25):
    """A OneCycle schedule, stepped once per batch.

    The learning rate warms up from ``max_lr / 25`` to ``max_lr`` during the
    first ``pct_start`` of training, then anneals (cosine) to nearly zero:
    large steps explore early, small steps settle into a good minimum.
    """
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, epochs=num_epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start)


def fit(model, train_loader, test_loader, optimizer, num_epochs, scheduler=None, device="cpu",
        transform=None, callback=None, progress=False, train_fn=None, eval_fn=None):
    """Train for ``num_epochs`` epochs, evaluating on ``test_loader`` after each.

    Parameters
    ----------
    callback : callable, optional
        Called as ``callback(history)`` after every epoch (e.g. a live plot).
    train_fn, eval_fn : callable, optional
        Replace :func:`train_one_epoch` / :func:`evaluate` (the learner's own
        versions); they must take the same leading arguments and return dicts
        with ``loss`` and ``acc``.

    Returns
    -------
    dict of lists
        ``epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds`` (per epoch;
        ``seconds`` is the training time of that epoch).
    """
    train_fn = train_fn or train_one_epoch
    eval_fn = eval_fn or evaluate
    history = {k: [] for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")}
    for epoch in range(1, num_epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        t0 = time.perf_counter()
        kwargs = {"transform": transform} if transform is not None else {}
        if progress and train_fn is train_one_epoch:
            kwargs.update(progress=True, desc=f"epoch {epoch}/{num_epochs}")
        tr = train_fn(model, train_loader, optimizer, scheduler, device, **kwargs)
        seconds = time.perf_counter() - t0
        ev = eval_fn(model, test_loader, device)
        for key, value in (("epoch", epoch), ("train_loss", tr["loss"]), ("train_acc", tr["acc"]),
                           ("val_loss", ev["loss"]), ("val_acc", ev["acc"]), ("lr", lr),
                           ("seconds", seconds)):
            history[key].append(float(value))
        if callback is not None:
            callback(history)
    return history


def count_parameters(model):
    """Number of trainable parameters (the model's "size" budget)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def load_state_dict_file(model, path):
    """Load a saved ``state_dict`` into ``model``, refusing anything else with a clear message.

    Returns
    -------
    model
        In eval mode.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a state_dict (e.g. a pickled whole model, garbage), or its
        keys or tensor shapes do not match ``model``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found next to the notebook: run the save cell "
                                f"after full training and submit the file with the notebook")
    try:
        # weights_only: a state_dict is plain tensors; refuse arbitrary pickled code.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear answer
        raise ValueError(f"{path.name} is not a saved state_dict ({type(exc).__name__}); "
                         f"save it with torch.save(model.state_dict(), path)") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path.name} holds a {type(state).__name__}, not a state_dict of tensors; "
                         f"save it with torch.save(model.state_dict(), path)")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path.name} does not match your Net: missing keys {missing[:4]}, "
                         f"unexpected keys {unexpected[:4]} (was it saved from a different architecture?)")
    wrong = [f"{k}: file {tuple(state[k].shape)} vs Net {tuple(v.shape)}"
             for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise ValueError(f"{path.name} does not match your Net: shapes differ for {'; '.join(wrong[:3])}")
    model.load_state_dict(state)
    return model.eval()


def accuracy_credit(correct, n=10000, low=0.97, high=0.99, steps=10):
    """Share of the points earned by a test accuracy: stepwise linear from ``low`` to ``high``.

    One step (``1/steps`` of the points) per ``(high - low) / steps`` of accuracy
    above ``low``; full points at ``high`` or more. With the defaults: one tenth
    per 0.2 percentage points above 97.0 %, so 98.5 % earns 0.7.
    Computed on integer counts so that e.g. exactly 9,900/10,000 is full credit.
    """
    thresholds = accuracy_thresholds(n, low, high, steps)
    return sum(correct >= t for t in thresholds) / steps


def accuracy_thresholds(n=10000, low=0.97, high=0.99, steps=10):
    """The numbers of correct answers (out of ``n``) each credit step requires."""
    return [int(round(n * (low + (high - low) * k / steps))) for k in range(1, steps + 1)]


def measure_saved_model(make_model, path, ds=None, batch_size=1000, max_params=None):
    """Load a saved state_dict into ``make_model()`` and count correct answers on the MNIST test set.

    Never raises: the grade cell reports ``error`` to the learner instead of a traceback.
    Evaluation only (batched, ``inference_mode``): a few seconds for a small CNN.

    Parameters
    ----------
    make_model : callable
        Builds an untrained model, e.g. the learner's ``Net`` class.
    path : path-like
        The ``state_dict`` file, e.g. ``mnist_cnn.pt``.
    ds : Dataset, optional
        From :func:`cnnlib.data.load_mnist` (loaded here if omitted).
    max_params : int, optional
        Refuse a model with more trainable parameters than this, or more numbers
        than this in its buffers (a budget that also rules out stored answers).

    Returns
    -------
    dict
        ``correct`` and ``n`` (ints, 0 on failure), ``acc`` (fraction) and ``error``
        (``None``, or a message saying what was wrong).
    """
    result = {"correct": 0, "n": 0, "acc": 0.0, "error": None}
    try:
        model = make_model()
    except Exception as exc:  # noqa: BLE001 - the learner's class may be broken in any way
        result["error"] = f"could not build your Net: {type(exc).__name__}: {exc}"
        return result
    if max_params is not None:
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        n_buffers = sum(b.numel() for b in model.buffers())
        if n_params > max_params or n_buffers > max_params:
            result["error"] = (f"your Net has {n_params:,} trainable parameters and {n_buffers:,} numbers in "
                               f"buffers; the budget is {max_params:,}")
            return result
    try:
        load_state_dict_file(model, path)
    except (FileNotFoundError, ValueError) as exc:
        result["error"] = str(exc)
        return result
    except Exception as exc:  # noqa: BLE001
        result["error"] = f"could not load {Path(path).name}: {type(exc).__name__}: {exc}"
        return result
    try:
        if ds is None:
            from .data import load_mnist
            ds = load_mnist(progress=False)
        from .torch_data import make_loader, to_tensor_dataset
        stats = evaluate(model, make_loader(to_tensor_dataset(ds.x_test, ds.y_test), batch_size))
    except Exception as exc:  # noqa: BLE001
        result["error"] = f"evaluating your model failed: {type(exc).__name__}: {exc}"
        return result
    correct = int(round(stats["acc"] * stats["n"]))
    result.update(correct=correct, n=stats["n"], acc=correct / stats["n"])
    return result


def _len(loader):
    try:
        return len(loader)
    except TypeError:
        return None
