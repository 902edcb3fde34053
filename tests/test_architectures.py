"""cnnlib.architectures (Lesson 10): blocks, builders, costs against PyTorch, transfer helpers, 1-D conv."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib import architectures as A
from cnnlib.models import CapstoneNet


@pytest.mark.parametrize("name", list(A.ARCHITECTURES))
def test_every_architecture_maps_28x28_digits_to_10_logits_and_traces_with_fx(name):
    torch.manual_seed(0)
    model = A.ARCHITECTURES[name]().eval()
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert model(x).shape == (3, 10)
        traced = torch.fx.symbolic_trace(model)
        assert torch.allclose(traced(x), model(x))


def test_known_parameter_counts():
    assert A.count_params(A.lenet5()) == 61_706
    assert A.count_params(A.classic_cnn()) == 93_322
    assert A.count_params(CapstoneNet()) == A.count_params(A.capstone())
    model = A.lenet5()
    A.freeze(model)
    model[-1].weight.requires_grad_(True)
    assert A.count_params(model, trainable_only=True) == 84 * 10


@pytest.mark.parametrize("c_in,c_out,k,h,w", [(1, 1, 1, 1, 1), (3, 8, 3, 7, 5), (16, 32, 5, 14, 14)])
def test_conv_params_and_macs_match_counted_layers(c_in, c_out, k, h, w):
    std = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    sep = A.SeparableConv2d(c_in, c_out, k, padding=k // 2)
    for layer, separable in ((std, False), (sep, True)):
        params, macs = A.conv_params_and_macs(c_in, c_out, k, h, w, separable)
        assert params == A.count_params(layer)
        assert macs == A.count_macs(layer, (c_in, h, w))
    # by hand: a 3x3 conv 32 -> 64 on 14x14
    assert A.conv_params_and_macs(32, 64, 3, 14, 14) == (64 * 32 * 9 + 64, 64 * 32 * 9 * 14 * 14)
    assert A.conv_params_and_macs(32, 64, 3, 14, 14, True) == (32 * 9 + 32 + 32 * 64 + 64, (32 * 9 + 32 * 64) * 196)


def test_conv_params_and_macs_rejects_bad_sizes_and_never_overflows():
    for bad in [(0, 1, 1, 1, 1), (1, -2, 1, 1, 1), (1, 1, 1.5, 1, 1), (True, 1, 1, 1, 1)]:
        with pytest.raises(ValueError):
            A.conv_params_and_macs(*bad)
    params, macs = A.conv_params_and_macs(10 ** 6, 10 ** 6, 7, 10 ** 4, 10 ** 4)
    assert macs == 10 ** 12 * 49 * 10 ** 8 and isinstance(macs, int)


def test_count_macs_per_layer_and_linear():
    total, rows = A.count_macs(A.lenet5(), per_layer=True)
    assert [r[1] for r in rows] == ["Conv2d", "Conv2d", "Linear", "Linear", "Linear"]
    assert rows[0][2] == (6, 28, 28) and rows[0][3] == 6 * 28 * 28 * 25
    assert total == 6 * 784 * 25 + 16 * 100 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    model = A.lenet5().train()
    A.count_macs(model)
    assert model.training                                   # the mode is restored


def test_residual_block_keeps_shapes_has_an_identity_path_and_plain_block_has_none():
    torch.manual_seed(0)
    block = A.ResidualBlock(4, batchnorm=False).eval()
    x = torch.randn(2, 4, 5, 7)
    assert block(x).shape == x.shape
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
        assert torch.equal(block(x), F.relu(x))             # zero convolutions: only the shortcut is left
        plain = A.PlainBlock(4, batchnorm=False).eval()
        for p in plain.parameters():
            p.zero_()
        assert torch.equal(plain(x), torch.zeros_like(x))
    down = A.DownBlock(4, 8).eval()
    assert down(x).shape == (2, 8, 3, 4)
    torch.fx.symbolic_trace(A.ResidualBlock(3))


def test_separable_conv_is_a_grouped_conv_then_a_1x1_conv():
    torch.manual_seed(0)
    sep = A.SeparableConv2d(3, 5, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 9, 8)
    by_hand = F.conv2d(F.conv2d(x, sep.depthwise.weight, sep.depthwise.bias, stride=2, padding=1, groups=3),
                       sep.pointwise.weight, sep.pointwise.bias)
    assert sep.depthwise.weight.shape == (3, 1, 3, 3)
    assert torch.allclose(sep(x), by_hand, atol=1e-6)


def test_standard_and_separable_twins_and_deep_nets():
    torch.manual_seed(0)
    std, sep = A.standard_net(), A.separable_net()
    x = torch.randn(2, 1, 28, 28)
    assert std(x).shape == sep(x).shape == (2, 10)
    assert A.count_params(sep) < A.count_params(std) / 3
    for residual in (True, False):
        net = A.deep_net(5, residual=residual)
        assert isinstance(net[0], nn.Conv2d) and net(x).shape == (2, 10)
    net = A.deep_net(2, block=lambda c: A.ResidualBlock(c, batchnorm=False))
    assert sum(isinstance(m, A.ResidualBlock) for m in net) == 2


def test_first_layer_grad_norm_matches_backward_and_leaves_grads_alone():
    torch.manual_seed(0)
    net = A.deep_net(2, residual=True)
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    got = A.first_layer_grad_norm(net, x, y)
    assert all(p.grad is None for p in net.parameters())
    F.cross_entropy(net(x), y).backward()
    assert got == pytest.approx(float(net[0].weight.grad.norm()), rel=1e-5)


def test_time_inference_and_cost_table():
    assert A.time_inference(A.lenet5(), batch=4, repeats=2) > 0
    rows = A.cost_table({"LeNet-5": A.lenet5}, batch=4, repeats=1)
    assert rows[0]["params"] == 61_706 and rows[0]["macs"] == A.count_macs(A.lenet5())
    assert rows[0]["out_shape"] == (2, 10) and rows[0]["ms"] > 0


def test_freeze_and_replace_head_leave_only_the_new_head_trainable():
    torch.manual_seed(0)
    net = A.replace_head(A.freeze(CapstoneNet()), 5)
    assert A.trainable_names(net) == ["classifier.2.weight", "classifier.2.bias"]
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 5)
    assert A.trainable_names(A.unfreeze(net)) == [n for n, _ in net.named_parameters()]
    seq = A.replace_head(A.freeze(A.lenet5().double()), 3)
    assert seq[-1].weight.dtype == torch.float64 and seq[-1].out_features == 3 and seq[-5].in_features == 400
    with pytest.raises(ValueError):
        A.replace_head(nn.Sequential(nn.Conv2d(1, 2, 3)), 10)
    with pytest.raises(ValueError):
        A.replace_head(A.lenet5(), 0)


def test_per_class_indices_are_balanced_nested_and_seeded():
    labels = np.random.default_rng(0).integers(0, 10, 5000)
    small, big = A.per_class_indices(labels, 10, seed=3), A.per_class_indices(labels, 100, seed=3)
    assert len(small) == 100 and np.all(np.bincount(labels[small]) == 10)
    assert set(small) <= set(big) and np.array_equal(small, A.per_class_indices(labels, 10, seed=3))
    with pytest.raises(ValueError):
        A.per_class_indices(labels, 10_000)


def test_train_lowers_the_loss_and_accuracy_counts_per_class():
    torch.manual_seed(0)
    x = torch.randn(200, 6)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(6, 2)
    out = A.train(model, x, y, steps=60, lr=0.1, batch_size=50)
    assert np.mean(out["losses"][-10:]) < np.mean(out["losses"][:10])
    acc, per_class = A.accuracy(model, x, y, num_classes=3)
    assert acc > 0.9 and np.isnan(per_class[2]) and per_class[:2].min() > 0.8
    with pytest.raises(ValueError):
        A.train(A.freeze(nn.Linear(2, 2)), x[:, :2], y, 1, 0.1)


def test_transfer_steps():
    assert A.transfer_steps(100) == (150, 32)
    assert A.transfer_steps(10_000) == (2 * 79, 128)
    assert A.transfer_steps(60_000) == (2 * 469, 128)
    assert A.transfer_steps(10_000, fast=True) == (30, 128)


@pytest.mark.parametrize("method", A.METHODS)
def test_transfer_run_trains_only_what_each_method_trains(method):
    torch.manual_seed(1)
    pre = CapstoneNet().eval()
    state = {k: v.clone() for k, v in pre.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    x_train, x_test = torch.randn(60, 1, 28, 28, generator=g), torch.randn(40, 1, 28, 28, generator=g)
    data = {"x_train": x_train, "y_train": torch.arange(60) % 10, "x_test": x_test, "y_test": torch.arange(40) % 10,
            "f_train": A.conv_features(pre, x_train), "f_test": A.conv_features(pre, x_test)}
    seen = []
    run = A.transfer_run(method, state, data, 3, fast=True, progress=seen.append)
    assert run["n_train"] == 30 and run["steps"] == 30 and 0 <= run["acc"] <= 1 and run["per_class"].shape == (10,)
    assert seen[-1] == pytest.approx(1.0) and not run["model"].training
    conv = run["model"].features[0].weight.detach()
    if method == "frozen":
        assert torch.equal(conv, state["features.0.weight"])
    else:
        assert not torch.equal(conv, state["features.0.weight"])
    with pytest.raises(ValueError):
        A.transfer_run("nope", state, data, 3)


@pytest.mark.parametrize("n,c,f,l,k,stride,padding", [(1, 1, 1, 5, 3, 1, 0), (2, 3, 4, 17, 5, 2, 2),
                                                      (3, 2, 5, 8, 8, 1, 3), (1, 4, 2, 10, 1, 3, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_matches_torch(n, c, f, l, k, stride, padding, dtype):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((n, c, l), (f, c, k), (f,)))
    got = A.conv1d(x, w, b, stride, padding)
    want = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding).numpy()
    assert got.shape == want.shape == (n, f, A.conv1d_output_size(l, k, stride, padding)) and got.dtype == dtype
    assert np.allclose(got, want, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert np.allclose(A.conv1d(x, w, None, stride, padding), want - b[:, None], atol=1e-5)


def test_conv1d_rejects_bad_shapes():
    with pytest.raises(ValueError):
        A.conv1d(np.ones((2, 5)), np.ones((1, 1, 3)))
    with pytest.raises(ValueError):
        A.conv1d(np.ones((1, 2, 5)), np.ones((1, 3, 3)))


def test_make_waveforms_is_seeded_balanced_and_classifiable_by_its_shapes():
    x, y = A.make_waveforms(40, length=64, seed=5)
    x2, y2 = A.make_waveforms(40, length=64, seed=5)
    assert x.shape == (40, 1, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and np.all(np.bincount(y) == 10)
    clean, labels = A.make_waveforms(8, length=64, seed=1, noise=0.0)
    square = clean[labels == 1, 0]
    assert all(len(np.unique(np.round(s, 6))) == 2 for s in square)          # two levels only
    torch.manual_seed(0)
    assert A.sequence_cnn()(torch.from_numpy(x)).shape == (40, 4)
    assert A.sequence_mlp(length=64)(torch.from_numpy(x)).shape == (40, 4)
