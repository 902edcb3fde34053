"""Preset kernels in cnnlib.kernels: values, copies, and what they do to simple images."""
import numpy as np
import pytest

from cnnlib import kernels
from cnnlib.widgets.convolution import feature_map

EXPECTED_NAMES = ["identity", "sobel_x", "sobel_y", "box_blur", "gaussian_blur",
                  "sharpen", "laplacian", "edge"]


def test_names_lists_every_preset_in_display_order():
    assert kernels.names() == EXPECTED_NAMES


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_preset_is_a_3x3_float64_array_with_a_description(name):
    k = kernels.get_kernel(name)
    assert k.shape == (3, 3) and k.dtype == np.float64
    assert isinstance(kernels.describe(name), str) and kernels.describe(name)


def test_get_kernel_returns_a_copy_so_callers_cannot_corrupt_the_preset():
    k = kernels.get_kernel("sobel_x")
    k[:] = 99
    assert kernels.get_kernel("sobel_x")[0, 0] == -1


def test_hand_written_sobel_values():
    np.testing.assert_array_equal(kernels.get_kernel("sobel_x"),
                                  [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(kernels.get_kernel("sobel_y"), kernels.get_kernel("sobel_x").T)


@pytest.mark.parametrize("name,total", [("identity", 1), ("box_blur", 1), ("gaussian_blur", 1),
                                        ("sharpen", 1), ("sobel_x", 0), ("sobel_y", 0),
                                        ("laplacian", 0), ("edge", 0)])
def test_weights_sum_keeps_or_removes_flat_brightness(name, total):
    """Blurs/sharpen/identity keep a flat image unchanged (sum 1); edge detectors give 0 (sum 0)."""
    flat = np.full((5, 5), 0.7)
    np.testing.assert_allclose(feature_map(flat, kernels.get_kernel(name)), np.full((3, 3), 0.7 * total),
                               atol=1e-12)


def test_sobel_x_is_positive_on_a_dark_to_bright_step_without_flipping():
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0  # brighter to the right
    out = feature_map(step, kernels.get_kernel("sobel_x"))
    assert out.max() == 4 and out.min() == 0
    np.testing.assert_array_equal(feature_map(step, kernels.get_kernel("sobel_y")), 0)


def test_identity_returns_the_image_with_same_padding():
    img = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(feature_map(img, kernels.get_kernel("identity"), padding=1), img)


def test_unknown_name_is_a_value_error_listing_the_choices():
    with pytest.raises(ValueError, match="sobel_x"):
        kernels.get_kernel("sobel")
    with pytest.raises(ValueError, match="unknown kernel"):
        kernels.describe("nope")
