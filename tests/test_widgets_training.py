"""Pure functions and views behind the Lesson 07 widgets (initialization explorer, over/underfitting
explorer, augmentation preview), checked against torch where a twin exists, and the widgets' wiring."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib import numpy_model as nm  # noqa: E402
from cnnlib.widgets import training as tw  # noqa: E402
from cnnlib.widgets import training_augment as ta  # noqa: E402
from cnnlib.widgets import training_fit as tf  # noqa: E402


def _digits(n=4, size=14, seed=0):
    """Digit-like standardized inputs: a blank background with a few bright strokes."""
    g = np.random.default_rng(seed)
    x = np.full((n, 1, size, size), -0.42, np.float32)
    for k in range(n):
        r, c = g.integers(2, size - 6, 2)
        x[k, 0, r:r + 5, c:c + 2] = 2.8
    return x


def _data(n, seed=0):
    g = np.random.default_rng(seed)
    y = g.integers(0, 10, n)
    x = g.standard_normal((n, 1, 28, 28)).astype(np.float32) * 0.3
    x[np.arange(n), 0, 2 * y + 3, 5:20] += 2.0           # a learnable mark per class
    return x, y


# --- initialization ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(10, 784), (16, 8, 3, 3), (8, 3, 5, 3), (4, 2, 5)])
def test_fans_match_torch(shape):
    from torch.nn.init import _calculate_fan_in_and_fan_out

    assert tw.fans(shape) == _calculate_fan_in_and_fan_out(torch.empty(shape))


def test_scheme_std_formulas_and_bad_input():
    assert tw.scheme_std("he", (64, 64, 3, 3)) == pytest.approx(np.sqrt(2 / 576))
    assert tw.scheme_std("xavier", (64, 1, 3, 3), gain=2.0) == pytest.approx(2 * np.sqrt(2 / (9 + 576)))
    assert (tw.scheme_std("zeros", (3, 3)), tw.scheme_std("small", (3, 3)), tw.scheme_std("large", (3, 3))) == (0, 0.01, 1)
    with pytest.raises(ValueError, match="unknown scheme"):
        tw.scheme_std("lecun", (3, 3))
    with pytest.raises(ValueError, match="at least 2"):
        tw.fans((5,))


def test_shrink_is_2x2_average_pooling():
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    expected = torch.nn.functional.avg_pool2d(torch.from_numpy(x), 2).numpy()
    np.testing.assert_allclose(tw.shrink(x), expected, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_stack_activations_match_a_torch_stack_with_the_same_weights(activation):
    x = _digits(2)
    acts = tw.stack_activations(x, "he", 1.5, activation, depth=3, channels=4, seed=3)
    weights = tw._base_draws(3, 4, 3)
    act = torch.relu if activation == "relu" else torch.tanh
    t = torch.from_numpy(x)
    for k, w in enumerate(weights):
        std = tw.scheme_std("he", w.shape, 1.5)
        t = act(torch.nn.functional.conv2d(t, torch.from_numpy(np.float32(std) * w), padding=1))
        np.testing.assert_allclose(acts[k], t.numpy(), rtol=1e-4, atol=1e-5)


def test_init_view_histograms_sizes_and_caption():
    x = _digits()
    he, small, large = (tw.init_view(x, s, 1.0, "relu") for s in ("he", "small", "large"))
    for view in (he, small, large):
        np.testing.assert_allclose(view["hist"].sum(axis=0), 1.0)
        assert view["hist"].shape == (1 + len(tw.EDGES) - 1, tw.DEPTH)
    assert small["rms"][-1] < 1e-6 < 1e6 < large["rms"][-1]
    assert 1 / 4 < he["rms"][-1] / he["rms"][0] < 4                  # He keeps the size in place
    assert 0.4 < he["zeros"].mean() < 0.7                            # ReLU zeroes about half
    assert "He / Kaiming</b>: std = 1 × sqrt(2 / fan_in) = 0.0589" in he["caption"]
    assert "rms size after layer 1: <b>" in he["caption"] and "Exactly 0:" in he["caption"]
    zeros = tw.init_view(x, "zeros", 1.0, "tanh")
    assert np.all(zeros["hist"][0] == 1) and np.all(zeros["rms"] == 0)
    saturated = tw.init_view(x, "large", 1.0, "tanh")
    assert saturated["saturated"][-1] > 0.5 and "Saturated (|a| &gt; 0.99)" in saturated["caption"]


def test_init_view_with_a_custom_init_function():
    calls = []

    def init(shape, rng):
        calls.append(shape)
        return rng.normal(0.0, tw.scheme_std("he", shape), size=shape)

    view = tw.init_view(_digits(), init=init, label="your he_init")
    assert calls[0] == (tw.CHANNELS, 1, 3, 3) and len(calls) == tw.DEPTH
    assert view["caption"].startswith("<b>your he_init</b>, then relu.")


def test_init_view_drawn_in_place_and_static_figure():
    view = tw.InitView()
    image, line = view.image, view.line
    fig = view.draw(tw.init_view(_digits(), "xavier", 2.0, "relu"))
    assert fig is view.figure and view.image is image and view.line is line
    np.testing.assert_allclose(view.image.get_array(), tw.init_view(_digits(), "xavier", 2.0, "relu")["hist"])
    assert view.title.get_text() == "Xavier / Glorot, gain 2, relu"
    assert isinstance(tw.init_figure(_digits(2), settings=(("small", 1.0), ("he", 2.0))), Figure)


def test_init_explorer_redraws_for_the_latest_controls():
    live = tw.init_explorer(_digits(2), scheme="small")
    assert "N(0, 0.01²): too small" in live.caption.value
    live.controls["scheme"].value = "he"
    live.controls["gain"].value = 2.0
    live.controls["activation"].value = "tanh"
    live.wait()
    assert live.caption.value.startswith("<b>He / Kaiming</b>: std = 2 × sqrt(2 / fan_in)")
    assert "then tanh" in live.caption.value and live.view["title"] == "He / Kaiming, gain 2, tanh"


# --- over/underfitting ---------------------------------------------------------------------------

def test_fit_run_records_curves_and_is_seeded():
    data, val = _data(80), _data(40, seed=1)
    a = tf.fit_run(data, val, n_train=60, width=2, epochs=3, test_data=val)
    b = tf.fit_run(data, val, n_train=60, width=2, epochs=3)
    assert a["label"] == "60 digits, width 2" and a["params"] == nm.build_model(width=2).num_parameters()
    assert list(a["epoch"]) == [1, 2, 3] and a["train_acc"].shape == a["val_loss"].shape == (3,)
    np.testing.assert_array_equal(a["train_loss"], b["train_loss"])
    assert a["train_final"] == a["train_acc"][-1] and 0 <= a["test_acc"] <= 1 and b["test_acc"] is None
    assert a["weight_norm"] > 0 and a["stopped"] is None


def test_fit_run_uses_the_given_loop_dropout_transform_and_weight_decay():
    data, val = _data(40), _data(20, seed=1)
    loops, transforms = [], []

    def loop(model, x, y, optimizer, batch_size, rng, transform):
        loops.append((len(x), batch_size, optimizer.param_groups[0]["weight_decay"], type(model[9]).__name__))
        return nm.train_one_epoch(model, x, y, optimizer, batch_size, rng, transform)

    run = tf.fit_run(data, val, n_train=40, dropout=0.5, weight_decay=1e-3, epochs=2, train_fn=loop,
                     transform=lambda xb: transforms.append(len(xb)) or xb)
    assert loops == [(40, 32, 1e-3, "Dropout")] * 2 and transforms == [32, 8] * 2
    assert run["label"] == "40 digits, width 8, dropout 0.5, weight decay 0.001, augmented"


def test_early_stopping_stops_and_restores_the_best_epoch():
    data, val = _data(64), _data(32, seed=2)
    full = tf.fit_run(data, val, n_train=64, width=1, epochs=12, lr=0.5)       # a rate that makes it wander
    stopped = tf.fit_run(data, val, n_train=64, width=1, epochs=12, lr=0.5, patience=2, test_data=val)
    best = int(np.argmax(full["val_acc"])) + 1
    assert stopped["best_epoch"] == min(best, stopped["best_epoch"])
    if stopped["stopped"] is not None:
        assert stopped["stopped"] - stopped["best_epoch"] == 2
    assert stopped["val_final"] == stopped["val_acc"][stopped["best_epoch"] - 1]
    assert stopped["test_acc"] == pytest.approx(stopped["val_final"])           # restored weights, same digits


def _fake_run(label="500 digits, width 8", epochs=4, acc=0.9):
    e = np.arange(1, epochs + 1)
    return {"label": label, "params": 103018, "epoch": e, "train_acc": np.full(epochs, 1.0), "val_acc": np.full(epochs, acc),
            "train_loss": np.full(epochs, 0.01), "val_loss": np.full(epochs, 0.4), "train_final": 1.0, "val_final": acc,
            "settings": {"n_train": 500, "width": 8, "hidden": None, "dropout": 0.0, "weight_decay": 0.0,
                         "epochs": epochs, "augment": False, "patience": None}}


def test_curves_view_caption_and_press_train():
    settings = {"n_train": 500, "width": 8, "dropout": 0.0, "weight_decay": 0.0, "epochs": 4}
    view = tf.curves_view([_fake_run()], settings=settings)
    assert "train 100.0%, validation 90.0% (gap 10.0 points)" in view["caption"] and "press" not in view["caption"]
    view = tf.curves_view([_fake_run()], settings={**settings, "dropout": 0.5})
    assert view["caption"].endswith("press <b>Train</b> for 500 digits, width 8, dropout 0.5, 4 epochs")
    assert tf.curves_view([])["caption"] == "press <b>Train</b>"
    many = tf.curves_view([_fake_run(f"run {k}") for k in range(6)])
    assert [c[0] for c in many["curves"]] == ["run 2", "run 3", "run 4", "run 5"]


def test_curves_view_drawn_in_place_and_static_figure():
    view = tf.CurvesView()
    lines = [line for pair in view.lines for line in pair]
    view.draw(tf.curves_view([_fake_run(epochs=6)]))
    assert [line for pair in view.lines for line in pair] == lines
    assert sum(line.get_visible() for line in lines) == 4 and view.ax_acc.get_xlim() == (0.5, 6.5)
    np.testing.assert_allclose(view.lines[0][1].get_ydata(), 90.0)
    fig = tf.curves_figure([_fake_run("a"), _fake_run("b")])
    assert isinstance(fig, Figure)


def test_fit_explorer_trains_behind_its_button():
    data, val = _data(120), _data(30, seed=3)
    live = tf.fit_explorer(data, val, n_train=100, width=1, epochs=5)
    assert live.caption.value.startswith("press <b>Train</b> for 100 digits, width 1, 5 epochs")
    live.controls["dropout"].value = 0.2
    live.wait()
    assert "press <b>Train</b> for 100 digits, width 1, dropout 0.2, 5 epochs" in live.caption.value
    button = live.children[0].children[1].children[0]
    button.button.click()
    run = button.wait()
    live.wait()
    assert run["settings"]["dropout"] == 0.2 and run["settings"]["n_train"] == 100 and button.bar.value == 1
    assert "100 digits, width 1, dropout 0.2</b>" in live.caption.value and "press" not in live.caption.value
    live.children[0].children[1].children[1].click()                # Clear
    live.wait()
    assert live.view["curves"] == []


# --- augmentation --------------------------------------------------------------------------------

def test_augment_view_grid_copies_and_caption():
    digits = np.clip(_digits(3, 28) + 0.42, 0, 1)
    view = ta.augment_view(digits, max_shift=2, max_degrees=10, seed=1)
    h, w = view["grid"].shape
    assert (h, w) == (3 * 30 - 2, 8 * 30 - 2) and view["copies"].shape == (3, ta.COPIES, 28, 28)
    np.testing.assert_array_equal(view["grid"][:28, :28], digits[0, 0])
    assert np.isnan(view["grid"][28, 0]) and "±2 px" in view["caption"] and "±10°" in view["caption"]
    rng = np.random.default_rng(1)
    expected = nm.augment(np.repeat(digits, ta.COPIES, axis=0), rng, 2, 10, 0.0)
    np.testing.assert_allclose(view["copies"].reshape(-1, 28, 28), expected[:, 0], atol=1e-6)
    still = ta.augment_view(digits, max_shift=0, max_degrees=0)
    np.testing.assert_array_equal(still["copies"], np.repeat(digits[:, 0][:, None], ta.COPIES, axis=1))
    assert still["ink_kept"] == pytest.approx(1.0)


def test_augment_view_uses_the_given_shift_function():
    calls = []

    def shift(images, labels, max_shift, rng, fill):
        calls.append(max_shift)
        return nm.random_shift(images, labels, max_shift, rng, fill)

    ta.augment_view(np.zeros((2, 1, 28, 28)), max_shift=3, shift=shift)
    assert calls == [3]


def test_augment_explorer_and_static_figure():
    digits = np.clip(_digits(2, 28) + 0.42, 0, 1)
    assert isinstance(ta.augment_figure(digits, 2, 10), Figure)
    live = ta.augment_explorer(digits)
    first = live.view["grid"].copy()
    live.controls["max_degrees"].value = 30
    live.controls["seed"].value = 3
    live.wait()
    assert "±30°" in live.caption.value and "(seed 3)" in live.caption.value
    assert not np.array_equal(np.nan_to_num(first), np.nan_to_num(live.view["grid"]))
