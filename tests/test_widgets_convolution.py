"""Pure functions behind the lesson-01 widgets (kernel explorer, output size, parameter counts)."""
import matplotlib

matplotlib.use("Agg")

from decimal import ROUND_HALF_UP, Decimal  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib.kernels import get_kernel  # noqa: E402
from cnnlib.widgets import conv_params as cp  # noqa: E402
from cnnlib.widgets import conv_size as cs  # noqa: E402
from cnnlib.widgets import convolution as cw  # noqa: E402
from cnnlib.widgets import convolution_explorer as cw_ex  # noqa: E402


def torch_map(image, kernel, stride, padding):
    x = torch.tensor(image, dtype=torch.float64)[None, None]
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


# --- kernel explorer -------------------------------------------------------------------------

def test_feature_map_hand_computed_2x2_kernel_is_not_flipped():
    image = np.array([[1., 2, 3], [4, 5, 6], [7, 8, 9]])
    kernel = np.array([[1., 0], [0, -1]])
    np.testing.assert_array_equal(cw.feature_map(image, kernel), [[-4, -4], [-4, -4]])
    kernel = np.array([[0., 1], [2, 0]])  # asymmetric: a flipped kernel would give 2*2+4=8 at [0,0]
    np.testing.assert_array_equal(cw.feature_map(image, kernel), [[2 + 8, 3 + 10], [5 + 14, 6 + 16]])


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 1)])
def test_feature_map_equals_torch_conv2d(stride, padding, kshape):
    rng = np.random.default_rng(stride * 10 + padding)
    image, kernel = rng.standard_normal((9, 7)), rng.standard_normal(kshape)
    np.testing.assert_allclose(cw.feature_map(image, kernel, stride, padding),
                               torch_map(image, kernel, stride, padding), atol=1e-12)


def test_feature_map_adds_bias_and_rejects_bad_input():
    np.testing.assert_array_equal(cw.feature_map(np.ones((2, 2)), np.ones((2, 2)), bias=0.5), [[4.5]])
    with pytest.raises(ValueError, match="larger than the padded"):
        cw.feature_map(np.ones((2, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        cw.feature_map(np.ones((1, 2, 2)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="stride"):
        cw.feature_map(np.ones((4, 4)), np.ones((2, 2)), stride=0)
    with pytest.raises(ValueError, match="padding"):
        cw.feature_map(np.ones((4, 4)), np.ones((2, 2)), padding=-1)


def test_pad_image_adds_zeros_on_every_side():
    padded = cw.pad_image(np.ones((2, 3)), 2)
    assert padded.shape == (6, 7)
    assert padded.sum() == 6 and padded[2:4, 2:5].min() == 1


def test_window_at_uses_stride_and_padding():
    image = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(cw.window_at(image, (2, 2), 1, 0, stride=2), [[8, 9], [12, 13]])
    # padding 1: output [0, 0] covers the zero border plus image[0, 0]
    np.testing.assert_array_equal(cw.window_at(image, (2, 2), 0, 0, padding=1), [[0, 0], [0, 0]])
    np.testing.assert_array_equal(cw.window_at(image, (2, 2), 0, 1, stride=2, padding=1),
                                  [[0, 0], [1, 2]])


def test_window_dot_kernel_equals_the_feature_map_entry():
    rng = np.random.default_rng(3)
    image, kernel = rng.random((8, 6)), rng.random((3, 2))
    fmap = cw.feature_map(image, kernel, stride=2, padding=1)
    for (r, c), value in np.ndenumerate(fmap):
        assert np.isclose(np.sum(cw.window_at(image, kernel.shape, r, c, 2, 1) * kernel), value)


def test_window_at_rejects_positions_outside_the_feature_map():
    with pytest.raises(ValueError, match="outside the 2x2 feature map"):
        cw.window_at(np.zeros((3, 3)), (2, 2), 2, 0)


def test_dot_product_text_writes_each_term_and_the_sum():
    text = cw.dot_product_text(np.array([[0, .5], [1, .25]]), np.array([[1, 0], [-1, 2]]))
    assert text == "0×1 + 0.5×0 + 1×(-1) + 0.25×2 = -0.5"


def test_dot_product_text_per_row_breaks_lines_and_rounds():
    text = cw.dot_product_text(np.full((2, 2), 1 / 3), np.ones((2, 2)), decimals=2, per_row=True)
    assert text == "0.33×1 + 0.33×1\n+ 0.33×1 + 0.33×1 = 1.33"


def _by_hand(text, decimals=2):
    """Multiply and add the written terms exactly, as a student checking the sum would."""
    from decimal import ROUND_HALF_UP, Decimal

    body, written = text.replace("\n", " ").rsplit(" = ", 1)
    total = Decimal(0)
    for term in body.lstrip("+ ").split(" + "):
        pixel, weight = term.split("×")
        total += Decimal(pixel) * Decimal(weight.strip("()"))
    return total.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP), Decimal(written)


@pytest.mark.parametrize("name", ["identity", "sobel_x", "sobel_y", "box_blur", "gaussian_blur",
                                  "sharpen", "laplacian", "edge"])
def test_dot_product_text_terms_add_up_to_the_written_sum_for_real_digits(name):
    rng = np.random.default_rng(11)
    for _ in range(200):
        window = rng.integers(0, 256, (3, 3)) / 255.0  # MNIST pixels scaled to [0, 1]
        text = cw.dot_product_text(window, get_kernel(name), per_row=True)
        by_hand, written = _by_hand(text)
        assert by_hand == written, text
        assert written == Decimal(repr(float(np.sum(window * get_kernel(name))))).quantize(
            Decimal("0.01"), ROUND_HALF_UP), text


def test_dot_product_text_writes_weights_exactly():
    text = cw.dot_product_text(np.ones((3, 3)), get_kernel("gaussian_blur"))
    assert "1×0.0625" in text and "1×0.125" in text and "1×0.25" in text and text.endswith("= 1")


def test_dot_product_text_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        cw.dot_product_text(np.ones((2, 2)), np.ones((3, 3)))


def test_explorer_figure_has_input_kernel_and_feature_map_axes():
    fig = cw.explorer_figure(np.random.default_rng(0).random((28, 28)), get_kernel("sobel_x"),
                             5, 7, stride=2, padding=1)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert "14×14" in fig.axes[2].get_title()


def test_explorer_view_clamps_position_and_matches_feature_map():
    image = np.random.default_rng(1).random((10, 10))
    view = cw.explorer_view(image, get_kernel("sharpen"), 50, 1, stride=3, padding=0)
    assert view["shape"] == (3, 3) and (view["row"], view["col"]) == (2, 1)
    value = cw.feature_map(image, get_kernel("sharpen"), 3)[2, 1]
    assert view["text"].endswith(f"= {value:.2f}".rstrip("0").rstrip("."))
    assert view["text"].startswith("output[2, 1] = sum of pixel × weight")
    assert len(view["figure"].axes) == 3


def test_kernel_explorer_preset_fills_weights_and_typing_a_weight_switches_to_custom():
    widget = cw.kernel_explorer(np.random.default_rng(0).random((3, 12, 12)), labels=[7, 2, 1])
    c = widget.controls
    c["kernel"].value = "sobel_y"
    widget.wait()
    np.testing.assert_array_equal([w.value for w in c["weights"]], get_kernel("sobel_y").ravel())
    np.testing.assert_array_equal(widget.view["kernel"], get_kernel("sobel_y"))
    c["weights"][0].value = 3.0  # editing a weight switches to "custom" and keeps the others
    widget.wait()
    assert c["kernel"].value == "custom" and widget.view["kernel"][0, 0] == 3.0
    assert widget.view["kernel"][2, 2] == 1.0 and "your own weights" in widget.caption.value


def test_kernel_explorer_choosing_custom_starts_from_zeros_at_once():
    widget = cw.kernel_explorer(np.random.default_rng(0).random((3, 12, 12)))
    widget.controls["kernel"].value = "custom"
    widget.wait()
    assert [w.value for w in widget.controls["weights"]] == [0.0] * 9
    assert not widget.view["kernel"].any() and "your own weights" in widget.caption.value


def test_kernel_explorer_position_sliders_follow_the_feature_map():
    widget = cw.kernel_explorer(np.random.default_rng(0).random((3, 12, 12)))
    c = widget.controls
    c["stride"].value, c["padding"].value = 3, 0  # feature map shrinks to 4x4: sliders follow
    widget.wait()
    assert c["row"].max == 3 and c["row"].value == 3 and widget.view["shape"] == (4, 4)
    assert "feature map 4×4, stride 3" in widget.view["titles"][2]


def test_explorer_figure_updates_in_place_and_weight_labels_stay_readable():
    image = np.random.default_rng(2).random((10, 10))
    state = cw_ex.explorer_state(image, get_kernel("sobel_x"), 2, 3)
    plot = cw_ex.ExplorerFigure(state)
    artists = (plot.im_in, plot.im_k, plot.im_out, *plot.weights)
    plot.update(cw_ex.explorer_state(image, get_kernel("gaussian_blur"), 1, 1, stride=2, padding=2))
    assert (plot.im_in, plot.im_k, plot.im_out, *plot.weights) == artists  # same artists, new data
    assert plot.im_in.get_array().shape == (14, 14) and plot.im_out.get_array().shape == (6, 6)
    assert [t.get_text() for t in plot.weights][:3] == ["0.0625", "0.125", "0.0625"]
    plot.update(cw_ex.explorer_state(image, get_kernel("sobel_x"), 1, 1))
    colours = {t.get_text(): t.get_color() for t in plot.weights}
    assert colours["-2"] == "white" and colours["2"] == "white" and colours["0"] == "black"
    assert all(t.get_fontsize() >= 10 for t in plot.weights)  # >= 8 pt on screen at 80 dpi


def test_kernel_explorer_caption_shows_the_sum_the_figure_shows():
    images = np.random.default_rng(5).random((2, 28, 28))
    view = cw_ex.kernel_explorer_view(images[0], get_kernel("sharpen").ravel(), 1, 1, 8, 5, kernel="sharpen")
    assert f"= {view['value']}" in view["caption"] and view["text"].endswith(f"= {view['value']}")


# --- output size -----------------------------------------------------------------------------

@pytest.mark.parametrize("H,K,S,P,size,exact,leftover", [
    (28, 3, 1, 0, 26, True, 0), (28, 3, 1, 1, 28, True, 0), (7, 3, 2, 0, 3, True, 0),
    (8, 3, 2, 0, 3, False, 1), (10, 3, 3, 0, 3, False, 1), (28, 5, 3, 0, 8, False, 2),
    (3, 3, 1, 0, 1, True, 0), (1, 3, 1, 1, 1, True, 0)])
def test_output_size_info_sizes_match_torch(H, K, S, P, size, exact, leftover):
    info = cs.output_size_info(H, K, S, P)
    assert (info.size, info.valid, info.exact, info.leftover) == (size, True, exact, leftover)
    assert info.positions == list(range(0, S * size, S))
    assert torch_map(np.zeros((H, H)), np.zeros((K, K)), S, P).shape == (size, size)


def test_output_size_info_explains_flooring():
    message = cs.output_size_info(8, 3, 2, 0).message
    assert "2.5" in message and "⌊2.5⌋ + 1 = 3" in message and "never covered" in message


@pytest.mark.parametrize("args,fragment", [((2, 5, 1, 1), "larger than the padded input"),
                                           ((3, 3, 0, 0), "S must be"), ((3, 3, 1, -1), "P must be"),
                                           ((0, 1, 1, 0), "H must be")])
def test_output_size_info_flags_invalid_settings_without_raising(args, fragment):
    info = cs.output_size_info(*args)
    assert not info.valid and info.size == 0 and info.positions == []
    assert fragment in info.message


@pytest.mark.parametrize("args", [(8, 3, 2, 1), (2, 5, 1, 1), (3, 3, 0, 0)])
def test_output_size_figure_has_two_axes_for_valid_and_invalid_settings(args):
    fig = cs.output_size_figure(*args)
    assert isinstance(fig, Figure) and len(fig.axes) == 2


# --- parameter counts ------------------------------------------------------------------------

def test_conv_param_count_matches_torch_conv2d():
    for C, F_, K, bias in [(1, 8, 3, True), (3, 16, 5, False), (2, 4, (1, 3), True)]:
        layer = torch.nn.Conv2d(C, F_, K, bias=bias)
        assert cp.conv_param_count(C, F_, K, bias) == sum(p.numel() for p in layer.parameters())


def test_dense_param_count_matches_torch_linear():
    assert cp.dense_param_count(784, 10) == sum(p.numel() for p in torch.nn.Linear(784, 10).parameters())
    assert cp.dense_param_count(784, 10, bias=False) == 7840


def test_param_counts_conv_is_constant_dense_grows_like_n_to_the_fourth():
    counts = cp.param_counts([1, 2, 28], C=1, F=8, K=3)
    np.testing.assert_array_equal(counts["conv"], [80, 80, 80])
    np.testing.assert_array_equal(counts["dense"], [8 + 8, 16 * 8 + 32, 784 * 8 * 784 + 8 * 784])


def test_param_counts_reject_bad_sizes():
    with pytest.raises(ValueError, match="F must be"):
        cp.conv_param_count(1, 0, 3)
    with pytest.raises(ValueError, match="in_features"):
        cp.dense_param_count(2.5, 3)


def test_params_figure_is_one_axes_with_two_curves():
    fig = cp.params_figure(C=3, F=16, K=5, max_side=32)
    assert isinstance(fig, Figure) and len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 3


def test_size_and_param_explorers_build_without_a_kernel_and_follow_their_sliders():
    size = cs.output_size_explorer(H=8, K=3, S=2, P=0)
    assert "⌊2.5⌋ + 1 = 3" in size.caption.value and "word-break:normal" in size.caption.value
    size.controls["S"].value = 1
    assert "Every row is covered" in size.wait().caption.value
    params = cp.param_explorer()
    assert "61,544× fewer" in params.caption.value
    params.controls["C"].value = 3
    assert "conv 3×3, 3→8 channels" in params.wait().caption.value


@pytest.mark.parametrize("first,then", [((8, 3, 2, 0), (30, 5, 1, 2)), ((2, 9, 1, 1), (8, 3, 2, 0)),
                                        ((8, 3, 2, 0), (2.5, 3, 1, 0))])
def test_output_size_figure_updates_in_place(first, then):
    plot = cs.OutputSizeFigure(cs.output_size_view(*first))
    artists = (plot.strip, plot.bars, plot.grid, plot.centres, *plot.index_labels)
    plot.update(cs.output_size_view(*then))
    assert (plot.strip, plot.bars, plot.grid, plot.centres, *plot.index_labels) == artists
    view = cs.output_size_view(*then)
    if view["args_ok"]:
        shown = [t.get_text() for t in plot.index_labels if t.get_visible()]
        assert shown == [t for _, t in view["index_labels"]] and len(shown) <= 16
        assert len(plot.centres.get_offsets()) == (view["info"].size ** 2 if view["info"].valid else 0)
        assert all(t.get_fontsize() >= 10 for t in plot.index_labels + plot.out_labels)
    else:
        assert not plot.ax2.get_visible() and "whole number" in plot.message.get_text()


def test_params_figure_updates_in_place_with_readable_ticks():
    plot = cp.ParamsFigure(cp.params_view(1, 8, 3, 64))
    lines = (plot.dense, plot.conv)
    plot.update(cp.params_view(64, 128, 7, 256))
    assert (plot.dense, plot.conv) == lines and len(plot.dense.get_xdata()) == 256
    assert plot.legend.get_texts()[1].get_text() == "conv 7×7, 64→128 channels"
    assert len(plot.ax.get_yticks()) <= 9 and "fewer" in plot.note.get_text()
