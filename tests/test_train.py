"""cnnlib.train: seeded, reproducible mini-batch training; evaluate/predict; input checks."""
import numpy as np
import pytest

import cnnlib.nn as nn
from cnnlib.optim import SGD, Adam
from cnnlib.train import History, evaluate, fit, predict


def _blobs(n=120, seed=0):
    """Three well-separated Gaussian blobs in 2-D (linearly separable)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 0.0], [-3.0, 3.0], [0.0, -3.0]])
    y = rng.integers(0, 3, n)
    x = (centers[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return x, y


def _model(seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def test_loss_decreases_and_separable_problem_is_learned():
    x, y = _blobs()
    model = _model()
    hist = fit(model, x, y, optimizer=Adam(model.parameters(), lr=0.05), num_epochs=8,
               batch_size=16, progress=False)
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    loss, acc = evaluate(model, x, y)
    assert acc == 1.0 and loss < 0.1
    assert len(hist.batch_loss) == 8 * 8 and hist.epochs == 8


def test_same_seed_gives_identical_history():
    x, y = _blobs()
    runs = []
    for _ in range(2):
        model = _model(3)
        runs.append(fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.1, momentum=0.9),
                        num_epochs=3, batch_size=10, seed=7, val_data=_blobs(30, 1),
                        progress=False))
    a, b = runs[0].as_dict(), runs[1].as_dict()
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "batch_loss"):
        assert a[key] == b[key], key
    other = fit(_model(3), x, y, optimizer=None, num_epochs=1, batch_size=10, seed=8,
                progress=False)
    assert other.batch_loss != runs[0].batch_loss[:len(other.batch_loss)]


def test_callback_once_per_epoch_with_history_so_far():
    x, y = _blobs(40)
    calls = []
    fit(_model(), x, y, num_epochs=3, batch_size=16, progress=False,
        val_data=(x, y), callback=lambda epoch, h: calls.append((epoch, h.epochs, len(h.val_acc))))
    assert calls == [(0, 1, 1), (1, 2, 2), (2, 3, 3)]


def test_evaluate_and_predict_use_eval_mode_and_restore_it():
    """Dropout is off during evaluate/predict (deterministic) and training mode comes back."""
    x, y = _blobs(50)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    logits = predict(model, x, batch_size=7)
    assert logits.shape == (50, 3)
    np.testing.assert_allclose(logits, predict(model, x, batch_size=50), atol=1e-5)  # no dropout noise
    assert model.training and model[1].training
    loss, acc = evaluate(model, x, y, batch_size=7)
    expected = nn.CrossEntropyLoss()(logits, y)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == y))


def test_history_repr_and_epoch_times():
    x, y = _blobs(20)
    h = fit(_model(), x, y, num_epochs=2, batch_size=8, progress=False)
    assert len(h.epoch_time) == 2 and all(t > 0 for t in h.epoch_time)
    assert repr(h).startswith("History(2 epochs") and repr(History()) == "History(no epochs)"


def test_progress_bar_runs():
    x, y = _blobs(20)
    fit(_model(), x, y, num_epochs=1, batch_size=8, progress=True)


@pytest.mark.parametrize("x,y,match", [
    (np.zeros((10, 2), np.float32), np.zeros(9, int), "10 samples but y has 9"),
    (np.zeros((10, 2), np.float32), np.zeros(10), "integer"),
    (np.zeros((10, 2), np.float32), np.zeros((10, 1), int), "1-D"),
    (np.zeros(10, np.float32), np.zeros(10, int), "batch axis"),
])
def test_bad_shapes_raise(x, y, match):
    with pytest.raises(ValueError, match=match):
        fit(_model(), x, y, progress=False)
    with pytest.raises(ValueError, match=match):
        evaluate(_model(), x, y)


@pytest.mark.parametrize("kw,match", [({"batch_size": 0}, "batch_size"),
                                      ({"num_epochs": -1}, "num_epochs"),
                                      ({"num_epochs": 1.5}, "num_epochs"),
                                      ({"val_data": (np.zeros((3, 2)),)}, "val_data")])
def test_bad_arguments_raise(kw, match):
    x, y = _blobs(20)
    with pytest.raises(ValueError, match=match):
        fit(_model(), x, y, progress=False, **kw)
