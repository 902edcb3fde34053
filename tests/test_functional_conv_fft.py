"""The Fourier route of conv2d: exact against the naive loops, close to torch, chosen when faster."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
from cnnlib.functional.conv import route

# (N, C, H, W, F, KH, KW, padding, bias): stride 1 only, like the route
CONFIGS = [
    (3, 2, 7, 9, 4, 3, 3, 1, True),          # odd grid width (9+2): no Nyquist column
    (2, 3, 8, 8, 5, 5, 5, 2, True),          # even grid (12): a Nyquist column
    (2, 1, 6, 7, 2, 2, 4, (0, 1), False),    # even kernel, one-sided padding
    (1, 2, 5, 5, 3, 5, 5, 0, True),          # kernel == input: a 1x1 output
    (2, 3, 9, 6, 2, 4, 3, (3, 0), True),     # padding wider than half the kernel
    (4, 16, 14, 14, 32, 5, 5, 2, True),      # the benchmark's layer, smaller batch
    (2, 4, 1, 1, 3, 1, 1, 0, True),          # 1x1 image and kernel
    (3, 5, 4, 6, 2, 3, 5, 2, False),         # padding larger than the image's half
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


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_fourier_route_equals_the_naive_loops_to_1e_12_in_float64(config):
    x, w, b, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method="fft")
    assert "fft" in cache
    out_n, cache_n = F.conv2d_forward_naive(x, w, b, 1, padding)
    _assert_close(out, out_n)
    dout = rng.standard_normal(out.shape)
    grads = zip(F.conv2d_backward(dout, cache), F.conv2d_backward_naive(dout, cache_n))
    assert all(_assert_close(*pair) is None for pair in grads)


def test_fourier_route_in_float32_stays_float32_and_matches_torch():
    x, w, b, padding, rng = _make((8, 16, 14, 14, 32, 5, 5, 2, True), dtype=np.float32)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method="fft")
    dout = rng.standard_normal(out.shape).astype(np.float32)
    ours = (out,) + F.conv2d_backward(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = TF.conv2d(tx, tw, tb, padding=padding)
    t_out.backward(torch.tensor(dout))
    for a, t in zip(ours, (t_out.detach(), tx.grad, tw.grad, tb.grad)):
        assert a.dtype == np.float32
        scale = float(np.abs(t.numpy()).max())
        np.testing.assert_allclose(a, t.numpy(), rtol=0, atol=1e-5 * scale)


def test_a_second_forward_pass_does_not_change_the_first_ones_gradients():
    """The route reuses work arrays between calls; a cache must keep what its backward needs."""
    config = (4, 16, 14, 14, 32, 5, 5, 2, True)
    x, w, b, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, 1, padding, method="fft")
    dout = rng.standard_normal(out.shape)
    expected = F.conv2d_backward_naive(dout, F.conv2d_forward_naive(x, w, b, 1, padding)[1])
    x2, w2, b2, _, _ = _make(config, seed=1)
    _, cache2 = F.conv2d_forward(x2, w2, b2, 1, padding, method="fft")
    F.conv2d_backward(np.ones_like(out), cache2)
    for _ in range(2):  # and a cache can be used twice
        for got, want in zip(F.conv2d_backward(dout, cache), expected):
            _assert_close(got, want)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, expected", [
    ((64, 16, 14, 14), (32, 16, 5, 5), (1, 1), (2, 2), "fft"),     # measured 10.5 vs 23 ms
    ((64, 8, 14, 14), (16, 8, 5, 5), (1, 1), (2, 2), "fft"),       # 4.4 vs 7.6 ms
    ((64, 16, 14, 14), (32, 16, 3, 3), (1, 1), (1, 1), "im2col"),  # 7.1 vs 8.4 ms
    ((64, 1, 28, 28), (32, 1, 5, 5), (1, 1), (2, 2), "im2col"),    # one channel: little to mix
    ((64, 3, 32, 32), (16, 3, 5, 5), (1, 1), (2, 2), "im2col"),    # 12.7 vs 18.3 ms
    ((64, 16, 14, 14), (32, 16, 5, 5), (2, 2), (2, 2), "im2col"),  # strided: no Fourier route
    ((1, 1, 5, 5), (1, 1, 3, 3), (1, 1), (0, 0), "im2col"),        # the lessons' hand examples
])
def test_route_picks_the_route_measured_faster(x_shape, w_shape, stride, padding, expected):
    assert route(x_shape, w_shape, stride, padding) == expected


def test_auto_takes_the_fourier_route_for_a_16_channel_5x5_layer_and_im2col_for_3x3():
    x = np.zeros((2, 16, 14, 14))
    assert "fft" in F.conv2d_forward(x, np.zeros((32, 16, 5, 5)), None, 1, 2)[1]
    assert "fft" not in F.conv2d_forward(x, np.zeros((32, 16, 3, 3)), None, 1, 1)[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "winograd"}, "method must be one of"),
    ({"method": "fft", "stride": 2}, "method='fft' needs stride 1"),
])
def test_bad_method_is_refused_by_name(kwargs, message):
    x, w, b, padding, _ = _make(CONFIGS[0])
    with pytest.raises(ValueError, match=message):
        F.conv2d_forward(x, w, b, padding=padding, **kwargs)
