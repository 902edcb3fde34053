"""softmax, log_softmax and cross_entropy against torch, stability and input checks."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F


@pytest.mark.parametrize("scale", [1.0, 1e4])
@pytest.mark.parametrize("shape", [(5,), (4, 10), (2, 3, 7)])
def test_softmax_and_log_softmax_match_torch_over_last_axis(shape, scale):
    x = np.random.default_rng(0).standard_normal(shape) * scale
    t = torch.tensor(x)
    np.testing.assert_allclose(F.softmax(x), TF.softmax(t, dim=-1).numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.log_softmax(x), TF.log_softmax(t, dim=-1).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x).sum(axis=-1), 1.0, rtol=1e-12)


def test_softmax_is_shift_invariant_and_keeps_float32():
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(F.softmax(x), F.softmax(x + 1000), rtol=1e-6)
    assert F.softmax(x).dtype == F.log_softmax(x).dtype == np.float32


@pytest.mark.parametrize("N, K", [(1, 2), (8, 10), (33, 5)])
def test_cross_entropy_matches_torch_loss_and_gradient(N, K):
    rng = np.random.default_rng(N)
    logits, targets = rng.standard_normal((N, K)) * 3, rng.integers(0, K, N)
    loss, dlogits = F.cross_entropy(logits, targets)
    t = torch.tensor(logits, requires_grad=True)
    t_loss = TF.cross_entropy(t, torch.tensor(targets))
    t_loss.backward()
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-13)
    np.testing.assert_allclose(dlogits, t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_is_stable_for_logits_of_plus_minus_1e4(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    targets = np.array([1, 2, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dlogits = F.cross_entropy(logits, targets)
    t = torch.tensor(logits.astype(np.float64), requires_grad=True)
    t_loss = TF.cross_entropy(t, torch.tensor(targets))
    t_loss.backward()
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    # row 0 misses by 2e4, row 1 is right, row 2 is a 50/50 tie: (2e4 + 0 + log 2) / 3
    np.testing.assert_allclose(loss, (2e4 + np.log(2)) / 3, rtol=1e-6)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-6)
    np.testing.assert_allclose(dlogits, t.grad.numpy(), atol=1e-7)
    assert dlogits.dtype == dtype


def test_cross_entropy_hand_computed_uniform_logits():
    """Equal logits over K classes: loss log K, gradient (1/K - onehot) / N."""
    loss, dlogits = F.cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    np.testing.assert_allclose(loss, np.log(4))
    np.testing.assert_allclose(dlogits, np.array([[-0.75, 0.25, 0.25, 0.25],
                                                  [0.25, 0.25, 0.25, -0.75]]) / 2)


@pytest.mark.parametrize("logits, targets, match", [
    (np.zeros((4, 3)), np.array([0.0, 1.0, 2.0, 0.0]),
     r"targets must be integer class indices, got dtype float64"),
    (np.zeros((4, 3)), np.array([0, 1, 3, 0]),
     r"targets must lie in \[0, 3\) for logits \(4, 3\) with 3 classes, got values from 0 to 3"),
    (np.zeros((4, 3)), np.array([0, -1, 2, 0]), r"targets must lie in \[0, 3\)"),
    (np.zeros((4, 3)), np.zeros((4, 1), dtype=int),
     r"targets must have shape \(N,\) = \(4,\) to match logits \(4, 3\), got \(4, 1\)"),
    (np.zeros((4, 3)), np.zeros(5, dtype=int), r"got \(5,\)"),
    (np.zeros(3), np.zeros(1, dtype=int), r"logits must be 2-D \(N, K\), got shape \(3,\)"),
    (np.zeros((4, 3)), np.array([True, False, True, True]), r"got dtype bool"),
])
def test_cross_entropy_rejects_bad_targets_naming_the_shapes(logits, targets, match):
    with pytest.raises(ValueError, match=match):
        F.cross_entropy(logits, targets)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_of_plus_minus_1e4_are_exact_warning_free_and_keep_the_dtype(dtype):
    """Lesson 04's bar: logits of ±1e4 in float32, rows that still sum to 1, no warning of any kind."""
    rng = np.random.default_rng(7)
    x = (rng.choice([-1e4, 1e4], size=(6, 10)) * rng.random((6, 10))).astype(dtype)
    x[0] = 1e4                          # a row of ties at the top
    x[1, :5] = -1e4
    x[2] = [1e4, -1e4] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):   # underflow to 0 is harmless
            p, logp = F.softmax(x), F.log_softmax(x)
            loss, dlogits = F.cross_entropy(x, np.arange(6) % 10)
    t = torch.tensor(x)
    assert p.dtype == logp.dtype == dlogits.dtype == dtype
    np.testing.assert_allclose(p, TF.softmax(t, dim=-1).numpy(), atol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(logp, TF.log_softmax(t, dim=-1).numpy(), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.isfinite(logp).all() and np.isfinite(loss)
    np.testing.assert_allclose(loss, TF.cross_entropy(t, torch.tensor(np.arange(6) % 10)).item(), rtol=1e-6)


def test_cross_entropy_of_a_single_example_and_a_uniform_guess():
    loss, _ = F.cross_entropy(np.zeros((1, 10), dtype=np.float32), np.array([4]))
    np.testing.assert_allclose(loss, np.log(10), rtol=1e-6)
    assert isinstance(loss, float)
