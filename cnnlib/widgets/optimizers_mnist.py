"""Lesson 06 on real digits: two small models whose loss surfaces we can measure exactly.

* **Linear least squares** on MNIST pixels: ``L(W) = ||X W^T - Y||^2 / (2N)`` with ``X`` the
  flattened digits plus a column of ones and ``Y`` the one-hot labels. Its Hessian is the
  constant ``X^T X / N``, so it is a quadratic bowl (in 785 dimensions per class) and the
  stability limit ``lr < 2 / lambda_max`` holds exactly. :func:`design_matrix`, :func:`one_hot`,
  :class:`LeastSquares` (loss and gradient, Hessian eigenvalues, the exact minimum, gradient descent).
* **Softmax regression** (one ``cnnlib.nn.Linear(784, 10)`` and cross-entropy):
  :func:`flat_gradient` and :func:`gradient_noise` measure how far a mini-batch gradient is from
  the gradient over the whole training set; :func:`train_with_rule` trains it with any update
  rule and :func:`train_with_torch` with a ``torch.optim`` optimizer, on the same mini-batches
  from the same weights; :func:`check_rule` compares an update rule with a reference.

All pure numpy (cnnlib's layers and update rules), tested against torch autograd. The linear
algebra runs with numpy's BLAS held at one thread (see :mod:`cnnlib._threads`): these products are
small, and on a busy 2-core machine multithreaded BLAS made them 100 times slower.
"""
import numpy as np

from .. import nn
from .._threads import blas_single_thread
from ..optim import rules

__all__ = ["design_matrix", "one_hot", "LeastSquares",
           "flat_gradient", "gradient_noise", "softmax_regression", "batches", "train_with_rule", "train_with_torch",
           "check_rule", "compare_rule"]


def design_matrix(images):
    """Flattened pixels in [0, 1] and a last column of ones (the bias).

    Parameters
    ----------
    images : (N, 28, 28) uint8 or (N, 1, 28, 28) float ndarray

    Returns
    -------
    X : (N, 785) float64 ndarray
    """
    x = np.asarray(images)
    x = x.reshape(len(x), -1).astype(np.float64)
    if x.max() > 1.0:
        x = x / 255.0
    return np.hstack([x, np.ones((len(x), 1))])


def one_hot(labels, classes=10):
    """(N,) int labels -> (N, classes) float64 one-hot rows."""
    labels = np.asarray(labels)
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


class LeastSquares:
    """Linear least squares ``L(W) = ||X W^T - Y||^2 / (2N)``: a quadratic bowl we can measure exactly.

    The Gram matrices are computed once, so that a step costs ``(K, D) @ (D, D)`` instead of two
    products with all N rows: ``H = X^T X / N`` (the Hessian, the same for every class),
    ``C = Y^T X / N``, and ``L(W) = (tr(W H W^T) - 2 tr(C W^T) + ||Y||^2 / N) / 2``.

    Parameters
    ----------
    X : (N, D) ndarray
        E.g. :func:`design_matrix` of N digits.
    Y : (N, K) ndarray
        E.g. :func:`one_hot` labels.
    """

    def __init__(self, X, Y):
        self.X, self.Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        n = len(self.X)
        with blas_single_thread():
            self.H = self.X.T @ self.X / n
            self.C = self.Y.T @ self.X / n
        self.yy = float(np.sum(self.Y * self.Y) / n)

    def loss_grad(self, W):
        """Loss and gradient at ``W`` (K, D): ``grad = W H - C``, shape (K, D)."""
        with blas_single_thread():
            WH = W @ self.H
        return float(0.5 * (np.sum(W * WH) - 2 * np.sum(self.C * W) + self.yy)), WH - self.C

    def hessian_eigen(self):
        """Eigenvalues (ascending, (D,)) and eigenvectors (columns of a (D, D) array) of ``H``."""
        with blas_single_thread():
            return np.linalg.eigh(self.H)

    def minimum(self):
        """The exact minimum (``numpy.linalg.lstsq``): ``W`` (K, D) and the loss there."""
        with blas_single_thread():
            W = np.linalg.lstsq(self.X, self.Y, rcond=None)[0].T
            residual = self.X @ W.T - self.Y
        return W, float(np.sum(residual * residual) / (2 * len(self.X)))

    def descent(self, lr, steps, momentum=0.0, nesterov=False):
        """Full-batch gradient descent from ``W = 0`` with torch.optim.SGD's update (via cnnlib).

        Returns
        -------
        losses : (k + 1,) ndarray
            The loss before the first step and after each step; it stops early (k < steps) once the
            loss is no longer finite or exceeds 1e6 (diverged).
        """
        W = np.zeros_like(self.C)
        state, losses = {}, []
        with np.errstate(all="ignore"):
            for _ in range(int(steps) + 1):
                loss, grad = self.loss_grad(W)
                losses.append(loss)
                if not np.isfinite(loss) or loss > 1e6:
                    break
                W, state = rules.sgd_update(W, grad, state, lr, momentum=momentum, nesterov=nesterov)
        return np.array(losses)


def flat_gradient(model, x, y):
    """The gradient of the mean cross-entropy of ``model`` on ``(x, y)``, all parameters in one vector.

    Parameters
    ----------
    model : cnnlib.nn.Module
    x : (B, ...) ndarray
    y : (B,) int ndarray

    Returns
    -------
    (P,) float64 ndarray
        The parameters' gradients, flattened and concatenated in ``model.parameters()`` order.
    """
    crit = nn.CrossEntropyLoss()
    model.zero_grad()
    crit(model(x), y)
    model.backward(crit.backward())
    grads = np.concatenate([p.grad.ravel() for p in model.parameters()]).astype(np.float64)
    model.zero_grad()
    return grads


def gradient_noise(model, x, y, batch_sizes=(1, 4, 16, 64, 256, 1024), n_batches=50, seed=0):
    """How far mini-batch gradients are from the full gradient, for several batch sizes.

    Each mini-batch is drawn without replacement from ``(x, y)``, with a seeded Generator.

    Parameters
    ----------
    model : cnnlib.nn.Module
        Evaluated at its current weights (not changed).
    x : (N, ...) ndarray
    y : (N,) int ndarray
    batch_sizes : sequence of int
    n_batches : int
        Mini-batches drawn per batch size.
    seed : int

    Returns
    -------
    dict
        ``full`` (P,) the gradient over all N examples, ``batch_sizes`` (S,), ``relative_error`` (S,)
        the root-mean-square of ``||g_B - g|| / ||g||`` over the batches, ``cosine`` (S,) the mean
        cosine similarity of ``g_B`` and ``g``.
    """
    rng = np.random.default_rng(seed)
    full = flat_gradient(model, x, y)
    norm = np.linalg.norm(full)
    errors, cosines = [], []
    for B in batch_sizes:  # cnnlib's Linear holds BLAS at one thread itself
        err, cos = [], []
        for _ in range(n_batches):
            idx = rng.choice(len(x), size=B, replace=False)
            g = flat_gradient(model, x[idx], y[idx])
            err.append(np.sum((g - full) ** 2) / norm ** 2)
            cos.append(g @ full / (np.linalg.norm(g) * norm))
        errors.append(np.sqrt(np.mean(err)))
        cosines.append(np.mean(cos))
    return {"full": full, "batch_sizes": np.array(batch_sizes), "relative_error": np.array(errors),
            "cosine": np.array(cosines)}


def softmax_regression(seed=0):
    """``cnnlib.nn.Linear(784, 10)``, float32, weights drawn like torch's defaults from ``seed``."""
    return nn.Linear(784, 10, rng=np.random.default_rng(seed))


def batches(n, steps, batch_size=64, seed=0):
    """The index arrays of ``steps`` mini-batches: seeded shuffles of ``range(n)``, one epoch after another.

    Returns
    -------
    list of (batch_size,) int ndarray
    """
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch_size // n))])
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]


def train_with_rule(rule, x, y, steps=100, batch_size=64, seed=0, **hyper):
    """Train :func:`softmax_regression` with an update rule ``rule(w, dw, state, **hyper) -> (w_new, state)``.

    Parameters
    ----------
    rule : callable
        E.g. ``cnnlib.optim.rules.adam_update`` or a learner's ``adam_step``.
    x : (N, 784) float32 ndarray
    y : (N,) int ndarray
    steps, batch_size, seed : int
    **hyper
        ``lr`` and the rule's other hyperparameters.

    Returns
    -------
    dict
        ``losses`` (steps,) mini-batch losses, ``weight`` (10, 784) and ``bias`` (10,) at the end.
    """
    model = softmax_regression(seed)
    crit = nn.CrossEntropyLoss()
    states = [{} for _ in model.parameters()]
    losses = []
    for idx in batches(len(x), steps, batch_size, seed):
        model.zero_grad()
        losses.append(crit(model(x[idx]), y[idx]))
        model.backward(crit.backward())
        for i, p in enumerate(model.parameters()):
            new, states[i] = rule(p.data.copy(), p.grad.copy(), states[i], **hyper)
            p.data[...] = new
    return {"losses": np.array(losses), "weight": model.weight.data.copy(), "bias": model.bias.data.copy()}


def train_with_torch(optimizer_class, x, y, steps=100, batch_size=64, seed=0, **hyper):
    """:func:`train_with_rule` with ``torch.optim`` (e.g. ``torch.optim.Adam``): the same start, the same batches.

    Returns
    -------
    dict
        ``losses`` (steps,), ``weight`` (10, 784), ``bias`` (10,) as numpy arrays.
    """
    import torch

    start = softmax_regression(seed)
    model = torch.nn.Linear(784, 10)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(start.weight.data))
        model.bias.copy_(torch.from_numpy(start.bias.data))
    opt = optimizer_class(model.parameters(), **hyper)
    xt, yt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    losses = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny products: extra threads only wait for each other
    try:
        for idx in batches(len(x), steps, batch_size, seed):
            idx = torch.from_numpy(idx)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return {"losses": np.array(losses), "weight": model.weight.detach().numpy().copy(),
            "bias": model.bias.detach().numpy().copy()}


def check_rule(rule, reference, steps=5, seed=0, **hyper):
    """Raise AssertionError unless ``rule`` gives ``reference``'s weights for ``steps`` random steps.

    Both get the same float64 weights (3, 4) and gradients, with ``**hyper``; the message names
    the first step that differs and the largest difference.

    Returns
    -------
    float
        The largest difference over all steps.
    """
    rng = np.random.default_rng(seed)
    w_mine = w_ref = rng.standard_normal((3, 4))
    s_mine, s_ref, worst = {}, {}, 0.0
    for t in range(1, steps + 1):
        dw = rng.standard_normal((3, 4))
        w_mine, s_mine = rule(w_mine.copy(), dw.copy(), s_mine, **hyper)
        w_ref, s_ref = reference(w_ref, dw, s_ref, **hyper)
        diff = float(np.max(np.abs(np.asarray(w_mine, dtype=np.float64) - w_ref)))
        if not diff <= 1e-9 * (1 + np.abs(w_ref).max()):
            raise AssertionError(f"step {t} differs from cnnlib's by up to {diff:.3g}")
        worst = max(worst, diff)
    return worst


def compare_rule(rule, reference, optimizer_class, x, y, steps=100, **hyper):
    """Train :func:`softmax_regression` three times on the same batches: with ``rule``, ``reference``
    (cnnlib's rule) and ``optimizer_class`` (torch.optim), all with ``**hyper``.

    Returns
    -------
    dict
        ``first``, ``last`` (the first and last mini-batch loss with ``rule``), ``vs_reference`` and
        ``vs_torch`` (the largest difference of the final weights and biases).
    """
    mine = train_with_rule(rule, x, y, steps, **hyper)
    ref = train_with_rule(reference, x, y, steps, **hyper)
    twin = train_with_torch(optimizer_class, x, y, steps, **hyper)

    def gap(a, b):
        return float(max(np.abs(a["weight"] - b["weight"]).max(), np.abs(a["bias"] - b["bias"]).max()))

    return {"first": float(mine["losses"][0]), "last": float(mine["losses"][-1]), "vs_reference": gap(mine, ref),
            "vs_torch": gap(mine, twin)}
