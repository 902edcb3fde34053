"""conv2d (fast and naive) against torch, by hand, and on bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
import cnnlib.functional.conv as conv_module


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _random_configs(count, seed):
    """A seeded sample of the (huge) grid of conv2d configurations that are valid."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        N, C, Fo = (int(v) for v in rng.integers(1, [5, 4, 4]))
        H, W = (int(v) for v in rng.integers(1, 10, size=2))
        KH, KW = (int(v) for v in rng.integers(1, 6, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        padding = tuple(int(v) for v in rng.integers(0, 3, size=2))
        if rng.random() < 0.5:          # half the time plain ints, like most callers
            stride, padding = stride[0], padding[0]
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        if KH > H + 2 * ph or KW > W + 2 * pw:
            continue
        configs.append((N, C, H, W, Fo, KH, KW, stride, padding, bool(rng.random() < 0.7)))
    return configs


# (N, C, H, W, F, KH, KW, stride, padding, bias)
EDGE_CASES = [
    (1, 1, 3, 3, 1, 3, 3, 1, 0, True),            # kernel == input: a 1x1 output
    (2, 2, 3, 4, 3, 5, 6, 1, 1, True),            # kernel == padded input size
    (2, 3, 7, 7, 2, 3, 3, 3, 0, True),            # stride divides evenly... into 2 windows
    (2, 3, 8, 9, 2, 3, 2, (3, 2), (0, 1), False),  # stride not dividing: floor drops rows
    (3, 2, 5, 5, 4, 1, 1, 1, 0, True),            # 1x1 convolution
    (1, 1, 1, 1, 1, 1, 1, 1, 2, True),            # 1x1 image, padding only
    (2, 1, 6, 4, 2, 2, 4, (1, 2), (2, 0), True),  # non-square kernel, stride, padding
    (2, 6, 9, 7, 5, 3, 3, 1, 1, True),            # C >= 4: per-offset dx route, stride 1
    (3, 5, 10, 8, 4, 4, 3, 2, 1, True),           # C >= 4 with stride 2
    (2, 8, 6, 6, 3, 5, 5, (2, 1), 2, False),      # C >= 4, mixed stride, no bias
    (2, 16, 7, 7, 32, 3, 3, 2, 1, True),          # dw large enough to copy dout transposed
]

CONFIGS = _random_configs(60, seed=2024) + EDGE_CASES


def _torch_conv(x, w, b, stride, padding, dout):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    out = TF.conv2d(tx, tw, tb, stride=stride, padding=padding)
    out.backward(torch.tensor(dout))
    return (out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
            None if b is None else tb.grad.numpy())


def _make(config, seed=0, dtype=np.float64):
    N, C, H, W, Fo, KH, KW, stride, padding, bias = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Fo, C, KH, KW)).astype(dtype)
    b = rng.standard_normal(Fo).astype(dtype) if bias else None
    return x, w, b, stride, padding, rng


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_fast_conv2d_matches_torch_output_and_all_gradients(config):
    x, w, b, stride, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape)
    t_out, t_dx, t_dw, t_db = _torch_conv(x, w, b, stride, padding, dout)
    dx, dw, db = F.conv2d_backward(dout, cache)
    np.testing.assert_allclose(out, t_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, t_dw, rtol=1e-10, atol=1e-10)
    if b is None:
        assert db is None
    else:
        np.testing.assert_allclose(db, t_db, rtol=1e-10, atol=1e-10)
    assert out.dtype == dx.dtype == dw.dtype == np.float64


@pytest.mark.parametrize("config", CONFIGS[::4] + EDGE_CASES, ids=str)
def test_naive_and_fast_conv2d_agree_to_1e_12(config):
    x, w, b, stride, padding, rng = _make(config, seed=1)
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    out_n, cache_n = F.conv2d_forward_naive(x, w, b, stride, padding)
    np.testing.assert_allclose(out_n, out, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for fast, naive in zip(F.conv2d_backward(dout, cache), F.conv2d_backward_naive(dout, cache_n)):
        if fast is None:
            assert naive is None
        else:
            np.testing.assert_allclose(naive, fast, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("config", [
    (5, 2, 6, 7, 3, 3, 3, 1, 1, True),          # stride 1: shifted-sum dx route
    (5, 6, 6, 7, 3, 3, 2, 2, 1, True),          # stride 2: col2im dx route
    (7, 5, 9, 8, 4, 5, 3, 1, (2, 0), False),    # stride 1, odd sizes, one-sided padding
    (3, 4, 8, 8, 2, 2, 2, (1, 2), 3, True),     # padding wider than the kernel
    (2, 4, 5, 5, 3, 2, 2, 1, 3, True),          # ... with stride 1
])
def test_conv2d_split_into_one_image_chunks_matches_torch(monkeypatch, config):
    """CHUNK_BYTES=1 makes every image its own chunk, as a large batch would be."""
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)
    x, w, b, stride, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape)
    ours = (out,) + F.conv2d_backward(dout, cache)
    for a, t in zip(ours, _torch_conv(x, w, b, stride, padding, dout)):
        if t is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-10)


# (N, C, H, W, F, KH, KW, stride, padding, bias), the dx route make_dx must pick
DX_ROUTES = [
    ((3, 16, 7, 6, 5, 3, 3, 1, 1, True), "_shifted_sum"),             # 16 channels, 'same'
    ((2, 3, 6, 7, 4, 3, 2, 1, (2, 0), False), "_shifted_sum"),        # one-sided padding
    ((2, 5, 5, 5, 3, 2, 2, 1, 2, True), "_shifted_sum"),              # padding >= kernel
    ((2, 16, 9, 9, 4, 3, 3, 2, 1, True), "_col2im"),                  # stride 2
    ((2, 3, 9, 8, 4, 3, 2, (1, 2), 0, False), "_col2im"),             # stride 2 along the width
]


@pytest.mark.parametrize("config, route", DX_ROUTES, ids=str)
def test_every_dx_route_of_im2col_equals_the_naive_loops_in_float64(config, route):
    """Which route make_dx picks, and that its dx equals conv2d_backward_naive's to 1e-12."""
    from cnnlib.functional.conv_dx import make_dx
    x, w, b, stride, padding, rng = _make(config)
    out, cache = F.conv2d_forward(x, w, b, stride, padding, method="im2col")
    fill = make_dx(w, x.shape, _pair(stride), _pair(padding), out.shape[2:], x.shape[0])
    assert fill.__qualname__.startswith(route + ".")
    dout = rng.standard_normal(out.shape)
    dx = F.conv2d_backward(dout, cache)[0]
    dx_naive = F.conv2d_backward_naive(dout, F.conv2d_forward_naive(x, w, b, stride, padding)[1])[0]
    np.testing.assert_allclose(dx, dx_naive, rtol=1e-12, atol=1e-12)


def test_conv2d_backward_accepts_a_non_contiguous_dout():
    x, w, b, stride, padding, rng = _make((3, 4, 6, 6, 5, 3, 3, 1, 1, True))
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    big = rng.standard_normal(out.shape[:3] + (2 * out.shape[3],))
    dout = big[..., ::2]
    for a, t in zip(F.conv2d_backward(dout, cache), _torch_conv(x, w, b, stride, padding, dout)[1:]):
        np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("forward, backward", [
    (F.conv2d_forward, F.conv2d_backward),
    (F.conv2d_forward_naive, F.conv2d_backward_naive)])
def test_conv2d_float32_in_gives_float32_out_close_to_torch(forward, backward):
    x, w, b, stride, padding, rng = _make((4, 3, 12, 10, 8, 3, 3, 1, 1, True), dtype=np.float32)
    out, cache = forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = backward(dout, cache)
    assert all(a.dtype == np.float32 for a in (out,) + grads)
    for a, t in zip((out,) + grads, _torch_conv(x, w, b, stride, padding, dout)):
        np.testing.assert_allclose(a, t, rtol=1e-4, atol=1e-4)


def test_conv2d_hand_computed_3x3_image_2x2_kernel():
    """Worked out on paper: slide the 2x2 kernel (no flip) over the 3x3 image."""
    x = np.array([[1., 2., 3.],
                  [4., 5., 6.],
                  [7., 8., 9.]]).reshape(1, 1, 3, 3)
    w = np.array([[1., 0.],
                  [0., -1.]]).reshape(1, 1, 2, 2)
    b = np.array([10.])
    # top-left: 1*1 + 5*(-1) = -4 -> +10 = 6; every window gives a - d = -4
    expected = np.full((1, 1, 2, 2), 6.)
    for forward in (F.conv2d_forward, F.conv2d_forward_naive):
        out, _ = forward(x, w, b)
        np.testing.assert_array_equal(out, expected)
    # dout of ones: dw[i, j] = sum of the 4 pixels under kernel entry (i, j)
    _, cache = F.conv2d_forward(x, w, b)
    dx, dw, db = F.conv2d_backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dw[0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6],
                                             [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])
    np.testing.assert_array_equal(db, [4.])
    # each pixel collects w entries of the windows covering it: corners once, centre 4 times
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0],
                                             [1, 0, -1],
                                             [0, -1, -1]])


def test_conv2d_hand_computed_stride_2_with_padding():
    """A 2x2 image, padding 1, 2x2 kernel of ones, stride 2: each output is one pixel."""
    x = np.array([[1., 2.], [3., 4.]]).reshape(1, 1, 2, 2)
    w = np.ones((1, 1, 2, 2))
    out, _ = F.conv2d_forward(x, w, None, stride=2, padding=1)
    np.testing.assert_array_equal(out[0, 0], [[1., 2.], [3., 4.]])


def test_conv2d_output_size_uses_floor():
    x = np.zeros((1, 1, 8, 9))
    out, _ = F.conv2d_forward(x, np.zeros((2, 1, 3, 2)), None, stride=(3, 2), padding=(0, 1))
    assert out.shape == (1, 2, (8 - 3) // 3 + 1, (9 + 2 - 2) // 2 + 1)


# --- validation ----------------------------------------------------------------------

GOOD_X, GOOD_W, GOOD_B = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), np.zeros(4)


@pytest.mark.parametrize("forward", [F.conv2d_forward, F.conv2d_forward_naive])
@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros((3, 28, 28))), r"x must be 4-D \(N, C, H, W\), got shape \(3, 28, 28\)"),
    (dict(w=np.zeros((4, 3, 3))), r"w must be 4-D \(F, C, KH, KW\), got shape \(4, 3, 3\)"),
    (dict(w=np.zeros((4, 1, 3, 3))),
     r"x has C=3 channels \(shape \(2, 3, 8, 8\)\) but w expects C=1 \(shape \(4, 1, 3, 3\)\)"),
    (dict(b=np.zeros(3)), r"b must have shape \(F,\) = \(4,\), got \(3,\)"),
    (dict(b=np.zeros((4, 1))), r"b must have shape \(F,\) = \(4,\), got \(4, 1\)"),
    (dict(w=np.zeros((4, 3, 11, 3)), padding=1),
     r"kernel \(11, 3\) is larger than the padded input \(10, 10\)"),
    (dict(stride=0), r"stride must be a positive int or a pair of positive ints, got 0"),
    (dict(stride=(1, -2)), r"stride must be a positive int .* got \(1, -2\)"),
    (dict(stride=1.5), r"stride must be a positive int .* got 1\.5"),
    (dict(stride=(1, 2, 3)), r"stride must be a positive int .* got \(1, 2, 3\)"),
    (dict(padding=-1), r"padding must be a non-negative int .* got -1"),
    (dict(padding=0.5), r"padding must be a non-negative int .* got 0\.5"),
    (dict(padding=True), r"padding must be a non-negative int .* got True"),
])
def test_conv2d_forward_rejects_bad_input_naming_the_shapes(forward, kwargs, match):
    args = dict(x=GOOD_X, w=GOOD_W, b=GOOD_B, stride=1, padding=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        forward(**args)


@pytest.mark.parametrize("forward, backward", [
    (F.conv2d_forward, F.conv2d_backward),
    (F.conv2d_forward_naive, F.conv2d_backward_naive)])
def test_conv2d_backward_rejects_wrong_dout_shape_and_missing_cache(forward, backward):
    out, cache = forward(GOOD_X, GOOD_W, GOOD_B)
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape "
                                         r"\(2, 4, 6, 6\), got \(2, 4, 8, 8\)"):
        backward(np.zeros((2, 4, 8, 8)), cache)
    with pytest.raises(ValueError, match="cache is None - call conv2d_forward"):
        backward(out, None)
    _, relu_cache = F.relu_forward(out)
    with pytest.raises(ValueError, match="this cache comes from relu_forward"):
        backward(out, relu_cache)


def test_conv2d_accepts_numpy_integer_stride_and_list_padding():
    out, _ = F.conv2d_forward(GOOD_X, GOOD_W, GOOD_B, stride=np.int64(2), padding=[1, 0])
    assert out.shape == (2, 4, 4, 3)


# --- im2col / col2im --------------------------------------------------------------------

def test_im2col_layout_matches_its_documented_formula():
    xp = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    KH, KW, (sh, sw) = 3, 2, (2, 1)
    OH, OW = F.conv_output_size(7, KH, sh, 0), F.conv_output_size(6, KW, sw, 0)
    cols = F.im2col(xp, (KH, KW), (sh, sw), (OH, OW))
    assert cols.shape == (2, 3 * KH * KW, OH * OW)
    for n, c, i, j, oh, ow in [(0, 0, 0, 0, 0, 0), (1, 2, 2, 1, 2, 4), (1, 1, 1, 0, 1, 3)]:
        assert cols[n, (c * KH + i) * KW + j, oh * OW + ow] == xp[n, c, oh * sh + i, ow * sw + j]


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)>: exactly what makes the conv backward pass right."""
    rng = np.random.default_rng(1)
    for stride in [(1, 1), (2, 3), (3, 1)]:
        xp = rng.standard_normal((2, 2, 8, 9))
        OH, OW = F.conv_output_size(8, 3, stride[0], 0), F.conv_output_size(9, 2, stride[1], 0)
        cols = F.im2col(xp, (3, 2), stride, (OH, OW))
        c = rng.standard_normal(cols.shape)
        back = F.col2im(c, xp.shape, (3, 2), stride, (OH, OW))
        np.testing.assert_allclose(np.sum(cols * c), np.sum(xp * back), rtol=1e-12)


def test_im2col_refuses_a_non_contiguous_out_buffer():
    xp = np.zeros((2, 1, 4, 4))
    buf = np.zeros((2, 9, 8))[:, :, ::2]
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        F.im2col(xp, (3, 3), (1, 1), (2, 2), out=buf)
