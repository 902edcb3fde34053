"""Lesson 04 widgets (cnnlib.widgets.dense: softmax playground; .dense_forward: forward-pass explorer):
the pure functions against torch, and the Live wiring without a browser."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib.weights import forward_stages, lesson04_torch_model, load_lesson04_cnn  # noqa: E402
from cnnlib.widgets import dense as dw  # noqa: E402
from cnnlib.widgets import dense_forward as dfw  # noqa: E402


# --- softmax playground ------------------------------------------------------------------------

@pytest.mark.parametrize("T", [0.1, 0.5, 1.0, 3.0, 10.0])
def test_softmax_t_and_the_loss_match_torch_at_every_temperature(T):
    z = np.random.default_rng(int(T * 10)).standard_normal(10) * 5
    np.testing.assert_allclose(dw.softmax_t(z, T), torch.softmax(torch.tensor(z) / T, dim=0).numpy(), atol=1e-15)
    for k in (0, 4, 9):
        state = dw.playground_state(z, T, k)
        expected = torch.nn.functional.cross_entropy(torch.tensor(z)[None] / T, torch.tensor([k])).item()
        assert state["loss"] == pytest.approx(expected, rel=1e-12)
        assert state["predicted"] == int(np.argmax(z)) and state["true_class"] == k
        np.testing.assert_allclose(state["scaled"], z / T)


def test_playground_hand_cases_shift_invariance_and_extremes():
    uniform = dw.playground_state(np.zeros(10), 1.0, 3)
    np.testing.assert_allclose(uniform["probs"], 0.1)
    assert uniform["loss"] == pytest.approx(np.log(10))
    assert "ln 10 = 2.303" in uniform["text"] and "p(true class 3) = 0.100" in uniform["text"]
    z = np.array([2.0, 1.0, 0.1])
    np.testing.assert_allclose(dw.softmax_t(z + 1000), dw.softmax_t(z))
    np.testing.assert_allclose(dw.softmax_t(z, 0.01), [1, 0, 0], atol=1e-30)         # T -> 0: one-hot
    np.testing.assert_allclose(dw.softmax_t(z, 1e6), [1 / 3] * 3, atol=1e-6)         # T -> inf: uniform
    assert np.isfinite(dw.playground_state([20.0, -20.0], 0.1, 1)["loss"])            # exp(400) never computed


@pytest.mark.parametrize("bad, match", [
    (dict(logits=np.zeros((2, 5))), "1-D"), (dict(logits=[1.0]), "at least 2"),
    (dict(logits=[0.0, np.inf]), "finite"), (dict(temperature=0.0), "temperature"),
    (dict(temperature=-1.0), "temperature"), (dict(true_class=10), r"\[0, 10\)"),
])
def test_playground_state_rejects_bad_input(bad, match):
    args = dict(logits=np.zeros(10), temperature=1.0, true_class=0) | bad
    with pytest.raises(ValueError, match=match):
        dw.playground_state(**args)


def test_playground_figure_is_built_once_and_updated_in_place():
    first = dw.playground_state(np.arange(10.0), 1.0, 2)
    fig = dw.playground_figure(first)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    bars = fig._playground["p"]
    second = dw.playground_state(np.arange(10.0)[::-1], 2.0, 2)
    assert dw.playground_figure(second, fig) is fig and fig._playground["p"] is bars and len(fig.axes) == 1
    np.testing.assert_allclose([b.get_height() for b in bars], second["probs"])
    assert bars[2].get_facecolor() != bars[0].get_facecolor()                         # the true class stands out


# --- forward-pass explorer ---------------------------------------------------------------------

def test_tile_maps_places_each_map_and_leaves_nan_gaps():
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    tiled = dfw.tile_maps(maps, ncols=2)
    assert tiled.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(tiled[0:2, 0:3], maps[0])
    np.testing.assert_array_equal(tiled[0:2, 4:7], maps[1])
    np.testing.assert_array_equal(tiled[6:8, 0:3], maps[4])
    assert np.isnan(tiled[2]).all() and np.isnan(tiled[:, 3]).all() and np.isnan(tiled[6:8, 4:7]).all()
    assert dfw.tile_maps(np.ones((16, 7, 7))).shape == (31, 31)                         # default: ceil(sqrt(C)) columns
    with pytest.raises(ValueError, match="C, H, W"):
        dfw.tile_maps(np.ones((7, 7)))


def test_forward_state_matches_the_torch_twin_on_a_digit():
    params = load_lesson04_cnn()
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    state = dfw.forward_state(image, params, label=3)
    with torch.no_grad():
        probs = torch.softmax(lesson04_torch_model(params)(torch.from_numpy(image)[None, None]), dim=1)[0].numpy()
    np.testing.assert_allclose(state["probs"], probs, atol=1e-6)
    assert state["predicted"] == int(np.argmax(probs))
    assert state["shapes"]["relu1"] == (1, 8, 28, 28) and state["shapes"]["pool2"] == (1, 16, 7, 7)
    assert state["shapes"]["flatten"] == (1, 784) and state["shapes"]["softmax"] == (1, 10)
    picture, panels = dfw.stage_picture(forward_stages(image[None, None], params))
    np.testing.assert_array_equal(state["picture"], picture)
    assert [name for name, _, _ in state["panels"]] == ["input", "relu1", "pool1", "relu2", "pool2"]
    verdict = "right" if state["predicted"] == 3 else "WRONG"
    assert state["text"].startswith(f"predicted {state['predicted']} with p = ") and state["text"].endswith(verdict)
    assert "true" not in dfw.forward_state(image, params)["text"]
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        dfw.forward_state(np.ones((2, 28, 28)), params)


def test_stage_picture_lays_the_stages_side_by_side_in_colour():
    rng = np.random.default_rng(3)
    params = {"conv1.weight": rng.standard_normal((2, 1, 3, 3)), "conv1.bias": np.zeros(2),
              "conv2.weight": rng.standard_normal((3, 2, 3, 3)), "conv2.bias": np.zeros(3),
              "fc.weight": rng.standard_normal((4, 3 * 2 * 2)), "fc.bias": np.zeros(4)}
    stages = forward_stages(rng.random((1, 1, 8, 8)), params)
    picture, panels = dfw.stage_picture(stages)
    assert picture.dtype == np.uint8 and picture.shape[2] == 4
    # input 8x8 x4 = 32 wide; relu1: 2 maps in one row of 4 columns, 8x(4*9-1) x2 = 70; pool1 4x(4*5-1) x4 = 76;
    # relu2: 3 maps, 4x(4*5-1) x2 = 38; pool2: 2x(4*3-1) x4 = 44; 16-pixel gaps
    widths = [32, 70, 76, 38, 44]
    assert picture.shape[1] == sum(widths) + 16 * 4 and picture.shape[0] == 32
    centres = np.cumsum([0] + [w + 16 for w in widths[:-1]]) + np.array(widths) / 2
    np.testing.assert_allclose([x for _, _, x in panels], centres)
    np.testing.assert_array_equal(picture[:, 32:48], 255)                      # the gap is white
    from matplotlib import colormaps
    ink = colormaps["gray_r"](np.clip(stages["input"][0, 0], 0, 1), bytes=True)
    np.testing.assert_array_equal(picture[:32:4, :32:4], ink)                  # the input, 4 pixels per pixel
    with pytest.raises(KeyError):
        dfw.stage_picture({"input": stages["input"]})


def test_forward_figure_is_built_once_and_updated_in_place():
    params = load_lesson04_cnn()
    rng = np.random.default_rng(1)
    a = dfw.forward_state(rng.random((28, 28)), params, label=1)
    fig = dfw.forward_figure(a)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    picture, bars = fig._forward["picture"], fig._forward["bars"]
    b = dfw.forward_state(rng.random((28, 28)), params, label=2)
    assert dfw.forward_figure(b, fig) is fig and len(fig.axes) == 2 and fig._forward["bars"] is bars
    np.testing.assert_array_equal(picture.get_array(), b["picture"])
    np.testing.assert_allclose([bar.get_height() for bar in bars], b["probs"])
    assert fig._forward["verdict"].get_text() == f"softmax: {b['predicted']} (true 2)"


# --- the widgets themselves (no browser: the Live machinery, controls -> view -> caption) -------

def test_softmax_playground_redraws_for_the_latest_controls():
    widget = dw.softmax_playground(np.linspace(-25, 25, 10), temperature=1.0, true_class=9)
    # -25, -19.4, ..., 25: clipped to [-20, 20] and put on the sliders' 0.5 grid
    assert [widget.controls[f"z{k}"].value for k in range(10)] == [-20.0, -19.5, -14.0, -8.5, -3.0, 3.0, 8.5, 14.0, 19.5, 20.0]
    with widget.hold():
        for k in range(10):
            widget.controls[f"z{k}"].value = 0.0
        widget.controls["true_class"].value = 4
    widget.wait()
    assert widget.view["loss"] == pytest.approx(np.log(10)) and "p(true class 4) = 0.100" in widget.caption.value
    widget.controls["temperature"].value = 10.0
    widget.controls["z4"].value = 10.0
    widget.wait()
    assert widget.view["temperature"] == 10.0 and widget.view["predicted"] == 4
    np.testing.assert_allclose(widget.view["probs"], dw.softmax_t(np.eye(10)[4] * 10, 10.0))
    assert widget.image.value[:4] == b"\x89PNG" and widget.last_error is None


def test_forward_explorer_shows_the_chosen_test_digit():
    params = load_lesson04_cnn()
    images = np.random.default_rng(2).random((5, 28, 28)).astype(np.float32)
    widget = dfw.forward_explorer(images, np.array([0, 1, 2, 3, 4]), params)
    widget.controls["index"].value = 3
    widget.wait()
    expected = dfw.forward_state(images[3], params, 3)
    np.testing.assert_allclose(widget.view["probs"], expected["probs"])
    assert widget.caption.value == f"test digit 3: {expected['text']}"
    assert widget.controls["index"].max == 4 and widget.last_error is None
