"""Lesson 09's toolkit (cnnlib.widgets.inside) and the pure functions behind its three widgets, against torch."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from cnnlib.kernels import get_kernel  # noqa: E402
from cnnlib.models import CapstoneNet  # noqa: E402
from cnnlib.receptive import receptive_field  # noqa: E402
from cnnlib.reference_model import pixel_model  # noqa: E402
from cnnlib.widgets import inside  # noqa: E402
from cnnlib.widgets import inside_features as wf  # noqa: E402
from cnnlib.widgets import inside_fgsm as wg  # noqa: E402
from cnnlib.widgets import inside_occlusion as wo  # noqa: E402


@pytest.fixture(scope="module")
def model():
    """An untrained but fixed capstone network on pixels (with non-trivial BatchNorm statistics)."""
    torch.manual_seed(0)
    net = CapstoneNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return pixel_model(net.eval())


@pytest.fixture(scope="module")
def digits():
    """Smooth random blobs in [0, 1] that look a little like strokes: (12, 1, 28, 28)."""
    g = torch.Generator().manual_seed(1)
    x = F.avg_pool2d(torch.rand(12, 1, 34, 34, generator=g), 7, stride=1)
    low, high = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
    return (x - low) / (high - low)


def _small(seed=0, c_in=1, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(c_in, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.3), nn.LazyLinear(4)).to(dtype)


# --- filters -------------------------------------------------------------------------------------

def test_normalize_filters_scales_each_filter_and_keeps_zero_grey():
    w = np.array([[[[1., -2], [0, 4]]], [[[-0.5, 0.25], [0, 0]]], [[[0., 0], [0, 0]]]])
    out = inside.normalize_filters(w)
    np.testing.assert_allclose(out, [[[[0.625, 0.25], [0.5, 1]]], [[[0, 0.75], [0.5, 0.5]]],
                                     [[[0.5, 0.5], [0.5, 0.5]]]])
    assert out.dtype == np.float64 and w[0, 0, 1, 1] == 4                     # a new array
    wt = torch.randn(8, 3, 5, 5, dtype=torch.float64)
    np.testing.assert_allclose(inside.normalize_filters(wt.numpy()),
                               (0.5 + 0.5 * wt / wt.abs().amax(dim=(1, 2, 3), keepdim=True)).numpy(), atol=1e-15)
    with pytest.raises(ValueError, match="F, C, KH, KW"):
        inside.normalize_filters(np.ones((3, 3)))


def test_kernel_similarity_is_the_cosine():
    kernels = {"sobel_x": get_kernel("sobel_x"), "sobel_y": get_kernel("sobel_y"), "blur": get_kernel("box_blur")}
    filters = np.stack([2 * get_kernel("sobel_x"), -get_kernel("sobel_y"), np.zeros((3, 3))])
    sim = inside.kernel_similarity(filters, kernels)
    np.testing.assert_allclose(sim[0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(sim[1], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(sim[2], [0, 0, 0])
    with pytest.raises(ValueError):
        inside.kernel_similarity(np.ones((2, 2, 2)), kernels)


# --- feature maps ----------------------------------------------------------------------------------

def test_stages_shapes_and_receptive_fields_of_the_capstone_network(model, digits):
    names = [n for n, _ in inside.stages(model)]
    assert names == ["conv1", "pool1", "conv2", "conv3", "pool2", "conv4", "pool3"]
    outs = inside.layer_outputs(model, digits[:2])
    shapes = {k: tuple(v.shape) for k, v in outs.items()}
    assert shapes == {"conv1": (2, 16, 28, 28), "pool1": (2, 16, 14, 14), "conv2": (2, 32, 14, 14),
                      "conv3": (2, 32, 14, 14), "pool2": (2, 32, 7, 7), "conv4": (2, 64, 7, 7),
                      "pool3": (2, 64, 3, 3), "logits": (2, 10)}
    net = model.net
    with torch.no_grad():
        torch.testing.assert_close(outs["pool3"], net.features(model.standardize(digits[:2])))
        torch.testing.assert_close(outs["conv1"], net.features[:3](model.standardize(digits[:2])))
    assert all((v >= 0).all() for k, v in outs.items() if k != "logits")        # after ReLU / max of ReLUs
    conv3, pool2 = (3, 1), (2, 2)
    expected = {"conv1": [conv3], "pool1": [conv3, pool2], "conv2": [conv3, pool2, conv3]}
    fields = inside.receptive_fields(model)
    for name, layers in expected.items():
        assert fields[name] == receptive_field(layers)[0]
    assert fields == {"conv1": 3, "pool1": 4, "conv2": 8, "conv3": 12, "pool2": 14, "conv4": 22, "pool3": 26}
    assert not any(p.grad is not None for p in model.parameters())


def test_channel_scores_are_map_maxima_and_top_images_rank_them(model, digits):
    scores = inside.channel_scores(model, digits, batch_size=5)                  # batches of 5, 5, 2
    outs = inside.layer_outputs(model, digits)
    for name in ("conv1", "conv4", "pool3"):
        np.testing.assert_allclose(scores[name], outs[name].amax(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    s = np.array([[1., 5], [3, 2], [3, 9], [0, 1]])
    np.testing.assert_array_equal(inside.top_images(s, 0, k=3), [1, 2, 0])     # ties keep the first
    np.testing.assert_array_equal(inside.top_images(s, 1, k=2), [2, 0])


def test_class_purity_hand_case():
    scores = np.array([[9., 1], [8, 2], [7, 3], [1, 9], [0, 8]])
    labels = np.array([3, 3, 5, 5, 1])
    purity, top_class = inside.class_purity(scores, labels, k=2)
    np.testing.assert_allclose(purity, [1.0, 0.5])                              # channel 0: two 3s; channel 1: 5 and 1
    assert top_class[0] == 3


# --- saliency ------------------------------------------------------------------------------------

def _loop_saliency(model, x, targets):
    rows = []
    for n in range(len(x)):
        xi = x[n:n + 1].clone().requires_grad_(True)
        model(xi)[0, int(targets[n])].backward()
        rows.append(xi.grad.abs().amax(dim=1)[0])
    return torch.stack(rows)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_saliency_equals_one_backward_per_image_and_leaves_the_model_alone(dtype):
    model = _small(1, c_in=2, dtype=dtype)
    x = torch.randn(3, 2, 10, 8, dtype=dtype)
    model(x)                                                                     # materialise LazyLinear
    model.train()
    for p in model.parameters():
        p.grad = None
    before = x.clone()
    got = inside.saliency_map(model, x, [2, 0, 3])
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert torch.equal(x, before) and not x.requires_grad and not got.requires_grad
    assert got.shape == (3, 10, 8) and got.dtype == dtype
    ref = _loop_saliency(model.eval(), x, [2, 0, 3])
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(inside.saliency_map(model, x[:1], 1), _loop_saliency(model, x[:1], [1]))
    with pytest.raises(ValueError):
        inside.saliency_map(model, x[0], 1)
    with pytest.raises(ValueError):
        inside.saliency_map(model, x, [1, 2])


def test_saliency_of_a_linear_model_is_the_weight_row():
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1., -2, 0, 3], [0.5, 0.5, -1, 0]]))
    got = inside.saliency_map(nn.Sequential(nn.Flatten(), layer), torch.rand(1, 1, 2, 2), 0)
    torch.testing.assert_close(got, torch.tensor([[[1., 2], [0, 3]]]))


def test_smoothgrad_averages_the_signed_gradients_over_noisy_copies(model, digits):
    x, y = digits[:2], torch.tensor([3, 7])
    torch.testing.assert_close(inside.smoothgrad(model, x, y, n=3, sigma=0.0), inside.saliency_map(model, x, y))
    got = inside.smoothgrad(model, x, y, n=4, sigma=0.2, seed=5)
    g = torch.Generator().manual_seed(5)
    noise = torch.randn((2, 4, 1, 28, 28), generator=g) * 0.2
    manual = torch.stack([torch.stack([inside.input_gradient(model, x[i:i + 1] + noise[i, k], y[i])[0]
                                       for k in range(4)]).mean(0).abs().amax(0) for i in range(2)])
    torch.testing.assert_close(got, manual, atol=1e-5, rtol=1e-4)
    grad = inside.input_gradient(model, x, y)
    torch.testing.assert_close(grad.abs().amax(1), inside.saliency_map(model, x, y))
    assert grad.shape == x.shape and not grad.requires_grad


# --- occlusion -----------------------------------------------------------------------------------

def _loop_occlusion(model, x, target, patch, stride, fill):
    with torch.no_grad():
        p0 = torch.softmax(model(x), 1)[0, target]
        H, W = x.shape[2:]
        rows = []
        for r in range(0, H - patch + 1, stride):
            row = []
            for c in range(0, W - patch + 1, stride):
                xo = x.clone()
                xo[:, :, r:r + patch, c:c + patch] = fill
                row.append(p0 - torch.softmax(model(xo), 1)[0, target])
            rows.append(torch.stack(row))
    return torch.stack(rows)


@pytest.mark.parametrize("patch, stride, fill", [(5, 3, 0.5), (6, 4, 0.0), (2, 5, 1.0), (28, 1, 0.5), (1, 9, 0.2)])
def test_occlusion_equals_a_loop_over_positions(model, digits, patch, stride, fill):
    x = digits[3:4]
    before = x.clone()
    got = inside.occlusion_map(model, x, 4, patch, stride, fill, batch_size=7)   # several batches
    assert got.shape == inside.occlusion_size(28, 28, patch, stride) == ((28 - patch) // stride + 1,) * 2
    torch.testing.assert_close(got, _loop_occlusion(model, x, 4, patch, stride, fill), atol=1e-6, rtol=1e-5)
    assert torch.equal(x, before)


def test_occlusion_covers_every_channel_of_non_square_images():
    model = _small(2, c_in=2, dtype=torch.float64)
    x = torch.rand(1, 2, 12, 9, dtype=torch.float64)
    model(x)
    model.eval()
    got = inside.occlusion_map(model, x, 1, 3, 2, 0.5)
    assert got.shape == (5, 4) and got.dtype == torch.float64
    torch.testing.assert_close(got, _loop_occlusion(model, x, 1, 3, 2, 0.5))


@pytest.mark.parametrize("shape, patch, stride", [((2, 1, 8, 8), 2, 1), ((8, 8), 2, 1), ((1, 1, 8, 8), 9, 1),
                                                  ((1, 1, 8, 8), 0, 1), ((1, 1, 8, 8), 2, 0)])
def test_occlusion_rejects_bad_input(model, shape, patch, stride):
    with pytest.raises(ValueError):
        inside.occlusion_map(model, torch.rand(*shape), 0, patch, stride)


def test_upsample_occlusion_averages_the_covering_squares():
    spread = inside.upsample_occlusion([[1.0, 3.0]], patch=2, stride=1, H=2, W=4)
    np.testing.assert_allclose(spread, [[1, 2, 3, np.nan], [1, 2, 3, np.nan]])
    full = inside.upsample_occlusion(np.ones((8, 8)), 5, 3, 28, 28)
    assert np.isnan(full[26:]).all() and np.isnan(full[:, 26:]).all() and np.allclose(full[:26, :26], 1)


# --- activation maximisation ---------------------------------------------------------------------

def test_maximize_input_raises_the_chosen_logit_and_channel(model):
    start, _ = inside.maximize_input(model, [2, 5], steps=0)
    images, logits = inside.maximize_input(model, [2, 5], steps=30, lr=0.1, l2=0.01)
    assert images.shape == (2, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    with torch.no_grad():
        before = model(start)[[0, 1], [2, 5]]
        after = model(images)[[0, 1], [2, 5]]
    assert (after > before + 0.02).all()
    np.testing.assert_allclose(logits, after.numpy(), rtol=1e-5, atol=1e-5)
    images, values = inside.maximize_input(model, [0, 3], stage="conv4", steps=20, blur_every=5)
    outs = inside.layer_outputs(model, images)["conv4"]
    np.testing.assert_allclose(values, [outs[0, 0].mean(), outs[1, 3].mean()], rtol=1e-5, atol=1e-6)
    assert not any(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="unknown stage"):
        inside.maximize_input(model, [0], stage="conv9", steps=1)


# --- adversarial examples ------------------------------------------------------------------------

def test_fgsm_is_the_clipped_signed_gradient_step(model, digits):
    x, y = digits[:4], torch.tensor([0, 3, 5, 9])
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    expected = (x + 0.1 * xr.grad.sign()).clamp(0, 1)
    for p in model.parameters():
        p.grad = None
    got = inside.fgsm(model, x, y, 0.1)
    torch.testing.assert_close(got, expected)
    assert not got.requires_grad and all(p.grad is None for p in model.parameters())
    assert 0 <= got.min() and got.max() <= 1 and (got - x).abs().max() <= 0.1 + 1e-6
    torch.testing.assert_close(inside.fgsm(model, x, y, 0.0), x)
    with pytest.raises(ValueError):
        inside.fgsm(model, x, y, -0.01)


def test_attack_table_equals_calling_the_attack_for_every_eps(model, digits):
    y = inside.probabilities(model, digits).argmax(1)                            # all "correct" at eps 0
    fast = inside.attack_table(model, digits, y, [0.0, 0.05, 0.2], batch_size=5)
    slow = inside.attack_table(model, digits, y, [0.0, 0.05, 0.2], attack=inside.fgsm, batch_size=5)
    assert fast == slow
    assert fast[0]["fgsm_acc"] == fast[0]["noise_acc"] == 1.0 and fast[2]["fgsm_acc"] < 1.0


# --- the learned representation -------------------------------------------------------------------

def test_penultimate_features_are_the_input_of_the_last_linear_layer(model, digits):
    feats = inside.penultimate_features(model, digits, batch_size=5)
    with torch.no_grad():
        expected = model.net.features(model.standardize(digits)).flatten(1)
    assert feats.shape == (12, 576)
    np.testing.assert_allclose(feats, expected.numpy(), rtol=1e-5, atol=1e-6)
    again, logits = inside.penultimate_features(model, digits, batch_size=7, logits=True)
    np.testing.assert_array_equal(again, feats)
    torch.testing.assert_close(torch.softmax(logits, 1), inside.probabilities(model, digits))


def test_pca_matches_the_svd_and_centroid_accuracy_hand_case():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1]) + 4
    mean, comps, explained = inside.pca_fit(X, k=2)
    _, s, vt = np.linalg.svd(X - X.mean(0), full_matrices=False)
    np.testing.assert_allclose(np.abs(comps.T), np.abs(vt[:2]), atol=1e-8)
    np.testing.assert_allclose(explained, s[:2] ** 2 / (s ** 2).sum())
    z, expl2 = inside.pca_2d(X)
    np.testing.assert_allclose(z, (X - mean) @ comps)
    np.testing.assert_allclose(np.cov(z.T), np.diag(s[:2] ** 2 / 199), atol=1e-8)
    assert (comps[np.abs(comps).argmax(0), [0, 1]] > 0).all()                     # oriented reproducibly
    z = np.array([[0., 0], [0, 1], [10, 10], [10, 11], [0.2, 0.1]])
    assert inside.centroid_accuracy(z, np.array([0, 0, 1, 1, 1])) == pytest.approx(0.8)


# --- widget views ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pool(model, digits):
    images = digits[:, 0].numpy()
    labels = np.arange(12) % 10
    return images, labels, inside.channel_scores(model, digits)


def test_feature_view_and_figure(model, pool):
    images, labels, scores = pool
    view = wf.feature_view(model, images, labels, scores, 3, "conv3", 5, k=4)
    outs = inside.layer_outputs(model, torch.as_tensor(images[3:4])[:, None])
    np.testing.assert_allclose(view["fmap"], outs["conv3"][0, 5].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(view["top"], inside.top_images(scores["conv3"], 5, 4))
    assert view["top_tiles"].shape == (2 * 29 - 1, 2 * 29 - 1) and view["pred"] == int(outs["logits"][0].argmax())
    assert view["fmap"][view["peak_at"]] == view["peak"] and "conv3, channel 5 of 32" in view["caption"]
    assert wf.feature_view(model, images, labels, scores, 0, "pool3", 999)["channel"] == 63     # clamped
    plot = wf.FeatureFigure(view)
    image_artist = plot.im_map
    small = wf.feature_view(model, images, labels, scores, 1, "pool3", 2)
    assert plot.update(small) is plot.figure and plot.im_map is image_artist and len(plot.figure.axes) == 3
    assert plot.im_map.get_array().shape == (3, 3) and plot.axes[1].get_xlim() == (-0.5, 2.5)
    tiles = wf.tile_images(np.ones((3, 2, 2)), ncols=2)
    assert tiles.shape == (5, 5) and np.isnan(tiles[3:, 3:]).all() and (tiles[:2, :2] == 1).all()
    assert wf.stage_choices({"conv1": (16, 28, 28)}) == [("conv1: 16 × 28 × 28", "conv1")]


def test_occlusion_view_memoises_and_explains_the_chosen_class(model, pool):
    images, labels, _ = pool
    memo, calls = {}, []

    def counting(*args):
        calls.append(args[2:])
        return inside.occlusion_map(*args)

    view = wo.occlusion_view(model, images[2], 7, 6, 2, 0.5, "true", occlusion=counting, memo=memo)
    again = wo.occlusion_view(model, images[2], 7, 6, 2, 0.5, "true", occlusion=counting, memo=memo)
    assert len(calls) == 1 and np.array_equal(view["drop"], again["drop"])
    x = torch.as_tensor(images[2])[None, None]
    np.testing.assert_allclose(view["drop"], inside.occlusion_map(model, x, 7, 6, 2, 0.5).numpy(), atol=1e-7)
    np.testing.assert_allclose(view["saliency"], inside.saliency_map(model, x, 7)[0].numpy(), rtol=1e-6)
    r, c = view["worst"]
    assert view["drop"][r // 2, c // 2] == view["drop"].max() and (view["occluded"][r:r + 6, c:c + 6] == 0.5).all()
    assert view["p_worst"] == pytest.approx(view["p"] - view["drop"].max())
    assert view["target"] == 7 and view["spread"].shape == (28, 28)
    pred = wo.occlusion_view(model, images[2], 7, 6, 2, 0.0, "predicted", memo=memo)
    assert pred["target"] == pred["pred"] and len(memo) == 4
    plot = wo.OcclusionFigure(view)
    assert plot.update(pred) is plot.figure and len(plot.figure.axes) == 3


def test_fgsm_view_and_figure(model, pool):
    images, labels, _ = pool
    view = wg.fgsm_view(model, images[0], 4, 0.2)
    x = torch.as_tensor(images[0])[None, None]
    adv = inside.fgsm(model, x, torch.tensor([4]), 0.2)
    np.testing.assert_allclose(view["adversarial"], adv[0, 0].numpy())
    np.testing.assert_allclose(view["perturbation"], (adv - x)[0, 0].numpy(), atol=1e-7)
    np.testing.assert_allclose(view["p_adv"], inside.probabilities(model, adv)[0].numpy(), rtol=1e-5, atol=1e-7)
    assert view["max_change"] <= 0.2 + 1e-6 and view["flipped"] == (view["pred_adv"] != view["pred_clean"])
    clean = wg.fgsm_view(model, images[0], 4, 0.0)
    assert clean["max_change"] == 0 and clean["pred_adv"] == clean["pred_clean"] and not clean["flipped"]
    plot = wg.FGSMFigure(view)
    assert plot.update(clean) is plot.figure and len(plot.figure.axes) == 4
    assert [b.get_height() for b in plot.adv] == pytest.approx(list(clean["p_adv"]))


@pytest.mark.parametrize("make, key, value", [
    ("features", "stage", "pool2"), ("features", "channel", 9), ("features", "index", 5),
    ("occlusion", "patch", 9), ("occlusion", "stride", 3), ("occlusion", "explain", "predicted"),
    ("occlusion", "fill", 0.0), ("fgsm", "eps", 0.25), ("fgsm", "index", 3)])
def test_widgets_draw_a_new_frame_when_a_control_moves(model, pool, make, key, value):
    images, labels, scores = pool
    live = {"features": lambda: wf.feature_browser(model, images, labels, scores),
            "occlusion": lambda: wo.occlusion_explorer(model, images[:4], labels[:4]),
            "fgsm": lambda: wg.fgsm_slider(model, images[:6], labels[:6])}[make]()
    frames = live.frames
    live.controls[key].value = value
    live.wait()
    assert live.frames > frames and live.last_error is None and isinstance(live.figure, Figure)
    if make == "features" and key == "stage":
        assert live.controls["channel"].max == 31                                # pool2 has 32 channels
    assert str(value) in live.state.value or key in ("fill",)
