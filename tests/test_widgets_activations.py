"""Pure functions and views behind the Lesson 02 widgets (activation explorer, decision-boundary
playground, depth slider), checked against torch where a twin exists, and the widgets' wiring."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib.kernels import get_kernel  # noqa: E402
from cnnlib.widgets import activations as aw  # noqa: E402
from cnnlib.widgets import activations_boundary as ab  # noqa: E402
from cnnlib.widgets import activations_depth as ad  # noqa: E402

TORCH_TWINS = {"relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, 0.2), "sigmoid": torch.sigmoid,
               "tanh": torch.tanh, "softplus": TF.softplus, "gelu": TF.gelu}


# --- activation explorer -----------------------------------------------------------------------

@pytest.mark.parametrize("name", aw.ACTIVATIONS)
def test_activation_curve_and_derivative_match_torch_autograd_including_x_0(name):
    x = np.concatenate([np.linspace(-12, 12, 97), [0.0, -0.0, 1e-9, -1e-9]])
    f, df = aw.activation_curve(name, x, slope=0.2)
    t = torch.tensor(x, requires_grad=True)
    out = TORCH_TWINS[name](t)
    out.sum().backward()
    np.testing.assert_allclose(f, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(df, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activation_curve_hand_values_identity_and_unknown_name():
    f, df = aw.activation_curve("leaky_relu", [-2.0, 0.0, 3.0], slope=0.5)
    np.testing.assert_array_equal(f, [-1.0, 0.0, 3.0])
    np.testing.assert_array_equal(df, [0.5, 0.5, 1.0])
    f, df = aw.activation_curve("sigmoid", [0.0])
    assert f[0] == 0.5 and df[0] == 0.25
    f, df = aw.activation_curve("none", [-1.0, 2.0])
    np.testing.assert_array_equal(f, [-1.0, 2.0])
    np.testing.assert_array_equal(df, [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        aw.activation_curve("swish", [0.0])


def test_softplus_does_not_overflow_far_out():
    f, df = aw.activation_curve("softplus", np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(f, [0.0, 1000.0])
    np.testing.assert_array_equal(df, [0.0, 1.0])


def test_explorer_view_keeps_the_chosen_functions_in_order_and_describes_them():
    view = aw.explorer_view(["tanh", "relu"], span=3.0, slope=0.1, n=61)
    assert list(view["curves"]) == ["relu", "tanh"]          # ACTIVATIONS order
    assert view["x"][0] == -3.0 and view["x"][-1] == 3.0 and view["x"].shape == (61,)
    assert "<b>relu</b>: f from 0 to 3, f' from 0 to 1" in view["caption"]
    assert "<b>tanh</b>" in view["caption"]
    assert aw.explorer_view([], 2.0)["caption"] == "tick at least one function"
    with pytest.raises(ValueError, match="span must be > 0"):
        aw.explorer_view(["relu"], span=0)


def test_curves_view_updates_the_same_lines_in_place():
    view = aw.CurvesView(legend=True)
    n_lines = len(view.ax_f.lines) + len(view.ax_d.lines)
    view.draw(aw.explorer_view(["relu", "sigmoid"], 4.0, 0.1))
    f_line, d_line = view.lines["sigmoid"]
    assert f_line.get_visible() and not view.lines["gelu"][0].get_visible()
    np.testing.assert_allclose(d_line.get_ydata().max(), 0.25, atol=1e-4)
    view.draw(aw.explorer_view(["gelu"], 8.0, 0.1))
    assert not f_line.get_visible() and view.lines["gelu"][0].get_visible()
    assert view.ax_f.get_xlim() == (-8.0, 8.0)
    assert len(view.ax_f.lines) + len(view.ax_d.lines) == n_lines
    assert [t.get_text() for t in view.legend.get_texts()] == ["gelu"]
    assert isinstance(aw.curves_figure(["leaky_relu"], 5, 0.3), Figure)
    live_view = aw.CurvesView()                               # the widget's: curves named in the caption
    live_view.draw(aw.explorer_view(["relu"], 4.0, 0.1))
    assert live_view.legend is None
    assert "color:#1f77b4" in aw.explorer_view(["relu"], 4.0)["caption"]


# --- stacked convolutions ------------------------------------------------------------------------

@pytest.mark.parametrize("s1, s2", [((3, 3), (3, 3)), ((2, 4), (3, 1)), ((1, 1), (3, 2))])
def test_compose_kernels_one_convolution_equals_two_in_torch(s1, s2):
    rng = np.random.default_rng(sum(s1) * 10 + sum(s2))
    k1, k2 = rng.standard_normal(s1), rng.standard_normal(s2)
    x = torch.tensor(rng.standard_normal((2, 1, 11, 9)))
    two = TF.conv2d(TF.conv2d(x, torch.tensor(k1)[None, None]), torch.tensor(k2)[None, None])
    k = aw.compose_kernels(k1, k2)
    assert k.shape == (s1[0] + s2[0] - 1, s1[1] + s2[1] - 1)
    np.testing.assert_allclose(TF.conv2d(x, torch.tensor(k)[None, None]).numpy(), two.numpy(), atol=1e-12)


def test_compose_kernels_of_lesson01_kernels_and_bad_input():
    k = aw.compose_kernels(get_kernel("identity"), get_kernel("sobel_x"))
    np.testing.assert_array_equal(k[1:4, 1:4], get_kernel("sobel_x"))   # identity then Sobel = Sobel
    assert np.abs(k).sum() == np.abs(get_kernel("sobel_x")).sum()
    with pytest.raises(ValueError, match="must be 2-D"):
        aw.compose_kernels(np.ones(3), np.ones((3, 3)))


# --- decision-boundary playground ---------------------------------------------------------------

def test_make_rings_is_seeded_balanced_and_ring_shaped():
    X, y = ab.make_rings(n=400, seed=0)
    assert X.shape == (400, 2) and y.shape == (400,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [200, 200]
    radius = np.hypot(X[:, 0], X[:, 1])
    assert abs(radius[y == 0].mean() - 0.5) < 0.02 and abs(radius[y == 1].mean() - 1.0) < 0.02
    np.testing.assert_array_equal(ab.make_rings(seed=0)[0], X)
    assert not np.array_equal(ab.make_rings(seed=1)[0], X)


def test_toy_model_layers_and_the_linear_one_collapses():
    relu = ab.toy_model("relu", hidden=5)
    assert [type(m).__name__ for m in relu] == ["Linear", "ReLU", "Linear"]
    assert relu[0].weight.data.dtype == np.float64
    none = ab.toy_model("none", hidden=5)
    assert [type(m).__name__ for m in none] == ["Linear", "Linear"]
    (w1, b1), (w2, b2) = [(m.weight.data, m.bias.data) for m in none]
    X = np.random.default_rng(0).standard_normal((7, 2))
    np.testing.assert_allclose(none(X), X @ (w2 @ w1).T + (w2 @ b1 + b2), atol=1e-12)


@pytest.mark.parametrize("activation, torch_act", [("relu", torch.nn.ReLU()), ("tanh", torch.nn.Tanh()),
                                                   ("sigmoid", torch.nn.Sigmoid()), ("none", None)])
def test_train_toy_follows_the_torch_twin_step_by_step(activation, torch_act):
    """cnnlib's Sequential + CrossEntropyLoss + Adam against torch's, from the same weights."""
    X, y = ab.make_rings(n=64, seed=3)
    result = ab.train_toy(activation, hidden=6, steps=5, lr=0.03, seed=4, data=(X, y))
    start = ab.toy_model(activation, hidden=6, seed=4)
    twin = torch.nn.Sequential(*[m for m in (torch.nn.Linear(2, 6), torch_act, torch.nn.Linear(6, 2)) if m is not None])
    twin = twin.double()
    names = [k for k in twin.state_dict()]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in zip(names, start.state_dict().values())})
    opt = torch.optim.Adam(twin.parameters(), lr=0.03)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = TF.cross_entropy(twin(torch.from_numpy(X)), torch.from_numpy(y))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(result["losses"], losses, rtol=1e-10)
    for ours, theirs in zip(result["model"].state_dict().values(), twin.state_dict().values()):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_train_toy_separates_the_rings_only_with_an_activation():
    X, y = ab.make_rings(seed=0)
    calls = []
    relu = ab.train_toy("relu", hidden=8, steps=200, data=(X, y), callback=lambda s, n: calls.append((s, n)))
    linear = ab.train_toy("none", hidden=8, steps=200, data=(X, y))
    assert relu["accuracy"] > 0.97 and linear["accuracy"] < 0.7
    assert relu["losses"][-1] < relu["losses"][0] / 10
    assert calls[0] == (1, 200) and calls[-1] == (200, 200) and len(calls) == 200
    again = ab.train_toy("relu", hidden=8, steps=200, data=(X, y))
    np.testing.assert_array_equal(again["losses"], relu["losses"])        # seeded


def test_boundary_grid_is_the_models_softmax_on_the_plane():
    model = ab.toy_model("tanh", hidden=4)
    prob = ab.boundary_grid(model, lim=2.0, n=5)
    assert prob.shape == (5, 5) and np.all((prob >= 0) & (prob <= 1))
    logits = model(np.array([[-2.0, 2.0]]))                 # row 4 (top), column 0 (left)
    expected = torch.softmax(torch.tensor(logits), dim=1)[0, 1].item()
    assert prob[4, 0] == pytest.approx(expected, rel=1e-12)


def test_playground_view_says_when_the_settings_changed():
    X, y = ab.make_rings(n=100, seed=0)
    result = ab.train_toy("relu", hidden=3, steps=20, data=(X, y))
    view = ab.playground_view(result, settings=("relu", 3, 20))
    assert view["prob"].shape == (121, 121) and view["losses"].shape == (20,)
    assert view["caption"].startswith("<b>relu</b>, 3 hidden units, 20 steps: loss ")
    assert "press" not in view["caption"]
    assert "settings changed: press <b>Train</b>" in ab.playground_view(result, settings=("tanh", 3, 20))["caption"]


def test_boundary_view_redraws_in_place_and_the_static_figures():
    X, y = ab.make_rings(n=100, seed=0)
    view = ab.BoundaryView(X, y)
    for act in ("relu", "sigmoid"):
        view.draw(ab.playground_view(ab.train_toy(act, hidden=4, steps=30, data=(X, y))))
        assert len(view.ax_b.images) == 1 and len(view.ax_l.lines) == 1
    assert view.title.get_text().startswith("sigmoid, 4 hidden")
    flat = ab.train_toy("none", hidden=1, steps=1, lr=1e-9, data=(X, y))
    view.draw(ab.playground_view(flat))                      # may have no 0.5 contour at all
    results = [ab.train_toy(a, hidden=4, steps=10, data=(X, y)) for a in ("none", "relu")]
    assert isinstance(ab.boundaries_figure(results, X, y), Figure)
    assert isinstance(ab.playground_figure(results[1], X, y), Figure)


# --- depth slider --------------------------------------------------------------------------------

def _torch_profile(depth, init_name, name):
    """The same stack in torch: gradient norms at every block input by autograd."""
    x0, dout, weights = ad._draws(init_name, 64, 64, 0, -(-depth // 50) * 50)
    act = {"relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, 0.01),
           "tanh": torch.tanh, "sigmoid": torch.sigmoid}[name]
    x, inputs = torch.tensor(x0), []
    for w in weights[:depth]:
        x.requires_grad_(True)
        x.retain_grad()
        inputs.append(x)
        x = act(x @ torch.tensor(w).T)
    x.backward(torch.tensor(dout))
    norms = [np.linalg.norm(dout)] + [t.grad.norm().item() for t in reversed(inputs)]
    return np.array(norms) / norms[0]


@pytest.mark.parametrize("init_name", ["lecun", "he", "pytorch"])
def test_gradient_profile_matches_torch_autograd(init_name):
    ratios = ad.gradient_profile(12, init_name)
    assert set(ratios) == {"relu", "leaky_relu", "tanh", "sigmoid"}
    for name, r in ratios.items():
        assert r.shape == (13,) and r[0] == 1.0
        np.testing.assert_allclose(r, _torch_profile(12, init_name, name), rtol=1e-9)


def test_gradient_profile_shows_the_vanishing_sigmoid_and_he_init_keeping_relu():
    lecun, he = ad.gradient_profile(20, "lecun"), ad.gradient_profile(20, "he")
    assert lecun["sigmoid"][20] < 0.3 ** 20 < lecun["relu"][20] < lecun["tanh"][20]
    assert 0.1 < he["relu"][20] < 10 and he["sigmoid"][20] < 1e-6
    a, b = ad.gradient_profile(7, "he"), ad.gradient_profile(7, "he")
    np.testing.assert_array_equal(a["tanh"], b["tanh"])
    with pytest.raises(ValueError, match="depth must be a whole number >= 1"):
        ad.gradient_profile(0)
    with pytest.raises(ValueError, match="init_name must be one of"):
        ad.gradient_profile(3, "xavier")


def test_depth_view_and_figure():
    view = ad.depth_view(5, "he")
    assert view["depth"] == 5 and view["ratios"]["relu"].shape == (6,)
    assert view["caption"].startswith("gradient size after 5 blocks (he init): <span style=")
    assert "</span> relu " in view["caption"]
    assert "0.25<sup>5</sup> = 9.8e-04" in view["caption"]
    fig_view = ad.DepthView()
    fig_view.draw(view)
    fig_view.draw(ad.depth_view(30, "lecun"))
    assert fig_view.lines["sigmoid"].get_xdata().shape == (31,)
    assert fig_view.title.get_text() == "gradient size through 30 blocks (lecun init)"
    assert isinstance(ad.depth_figure(3), Figure)


# --- the widgets: controls wired to the views ------------------------------------------------------

def test_activation_explorer_redraws_on_every_control():
    live = aw.activation_explorer()
    assert live.frames == 1 and live.image.value
    live.controls["gelu"].value = True
    live.wait()
    assert "gelu" in live.view["curves"] and "<b>gelu</b>" in live.caption.value
    live.controls["span"].value = 12.0
    live.controls["slope"].value = 0.5
    live.wait()
    assert live.view["span"] == 12.0 and live.view["slope"] == 0.5
    assert "cnn-activation-explorer" in live._dom_classes


def test_depth_explorer_recomputes_for_depth_and_init():
    live = ad.depth_explorer(depth=4)
    live.controls["init_name"].value = "he"
    live.controls["depth"].value = 9
    live.wait()
    assert live.view["depth"] == 9 and live.view["init_name"] == "he"
    assert live.caption.value.startswith("gradient size after 9 blocks (he init)")


def test_boundary_playground_trains_behind_its_button():
    X, y = ab.make_rings(n=100, seed=0)
    live = ab.boundary_playground(X, y, activation="relu", hidden=3, steps=50)
    assert live.caption.value.startswith("<b>relu</b>, 3 hidden units, 50 steps")
    live.controls["activation"].value = "tanh"
    live.controls["steps"].value = 60
    live.wait()
    assert "press <b>Train</b>" in live.caption.value              # changing a control never trains
    button = next(c for c in live.children[0].children if hasattr(c, "wait"))
    button.button.click()
    result = button.wait()
    live.wait()
    assert (result["activation"], result["steps"]) == ("tanh", 60) and button.bar.value == 1
    assert live.caption.value.startswith("<b>tanh</b>, 3 hidden units, 60 steps") and "press" not in live.caption.value
