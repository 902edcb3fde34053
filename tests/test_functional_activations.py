"""cnnlib's activations at the edges later lessons rely on (Lesson 02): huge inputs, exact zeros,
float32 and float64, no warnings, inputs left alone, and the cnnlib.nn twins - all against torch."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
from cnnlib import nn

TWINS = {  # name: (forward, kwargs, torch function)
    "relu": (F.relu_forward, {}, torch.relu),
    "leaky_relu": (F.leaky_relu_forward, {"negative_slope": 0.1}, lambda t: TF.leaky_relu(t, 0.1)),
    "sigmoid": (F.sigmoid_forward, {}, torch.sigmoid),
    "tanh": (F.tanh_forward, {}, torch.tanh),
}
BACKWARD = {"relu": F.relu_backward, "leaky_relu": F.leaky_relu_backward,
            "sigmoid": F.sigmoid_backward, "tanh": F.tanh_backward}
DTYPES = [np.float32, np.float64]


def _sweep(dtype):
    """Every magnitude from 1e-8 to 1e4 on both sides, exact zeros, and random values."""
    mags = np.logspace(-8, 4, 61)
    rng = np.random.default_rng(2)
    x = np.concatenate([-mags, [0.0, -0.0], mags, rng.standard_normal(56) * 5])
    return x.astype(dtype).reshape(2, 3, 5, 6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(TWINS))
def test_forward_and_backward_match_torch_from_1e_minus_8_to_1e4_without_any_warning(name, dtype):
    forward, kwargs, torch_fn = TWINS[name]
    x = _sweep(dtype)
    dout = np.random.default_rng(3).standard_normal(x.shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # an overflow RuntimeWarning would fail here
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out, cache = forward(x, **kwargs)
            dx = BACKWARD[name](dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch_fn(tx)
    t_out.backward(torch.tensor(dout))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    assert out.dtype == dx.dtype == dtype
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sigmoid_limits_are_exactly_0_and_1_and_its_gradient_exactly_0(dtype):
    x = np.array([-1e4, -1000.0, 1000.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = F.sigmoid_forward(x)
        dx = F.sigmoid_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0, 0.0])
    assert F.sigmoid_forward(np.array(0.0, dtype=dtype))[0] == 0.5


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_tanh_saturates_to_exactly_plus_minus_1_with_zero_gradient(dtype):
    out, cache = F.tanh_forward(np.array([-1e4, 1e4], dtype=dtype))
    np.testing.assert_array_equal(out, [-1.0, 1.0])
    np.testing.assert_array_equal(F.tanh_backward(np.ones(2, dtype=dtype), cache), [0.0, 0.0])


def test_relu_and_leaky_relu_gradient_at_exactly_zero_follow_torch():
    """torch: ReLU passes no gradient at x == 0 (mask x > 0); leaky ReLU passes slope * dout there."""
    x = np.array([-0.0, 0.0, 1e-30, -1e-30])
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).sum().backward()
    _, cache = F.relu_forward(x)
    np.testing.assert_array_equal(F.relu_backward(np.ones(4), cache), tx.grad.numpy())
    np.testing.assert_array_equal(F.relu_backward(np.ones(4), cache), [0.0, 0.0, 1.0, 0.0])
    tx = torch.tensor(x, requires_grad=True)
    TF.leaky_relu(tx, 0.2).sum().backward()
    _, cache = F.leaky_relu_forward(x, 0.2)
    np.testing.assert_array_equal(F.leaky_relu_backward(np.ones(4), cache), tx.grad.numpy())


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.5, 1.0, 2.0])
def test_leaky_relu_matches_torch_for_any_slope_even_above_1(slope):
    x = np.linspace(-3, 3, 13)
    tx = torch.tensor(x, requires_grad=True)
    TF.leaky_relu(tx, slope).sum().backward()
    out, cache = F.leaky_relu_forward(x, slope)
    np.testing.assert_allclose(out, TF.leaky_relu(torch.tensor(x), slope).numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(F.leaky_relu_backward(np.ones_like(x), cache), tx.grad.numpy(), atol=1e-15)


@pytest.mark.parametrize("name", list(TWINS))
def test_activations_return_new_arrays_and_leave_input_and_dout_alone(name):
    forward, kwargs, _ = TWINS[name]
    x = np.array([[-2.0, 0.0], [0.5, 3.0]])
    dout = np.array([[1.0, -1.0], [2.0, 0.5]])
    x0, d0 = x.copy(), dout.copy()
    out, cache = forward(x, **kwargs)
    dx = BACKWARD[name](dout, cache)
    assert out is not x and dx is not dout
    assert not np.shares_memory(out, x) and not np.shares_memory(dx, dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, d0)


@pytest.mark.parametrize("name", list(TWINS))
@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3), (1, 1, 4, 5)], ids=str)
def test_activations_take_any_shape(name, shape):
    forward, kwargs, torch_fn = TWINS[name]
    x = np.random.default_rng(4).standard_normal(shape)
    out, cache = forward(x, **kwargs)
    assert out.shape == shape and BACKWARD[name](np.ones(shape), cache).shape == shape
    np.testing.assert_allclose(out, torch_fn(torch.tensor(x)).numpy(), atol=1e-15)


@pytest.mark.parametrize("layer, twin", [(nn.ReLU(), torch.nn.ReLU()),
                                         (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
                                         (nn.Sigmoid(), torch.nn.Sigmoid()),
                                         (nn.Tanh(), torch.nn.Tanh())],
                         ids=["ReLU", "LeakyReLU", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_nn_activation_layers_match_torch_at_huge_magnitudes(layer, twin, dtype):
    x = _sweep(dtype)
    dout = np.random.default_rng(5).standard_normal(x.shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer(x)
        dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    twin(tx).backward(torch.tensor(dout))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, twin(torch.tensor(x)).numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=tol, atol=tol)
    assert out.dtype == dx.dtype == dtype
