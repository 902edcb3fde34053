"""cnnlib.digit_preprocess: a drawing becomes an MNIST-like 28x28 digit (20 px box, centred by mass)."""
import numpy as np
import pytest

from cnnlib.digit_preprocess import (bounding_box, center_by_mass, center_of_mass, preprocess_digit,
                                     resize_longer_side, to_grayscale, to_model_input)


def _blob(h=280, w=280, top=30, left=200, bh=120, bw=40):
    img = np.zeros((h, w), np.float32)
    img[top:top + bh, left:left + bw] = 1.0
    return img


def test_off_centre_drawing_ends_up_with_centre_of_mass_at_pixel_14():
    digit = preprocess_digit(_blob())
    cy, cx = center_of_mass(digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_longer_side_of_the_ink_is_scaled_to_20_pixels_keeping_aspect_ratio():
    digit = preprocess_digit(_blob(bh=120, bw=40))    # 3:1 tall bar
    top, bottom, left, right = bounding_box(digit, threshold=0.05)
    assert bottom - top == 20
    assert 6 <= right - left <= 8                      # 40 * 20 / 120 = 6.7 (anti-aliased edges)


def test_output_is_28x28_float32_in_unit_range_with_full_intensity_ink():
    digit = preprocess_digit(0.5 * _blob())             # faint ink is stretched to 1
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() == pytest.approx(1.0)


def test_rgba_canvas_uses_grey_times_alpha_so_transparent_pixels_are_background():
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[..., :3] = 255                                 # white everywhere ...
    rgba[10:20, 10:30, 3] = 255                         # ... but opaque only in the stroke
    gray = to_grayscale(rgba)
    assert gray[15, 15] == 1.0 and gray[40, 40] == 0.0


@pytest.mark.parametrize("image", [np.zeros((280, 280)), np.zeros((100, 100, 4), np.uint8)])
def test_blank_canvas_raises_a_clear_value_error(image):
    with pytest.raises(ValueError, match="blank"):
        preprocess_digit(image)


def test_center_by_mass_moves_a_single_pixel_to_index_14():
    out = center_by_mass(np.array([[0, 0, 1.0]]))
    assert out[14, 14] == 1.0 and out.sum() == 1.0


def test_resize_longer_side_of_wide_image():
    assert resize_longer_side(np.ones((10, 40))).shape == (5, 20)


def test_real_mnist_digit_survives_preprocessing_nearly_unchanged(real_data_dir):
    """An MNIST digit is already in the target format, so preprocessing it changes little."""
    from cnnlib.data import load_mnist, to_float_nchw

    x = to_float_nchw(load_mnist(real_data_dir / "mnist", download=False, progress=False).x_test[:20])[:, 0]
    diffs = [np.abs(preprocess_digit(d) - d).mean() for d in x]
    assert np.median(diffs) < 0.05


def test_to_model_input_normalizes_and_adds_batch_and_channel_axes():
    x = to_model_input(np.zeros((28, 28)))
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    assert x[0, 0, 0, 0] == pytest.approx(-0.1307 / 0.3081, rel=1e-5)
    with pytest.raises(ValueError):
        to_model_input(np.zeros((20, 20)))


def test_stroke_image_draws_round_capped_segments_of_the_given_width():
    from cnnlib.widgets.draw_digit import stroke_image

    img = stroke_image([(50, 100), (200, 100)], size=280, width=20)
    assert img.shape == (280, 280) and img.max() == 1.0
    assert img[100, 125] == 1.0 and img[100 + 11, 125] == 0.0      # half-width 10 px
    assert img[100, 45] == 1.0 and img[100, 35] == 0.0             # round cap reaches 10 px past the end


def test_predict_drawing_returns_the_28x28_input_and_probabilities_and_refuses_a_blank_canvas():
    import torch

    from cnnlib.widgets.draw_digit import drawing_figure, predict_drawing, stroke_image

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    digit, probs = predict_drawing(model, stroke_image([(150, 40), (260, 40), (190, 250)]))
    assert digit.shape == (28, 28) and probs.shape == (10,)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert len(drawing_figure(digit, probs).axes) == 2
    with pytest.raises(ValueError, match="blank"):
        predict_drawing(model, np.zeros((280, 280, 4), np.uint8))


def test_draw_digit_predicts_from_the_whole_canvas_the_pad_sends():
    import torch

    from cnnlib.widgets.draw_digit import DrawPad, draw_digit, predict_drawing, stroke_image

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    widget = draw_digit(model)
    pad = widget.controls["pad"]
    assert isinstance(pad, DrawPad) and pad.size == 280 and "Draw a digit" in widget.caption.value
    seven = (stroke_image([(150, 40), (260, 40), (190, 250)]) * 255).astype(np.uint8)
    pad.ink = seven.tobytes()  # what the browser sends when a stroke ends: the whole canvas...
    pad.value = 1              # ...and the stroke count, in the same message
    widget.wait()
    _, probs = predict_drawing(model, seven)
    best = int(probs.argmax())
    assert f"prediction: {best} ({round(float(probs[best]) * 100)} %)" in widget.caption.value
    np.testing.assert_allclose(widget.view["probs"], probs)
    pad.value, pad.ink = 0, b""  # Clear
    widget.wait()
    assert widget.view["probs"] is None and "Draw a digit" in widget.caption.value


def test_drawing_figure_updates_bars_in_place():
    from cnnlib.widgets.draw_digit import DrawingFigure

    plot = DrawingFigure()
    bars = list(plot.bars)
    plot.update({"digit": np.ones((28, 28)), "probs": np.eye(10)[7]})
    assert plot.bars == bars and plot.bars[7].get_height() == 1.0
    assert plot.ax_bar.get_title() == "prediction: 7 (100%)"
