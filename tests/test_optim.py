"""cnnlib.optim vs torch.optim: identical updates for identical gradients."""
import numpy as np
import pytest
import torch

from cnnlib.nn import Parameter
from cnnlib.optim import SGD, Adam, RMSprop, adam_update, rmsprop_update, sgd_update

SHAPES = [(4, 3, 3, 2), (4,), (5, 7)]
STEPS = 20

CONFIGS = [
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.1)),
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.5, weight_decay=1e-2)),
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, weight_decay=1e-3, nesterov=True)),
    ("RMSprop", RMSprop, torch.optim.RMSprop, dict()),
    ("RMSprop", RMSprop, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9, eps=1e-6)),
    ("RMSprop", RMSprop, torch.optim.RMSprop, dict(lr=1e-3, momentum=0.9)),
    ("RMSprop", RMSprop, torch.optim.RMSprop, dict(lr=1e-2, momentum=0.5, weight_decay=0.1)),
    ("Adam", Adam, torch.optim.Adam, dict()),
    ("Adam", Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=0.05)),
    ("Adam", Adam, torch.optim.Adam, dict(lr=0.1, betas=(0.0, 0.5))),
]


def _gradient_sequence(seed):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]


def _run_pair(cls, torch_cls, kwargs, seed=0):
    rng = np.random.default_rng(100 + seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [Parameter(w.copy()) for w in init]
    theirs = [torch.nn.Parameter(torch.tensor(w.copy())) for w in init]
    opt = cls(ours, **kwargs)
    topt = torch_cls(theirs, **kwargs)
    worst = 0.0
    for grads in _gradient_sequence(seed):
        opt.zero_grad()
        topt.zero_grad()
        for p, tp, g in zip(ours, theirs, grads):
            p.grad = g.copy()
            tp.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            worst = max(worst, np.abs(p.data - tp.detach().numpy()).max())
    return worst, ours


@pytest.mark.parametrize("name,cls,torch_cls,kwargs", CONFIGS,
                         ids=[f"{c[0]}-{c[3]}" for c in CONFIGS])
def test_matches_torch_over_20_steps(name, cls, torch_cls, kwargs):
    """20 steps from identical params with identical grads: max |diff| < 1e-12 in float64."""
    worst, _ = _run_pair(cls, torch_cls, kwargs)
    assert worst < 1e-12, f"{name} {kwargs}: max abs diff {worst:.3g}"


RULES = {"SGD": (SGD, sgd_update), "RMSprop": (RMSprop, rmsprop_update), "Adam": (Adam, adam_update)}


@pytest.mark.parametrize("name,kwargs", [(c[0], c[3]) for c in CONFIGS])
def test_pure_rule_equals_class(name, kwargs):
    """Iterating the pure rule function gives exactly the optimizer class's weights."""
    cls, rule = RULES[name]
    full = dict(kwargs)
    if name == "SGD":
        full = {"momentum": 0.0, "weight_decay": 0.0, "nesterov": False, **kwargs}
    _, ours = _run_pair(cls, {"SGD": torch.optim.SGD, "RMSprop": torch.optim.RMSprop,
                              "Adam": torch.optim.Adam}[name], kwargs)
    rng = np.random.default_rng(100)
    ws = [rng.standard_normal(s) for s in SHAPES]
    states = [{} for _ in SHAPES]
    for grads in _gradient_sequence(0):
        for i, g in enumerate(grads):
            ws[i], states[i] = rule(ws[i], g, states[i], **full)
    for w, p in zip(ws, ours):
        np.testing.assert_array_equal(w, p.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [dict(), dict(lr=1e-2, weight_decay=0.05),
                                    dict(lr=0.1, betas=(0.0, 0.5), eps=1e-6)])
def test_adam_in_place_gives_the_rules_bits_and_leaves_the_gradients_alone(dtype, kwargs):
    """Adam updates p.data in place with adam_update's operations: the same bits, in both dtypes."""
    rng = np.random.default_rng(5)
    ws = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    params = [Parameter(w.copy()) for w in ws]
    arrays = [p.data for p in params]
    opt, states = Adam(params, **kwargs), [{} for _ in SHAPES]
    for grads in _gradient_sequence(1):
        grads = [g.astype(dtype) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        opt.step()
        for i, (p, g) in enumerate(zip(params, grads)):
            np.testing.assert_array_equal(p.grad, g)
            ws[i], states[i] = adam_update(ws[i], g, states[i], **kwargs)
            np.testing.assert_array_equal(p.data, ws[i])
            assert p.data is arrays[i] and p.data.dtype == dtype


def test_adam_with_a_float64_gradient_for_a_float32_parameter_follows_the_rule():
    p = Parameter(np.ones(3, dtype=np.float32))
    p.grad = np.array([0.5, -1.0, 2.0])
    Adam([p], lr=0.1).step()
    w, _ = adam_update(np.ones(3, dtype=np.float32), np.array([0.5, -1.0, 2.0]), {}, lr=0.1)
    np.testing.assert_array_equal(p.data, w.astype(np.float32))


def test_adams_first_moment_of_a_weight_without_gradient_goes_to_zero_not_to_subnormals():
    """Otherwise m sticks at the smallest subnormal floats (0.1 * m rounds to 0), which are
    many times slower to compute with."""
    w, state = np.ones(4, dtype=np.float32), {}
    p = Parameter(np.ones(4, dtype=np.float32))
    opt = Adam([p], lr=1e-3)
    for step in range(1200):
        g = np.full(4, 1e-3 if step == 0 else 0.0, dtype=np.float32)
        w, state = adam_update(w, g, state, lr=1e-3)
        p.grad = g
        opt.step()
        for m in (state["exp_avg"], opt.state[id(p)]["exp_avg"]):
            assert not np.any((m != 0) & (np.abs(m) < np.finfo(np.float32).tiny)), step
    assert np.all(state["exp_avg"] == 0) and np.all(opt.state[id(p)]["exp_avg"] == 0)
    np.testing.assert_array_equal(p.data, w)


def test_rule_does_not_modify_inputs():
    """The pure functions return new arrays and leave w, dw and the old state untouched."""
    w, dw = np.ones(3), np.full(3, 0.5)
    _, s1 = adam_update(w, dw, {})
    snapshot = {k: np.copy(v) for k, v in s1.items()}
    w2, s2 = adam_update(w, dw, s1)
    assert np.all(w == 1) and np.all(dw == 0.5)
    for k, v in snapshot.items():
        np.testing.assert_array_equal(s1[k], v)
    assert s2["step"] == 2 and w2 is not w


def test_sgd_momentum_buffer_starts_at_first_gradient():
    """torch initialises the velocity with the first gradient, so step 1 is plain SGD."""
    w1, state = sgd_update(np.zeros(2), np.array([1.0, -2.0]), {}, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(w1, [-0.1, 0.2])
    np.testing.assert_allclose(state["momentum_buffer"], [1.0, -2.0])


def test_adam_first_step_is_lr_times_sign():
    """With bias correction, Adam's first step is ~lr * sign(grad) for any gradient scale."""
    w1, _ = adam_update(np.zeros(3), np.array([1e-3, -5.0, 200.0]), {}, lr=0.01)
    np.testing.assert_allclose(w1, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_params_without_grad_are_skipped():
    """A Parameter whose grad is None is left unchanged and gets no state (like torch)."""
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert id(b) not in opt.state and id(a) in opt.state
    assert np.all(a.data < 1)


def test_step_updates_data_in_place():
    """step() writes into the existing p.data array (views held elsewhere see it)."""
    p = Parameter(np.zeros(4, dtype=np.float32))
    view = p.data
    p.grad = np.ones(4, dtype=np.float32)
    SGD([p], lr=0.5).step()
    assert p.data is view and p.data.dtype == np.float32
    np.testing.assert_allclose(view, -0.5)


def test_zero_grad_sets_none_by_default_and_zeros_on_request():
    p = Parameter(np.zeros(2))
    opt = SGD([p], lr=0.1)
    p.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, 0)
    opt.zero_grad()
    assert p.grad is None


def test_lr_change_in_param_groups_matches_torch():
    """Changing param_groups[0]['lr'] mid-run (a schedule) behaves like torch."""
    p, tp = Parameter(np.ones(3)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt, topt = Adam([p], lr=0.1), torch.optim.Adam([tp], lr=0.1)
    for step in range(6):
        if step == 3:
            opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 0.01
        g = np.array([1.0, -2.0, 0.5]) * (step + 1)
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), atol=1e-14)


@pytest.mark.parametrize("make,match", [
    (lambda ps: SGD(ps, lr=-0.1), "learning rate"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-1), "momentum"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "Nesterov"),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda ps: RMSprop(ps, alpha=-0.5), "alpha"),
    (lambda ps: RMSprop(ps, eps=-1), "eps"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), "beta1"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), "beta2"),
    (lambda ps: Adam(ps, lr=-1), "learning rate"),
    (lambda ps: Adam([], lr=1), "empty"),
    (lambda ps: Adam([np.zeros(3)]), "Parameter"),
])
def test_invalid_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2))])


def test_gradient_shape_mismatch_raises():
    p = Parameter(np.zeros(3))
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        SGD([p], lr=0.1).step()


def test_accepts_model_parameters_generator():
    """Optimizers take model.parameters() (a generator) like torch."""
    ps = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    opt = SGD((p for p in ps), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 2
    assert "lr: 0.1" in repr(opt)
