"""Mini-batch training loop for cnnlib models: fit, evaluate, predict, History.

``fit`` shuffles with a seeded numpy Generator, so the same seed (and the same
initial weights) reproduces the same run exactly.
"""
import time

import numpy as np

from .summary import Summary, summary  # noqa: F401  (also reachable as cnnlib.train.summary)

__all__ = ["fit", "evaluate", "predict", "History", "summary", "Summary"]


class History:
    """What happened during :func:`fit`.

    Attributes
    ----------
    train_loss, train_acc : list of float
        Per epoch: mean loss and accuracy over the training batches (measured
        on the fly while the weights change, in training mode).
    val_loss, val_acc : list of float
        Per epoch, on ``val_data`` in eval mode (empty without ``val_data``).
    batch_loss : list of float
        Loss of every mini-batch, in order.
    epoch_time : list of float
        Seconds spent on each epoch (including validation).
    """

    def __init__(self):
        self.train_loss, self.train_acc = [], []
        self.val_loss, self.val_acc = [], []
        self.batch_loss, self.epoch_time = [], []

    @property
    def epochs(self):
        return len(self.train_loss)

    def as_dict(self):
        return {k: list(v) for k, v in vars(self).items()}

    def __repr__(self):
        if not self.train_loss:
            return "History(no epochs)"
        s = (f"History({self.epochs} epochs, train_loss={self.train_loss[-1]:.4f}, "
             f"train_acc={self.train_acc[-1]:.4f}")
        if self.val_acc:
            s += f", val_loss={self.val_loss[-1]:.4f}, val_acc={self.val_acc[-1]:.4f}"
        return s + ")"


def _check_xy(x, y, where="fit"):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2:
        raise ValueError(f"{where}: x must have a batch axis first, e.g. (N, C, H, W); "
                         f"got shape {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be a 1-D array of class labels, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: y must hold integer class labels, got dtype {y.dtype}")
    if len(x) != len(y):
        raise ValueError(f"{where}: x has {len(x)} samples but y has {len(y)} labels")
    if len(x) == 0:
        raise ValueError(f"{where}: x and y are empty")
    return x, y


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _default_loss():
    from .nn import CrossEntropyLoss
    return CrossEntropyLoss()


def predict(model, x, batch_size=256):
    """Run ``model`` on ``x`` in eval mode, batch by batch.

    Parameters
    ----------
    model : Module
    x : (N, ...) ndarray
    batch_size : int

    Returns
    -------
    logits : (N, K) ndarray
    """
    _check_positive_int("batch_size", batch_size)
    x = np.asarray(x)
    was_training = model.training
    model.eval()
    try:
        outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs, axis=0)


def evaluate(model, x, y, batch_size=256, loss_fn=None):
    """Mean loss and accuracy of ``model`` on ``(x, y)``, in eval mode.

    Parameters
    ----------
    model : Module
    x : (N, ...) ndarray
    y : (N,) int ndarray
    batch_size : int
    loss_fn : callable, default CrossEntropyLoss()
        ``loss_fn(logits, targets)`` returning a batch-mean float.

    Returns
    -------
    loss : float
        Mean over all N samples.
    accuracy : float
        Fraction of samples whose largest logit is the true class.
    """
    x, y = _check_xy(x, y, "evaluate")
    _check_positive_int("batch_size", batch_size)
    loss_fn = _default_loss() if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for i in range(0, len(x), batch_size):
            logits = model(x[i:i + batch_size])
            yb = y[i:i + batch_size]
            total_loss += loss_fn(logits, yb) * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
    finally:
        model.train(was_training)
    return total_loss / len(x), correct / len(x)


def fit(model, x, y, loss_fn=None, optimizer=None, num_epochs=1, batch_size=64, seed=0,
        val_data=None, callback=None, progress=True):
    """Train ``model`` with mini-batch gradient descent.

    Parameters
    ----------
    model : Module
        Must implement ``forward`` and ``backward``.
    x : (N, ...) ndarray
        Training inputs, e.g. (N, 1, 28, 28) float32.
    y : (N,) int ndarray
        Class labels.
    loss_fn : default ``cnnlib.nn.CrossEntropyLoss()``
        Called as ``loss = loss_fn(logits, yb)``; ``loss_fn.backward()``
        gives dlogits.
    optimizer : default ``cnnlib.optim.Adam(model.parameters(), lr=1e-3)``
    num_epochs : int
    batch_size : int
        The last batch of an epoch may be smaller.
    seed : int
        Seeds the Generator that shuffles the data every epoch.
    val_data : (x_val, y_val), optional
        Evaluated (eval mode) after every epoch.
    callback : callable, optional
        ``callback(epoch, history)`` after every epoch (epoch counts from 0),
        e.g. to update a live plot or change the learning rate.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History
    """
    x, y = _check_xy(x, y, "fit")
    _check_positive_int("batch_size", batch_size)
    if (isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, np.integer))
            or num_epochs < 0):
        raise ValueError(f"num_epochs must be a non-negative int, got {num_epochs!r}")
    if val_data is not None:
        if len(val_data) != 2:
            raise ValueError("val_data must be a pair (x_val, y_val)")
        val_data = _check_xy(*val_data, where="fit (val_data)")
    loss_fn = _default_loss() if loss_fn is None else loss_fn
    if optimizer is None:
        from .optim import Adam
        optimizer = Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    history = History()
    N = len(x)
    num_batches = -(-N // batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=num_epochs * num_batches, unit="batch")
    model.train()
    try:
        for epoch in range(num_epochs):
            start = time.perf_counter()
            perm = rng.permutation(N)
            total_loss, correct = 0.0, 0
            for i in range(0, N, batch_size):
                idx = perm[i:i + batch_size]
                xb, yb = x[idx], y[idx]
                logits = model(xb)
                loss = loss_fn(logits, yb)
                optimizer.zero_grad()
                model.backward(loss_fn.backward())
                optimizer.step()
                history.batch_loss.append(loss)
                total_loss += loss * len(idx)
                correct += int((logits.argmax(axis=1) == yb).sum())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=f"{epoch + 1}/{num_epochs}", loss=f"{loss:.4f}",
                                    refresh=False)
            history.train_loss.append(total_loss / N)
            history.train_acc.append(correct / N)
            if val_data is not None:
                val_loss, val_acc = evaluate(model, *val_data, batch_size=max(batch_size, 256),
                                             loss_fn=loss_fn)
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
            history.epoch_time.append(time.perf_counter() - start)
            if callback is not None:
                callback(epoch, history)
    finally:
        if bar is not None:
            bar.close()
    return history
