"""cnnlib.gradcheck itself, and a numerical gradient check of every functional op."""
import numpy as np
import pytest

import cnnlib.functional as F
from cnnlib.gradcheck import check_layer, numerical_gradient, numerical_gradient_array, rel_error

TOL = 1e-7


# --- the helpers -----------------------------------------------------------------------

def test_numerical_gradient_of_a_known_function_and_x_restored():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_is_gradient_of_sum_f_times_dout():
    x = np.array([0.3, -1.2, 2.0])
    dout = np.array([1.0, 2.0, -1.0])
    grad = numerical_gradient_array(np.sin, x, dout)
    np.testing.assert_allclose(grad, np.cos(x) * dout, rtol=1e-8)


def test_numerical_gradient_rejects_float32_which_cannot_be_checked_precisely():
    with pytest.raises(ValueError, match="x must be a float64 ndarray"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))


def test_rel_error_is_max_elementwise_relative_difference():
    assert rel_error(np.array([1.0, 100.0]), np.array([1.0, 101.0])) == pytest.approx(1 / 201)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(1e-9 / 1e-8)
    with pytest.raises(ValueError, match=r"shapes differ, \(2,\) vs \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


def test_check_layer_flags_a_wrong_backward():
    def bad_backward(dout, cache):
        dx, dw, db = F.linear_backward(dout, cache)
        return dx, 2 * dw, db

    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((2, 4)),
              "b": rng.standard_normal(2)}
    report = check_layer(F.linear_forward, bad_backward, inputs, verbose=False)
    assert report["x"] < TOL and report["b"] < TOL
    assert report["w"] > 0.1


def test_check_layer_prints_a_report_and_leaves_inputs_untouched(capsys):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    before = x.copy()
    report = check_layer(F.tanh_forward, F.tanh_backward, {"x": x})
    assert set(report) == {"x"} and report["x"] < TOL
    assert "x: rel_error" in capsys.readouterr().out
    np.testing.assert_array_equal(x, before)


# --- every op ----------------------------------------------------------------------------

def _distinct(shape, seed):
    """Well-separated distinct values: no ties or kinks within the finite-difference step."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(np.prod(shape)).reshape(shape) + 1.0) * 0.1 * rng.choice([-1, 1], shape)


def _away_from_zero(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.5, x)


def _conv_inputs(seed, C=2, bias=True):
    rng = np.random.default_rng(seed)
    inputs = {"x": rng.standard_normal((2, C, 5, 6)), "w": rng.standard_normal((3, C, 3, 2))}
    inputs["b"] = rng.standard_normal(3) if bias else None
    return inputs


CHECKS = [
    ("conv2d", lambda **k: F.conv2d_forward(**k, stride=1, padding=1), F.conv2d_backward,
     _conv_inputs(0)),
    ("conv2d stride (2,1) pad (0,2) no bias",
     lambda **k: F.conv2d_forward(**k, stride=(2, 1), padding=(0, 2)), F.conv2d_backward,
     _conv_inputs(1, bias=False)),
    ("conv2d C=5 (per-offset dx)", lambda **k: F.conv2d_forward(**k, stride=2, padding=1),
     F.conv2d_backward, _conv_inputs(2, C=5)),
    ("conv2d naive", lambda **k: F.conv2d_forward_naive(**k, stride=2, padding=1),
     F.conv2d_backward_naive, _conv_inputs(3)),
    ("max_pool2d tiled", lambda x: F.max_pool2d_forward(x, 2), F.max_pool2d_backward,
     {"x": _distinct((2, 2, 4, 6), 0)}),
    ("max_pool2d overlapping", lambda x: F.max_pool2d_forward(x, 3, stride=(1, 2)),
     F.max_pool2d_backward, {"x": _distinct((2, 2, 5, 7), 1)}),
    ("avg_pool2d", lambda x: F.avg_pool2d_forward(x, (2, 3), stride=(1, 2)), F.avg_pool2d_backward,
     {"x": np.random.default_rng(0).standard_normal((2, 2, 5, 7))}),
    ("linear", F.linear_forward, F.linear_backward,
     {"x": np.random.default_rng(1).standard_normal((4, 5)),
      "w": np.random.default_rng(2).standard_normal((3, 5)),
      "b": np.random.default_rng(3).standard_normal(3)}),
    ("relu", F.relu_forward, F.relu_backward, {"x": _away_from_zero((3, 4), 0)}),
    ("leaky_relu", lambda x: F.leaky_relu_forward(x, 0.1), F.leaky_relu_backward,
     {"x": _away_from_zero((3, 4), 1)}),
    ("sigmoid", F.sigmoid_forward, F.sigmoid_backward,
     {"x": np.random.default_rng(4).standard_normal((3, 4)) * 3}),
    ("tanh", F.tanh_forward, F.tanh_backward,
     {"x": np.random.default_rng(5).standard_normal((3, 4))}),
    ("dropout (fixed mask)", lambda x: F.dropout_forward(x, 0.4, True, np.random.default_rng(7)),
     F.dropout_backward, {"x": np.random.default_rng(6).standard_normal((4, 5))}),
]


@pytest.mark.parametrize("name, forward, backward, inputs", CHECKS, ids=[c[0] for c in CHECKS])
def test_analytic_gradient_matches_numerical_gradient(name, forward, backward, inputs):
    report = check_layer(forward, backward, inputs, verbose=False)
    assert report, "nothing was checked"
    for arg, err in report.items():
        assert err < TOL, f"{name}: d{arg} rel_error {err:.2e}"


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_cross_entropy_gradient_matches_numerical_gradient(scale):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 6)) * scale
    targets = rng.integers(0, 6, 4)
    _, dlogits = F.cross_entropy(logits, targets)
    num = numerical_gradient(lambda z: F.cross_entropy(z, targets)[0], logits)
    assert rel_error(dlogits, num) < TOL
