"""Lesson 05's helpers and widget pure functions: the backprop stepper, the gradient-check explorer and the
kernel descent, against torch autograd and cnnlib's own gradient checker."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

from cnnlib import functional as cf  # noqa: E402
from cnnlib import gradcheck  # noqa: E402
from cnnlib.kernels import get_kernel  # noqa: E402
from cnnlib.widgets import backprop as ref  # noqa: E402
from cnnlib.widgets import backprop_descent as bd  # noqa: E402
from cnnlib.widgets import backprop_gradcheck as bc  # noqa: E402
from cnnlib.widgets import backprop_graph as bg  # noqa: E402


def _autograd(fn, *arrays, dout=None):
    """Gradients of sum(fn(*tensors) * dout) (or of the scalar fn) with respect to every array."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(None if dout is None else torch.tensor(dout))
    return [t.grad.numpy() for t in tensors]


# --- cnnlib.widgets.backprop: the exercises' reference versions -----------------------------------

def test_reference_linear_backward_matches_torch_in_float64_and_float32():
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x, w, b, dout = (rng.standard_normal(s).astype(dtype) for s in ((5, 7), (3, 7), (3,), (5, 3)))
        got = ref.linear_backward(dout, x, w)
        for g, e in zip(got, _autograd(TF.linear, x, w, b, dout=dout)):
            assert g.dtype == dtype
            np.testing.assert_allclose(g, e, atol=tol, rtol=tol)


def test_reference_softmax_cross_entropy_backward_matches_torch_even_at_1e4():
    logits = np.array([[1e4, -1e4, 0.0], [0.5, 0.2, -0.1], [3.0, 3.0, 3.0]])
    y = np.array([1, 0, 2])
    (expected,) = _autograd(lambda z: TF.cross_entropy(z, torch.tensor(y)), logits)
    np.testing.assert_allclose(ref.softmax_cross_entropy_backward(logits, y), expected, atol=1e-15)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_reference_conv2d_backward_matches_torch(stride, padding):
    rng = np.random.default_rng(stride)
    x, w, b = rng.standard_normal((2, 3, 9, 7)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    out, _ = cf.conv2d_forward(x, w, b, stride=stride, padding=padding)
    dout = rng.standard_normal(out.shape)
    expected = _autograd(lambda *t: TF.conv2d(*t, stride=stride, padding=padding), x, w, b, dout=dout)
    for g, e in zip(ref.conv2d_backward(dout, x, w, b, stride, padding), expected):
        np.testing.assert_allclose(g, e, atol=1e-10)


def test_reference_numerical_gradient_and_relative_error():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    x0 = x.copy()
    g = ref.numerical_gradient(lambda v: np.sum(v ** 3), x, 0.1)
    np.testing.assert_allclose(g, 3 * x0 ** 2 + 0.01, atol=1e-12)        # centred: 3x² + ε² exactly
    np.testing.assert_array_equal(x, x0)
    with pytest.raises(ValueError, match="positive"):
        ref.numerical_gradient(lambda v: float(np.sum(v)), x, 0.0)
    assert ref.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert ref.relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)


# --- the backprop stepper -------------------------------------------------------------------------

@pytest.mark.parametrize("seed, y", [(0, 0), (1, 1), (2, 0), (3, 1)])
def test_graph_gradients_match_torch_autograd(seed, y):
    x, w0, b0, w1, b1 = np.random.default_rng(seed).uniform(-3, 3, 5)
    state = bg.graph_state(x, w0, b0, w1, b1, y, step=bg.N_STEPS)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in dict(x=x, w0=w0, b0=b0, w1=w1, b1=b1).items()}
    logits = torch.stack([t["w0"] * t["x"] + t["b0"], t["w1"] * t["x"] + t["b1"]])
    loss = TF.cross_entropy(logits[None], torch.tensor([y]))
    loss.backward()
    assert state["loss"] == pytest.approx(loss.item(), rel=1e-12)
    for k in t:
        assert state["grads"][k] == pytest.approx(t[k].grad.item(), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose([state["grads"]["z0"], state["grads"]["z1"]], state["dz"], atol=1e-12)
    np.testing.assert_allclose(state["dz"], state["probs"] - np.eye(2)[y], atol=1e-15)
    assert "Done" in state["text"]


def test_graph_steps_forward_then_backward_one_node_at_a_time():
    start = bg.graph_state(step=0)
    assert set(start["values"]) == set(bg.LEAVES) and start["grads"] == {} and start["phase"] == "start"
    for step in range(1, 10):
        state = bg.graph_state(step=step)
        name = bg.OPS[step - 1][0]
        assert state["active"] == name and state["phase"] == "forward" and state["grads"] == {}
        assert len(state["values"]) == len(bg.LEAVES) + step
        assert state["text"].startswith(f"Forward {step}/9: {name} = ")
    first_back = bg.graph_state(step=10)
    assert first_back["active"] == "L" and set(first_back["grads"]) == {"L", "p"}
    assert first_back["grads"]["p"] == pytest.approx(-1 / first_back["values"]["p"])


def test_graph_accumulates_the_two_contributions_of_e_y():
    """Label 0: e0 feeds p and s; after p's step it holds dp/s, after s's step dp/s + ds."""
    after_p = bg.graph_state(step=11)
    after_s = bg.graph_state(step=12)
    v, g = after_s["values"], after_s["grads"]
    assert after_p["grads"]["e0"] == pytest.approx(g["p"] / v["s"])
    assert "e1" not in after_p["grads"]
    assert g["e0"] == pytest.approx(g["p"] / v["s"] + g["s"])
    assert g["e1"] == pytest.approx(g["s"])
    assert "added to the" in after_s["text"] and after_s["active"] == "s"
    # label 1 routes p through e1 instead
    assert bg.ops_for(1)[7] == ("p", "div", ("e1", "s"))


def test_graph_state_rejects_bad_steps_and_labels():
    with pytest.raises(ValueError, match="step"):
        bg.graph_state(step=bg.N_STEPS + 1)
    with pytest.raises(ValueError, match="label"):
        bg.graph_state(y=2)


def test_graph_view_updates_in_place():
    view = bg.GraphView()
    fig = view.draw(bg.graph_state(step=3))
    texts = dict(view.boxes)
    assert view.boxes["z0"].get_text() == "z0 = m0+b0\n0.5" and view.boxes["e0"].get_text() == "e0 = exp(z0)"
    assert view.draw(bg.graph_state(step=bg.N_STEPS)) is fig and view.boxes == texts
    assert view.grads["x"].get_text().startswith("d: ")
    assert view.edges[("e1", "p")].get_linestyle() == ":"                     # label 0: p does not use e1
    view.draw(bg.graph_state(y=1, step=bg.N_STEPS))
    assert view.edges[("e1", "p")].get_linestyle() == "-" and view.edges[("e0", "p")].get_linestyle() == ":"


def test_backprop_stepper_widget_steps_with_its_buttons():
    live = bg.backprop_stepper()
    assert live.view["step"] == 0
    back, forward = live.step_buttons
    forward.click()
    forward.click()
    live.wait()
    assert live.controls["step"].value == 2 and live.view["active"] == "m1"
    back.click()
    live.wait()
    assert live.view["active"] == "m0" and live.last_error is None
    live.controls["step"].value = bg.N_STEPS
    live.controls["y"].value = 1
    live.wait()
    assert "Done" in live.caption.value


# --- the gradient-check explorer ------------------------------------------------------------------

def test_centred_gradient_matches_cnnlib_and_leaves_x_alone():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    f = lambda v: float(np.sum(np.tanh(v) * np.arange(12).reshape(3, 4)))          # noqa: E731
    np.testing.assert_allclose(bc.centred_gradient(f, x, 1e-5), gradcheck.numerical_gradient(f, x.copy()), atol=1e-12)
    np.testing.assert_array_equal(x, x0)
    errors = bc.relative_errors(np.ones(3), np.array([1.0, 1.5, 0.0]))
    np.testing.assert_allclose(errors, [0.0, 0.2, 1.0])
    assert errors.max() == gradcheck.rel_error(np.ones(3), np.array([1.0, 1.5, 0.0]))
    # float32: x + eps is rounded to float32, so a step below its resolution gives a zero difference
    assert bc.centred_gradient(lambda v: float(np.sum(v)), np.ones(2, dtype=np.float32), 1e-9).tolist() == [0.0, 0.0]


def _torch_loss(layer, p):
    """The problem's loss rebuilt in torch, for autograd."""
    rng = np.random.default_rng(0)
    if layer == "linear":
        x, w, b, dout = rng.standard_normal((4, 6)), rng.standard_normal((3, 6)), rng.standard_normal(3), rng.standard_normal((4, 3))
        return [x, w], lambda x, w: (TF.linear(x, w, torch.tensor(b)) * torch.tensor(dout)).sum()
    if layer == "conv":
        x, w, b = rng.standard_normal((1, 1, 6, 6)), rng.standard_normal((1, 1, 3, 3)), rng.standard_normal(1)
        dout = rng.standard_normal((1, 1, 4, 4))
        return [x, w], lambda x, w: (TF.conv2d(x, w, torch.tensor(b)) * torch.tensor(dout)).sum()
    if layer == "relu":
        x = p["tensors"]["x"]
        rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
        dout = rng.standard_normal((6, 6))
        return [x], lambda x: (torch.relu(x) * torch.tensor(dout)).sum()
    if layer == "max-pool":
        x = p["tensors"]["x"]
        rng.permutation(36), rng.random((1, 1, 6, 6))
        dout = rng.standard_normal((1, 1, 3, 3))
        return [x], lambda x: (TF.max_pool2d(x, 2) * torch.tensor(dout)).sum()
    x, y = rng.standard_normal((4, 6)) * 2, rng.integers(0, 6, 4)
    return [x], lambda x: TF.cross_entropy(x, torch.tensor(y))


@pytest.mark.parametrize("layer", bc.LAYERS)
def test_problems_analytic_gradients_match_torch_autograd(layer):
    p = bc.make_problem(layer)
    arrays, loss = _torch_loss(layer, p)
    for name, a, g in zip(("x", "w"), arrays, _autograd(loss, *arrays)):
        np.testing.assert_allclose(p["tensors"][name], a)
        np.testing.assert_allclose(p["grads"][name], g, atol=1e-12)
        assert p["loss"](name, p["tensors"][name]) == pytest.approx(loss(*[torch.tensor(v) for v in arrays]).item())


@pytest.mark.parametrize("layer", bc.LAYERS)
def test_float64_checks_pass_and_float32_ones_look_like_bugs(layer):
    fine = bc.check_view(layer, 1e-5, "float64")
    assert fine["max_error"] < 1e-6 and "fine" in fine["text"]
    assert fine["curves"]["float64"].shape == bc.EPS_GRID.shape
    assert fine["curves"]["float64"].min() < 1e-8 < fine["curves"]["float32"].min()
    assert bc.check_view(layer, 1e-5, "float32")["max_error"] > 1e-3
    assert bc.check_view(layer, 1e-12, "float64")["max_error"] > fine["max_error"]      # rounding wins at tiny eps


@pytest.mark.parametrize("layer", ["relu", "max-pool"])
def test_an_input_within_eps_of_a_kink_raises_a_false_alarm(layer):
    far = bc.check_view(layer, 1e-5, "float64", kink=1e-2)
    near = bc.check_view(layer, 1e-5, "float64", kink=1e-6)
    assert far["max_error"] < 1e-6 and "farther than ε" in far["text"]
    assert near["maps"]["x"][bc.MARKED] > 0.1 and "false alarm" in near["text"]
    assert near["marked"] == bc.MARKED
    off = np.ones_like(near["maps"]["x"], dtype=bool)
    off[bc.MARKED[0] // 2 * 2:bc.MARKED[0] // 2 * 2 + 2, bc.MARKED[1] // 2 * 2:bc.MARKED[1] // 2 * 2 + 2] = False
    assert near["maps"]["x"][off].max() < 1e-6                                # only the kink's neighbourhood


def test_smooth_layers_ignore_the_kink_control_and_bad_input_is_refused():
    assert bc.check_view("conv", 1e-5, "float64", kink=1e-9)["marked"] is None
    assert bc.check_view("linear", 1e-5)["maps"]["w"].shape == (3, 6)
    assert bc.check_view("relu", 1e-5)["maps"]["w"] is None
    with pytest.raises(ValueError, match="unknown layer"):
        bc.make_problem("dropout")
    with pytest.raises(ValueError, match="eps"):
        bc.check_view("relu", 0.0)
    with pytest.raises(ValueError, match="dtype"):
        bc.make_problem("relu", "float16")


def test_check_view_figure_updates_in_place():
    view = bc.CheckView()
    fig = view.draw(bc.check_view("conv", 1e-5))
    image = view.images["w"]
    assert image.get_array().shape == (3, 3) and view.titles["w"].get_text().startswith("dw")
    assert view.draw(bc.check_view("relu", 1e-6, "float32", 1e-8)) is fig and view.images["w"] is image
    assert view.titles["w"].get_text() == "(no weights)" and view.mark.get_visible()
    assert view.images["x"].get_array().shape == (6, 6)


def test_gradcheck_explorer_widget():
    live = bc.gradcheck_explorer()
    assert live.view["layer"] == "relu" and live.last_error is None
    live.controls["layer"].value = "max-pool"
    live.controls["kink"].value = 1e-7
    live.wait()
    assert "false alarm" in live.caption.value


# --- learning a kernel ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    images = np.clip(rng.standard_normal((4, 10, 12)), 0, None)               # digit-like: non-negative, many zeros
    return bd.kernel_problem(images)


def test_descent_path_is_gradient_descent_with_cnnlibs_conv_backward(problem):
    lr, steps = 0.3, 25
    path = bd.descent_path(problem, lr, steps)
    w, x, target = np.zeros((1, 1, 3, 3)), problem["x"], problem["target"]
    for k in range(steps + 1):
        out, cache = cf.conv2d_forward(x, w, None)
        assert path["losses"][k] == pytest.approx(np.mean((out - target) ** 2), rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(path["kernels"][k], w[0, 0], atol=1e-12)
        _, dw, _ = cf.conv2d_backward(2 * (out - target) / out.size, cache)
        w = w - lr * dw
    assert path["diverged"] is None and len(path["losses"]) == steps + 1


def test_the_quadratic_gradient_is_torch_autograds(problem):
    w = np.random.default_rng(1).standard_normal((1, 1, 3, 3))
    (expected,) = _autograd(lambda w_: ((TF.conv2d(torch.tensor(problem["x"]), w_) - torch.tensor(problem["target"])) ** 2).mean(), w)
    np.testing.assert_allclose(2 * problem["H"] @ (w.ravel() - problem["w_star"].ravel()), expected.ravel(), atol=1e-12)


def test_learning_rate_below_the_limit_converges_above_it_diverges(problem):
    limit = 1 / np.linalg.eigvalsh(problem["H"]).max()          # the step factor |1 - 2 lr λ| must stay below 1
    good = bd.descent_path(problem, 0.9 * limit, 3000)
    bad = bd.descent_path(problem, 1.1 * limit, 3000)
    assert good["diverged"] is None and good["losses"][-1] < 1e-6 * good["losses"][0]
    assert bad["diverged"] is not None and bad["losses"][-1] > bd.DIVERGED
    np.testing.assert_allclose(good["kernels"][-1], get_kernel("sobel_x"), atol=1e-2)
    assert bd.descent_path(problem, 1e-4, 0)["losses"].shape == (1,)
    with pytest.raises(ValueError, match="learning rate"):
        bd.descent_path(problem, 0.0, 5)


def test_descent_view_and_figure(problem):
    view = bd.descent_view(problem, 0.5, 40)
    assert view["kernel"].shape == (3, 3) and view["feature_map"].shape == (8, 10) and view["steps"] == 40
    assert "after 40 steps" in view["text"] and "Sobel x" in view["text"]
    fig_view = bd.DescentView(problem)
    fig = fig_view.draw(view)
    curve = fig_view.curve
    diverged = bd.descent_view(problem, 50.0, 100)
    assert "diverged" in diverged["text"] and np.isnan(diverged["feature_map"]).all()
    assert fig_view.draw(diverged) is fig and fig_view.curve is curve
    with pytest.raises(ValueError, match="images"):
        bd.kernel_problem(np.zeros((2, 2, 3, 4, 5)))


def test_kernel_descent_widget(problem):
    live = bd.kernel_descent(problem["x"], lr=0.5, steps=20)
    live.controls["steps"].value = 60
    live.wait()
    assert live.view["steps"] == 60 and len(live.view["losses"]) == 61 and live.last_error is None
