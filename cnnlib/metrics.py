"""Classification metrics beyond accuracy: the confusion matrix and per-class error rates."""
import numpy as np

__all__ = ["confusion_matrix", "per_class_error", "accuracy", "most_confused"]


def _labels(a, name):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {a.dtype}")
    return a.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes=10):
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    y_true, y_pred : (N,) int ndarray
        Labels in ``0 .. num_classes - 1``.

    Returns
    -------
    (num_classes, num_classes) int64 ndarray
        ``cm[i, j]`` = number of examples of true class ``i`` predicted as ``j``;
        the diagonal holds the correct answers, each row sums to the class count.
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}")
    for name, a in (("y_true", y_true), ("y_pred", y_pred)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1} "
                             f"(min {a.min()}, max {a.max()})")
    # Each (true, pred) pair maps to one cell of the flattened matrix.
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_error(cm):
    """Error rate of each true class: the share of its examples that were misclassified.

    Parameters
    ----------
    cm : (K, K) int ndarray
        A confusion matrix (rows = true class).

    Returns
    -------
    (K,) float ndarray
        ``1 - cm[i, i] / cm[i].sum()``; NaN for a class with no examples.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"per_class_error: expected a square confusion matrix, got shape {cm.shape}")
    totals = cm.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, 1.0 - np.diag(cm) / totals, np.nan)


def accuracy(cm):
    """Overall accuracy from a confusion matrix: trace / total."""
    cm = np.asarray(cm)
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def most_confused(cm, k=5):
    """The ``k`` most frequent mistakes as ``(true, predicted, count)``, largest first."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:k]
    pairs = [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape))]
    return [p for p in pairs if p[2] > 0]
