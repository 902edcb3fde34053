"""cnnlib.plots_eval: evaluation figures draw the right content and the live plot never blocks."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlib.plots_eval import (LivePlot, plot_confusion_matrix, plot_learning_curves,  # noqa: E402
                               plot_misclassified, plot_probabilities)


def test_misclassified_gallery_shows_only_mistakes_most_confident_first_with_both_probabilities():
    images = np.zeros((4, 28, 28))
    y_true = np.array([0, 1, 2, 3])
    probs = np.full((4, 10), 0.01)
    probs[0, 0] = probs[1, 7] = probs[2, 5] = probs[3, 3] = 0.9   # examples 1 and 2 are wrong
    probs[1, 7] = 0.6
    probs[1, 1] = 0.3
    fig = plot_misclassified(images, y_true, probs)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["pred 5 (90%)\ntrue 2 (1%)", "pred 7 (60%)\ntrue 1 (30%)"]


def test_confusion_matrix_plot_writes_every_nonzero_count():
    cm = np.array([[5, 1], [0, 7]])
    fig = plot_confusion_matrix(cm)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "5", "7"]
    with pytest.raises(ValueError):
        plot_confusion_matrix(np.zeros((2, 3)))


def test_learning_curves_have_train_and_test_lines_and_live_plot_redraws_headless():
    hist = {"epoch": [1, 2], "train_loss": [0.5, 0.3], "val_loss": [0.4, 0.35],
            "train_acc": [0.9, 0.95], "val_acc": [0.92, 0.94]}
    fig = plot_learning_curves(hist)
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    live = LivePlot()
    live(hist)
    live(hist)                      # second call updates the same figure instead of a new one
    assert len(live.fig.axes) == 2
    live.close()


def test_probability_bars_highlight_the_winner():
    probs = np.eye(10)[3] * 0.8 + 0.02
    fig = plot_probabilities(probs)
    assert fig.axes[0].get_title().startswith("prediction: 3")
