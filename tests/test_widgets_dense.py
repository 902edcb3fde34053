"""Pure functions behind the Lesson 04 widgets (softmax playground, forward-pass explorer), against torch."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib.weights import forward_stages, lesson04_torch_model, load_lesson04_cnn  # noqa: E402
from cnnlib.widgets import dense as dw  # noqa: E402


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
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    bars = fig._playground["p"]
    second = dw.playground_state(np.arange(10.0)[::-1], 2.0, 2)
    assert dw.playground_figure(second, fig) is fig and fig._playground["p"] is bars and len(fig.axes) == 2
    np.testing.assert_allclose([b.get_height() for b in bars], second["probs"])
    np.testing.assert_allclose([b.get_height() for b in fig._playground["z"]], second["scaled"])
    assert "loss = " in fig._playground["title"].get_text()
    assert bars[2].get_facecolor() != bars[0].get_facecolor()                         # the true class stands out


# --- forward-pass explorer ---------------------------------------------------------------------

def test_tile_maps_places_each_map_and_leaves_nan_gaps():
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    tiled = dw.tile_maps(maps, ncols=2)
    assert tiled.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(tiled[0:2, 0:3], maps[0])
    np.testing.assert_array_equal(tiled[0:2, 4:7], maps[1])
    np.testing.assert_array_equal(tiled[6:8, 0:3], maps[4])
    assert np.isnan(tiled[2]).all() and np.isnan(tiled[:, 3]).all() and np.isnan(tiled[6:8, 4:7]).all()
    assert dw.tile_maps(np.ones((16, 7, 7))).shape == (31, 31)                         # default: ceil(sqrt(C)) columns
    with pytest.raises(ValueError, match="C, H, W"):
        dw.tile_maps(np.ones((7, 7)))


def test_forward_state_matches_the_torch_twin_on_a_digit():
    params = load_lesson04_cnn()
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    state = dw.forward_state(image, params, label=3)
    with torch.no_grad():
        probs = torch.softmax(lesson04_torch_model(params)(torch.from_numpy(image)[None, None]), dim=1)[0].numpy()
    np.testing.assert_allclose(state["probs"], probs, atol=1e-6)
    assert state["predicted"] == int(np.argmax(probs))
    assert state["shapes"]["relu1"] == (1, 8, 28, 28) and state["shapes"]["pool2"] == (1, 16, 7, 7)
    assert state["shapes"]["flatten"] == (1, 784) and state["shapes"]["softmax"] == (1, 10)
    np.testing.assert_array_equal(state["tiles"]["pool2"], dw.tile_maps(forward_stages(image[None, None], params)["pool2"][0], 4))
    verdict = "right" if state["predicted"] == 3 else "WRONG"
    assert state["text"].startswith(f"predicted {state['predicted']} with p = ") and state["text"].endswith(verdict)
    assert "true" not in dw.forward_state(image, params)["text"]
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        dw.forward_state(np.ones((2, 28, 28)), params)


def test_forward_figure_is_built_once_and_updated_in_place():
    params = load_lesson04_cnn()
    rng = np.random.default_rng(1)
    a = dw.forward_state(rng.random((28, 28)), params, label=1)
    fig = dw.forward_figure(a)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    images, bars = fig._forward["images"], fig._forward["bars"]
    b = dw.forward_state(rng.random((28, 28)), params, label=2)
    assert dw.forward_figure(b, fig) is fig and len(fig.axes) == 6 and fig._forward["bars"] is bars
    np.testing.assert_array_equal(images["input"].get_array(), b["stages"]["input"][0, 0])
    np.testing.assert_array_equal(np.ma.filled(images["relu2"].get_array(), np.nan), b["tiles"]["relu2"])
    np.testing.assert_allclose([bar.get_height() for bar in bars], b["probs"])
    assert fig._forward["title"].get_text().startswith(b["text"])
