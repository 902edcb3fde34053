"""Activations, linear and dropout against torch, and their input checks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F

ACTIVATIONS = [
    ("relu", F.relu_forward, F.relu_backward, {}, torch.relu),
    ("leaky_relu", F.leaky_relu_forward, F.leaky_relu_backward, {},
     lambda t: TF.leaky_relu(t, 0.01)),
    ("leaky_relu 0.2", F.leaky_relu_forward, F.leaky_relu_backward,
     {"negative_slope": 0.2}, lambda t: TF.leaky_relu(t, 0.2)),
    ("sigmoid", F.sigmoid_forward, F.sigmoid_backward, {}, torch.sigmoid),
    ("tanh", F.tanh_forward, F.tanh_backward, {}, torch.tanh),
]


def _x_with_zeros_and_extremes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5, 5)) * 3
    x[0, 0, 0, :] = [0.0, -0.0, 800.0, -800.0, 1e-300]   # exact zeros and overflow bait
    return x, rng


@pytest.mark.parametrize("name, forward, backward, kwargs, torch_fn", ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch_value_and_gradient_including_at_zero(
        name, forward, backward, kwargs, torch_fn):
    x, rng = _x_with_zeros_and_extremes()
    out, cache = forward(x, **kwargs)
    dout = rng.standard_normal(x.shape)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch_fn(tx)
    t_out.backward(torch.tensor(dout))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(backward(dout, cache), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, forward, backward, kwargs, torch_fn", ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activation_keeps_float32(name, forward, backward, kwargs, torch_fn):
    x = np.linspace(-100, 100, 24, dtype=np.float32).reshape(2, 12)
    out, cache = forward(x, **kwargs)
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_relu_gradient_at_exactly_zero_is_zero_like_torch():
    out, cache = F.relu_forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(F.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


def test_leaky_relu_hand_computed():
    out, cache = F.leaky_relu_forward(np.array([-2.0, 0.0, 3.0]), negative_slope=0.5)
    np.testing.assert_array_equal(out, [-1.0, 0.0, 3.0])
    np.testing.assert_array_equal(F.leaky_relu_backward(np.ones(3), cache), [0.5, 0.5, 1.0])


def test_sigmoid_is_half_at_zero_and_saturates_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = F.sigmoid_forward(np.array([0.0, 1000.0, -1000.0]))
    np.testing.assert_array_equal(out, [0.5, 1.0, 0.0])


@pytest.mark.parametrize("forward, backward, name", [
    (F.relu_forward, F.relu_backward, "relu"),
    (F.leaky_relu_forward, F.leaky_relu_backward, "leaky_relu"),
    (F.sigmoid_forward, F.sigmoid_backward, "sigmoid"),
    (F.tanh_forward, F.tanh_backward, "tanh"),
    (F.dropout_forward, F.dropout_backward, "dropout")])
def test_elementwise_backward_rejects_wrong_dout_and_missing_cache(forward, backward, name):
    x = np.ones((2, 3))
    if name == "dropout":
        out, cache = forward(x, 0.5, True, np.random.default_rng(0))
    else:
        out, cache = forward(x)
    with pytest.raises(ValueError, match=rf"{name}_backward: dout must have the forward "
                                         r"output's shape \(2, 3\), got \(3, 2\)"):
        backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match=rf"cache is None - call {name}_forward first"):
        backward(out, None)


# --- linear ----------------------------------------------------------------------------

@pytest.mark.parametrize("N, fin, fout, bias", [(1, 1, 1, True), (4, 7, 3, True),
                                                (5, 10, 2, False), (3, 2, 6, True)])
def test_linear_matches_torch_output_and_gradients(N, fin, fout, bias):
    rng = np.random.default_rng(N * fin)
    x, w = rng.standard_normal((N, fin)), rng.standard_normal((fout, fin))
    b = rng.standard_normal(fout) if bias else None
    out, cache = F.linear_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    t_out = TF.linear(tx, tw, tb)
    t_out.backward(torch.tensor(dout))
    dx, dw, db = F.linear_backward(dout, cache)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-12)
    else:
        assert db is None


def test_linear_hand_computed_and_float32():
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    w = np.array([[1.0, 0.0], [0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
    out, cache = F.linear_forward(x, w, np.array([0.0, 1.0, -8.0], dtype=np.float32))
    np.testing.assert_array_equal(out, [[1.0, -0.5, 0.0]])
    dx, dw, db = F.linear_backward(np.ones((1, 3), dtype=np.float32), cache)
    np.testing.assert_array_equal(dx, [[3.5, 2.0]])
    assert out.dtype == dx.dtype == dw.dtype == db.dtype == np.float32


@pytest.mark.parametrize("x, w, b, match", [
    (np.zeros((4, 3)), np.zeros((2, 5)), None,
     r"x has in_features=3 \(shape \(4, 3\)\) but w expects in_features=5 \(shape \(2, 5\)\)"),
    (np.zeros((4, 1, 2, 2)), np.zeros((2, 4)), None,
     r"x must be 2-D \(N, in_features\), got shape \(4, 1, 2, 2\)"),
    (np.zeros((4, 3)), np.zeros(3), None,
     r"w must be 2-D \(out_features, in_features\), got shape \(3,\)"),
    (np.zeros((4, 3)), np.zeros((2, 3)), np.zeros(3),
     r"b must have shape \(out_features,\) = \(2,\), got \(3,\)"),
])
def test_linear_forward_rejects_bad_shapes(x, w, b, match):
    with pytest.raises(ValueError, match=match):
        F.linear_forward(x, w, b)


def test_linear_backward_rejects_wrong_dout_and_missing_cache():
    out, cache = F.linear_forward(np.zeros((4, 3)), np.zeros((2, 3)), None)
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape "
                                         r"\(4, 2\), got \(2, 4\)"):
        F.linear_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match="cache is None - call linear_forward first"):
        F.linear_backward(out, None)


# --- dropout ---------------------------------------------------------------------------

def test_dropout_keeps_with_prob_1_minus_p_and_scales_survivors():
    x = np.ones((200, 500))
    out, cache = F.dropout_forward(x, 0.3, True, np.random.default_rng(0))
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.005
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    dx = F.dropout_backward(np.full(x.shape, 2.0), cache)
    np.testing.assert_array_equal(dx, np.where(kept, 2 / 0.7, 0.0))


def test_dropout_is_identity_in_eval_mode_or_with_p_zero():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for p, training in [(0.5, False), (0.0, True)]:
        out, cache = F.dropout_forward(x, p, training, np.random.default_rng(0))
        np.testing.assert_array_equal(out, x)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(F.dropout_backward(x, cache), x)


def test_dropout_same_seed_same_mask_and_float32_kept():
    x = np.ones((4, 5), dtype=np.float32)
    a, _ = F.dropout_forward(x, 0.5, True, np.random.default_rng(3))
    b, _ = F.dropout_forward(x, 0.5, True, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5", None])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\)"):
        F.dropout_forward(np.ones(3), p, True, np.random.default_rng(0))


def test_dropout_rejects_legacy_random_state():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        F.dropout_forward(np.ones(3), 0.5, True, np.random.RandomState(0))
