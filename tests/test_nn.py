"""cnnlib.nn modules vs torch.nn twins with copied weights (float64)."""
import math

import numpy as np
import pytest
import torch

import cnnlib.nn as nn

tnn = torch.nn


def _copy_params(ours, theirs):
    """Load our parameters into the torch twin (checks key names agree)."""
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in sd.items()})


def _compare(ours, theirs, x, atol=1e-10):
    """Forward, input gradient and every parameter gradient agree with torch."""
    theirs = theirs.double()
    _copy_params(ours, theirs)
    out = ours(x)
    xt = torch.tensor(x, requires_grad=True)
    tout = theirs(xt)
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=atol, rtol=0)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    tout.backward(torch.tensor(dout))
    dx = ours.backward(dout)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=atol, rtol=0)
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), atol=atol, rtol=0,
                                   err_msg=name)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


F64 = dict(dtype=np.float64)
LAYER_CASES = [
    ("conv k=(3,2) s=2 p=1", lambda: nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, **F64),
     lambda: tnn.Conv2d(3, 4, (3, 2), stride=2, padding=1), (2, 3, 7, 6)),
    ("conv k=3 s=1 p=0", lambda: nn.Conv2d(3, 4, 3, **F64), lambda: tnn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    ("conv no bias s=(2,1) p=(1,0)",
     lambda: nn.Conv2d(3, 5, 2, stride=(2, 1), padding=(1, 0), bias=False, **F64),
     lambda: tnn.Conv2d(3, 5, 2, stride=(2, 1), padding=(1, 0), bias=False), (2, 3, 7, 6)),
    ("linear", lambda: nn.Linear(6, 4, **F64), lambda: tnn.Linear(6, 4), (5, 6)),
    ("linear no bias", lambda: nn.Linear(6, 4, bias=False, **F64),
     lambda: tnn.Linear(6, 4, bias=False), (5, 6)),
    ("relu", nn.ReLU, tnn.ReLU, (2, 3, 7, 6)),
    ("leaky relu", lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (2, 3, 7, 6)),
    ("sigmoid", nn.Sigmoid, tnn.Sigmoid, (2, 3, 7, 6)),
    ("tanh", nn.Tanh, tnn.Tanh, (2, 3, 7, 6)),
    ("maxpool 2", lambda: nn.MaxPool2d(2), lambda: tnn.MaxPool2d(2), (2, 3, 7, 6)),
    ("maxpool 3 s=2 (overlapping)", lambda: nn.MaxPool2d(3, stride=2),
     lambda: tnn.MaxPool2d(3, stride=2), (2, 3, 7, 6)),
    ("avgpool 2", lambda: nn.AvgPool2d(2), lambda: tnn.AvgPool2d(2), (2, 3, 7, 6)),
    ("avgpool (2,3) s=1", lambda: nn.AvgPool2d((2, 3), stride=1),
     lambda: tnn.AvgPool2d((2, 3), stride=1), (2, 3, 7, 6)),
    ("flatten", nn.Flatten, tnn.Flatten, (2, 3, 7, 6)),
    ("dropout eval", lambda: nn.Dropout(0.5).eval(), lambda: tnn.Dropout(0.5).eval(), (2, 3, 7, 6)),
]


@pytest.mark.parametrize("ours,theirs,shape", [c[1:] for c in LAYER_CASES],
                         ids=[c[0] for c in LAYER_CASES])
def test_layer_forward_and_gradients_match_torch(ours, theirs, shape):
    _compare(ours(), theirs(), _x(shape))


def _twins(seed=0):
    nn.manual_seed(seed)
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, **F64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, **F64), nn.LeakyReLU(), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 10, **F64))
    theirs = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                            tnn.Conv2d(4, 6, 3), tnn.LeakyReLU(), tnn.AvgPool2d(2),
                            tnn.Flatten(), tnn.Linear(6 * 2 * 2, 10)).double()
    return ours, theirs


def test_sequential_end_to_end_loss_and_all_grads_match_torch():
    """conv-relu-pool-conv-lrelu-avgpool-flatten-linear + cross-entropy vs the torch twin."""
    ours, theirs = _twins()
    _copy_params(ours, theirs)
    x = _x((3, 1, 12, 12))
    y = np.array([3, 0, 9])
    crit = nn.CrossEntropyLoss()
    loss = crit(ours(x), y)
    tloss = tnn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(y))
    assert isinstance(loss, float)
    assert loss == pytest.approx(tloss.item(), abs=1e-12)
    ours.backward(crit.backward())
    tloss.backward()
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), atol=1e-12, rtol=0)


def test_cross_entropy_loss_matches_torch():
    logits, y = _x((4, 5)), np.array([0, 4, 2, 2])
    crit = nn.CrossEntropyLoss()
    lt = torch.tensor(logits, requires_grad=True)
    tloss = tnn.CrossEntropyLoss()(lt, torch.tensor(y))
    tloss.backward()
    assert crit(logits, y) == pytest.approx(tloss.item(), abs=1e-14)
    np.testing.assert_allclose(crit.backward(), lt.grad.numpy(), atol=1e-14)
    assert repr(crit) == "CrossEntropyLoss()"


def test_gradients_accumulate_across_two_backward_calls():
    """Two forward/backward passes without zero_grad sum the grads, like torch."""
    ours, theirs = _twins(1)
    _copy_params(ours, theirs)
    crit, tcrit = nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    for seed in (0, 1):
        x, y = _x((2, 1, 12, 12), seed), np.array([seed, 5])
        crit(ours(x), y)
        ours.backward(crit.backward())
        tcrit(theirs(torch.tensor(x)), torch.tensor(y)).backward()
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), atol=1e-12, rtol=0)
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_zero_grad_set_to_none_false_keeps_zero_arrays():
    lin = nn.Linear(3, 2)
    lin(np.ones((1, 3), dtype=np.float32))
    lin.backward(np.ones((1, 2), dtype=np.float32))
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and not g.any()


@pytest.mark.parametrize("layer", [nn.Conv2d(1, 2, 3), nn.Linear(3, 2), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Flatten(), nn.Dropout(), nn.CrossEntropyLoss(),
                                   nn.Sequential(nn.ReLU())])
def test_backward_before_forward_raises(layer):
    with pytest.raises(ValueError, match="call forward before backward"):
        layer.backward(np.ones((1, 2)))


def test_dropout_train_vs_eval():
    """Training: ~p of the units are zeroed, the rest scaled by 1/(1-p), backward uses the same
    mask; eval: identity.  A seeded rng gives reproducible masks."""
    x = np.ones((100, 100))
    d = nn.Dropout(0.3, rng=np.random.default_rng(0))
    out = d(x)
    kept = out != 0
    assert 0.67 < kept.mean() < 0.73
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), out)
    out2 = nn.Dropout(0.3, rng=np.random.default_rng(0))(x)
    np.testing.assert_array_equal(out, out2)
    d.eval()
    assert not d.training
    np.testing.assert_array_equal(d(x), x)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_train_eval_propagates_to_children():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip_with_torch():
    """cnnlib -> torch -> fresh cnnlib reproduces the weights; keys are torch's."""
    ours, theirs = _twins(2)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]
    torch.manual_seed(5)
    theirs2 = _twins(3)[1]
    ours2 = _twins(4)[0]
    ours2.load_state_dict(theirs2.state_dict())  # torch tensors accepted directly
    for (k, v), tv in zip(ours2.state_dict().items(), theirs2.state_dict().values()):
        np.testing.assert_array_equal(v, tv.numpy())
    _copy_params(ours2, theirs)
    x = _x((2, 1, 12, 12))
    np.testing.assert_allclose(ours2(x), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_load_state_dict_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="missing keys"):
        lin.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="shape"):
        lin.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    lin.load_state_dict({"weight": np.zeros((2, 3))}, strict=False)
    assert not lin.weight.data.any() and lin.weight.dtype == np.float32


@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.Conv2d(16, 32, 5), lambda: tnn.Conv2d(16, 32, 5)),
    (lambda: nn.Conv2d(3, 8, (3, 2), stride=2, padding=1, bias=False),
     lambda: tnn.Conv2d(3, 8, (3, 2), stride=2, padding=1, bias=False)),
    (lambda: nn.Linear(400, 120), lambda: tnn.Linear(400, 120)),
])
def test_default_init_shapes_and_statistics_match_torch(ours, theirs):
    """Same parameter names/shapes as torch; float32; U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    m, tm = ours(), theirs()
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    fan_in = int(np.prod(m.weight.shape[1:]))
    bound = 1 / math.sqrt(fan_in)
    for name, p in m.named_parameters():
        tp = dict(tm.named_parameters())[name].detach().numpy()
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        if p.size > 1000:  # enough samples for the std of U(-b, b) = b / sqrt(3)
            assert p.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
            assert p.data.std() == pytest.approx(tp.std(), rel=0.05)


def test_manual_seed_and_rng_make_init_reproducible():
    nn.manual_seed(0)
    a = nn.Conv2d(1, 2, 3).weight.data.copy()
    nn.manual_seed(0)
    np.testing.assert_array_equal(a, nn.Conv2d(1, 2, 3).weight.data)
    b = nn.Linear(4, 3, rng=np.random.default_rng(9)).weight.data
    np.testing.assert_array_equal(b, nn.Linear(4, 3, rng=np.random.default_rng(9)).weight.data)


def test_repr_matches_torch():
    ours = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, (3, 2), stride=2, bias=False), nn.LeakyReLU(0.1),
                         nn.AvgPool2d(2, stride=1), nn.Sigmoid(), nn.Tanh(), nn.Flatten(),
                         nn.Dropout(0.25), nn.Linear(784, 10))
    theirs = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                            tnn.Conv2d(8, 16, (3, 2), stride=2, bias=False), tnn.LeakyReLU(0.1),
                            tnn.AvgPool2d(2, stride=1), tnn.Sigmoid(), tnn.Tanh(), tnn.Flatten(),
                            tnn.Dropout(0.25), tnn.Linear(784, 10))
    assert repr(ours) == repr(theirs)
    assert repr(ours[0]) == "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(ours[0].weight) == "Parameter(shape=(8, 1, 3, 3), dtype=float32)"


class TwoLayer(nn.Module):
    """A user-defined module: attributes register as in torch."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))
        self.note = "not registered"

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale.data


class TorchTwoLayer(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = tnn.Linear(3, 4)
        self.act = tnn.ReLU()
        self.fc2 = tnn.Linear(4, 2)
        self.scale = tnn.Parameter(torch.ones(2))


def test_attribute_registration_order_like_torch():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == [n for n, _ in TorchTwoLayer().named_parameters()]
    m = TwoLayer()
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert len(list(m.modules())) == 4 and m.note == "not registered"
    assert m.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2
    m.fc2 = None  # like torch, assigning None keeps the slot but drops the module
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc1.weight", "fc1.bias"]


def test_sequential_container_protocol():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(ValueError, match="not a Module"):
        nn.Sequential(nn.ReLU(), np.zeros(3))


def test_float32_model_stays_float32():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    out = model(np.zeros((2, 1, 4, 4), dtype=np.float32))
    assert out.dtype == np.float32
    dx = model.backward(np.ones_like(out))
    assert dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_model_survives_pickle_and_deepcopy():
    """Lessons may deepcopy or pickle a trained model; copies are independent and equal."""
    import copy
    import pickle
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone[0].weight.data is not model[0].weight.data
        np.testing.assert_array_equal(clone(x), model(x))
        assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]


@pytest.mark.parametrize("layer,op,x", [
    (lambda: nn.Conv2d(1, 2, 3), "conv2d", np.zeros((1, 1, 4, 4))),
    (lambda: nn.Linear(3, 2), "linear", np.zeros((2, 3))),
    (lambda: nn.MaxPool2d(2), "max_pool2d", np.zeros((1, 1, 4, 4))),
    (lambda: nn.AvgPool2d(2), "avg_pool2d", np.zeros((1, 1, 4, 4))),
    (nn.ReLU, "relu", np.zeros(3)), (nn.LeakyReLU, "leaky_relu", np.zeros(3)),
    (nn.Sigmoid, "sigmoid", np.zeros(3)), (nn.Tanh, "tanh", np.zeros(3)),
    (nn.Dropout, "dropout", np.zeros(3)),
])
def test_modules_delegate_math_to_functional(monkeypatch, layer, op, x):
    """Each layer calls cnnlib.functional's <op>_forward/<op>_backward (one source of truth)."""
    import cnnlib.functional as F
    calls = []
    for suffix in ("_forward", "_backward"):
        real = getattr(F, op + suffix)

        def spy(*args, _real=real, _name=op + suffix, **kw):
            calls.append(_name)
            return _real(*args, **kw)
        monkeypatch.setattr(F, op + suffix, spy)
    m = layer()
    m.backward(np.ones_like(m(x)))
    assert calls == [op + "_forward", op + "_backward"]
