"""Pure functions and views behind the Lesson 06 widgets (trajectory playground, schedule explorer,
learning-rate explorer) and the lesson's real-data helpers, checked against torch where a twin exists,
and the widgets' wiring."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib import optim  # noqa: E402
from cnnlib.optim import rules  # noqa: E402
from cnnlib.widgets import optimizers as ow  # noqa: E402
from cnnlib.widgets import optimizers_mnist as om  # noqa: E402
from cnnlib.widgets import optimizers_playground as op  # noqa: E402
from cnnlib.widgets import optimizers_schedules as osch  # noqa: E402
from cnnlib.widgets import optimizers_train as ot  # noqa: E402

TORCH_LOSSES = {"bowl": lambda w, k: 0.5 * (w[0] ** 2 / k + w[1] ** 2),
                "saddle": lambda w, k: 0.5 * w[0] ** 2 - 0.5 * w[1] ** 2 + 0.25 * w[1] ** 4,
                "rosenbrock": lambda w, k: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2}


# --- surfaces and trajectories -------------------------------------------------------------------

@pytest.mark.parametrize("name", ow.SURFACES)
def test_surface_gradient_minimum_and_hessian_match_torch_autograd(name):
    s = ow.make_surface(name, condition=7.0)
    for w in np.random.default_rng(0).uniform(-1.5, 1.5, size=(5, 2)):
        t = torch.tensor(w, requires_grad=True)
        TORCH_LOSSES[name](t, 7.0).backward()
        np.testing.assert_allclose(s.grad(w), t.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.loss(w[0], w[1]), TORCH_LOSSES[name](torch.tensor(w), 7.0).item(), rtol=1e-12)
    assert s.loss(*s.minimum) == pytest.approx(s.loss_min, abs=1e-15)
    np.testing.assert_allclose(s.grad(s.minimum), 0.0, atol=1e-15)
    hessian = torch.autograd.functional.hessian(lambda t: TORCH_LOSSES[name](t, 7.0), torch.tensor(s.minimum))
    np.testing.assert_allclose(s.hessian, hessian.numpy(), atol=1e-12)


def test_surface_grid_shapes_and_bad_input():
    s = ow.make_surface("bowl", 4.0)
    assert s.loss(np.zeros((3, 1)), np.zeros((1, 5))).shape == (3, 5)
    with pytest.raises(ValueError, match="condition number must be >= 1"):
        ow.make_surface("bowl", 0.5)
    with pytest.raises(ValueError, match="unknown surface 'ravine'"):
        ow.make_surface("ravine")


def test_stability_gives_two_over_lambda_max():
    st = ow.stability(ow.make_surface("bowl", 10.0))
    assert st["lam_max"] == pytest.approx(1.0) and st["lam_min"] == pytest.approx(0.1)
    assert st["lr_limit"] == pytest.approx(2.0) and st["lr_best"] == pytest.approx(2 / 1.1)
    assert st["condition"] == pytest.approx(10.0)
    ros = ow.stability(ow.make_surface("rosenbrock"))
    assert ros["lam_max"] == pytest.approx(1001.6, abs=0.05) and ros["condition"] == pytest.approx(2508, abs=1)


@pytest.mark.parametrize("optimizer, torch_opt", [
    ("gd", lambda p, lr: torch.optim.SGD(p, lr=lr)),
    ("momentum", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.8)),
    ("nesterov", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.8, nesterov=True)),
    ("rmsprop", lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.95)),
    ("adam", lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.8, 0.95))),
])
@pytest.mark.parametrize("name", ow.SURFACES)
def test_trajectory_is_torch_optims_path(name, optimizer, torch_opt):
    s = ow.make_surface(name, condition=5.0)
    lr = 0.001 if name == "rosenbrock" else 0.05
    run = ow.trajectory(s, optimizer, lr=lr, steps=40, momentum=0.8, beta2=0.95)
    p = torch.tensor(s.start, requires_grad=True)
    opt = torch_opt([p], lr)
    path = [p.detach().numpy().copy()]
    for _ in range(40):
        opt.zero_grad()
        TORCH_LOSSES[name](p, 5.0).backward()
        opt.step()
        path.append(p.detach().numpy().copy())
    assert run["diverged"] is None
    np.testing.assert_allclose(run["path"], np.array(path), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(run["gap"], [s.loss(*w) - s.loss_min for w in path], atol=1e-12)


def test_gradient_descent_is_stable_just_below_two_over_lambda_max_only():
    bowl = ow.make_surface("bowl", 10.0)
    below, above = ow.trajectory(bowl, "gd", 1.98, 600), ow.trajectory(bowl, "gd", 2.01, 300)
    assert below["gap"][-1] < 1e-3 * below["gap"][0]
    assert above["gap"][-1] > 10 * above["gap"][0] and above["diverged"] is None
    blown = ow.trajectory(bowl, "gd", 2.5, 100)                # |1 - 2.5| = 1.5: leaves |w| <= 1e3 at step 18
    assert blown["diverged"] == 18 and len(blown["path"]) == 18 and np.isfinite(blown["gap"]).all()
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        ow.trajectory(bowl, "lion")


def test_trajectory_view_runs_caption_and_cached_background():
    view = ow.trajectory_view("bowl", ["adam", "gd"], lr=2.5, steps=30, condition=10)
    assert list(view["runs"]) == ["gd", "adam"]                # OPTIMIZERS order
    assert "2/&lambda;<sub>max</sub> = 2;" in view["caption"] and "1.25 &times; that limit" in view["caption"]
    assert "<b>gradient descent</b>: diverged at step" in view["caption"]
    assert "<b>Adam</b>: after 30 steps L - L* =" in view["caption"]
    again = ow.trajectory_view("bowl", ["gd"], lr=0.1, steps=5, condition=10)
    assert again["image"] is view["image"] and view["key"] == ("bowl", 10.0)   # cached landscape
    xs, ys, image = ow.landscape("bowl", 10.0)
    assert image.shape == (160, 160) and not image.flags.writeable and xs[0] == -2.4 and ys[-1] == 1.2
    np.testing.assert_allclose(image[80, 0], np.log10(ow.make_surface("bowl", 10.0).loss(xs[0], ys[80]) + 1e-3))
    assert ow.trajectory_view("saddle", [], condition=50)["key"] == ("saddle", 1.0)   # kappa is the bowl's only
    assert "tick at least one optimizer" in ow.trajectory_view("rosenbrock", [])["caption"]
    assert "stable near the minimum for lr &lt; 2/&lambda;<sub>max</sub> = 0.002" in ow.trajectory_view("rosenbrock", ["gd"])["caption"]


def test_trajectory_view_draws_in_place_and_redraws_the_background_only_when_needed():
    tv = op.TrajectoryView(legend=True)
    tv.draw(ow.trajectory_view("bowl", ["gd", "adam"], lr=0.3, steps=20, condition=10))
    contour, n_lines = tv.contour, len(tv.ax_s.lines) + len(tv.ax_l.lines)
    tv.draw(ow.trajectory_view("bowl", ["momentum"], lr=0.5, steps=40, condition=10))
    assert tv.contour is contour                                # same surface: background untouched
    assert tv.paths["momentum"].get_visible() and not tv.paths["gd"].get_visible()
    assert len(tv.paths["momentum"].get_xdata()) == 41 and tv.ax_l.get_xlim() == (0, 40)
    tv.draw(ow.trajectory_view("rosenbrock", ["gd"], lr=1e-3, steps=10))
    assert tv.contour is not contour and tv.ax_s.get_xlim() == (-2.0, 2.0) and tv.ax_s.get_ylim() == (-1.0, 3.0)
    assert len(tv.ax_s.lines) + len(tv.ax_l.lines) == n_lines
    assert [t.get_text() for t in tv.legend.get_texts()] == ["gradient descent"]
    assert isinstance(op.trajectory_figure(surface="saddle", optimizers=["adam"], steps=10), Figure)
    assert isinstance(op.lr_panels_figure([0.1, 2.1], "bowl", steps=10), Figure)


def test_rate_choices_are_round_values_on_a_log_scale():
    choices = ow.rate_choices(1e-3, 3)
    values = [v for _, v in choices]
    assert values[0] == 0.001 and values[-1] == 3.0 and values == sorted(values)
    assert {0.0019, 0.002, 0.0021, 1.9, 2.0, 2.1, 0.05} <= set(values)
    assert all(label == f"{v:g}" and float(label) == v for label, v in choices)
    slider = ow.rate_slider(0.05, 1e-3, 3, "lr")
    assert slider.value == 0.05 and slider.label == "0.05"
    with pytest.raises(ValueError, match="is not one of"):
        ow.rate_slider(0.07, 1e-3, 3, "lr")


def test_fixed_layout_places_title_and_labels_once():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(4, 3), dpi=80)
    ax = fig.subplots()
    title = op.fixed_layout(ax, "a title", "step", "loss", ylabel_x=-0.12)
    assert (title.get_text(), ax.get_xlabel(), ax.get_ylabel()) == ("a title", "step", "loss")
    ax.set_yticks([0, 0.5, 1], ["0", "a very long tick label", "1"])
    FigureCanvasAgg(fig).draw()
    assert title.get_position()[1] == pytest.approx(1.01)                 # not moved above the tick labels
    where = ax.transAxes.inverted().transform(ax.yaxis.label.get_window_extent().get_points().mean(axis=0))
    assert where[0] == pytest.approx(-0.12, abs=0.05)                      # not pushed left of the long label


def test_trajectory_playground_redraws_for_the_latest_controls():
    live = op.trajectory_playground(optimizers=["gd"], lr=0.5, steps=20, name="test-playground")
    assert "cnn-test-playground" in live._dom_classes and "<b>gradient descent</b>" in live.caption.value
    live.controls["adam"].value = True
    live.controls["lr"].value = 2.5
    live.wait()
    assert list(live.view["runs"]) == ["gd", "adam"] and live.view["lr"] == 2.5
    assert "diverged at step" in live.caption.value
    live.controls["surface"].value = "saddle"
    live.controls["mu"].value = 0.5
    live.wait()
    assert live.view["surface"] == "saddle" and live.view["key"] == ("saddle", 1.0)


# --- schedules -----------------------------------------------------------------------------------

def _torch_rates(make, total, lr):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("total", [20, 101, 500])
def test_schedules_match_torch_lr_schedulers(total):
    sch = torch.optim.lr_scheduler
    np.testing.assert_allclose(osch.schedule_curve("cosine", total, 0.1, lr_min=0.01),
                               _torch_rates(lambda o: sch.CosineAnnealingLR(o, T_max=total, eta_min=0.01), total, 0.1),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(osch.schedule_curve("step", total, 0.1, gamma=0.3),
                               _torch_rates(lambda o: sch.MultiStepLR(o, [int(0.5 * total), int(0.75 * total)], 0.3),
                                            total, 0.1), rtol=1e-12)
    for warmup in (0.1, 0.25, 0.3):
        np.testing.assert_allclose(osch.schedule_curve("onecycle", total, 0.1, warmup=warmup),
                                   _torch_rates(lambda o: sch.OneCycleLR(o, max_lr=0.1, total_steps=total,
                                                                         pct_start=warmup), total, 0.1),
                                   rtol=1e-12, atol=1e-15)
        w = max(1, round(warmup * total))
        chained = _torch_rates(lambda o: sch.SequentialLR(o, [sch.LinearLR(o, 1 / w, 1.0, total_iters=w - 1),
                                                              sch.CosineAnnealingLR(o, T_max=total - w, eta_min=1e-3)],
                                                          milestones=[w]), total, 0.1)
        np.testing.assert_allclose(osch.schedule_curve("warmup_cosine", total, 0.1, lr_min=1e-3, warmup=warmup),
                                   chained, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(osch.schedule_curve("constant", total, 0.1), np.full(total, 0.1))


def test_cosine_rate_matches_torch_and_rejects_bad_steps():
    rates = _torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50, eta_min=0.002), 51, 0.2)
    np.testing.assert_allclose([osch.cosine_rate(t, 50, 0.2, 0.002) for t in range(51)], rates, rtol=1e-12, atol=1e-15)
    assert isinstance(osch.cosine_rate(3, 10, 0.1), float)
    for step, total in ((-1, 10), (11, 10), (0, 0)):
        with pytest.raises(ValueError, match="0 <= step <= total"):
            osch.cosine_rate(step, total, 0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="cosine", total=1, lr_max=0.1), "at least 2 steps"),
    (dict(kind="cosine", total=10, lr_max=0.0), "lr_max must be > 0"),
    (dict(kind="onecycle", total=10, lr_max=0.1, warmup=1.0), r"warmup must be a fraction in \[0, 1\)"),
    (dict(kind="onecycle", total=4, lr_max=0.1, warmup=0.25), "OneCycle needs warmup"),
    (dict(kind="linear", total=10, lr_max=0.1), "unknown schedule 'linear'"),
])
def test_schedule_curve_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        osch.schedule_curve(**kwargs)


def test_schedule_view_caption_and_view_drawn_in_place():
    view = osch.schedule_view("step", lr_max=0.1, total=100, gamma=0.5)
    assert set(view["curves"]) == set(osch.SCHEDULES) and view["curves"]["step"][75] == pytest.approx(0.025)
    assert view["caption"].startswith("<b>step decay</b> over 100 steps: lr 0.1 at step 0, highest 0.1 (step 0), "
                                      "0.025 at step 99")
    sv = osch.ScheduleView()
    sv.draw(view)
    assert sv.lines["step"].get_linewidth() == 2.6 and sv.lines["cosine"].get_linewidth() == 1.0
    sv.draw(osch.schedule_view("onecycle", lr_max=0.01, total=200))
    assert sv.lines["onecycle"].get_linewidth() == 2.6 and sv.ax.get_xlim() == (0, 199)
    assert len(sv.ax.lines) == len(osch.SCHEDULES)
    assert isinstance(osch.schedules_figure(total=100), Figure)


def test_schedule_explorer_redraws_for_the_latest_controls():
    live = osch.schedule_explorer(kind="cosine", total=100)
    live.controls["kind"].value = "warmup_cosine"
    live.controls["warmup"].value = 0.2
    live.wait()
    assert live.view["kind"] == "warmup_cosine" and live.caption.value.startswith("<b>warm-up + cosine</b> over 100")
    assert live.view["curves"]["warmup_cosine"].argmax() == 19


# --- real-data helpers: least squares, softmax regression ---------------------------------------

def test_least_squares_loss_gradient_hessian_and_minimum_match_torch():
    rng = np.random.default_rng(1)
    X, Y, W = rng.random((40, 6)), om.one_hot(rng.integers(0, 3, 40), 3), rng.standard_normal((3, 6))
    ls = om.LeastSquares(X, Y)
    loss, grad = ls.loss_grad(W)
    t = torch.tensor(W, requires_grad=True)
    tloss = ((torch.tensor(X) @ t.T - torch.tensor(Y)) ** 2).sum() / (2 * 40)
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)
    lam, vec = ls.hessian_eigen()
    hessian = torch.autograd.functional.hessian(
        lambda w: ((torch.tensor(X) @ w - torch.tensor(Y[:, 0])) ** 2).sum() / 80, torch.tensor(W[0]))
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(hessian.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(vec @ np.diag(lam) @ vec.T, hessian.numpy(), atol=1e-12)
    W_best, best = ls.minimum()
    np.testing.assert_allclose(ls.loss_grad(W_best)[1], 0.0, atol=1e-12)
    assert best == pytest.approx(ls.loss_grad(W_best)[0], rel=1e-9)


def test_least_squares_descent_is_torch_sgd_and_obeys_the_stability_limit():
    rng = np.random.default_rng(2)
    X, Y = om.design_matrix(rng.integers(0, 256, (60, 3, 3)).astype(np.uint8)), om.one_hot(rng.integers(0, 4, 60), 4)
    assert X.shape == (60, 10) and X.max() <= 1 and np.all(X[:, -1] == 1)
    ls = om.LeastSquares(X, Y)
    lam_max = ls.hessian_eigen()[0][-1]
    losses = ls.descent(0.9 / lam_max, 5, momentum=0.5)
    t = torch.zeros(4, 10, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([t], lr=0.9 / lam_max, momentum=0.5)
    expected = []
    for _ in range(6):
        opt.zero_grad()
        loss = ((torch.tensor(X) @ t.T - torch.tensor(Y)) ** 2).sum() / 120
        expected.append(loss.item())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(losses, expected, rtol=1e-10)
    below = ls.descent(1.95 / lam_max, 300)
    above = ls.descent(2.05 / lam_max, 3000)
    assert len(below) == 301 and below[-1] < below[0]
    assert len(above) < 3001 and above[-1] > 1e6                 # stopped once it exploded


def test_flat_gradient_and_gradient_noise_on_a_softmax_regression():
    rng = np.random.default_rng(3)
    x, y = rng.random((300, 784)).astype(np.float32), rng.integers(0, 10, 300)
    model = om.softmax_regression(seed=0)
    g = om.flat_gradient(model, x[:50], y[:50])
    twin = torch.nn.Linear(784, 10)
    twin.load_state_dict({"weight": torch.from_numpy(model.weight.data), "bias": torch.from_numpy(model.bias.data)})
    torch.nn.functional.cross_entropy(twin(torch.from_numpy(x[:50])), torch.from_numpy(y[:50])).backward()
    np.testing.assert_allclose(g, np.concatenate([twin.weight.grad.numpy().ravel(), twin.bias.grad.numpy()]),
                               rtol=1e-4, atol=1e-6)
    assert model.weight.grad is None                            # left clean
    noise = om.gradient_noise(model, x, y, batch_sizes=(1, 16, 300), n_batches=20)
    np.testing.assert_allclose(noise["full"], om.flat_gradient(model, x, y))
    err = noise["relative_error"]
    assert err[0] > err[1] > err[2] and err[2] == pytest.approx(0.0, abs=1e-6) and noise["cosine"][2] == pytest.approx(1.0)


def test_batches_are_seeded_epochs():
    b = om.batches(10, steps=7, batch_size=4, seed=5)
    assert len(b) == 7 and all(len(i) == 4 for i in b)
    first_epoch = np.concatenate(b)[:10]
    assert sorted(first_epoch) == list(range(10))
    assert all(np.array_equal(u, v) for u, v in zip(b, om.batches(10, steps=7, batch_size=4, seed=5)))


@pytest.mark.parametrize("rule, torch_class, hyper", [
    (rules.sgd_update, torch.optim.SGD, dict(lr=0.01, weight_decay=1e-3)),
    (rules.sgd_update, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (rules.rmsprop_update, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9)),
    (rules.adam_update, torch.optim.Adam, dict(lr=1e-3, weight_decay=1e-2)),
])
def test_train_with_rule_follows_torch_optim_and_compare_rule(rule, torch_class, hyper):
    rng = np.random.default_rng(4)
    x, y = rng.random((200, 784)).astype(np.float32), rng.integers(0, 10, 200)
    mine = om.train_with_rule(rule, x, y, steps=20, **hyper)
    twin = om.train_with_torch(torch_class, x, y, steps=20, **hyper)
    np.testing.assert_allclose(mine["losses"], twin["losses"], rtol=1e-4)
    np.testing.assert_allclose(mine["weight"], twin["weight"], atol=1e-5)
    r = om.compare_rule(rule, rule, torch_class, x, y, steps=20, **hyper)
    assert r["vs_reference"] == 0.0 and r["vs_torch"] < 1e-5 and r["first"] == mine["losses"][0]


def test_check_rule_accepts_the_reference_and_names_the_first_wrong_step():
    assert om.check_rule(rules.adam_update, rules.adam_update, lr=0.1) == 0.0

    def no_correction(w, dw, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        m = betas[0] * state.get("m", 0.0) + (1 - betas[0]) * dw
        v = betas[1] * state.get("v", 0.0) + (1 - betas[1]) * dw * dw
        return w - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v}

    with pytest.raises(AssertionError, match="step 1 differs from cnnlib's by up to"):
        om.check_rule(no_correction, rules.adam_update, lr=0.1)
    with pytest.raises(AssertionError, match="step 1 differs"):
        om.check_rule(lambda w, dw, s, lr: (w * np.nan, s), rules.sgd_update, lr=0.1)


# --- the small CNN, training runs and the learning-rate explorer ------------------------------------

def _twin(model):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(784, 10))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return net


def _digits(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def test_small_cnn_matches_its_torch_twin_and_is_seeded():
    model = ot.small_cnn(seed=3)
    assert model.num_parameters() == 9098
    x, _ = _digits(4)
    np.testing.assert_allclose(model(x), _twin(model)(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    np.testing.assert_array_equal(ot.small_cnn(seed=3)[0].weight.data, model[0].weight.data)
    assert not np.array_equal(ot.small_cnn(seed=4)[0].weight.data, model[0].weight.data)


@pytest.mark.parametrize("name, torch_opt", [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.05)),
    ("momentum", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=1e-3)),
    ("adam", lambda p: torch.optim.Adam(p, lr=1e-3)),
])
def test_train_run_follows_the_torch_twin_step_by_step(name, torch_opt):
    x, y = _digits(96)
    lr = {"sgd": 0.05, "momentum": 0.01, "rmsprop": 1e-3, "adam": 1e-3}[name]
    run = ot.train_run(name, lr, (x, y), steps=5, batch_size=16, seed=2)
    net = _twin(ot.small_cnn(seed=2))
    opt = torch_opt(net.parameters())
    order = np.random.default_rng(2).permutation(96)
    expected = []
    for i in range(5):
        idx = torch.from_numpy(order[16 * i:16 * (i + 1)])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)[idx]), torch.from_numpy(y)[idx])
        expected.append(loss.item())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(run["losses"], expected, rtol=2e-4)
    assert run["label"] == f"{ow.LABELS[name]}, lr {lr:.3g}" and run["diverged"] is None and run["accuracy"] is None


def test_train_run_schedule_rules_divergence_and_accuracy():
    x, y = _digits(64)
    scheduled = ot.train_run("sgd", 0.1, (x, y), steps=6, batch_size=16, schedule=lambda t: 0.1 / (t + 1),
                             eval_data=(x, y), label="decay")
    np.testing.assert_allclose(scheduled["lrs"], [0.1 / (t + 1) for t in range(6)])
    assert scheduled["label"] == "decay" and 0 <= scheduled["accuracy"] <= 1
    plain = ot.train_run("adam", 1e-3, (x, y), steps=6, batch_size=16)
    ruled = ot.train_run("adam", 1e-3, (x, y), steps=6, batch_size=16, rules={"adam": (rules.adam_update, {})})
    np.testing.assert_array_equal(plain["losses"], ruled["losses"])
    assert isinstance(ot.make_optimizer("adam", ot.small_cnn().parameters(), 1e-3,
                                        rules={"adam": (rules.adam_update, {})}), ot.RuleOptimizer)
    blown = ot.train_run("sgd", 50.0, (x, y), steps=40, batch_size=16, eval_data=(x, y))
    assert blown["diverged"] is not None and len(blown["losses"]) == blown["diverged"] + 1
    assert blown["accuracy"] is None
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        ot.make_optimizer("lbfgs", ot.small_cnn().parameters(), 0.1)


def test_rule_optimizer_equals_cnnlibs_optimizer():
    a, b = ot.small_cnn(seed=1), ot.small_cnn(seed=1)
    x, y = _digits(8)
    opt_a = optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    opt_b = ot.RuleOptimizer(b.parameters(), rules.sgd_update, lr=0.1, momentum=0.9)
    from cnnlib import nn
    crit = nn.CrossEntropyLoss()
    for model, opt in ((a, opt_a), (b, opt_b)):
        for _ in range(3):
            crit(model(x), y)
            opt.zero_grad()
            model.backward(crit.backward())
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_smooth_is_a_bias_corrected_moving_average():
    np.testing.assert_allclose(ot.smooth(np.full(20, 3.0)), 3.0)
    values = np.array([1.0, 2.0, 4.0])
    m1 = 0.1 * 1
    m2 = 0.9 * m1 + 0.1 * 2
    m3 = 0.9 * m2 + 0.1 * 4
    np.testing.assert_allclose(ot.smooth(values), [m1 / 0.1, m2 / (1 - 0.81), m3 / (1 - 0.729)])


def test_lr_range_test_raises_the_rate_exponentially():
    x, y = _digits(128)
    rt = ot.lr_range_test((x, y), lr_start=1e-3, lr_end=10.0, steps=30, batch_size=16)
    k = len(rt["lrs"])
    np.testing.assert_allclose(rt["lrs"], 1e-3 * 1e4 ** (np.arange(k) / 29), rtol=1e-12)
    assert rt["suggested_lr"] == pytest.approx(rt["best_lr"] / 10) and rt["best_lr"] in rt["lrs"]
    np.testing.assert_allclose(rt["smoothed"], ot.smooth(rt["losses"]))


def test_runs_view_caption_and_view_drawn_in_place():
    fake = [{"optimizer": "sgd", "lr": 0.1, "steps": 50, "label": "SGD, lr 0.1", "losses": np.linspace(2.3, 0.5, 50),
             "diverged": None, "accuracy": 0.9, "seconds": 1.2},
            {"optimizer": "adam", "lr": 1.0, "steps": 50, "label": "Adam, lr 1", "losses": np.array([2.3, 5.0, 40.0]),
             "diverged": 2, "accuracy": None, "seconds": 0.1}]
    view = ot.runs_view(fake, settings=("adam", 1.0, 50))
    assert "SGD, lr 0.1</b>, 50 steps: final loss" in view["caption"] and "test accuracy 90.0%" in view["caption"]
    assert "Adam, lr 1</b>, 50 steps: diverged at step 2 (loss 40)" in view["caption"]
    assert "press" not in view["caption"] and len(view["curves"][1][2]) == 3 and view["curves"][1][3][-1] > 10
    assert "press <b>Train</b> for momentum, lr 0.05, 50 steps" in ot.runs_view(fake, ("momentum", 0.05, 50))["caption"]
    assert ot.runs_view([])["caption"] == "press <b>Train</b>"
    rv = ot.RunsView(legend=True)
    rv.draw(ot.runs_view(fake * 4))                            # 8 runs: the last MAX_RUNS are shown
    assert sum(line.get_visible() for line in rv.lines) == ot.MAX_RUNS and len(rv.ax.lines) == ot.MAX_RUNS
    rv.draw(ot.runs_view(fake[:1]))
    assert sum(line.get_visible() for line in rv.lines) == 1
    assert [t.get_text() for t in rv.legend.get_texts()] == ["SGD, lr 0.1"]
    assert isinstance(ot.runs_figure(fake), Figure)


def test_lr_explorer_trains_behind_its_button():
    x, y = _digits(64)
    live = ot.lr_explorer((x, y), (x, y), optimizer="sgd", lr=0.05, steps=20)
    assert live.caption.value.startswith("press <b>Train</b> for SGD, lr 0.05, 20 steps")
    live.controls["optimizer"].value = "adam"
    live.controls["lr"].value = 0.01
    live.wait()
    assert "press <b>Train</b> for Adam, lr 0.01, 20 steps" in live.caption.value   # moving a control never trains
    button = live.children[0].children[1].children[0]
    button.button.click()
    run = button.wait()
    live.wait()
    assert (run["optimizer"], run["lr"], run["steps"]) == ("adam", 0.01, 20) and button.bar.value == 1
    assert "Adam, lr 0.01</b>, 20 steps: final loss" in live.caption.value and "press" not in live.caption.value
    live.children[0].children[1].children[1].click()                # Clear
    live.wait()
    assert live.view["curves"] == []
