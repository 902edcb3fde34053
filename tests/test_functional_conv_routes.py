"""conv2d's stride-1 routes (stacked shifts, Fourier): exact against the naive loops, close to
torch, and chosen when faster."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
from cnnlib.functional.conv import route

ROUTES = ("shifts", "fft")

# (N, C, H, W, F, KH, KW, padding, bias): stride 1 only, like the routes
CONFIGS = [
    (3, 2, 7, 9, 4, 3, 3, 1, True),          # odd grid width (9+2): no Nyquist column
    (2, 3, 8, 8, 5, 5, 5, 2, True),          # even grid (12): a Nyquist column
    (2, 1, 6, 7, 2, 2, 4, (0, 1), False),    # even kernel, one-sided padding
    (1, 2, 5, 5, 3, 5, 5, 0, True),          # kernel == input: a 1x1 output
    (2, 3, 9, 6, 2, 4, 3, (3, 0), True),     # padding wider than half the kernel
    (4, 16, 14, 14, 32, 5, 5, 2, True),      # the benchmark's layer, smaller batch
    (2, 4, 1, 1, 3, 1, 1, 0, True),          # 1x1 image and kernel
    (3, 5, 4, 6, 2, 3, 5, 2, False),         # padding larger than the image's half
    (2, 4, 5, 6, 3, 2, 3, (3, 4), True),     # padding wider than the kernel
    (2, 6, 3, 9, 4, 3, 7, (1, 0), True),     # kernel wider than tall, no side padding
    (2, 4, 9, 3, 3, 1, 3, (0, 2), False),    # a 1-row kernel on a narrow image
]


def _assert_close(got, want):
    """Equal to 1e-12 and float64, or both None (no bias)."""
    assert (got is None) == (want is None)
    if want is not None:
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _make(config, dtype=np.float64, seed=0):
    N, C, H, W, Fo, KH, KW, padding, bias = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Fo, C, KH, KW)).astype(dtype)
    b = rng.standard_normal(Fo).astype(dtype) if bias else None
    return x, w, b, padding, rng


@pytest.mark.parametrize("method", ROUTES)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_each_route_equals_the_naive_loops_to_1e_12_in_float64(config, method):
    x, w, b, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method=method)
    assert cache["route"] == method
    out_n, cache_n = F.conv2d_forward_naive(x, w, b, 1, padding)
    _assert_close(out, out_n)
    dout = rng.standard_normal(out.shape)
    grads = zip(F.conv2d_backward(dout, cache), F.conv2d_backward_naive(dout, cache_n))
    assert all(_assert_close(*pair) is None for pair in grads)


@pytest.mark.parametrize("method", ROUTES)
@pytest.mark.parametrize("k", [3, 5])
def test_each_route_in_float32_stays_float32_and_matches_torch(method, k):
    x, w, b, padding, rng = _make((8, 16, 14, 14, 32, k, k, k // 2, True), dtype=np.float32)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method=method)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    ours = (out,) + F.conv2d_backward(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = TF.conv2d(tx, tw, tb, padding=padding)
    t_out.backward(torch.tensor(dout))
    for a, t in zip(ours, (t_out.detach(), tx.grad, tw.grad, tb.grad)):
        assert a.dtype == np.float32
        scale = float(np.abs(t.numpy()).max())
        np.testing.assert_allclose(a, t.numpy(), rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("method", ROUTES)
def test_a_second_forward_pass_does_not_change_the_first_ones_gradients(method):
    """The routes reuse work arrays between calls; a cache must keep what its backward needs."""
    config = (4, 16, 14, 14, 32, 5, 5, 2, True)
    x, w, b, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method=method)
    dout = rng.standard_normal(out.shape)
    expected = F.conv2d_backward_naive(dout, F.conv2d_forward_naive(x, w, b, 1, padding)[1])
    x2, w2, b2, _, _ = _make(config, seed=1)
    _, cache2 = F.conv2d_forward(x2, w2, b2, 1, padding, method=method)
    F.conv2d_backward(np.ones_like(out), cache2)
    for _ in range(2):  # and a cache can be used twice
        for got, want in zip(F.conv2d_backward(dout, cache), expected):
            _assert_close(got, want)


# milliseconds: forward+backward, float32, one thread, the three routes timed alternately
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, expected", [
    ((64, 16, 14, 14), (32, 16, 5, 5), (1, 1), (2, 2), "fft"),     # 11.3, shifts 13.0, im2col 19.1
    ((64, 32, 7, 7), (64, 32, 5, 5), (1, 1), (2, 2), "fft"),       # 11.0, shifts 14.6
    ((64, 16, 14, 14), (32, 16, 3, 3), (1, 1), (1, 1), "shifts"),  # 4.9, im2col 6.6, fft 8.3
    ((64, 64, 7, 7), (64, 64, 3, 3), (1, 1), (1, 1), "shifts"),    # 10.0, fft 12.0
    ((64, 8, 14, 14), (16, 8, 5, 5), (1, 1), (2, 2), "shifts"),    # 4.8, fft 5.3
    ((64, 4, 28, 28), (8, 4, 3, 3), (1, 1), (1, 1), "shifts"),     # 3.3, im2col 4.3
    ((64, 3, 28, 28), (16, 3, 3, 3), (1, 1), (1, 1), "im2col"),    # 7.6, shifts 8.8
    ((64, 1, 28, 28), (32, 1, 5, 5), (1, 1), (2, 2), "im2col"),    # 7.6, shifts 19.8, fft 23.8
    ((64, 16, 14, 14), (32, 16, 5, 5), (2, 2), (2, 2), "im2col"),  # strided: the only route
    ((1, 1, 5, 5), (1, 1, 3, 3), (1, 1), (0, 0), "im2col"),        # the lessons' hand examples
])
def test_route_picks_the_route_measured_faster(x_shape, w_shape, stride, padding, expected):
    assert route(x_shape, w_shape, stride, padding) == expected


def test_auto_takes_the_fourier_route_for_a_16_channel_5x5_layer_and_shifts_for_3x3():
    x = np.zeros((2, 16, 14, 14))
    assert F.conv2d_forward(x, np.zeros((32, 16, 5, 5)), None, 1, 2)[1]["route"] == "fft"
    assert F.conv2d_forward(x, np.zeros((32, 16, 3, 3)), None, 1, 1)[1]["route"] == "shifts"


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "winograd"}, "method must be one of"),
    ({"method": "fft", "stride": 2}, "method='fft' needs stride 1"),
    ({"method": "shifts", "stride": (1, 2)}, "method='shifts' needs stride 1"),
])
def test_bad_method_is_refused_by_name(kwargs, message):
    x, w, b, padding, _ = _make(CONFIGS[0])
    with pytest.raises(ValueError, match=message):
        F.conv2d_forward(x, w, b, padding=padding, **kwargs)
