"""max_pool2d / avg_pool2d against torch, including ties, overlaps and floor."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F

# (shape, kernel_size, stride)
CASES = [
    ((2, 3, 8, 8), 2, None),            # the usual 2x2 / 2, tiled fast path
    ((2, 2, 9, 6), 3, None),            # tiled 3x3 (kernel == stride, divisible)
    ((2, 2, 6, 9), (2, 3), None),       # tiled, non-square
    ((2, 2, 7, 7), 2, None),            # not divisible: floor drops the last row/column
    ((1, 2, 7, 8), 3, 2),               # overlapping windows (stride < kernel)
    ((2, 1, 6, 6), 3, 1),               # heavily overlapping
    ((1, 2, 9, 7), (3, 2), (2, 3)),     # non-square kernel and stride
    ((3, 1, 5, 5), 5, None),            # one window covering the image
    ((1, 1, 4, 6), 1, None),            # 1x1 pooling is the identity
    ((2, 2, 10, 10), 2, 3),             # stride > kernel: some pixels in no window
]


def _torch_pool(fn, x, kernel_size, stride, dout):
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx, kernel_size, stride)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), tx.grad.numpy()


def _inputs(shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":
        # few distinct integers: most windows hold several equal maxima
        return rng.integers(0, 3, size=shape).astype(np.float64), rng
    if kind == "constant":
        return np.full(shape, 7.0), rng   # every window is one big tie
    return rng.standard_normal(shape), rng


@pytest.mark.parametrize("kind", ["random", "ties", "constant"])
@pytest.mark.parametrize("shape, kernel_size, stride", CASES, ids=str)
def test_max_pool2d_matches_torch_including_tie_routing(shape, kernel_size, stride, kind):
    x, rng = _inputs(shape, kind)
    out, cache = F.max_pool2d_forward(x, kernel_size, stride)
    dout = rng.standard_normal(out.shape)
    t_out, t_dx = _torch_pool(TF.max_pool2d, x, kernel_size, stride, dout)
    np.testing.assert_array_equal(out, t_out)
    # ties: the whole gradient goes to the first maximum in row-major order,
    # overlapping windows add up; exact equality up to summation rounding
    np.testing.assert_allclose(F.max_pool2d_backward(dout, cache), t_dx, rtol=0, atol=1e-14)


@pytest.mark.parametrize("shape, kernel_size, stride", CASES, ids=str)
def test_avg_pool2d_matches_torch(shape, kernel_size, stride):
    x, rng = _inputs(shape, "random")
    out, cache = F.avg_pool2d_forward(x, kernel_size, stride)
    dout = rng.standard_normal(out.shape)
    t_out, t_dx = _torch_pool(TF.avg_pool2d, x, kernel_size, stride, dout)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.avg_pool2d_backward(dout, cache), t_dx, rtol=1e-12, atol=1e-12)


def test_max_pool2d_hand_computed_with_a_tie():
    x = np.array([[1., 3., 2., 0.],
                  [3., 0., 1., 2.],
                  [0., 0., 5., 5.],
                  [0., 0., 5., 5.]]).reshape(1, 1, 4, 4)
    out, cache = F.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[3., 2.], [0., 5.]])
    dx = F.max_pool2d_backward(np.array([[[[10., 20.], [30., 40.]]]]), cache)
    # top-left: 3 appears at (0,1) and (1,0); row-major order picks (0,1)
    # top-right: 2 at (0,2) and (1,3); (0,2) comes first
    # bottom-right: four 5s, the first one (2,2) gets everything
    np.testing.assert_array_equal(dx[0, 0], [[0., 10., 20., 0.],
                                             [0., 0., 0., 0.],
                                             [30., 0., 40., 0.],
                                             [0., 0., 0., 0.]])


def test_max_pool2d_overlapping_windows_accumulate_on_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 9.0      # the centre is the max of all four 2x2 windows
    out, cache = F.max_pool2d_forward(x, 2, stride=1)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 9.0))
    dx = F.max_pool2d_backward(np.ones((1, 1, 2, 2)), cache)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


def test_avg_pool2d_hand_computed():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = F.avg_pool2d_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(F.avg_pool2d_backward(np.ones((1, 1, 2, 2)), cache),
                                  np.full((1, 1, 4, 4), 0.25))


@pytest.mark.parametrize("forward, backward", [
    (F.max_pool2d_forward, F.max_pool2d_backward),
    (F.avg_pool2d_forward, F.avg_pool2d_backward)])
@pytest.mark.parametrize("shape, kernel_size", [((4, 8, 12, 12), 2), ((2, 3, 7, 9), 3)])
def test_pool_float32_in_gives_float32_out(forward, backward, shape, kernel_size):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out, cache = forward(x, kernel_size)
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == np.float32
    assert dx.shape == x.shape


@pytest.mark.parametrize("forward", [F.max_pool2d_forward, F.avg_pool2d_forward])
@pytest.mark.parametrize("x, kwargs, match", [
    (np.zeros((3, 28, 28)), {}, r"x must be 4-D \(N, C, H, W\), got shape \(3, 28, 28\)"),
    (np.zeros((1, 1, 3, 5)), dict(kernel_size=4),
     r"kernel_size \(4, 4\) is larger than the input \(3, 5\)"),
    (np.zeros((1, 1, 4, 4)), dict(kernel_size=0), r"kernel_size must be a positive int"),
    (np.zeros((1, 1, 4, 4)), dict(stride=0), r"stride must be a positive int .* got 0"),
    (np.zeros((1, 1, 4, 4)), dict(stride=1.0), r"stride must be a positive int .* got 1\.0"),
])
def test_pool_forward_rejects_bad_input(forward, x, kwargs, match):
    args = dict(kernel_size=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        forward(x, **args)


@pytest.mark.parametrize("forward, backward, name", [
    (F.max_pool2d_forward, F.max_pool2d_backward, "max_pool2d"),
    (F.avg_pool2d_forward, F.avg_pool2d_backward, "avg_pool2d")])
def test_pool_backward_rejects_wrong_dout_and_missing_cache(forward, backward, name):
    out, cache = forward(np.zeros((2, 3, 8, 8)), 2)
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape "
                                         r"\(2, 3, 4, 4\), got \(2, 3, 8, 8\)"):
        backward(np.zeros((2, 3, 8, 8)), cache)
    with pytest.raises(ValueError, match=f"cache is None - call {name}_forward first"):
        backward(out, None)


@pytest.mark.parametrize("kind", ["random", "ties"])
@pytest.mark.parametrize("kernel_size", [2, (2, 3), 3])
def test_tiled_max_pool2d_in_one_image_chunks_on_two_threads_matches_torch(
        monkeypatch, kernel_size, kind):
    """CHUNK_BYTES=1 makes every image its own chunk, shared by two threads."""
    import cnnlib.functional.pool as pool_module
    from cnnlib import _threads

    monkeypatch.setattr(pool_module, "CHUNK_BYTES", 1)
    x, rng = _inputs((5, 3, 6, 12), kind)
    with _threads.num_threads(2):
        out, cache = F.max_pool2d_forward(x, kernel_size)
        assert cache["tiled"]
        dout = rng.standard_normal(out.shape)
        dx = F.max_pool2d_backward(dout, cache)
    t_out, t_dx = _torch_pool(TF.max_pool2d, x, kernel_size, None, dout)
    np.testing.assert_array_equal(out, t_out)
    np.testing.assert_array_equal(dx, t_dx)
