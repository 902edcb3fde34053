"""Plots for evaluating a classifier: confusion matrix, misclassified gallery, learning curves.

Every function returns the matplotlib Figure it drew, so tests can check it
without a display. :class:`LivePlot` redraws learning curves during training.
"""
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_confusion_matrix", "plot_misclassified", "plot_learning_curves",
           "plot_probabilities", "LivePlot"]


def plot_confusion_matrix(cm, class_names=None, ax=None, title="Confusion matrix (rows: true, columns: predicted)"):
    """Heatmap of a confusion matrix with every count written in its cell.

    The colour scale is logarithmic, so the few mistakes off the diagonal stay
    visible next to the thousands of correct answers on it.

    Parameters
    ----------
    cm : (K, K) int ndarray
    class_names : sequence of K str, optional
    """
    from matplotlib.colors import LogNorm

    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(np.maximum(cm, 0.5), cmap="Blues", norm=LogNorm(vmin=0.5, vmax=max(1, cm.max())))
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if v > cm.max() ** 0.7 else "black")
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax.figure


def plot_misclassified(images, y_true, probs, max_n=16, ncols=8):
    """Gallery of misclassified images: predicted vs true label with their probabilities.

    Parameters
    ----------
    images : (N, 28, 28) or (N, 1, 28, 28) ndarray
    y_true : (N,) int ndarray
    probs : (N, K) ndarray
        Predicted class probabilities.
    max_n : int
        Show at most this many, the most confident mistakes first.

    Returns
    -------
    matplotlib.figure.Figure
        Each title reads ``pred 7 (93%) / true 2 (4%)``.
    """
    images, y_true, probs = np.asarray(images), np.asarray(y_true), np.asarray(probs)
    if images.ndim == 4:
        images = images[:, 0]
    if not (len(images) == len(y_true) == len(probs)):
        raise ValueError(f"plot_misclassified: images, y_true and probs need the same length, "
                         f"got {len(images)}, {len(y_true)}, {len(probs)}")
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:max_n]
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return fig
    ncols = min(ncols, len(wrong))
    nrows = -(-len(wrong) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.55 * ncols, 1.85 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i], cmap="gray_r")
        t = y_true[i]
        ax.set_title(f"pred {pred[i]} ({probs[i, pred[i]]:.0%})\ntrue {t} ({probs[i, t]:.0%})",
                     fontsize=8, color="firebrick")
    fig.tight_layout()
    return fig


def plot_learning_curves(history, fig=None):
    """Loss and accuracy per epoch, train vs test, side by side.

    Parameters
    ----------
    history : dict of lists
        As returned by :func:`cnnlib.torch_train.fit`: ``epoch, train_loss,
        val_loss, train_acc, val_acc``.
    fig : Figure, optional
        Redrawn in place (used by :class:`LivePlot`).
    """
    for key in ("epoch", "train_loss", "val_loss", "train_acc", "val_acc"):
        if key not in history:
            raise ValueError(f"plot_learning_curves: history has no {key!r} entry")
    if fig is None:
        fig = plt.figure(figsize=(9, 3.2))
    fig.clear()
    ax_loss, ax_acc = fig.subplots(1, 2)
    ep = history["epoch"]
    ax_loss.plot(ep, history["train_loss"], "o-", label="train")
    ax_loss.plot(ep, history["val_loss"], "s-", label="test")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.plot(ep, 100 * np.asarray(history["train_acc"]), "o-", label="train")
    ax_acc.plot(ep, 100 * np.asarray(history["val_acc"]), "s-", label="test")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if len(ep) and len(ep) <= 20:
            ax.set_xticks(ep)
    fig.tight_layout()
    return fig


def plot_probabilities(probs, ax=None, title=None):
    """Bar chart of the 10 class probabilities, the winner highlighted."""
    probs = np.asarray(probs, dtype=float).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 2.5))
    colors = ["tab:gray"] * len(probs)
    colors[int(probs.argmax())] = "tab:blue"
    ax.bar(range(len(probs)), probs, color=colors)
    ax.set_xticks(range(len(probs)))
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title(title or f"prediction: {int(probs.argmax())} ({probs.max():.0%})", fontsize=10)
    return ax.figure


class LivePlot:
    """A training callback that redraws the learning curves after every epoch.

    In Jupyter it updates one output area in place (``display_id``); run
    headless (nbclient, tests) the same calls just record outputs and never
    block. Use as ``fit(..., callback=LivePlot())``.
    """

    def __init__(self, every=1):
        self.every = every
        self.fig = None
        self.handle = None

    def __call__(self, history):
        if len(history["epoch"]) % self.every:
            return
        from IPython.display import display

        if self.fig is None:
            self.fig = plt.figure(figsize=(9, 3.2))
        plot_learning_curves(history, fig=self.fig)
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)

    def close(self):
        """Stop drawing: close the figure so the inline backend does not show it twice."""
        if self.fig is not None:
            plt.close(self.fig)
