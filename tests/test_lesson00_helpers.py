"""Pure functions behind Lesson 00: plots, the digit browser, the environment check."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlib import envcheck  # noqa: E402
from cnnlib.plots import image_grid, show_values  # noqa: E402
from cnnlib.widgets.digits import (browser_view, class_means, digit_browser, digit_figure,  # noqa: E402
                                   pixel_table_html, select_digit)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_values_writes_every_value_in_its_cell():
    img = np.array([[0, 255], [7, 42]], dtype=np.uint8)
    fig = show_values(img)
    texts = {(t.get_position(), t.get_text()) for t in fig.axes[0].texts}
    assert texts == {((0, 0), "0"), ((1, 0), "255"), ((0, 1), "7"), ((1, 1), "42")}


def test_show_values_rejects_a_batch():
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 2\)"):
        show_values(np.zeros((1, 2, 2)))


def test_image_grid_draws_one_axes_per_slot_and_titles_each_image():
    fig = image_grid(np.zeros((5, 1, 4, 4)), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    with pytest.raises(ValueError, match="2 titles for 5 images"):
        image_grid(np.zeros((5, 4, 4)), titles=["a", "b"])


def test_select_digit_returns_kth_example_of_the_class_and_its_index():
    labels = np.array([3, 1, 3, 3, 0])
    images = np.arange(5)[:, None, None] * np.ones((5, 2, 2))
    image, index = select_digit(images, labels, 3, 2)
    assert index == 3 and np.all(image == 3)


@pytest.mark.parametrize("digit, k, match", [(3, 3, r"has 3 images, so k must be in 0..2, got 3"),
                                             (7, 0, "no images of class 7")])
def test_select_digit_names_the_bad_choice(digit, k, match):
    with pytest.raises(ValueError, match=match):
        select_digit(np.zeros((5, 2, 2)), np.array([3, 1, 3, 3, 0]), digit, k)


def test_digit_figure_shows_the_requested_window_values_clamped_inside_the_image():
    img = np.arange(28 * 28).reshape(28, 28) % 256
    fig = digit_figure(img, zoom=(25, 0, 12, 12))  # asks for rows 25..36: clamped to 16..27
    ax_img, ax_zoom = fig.axes
    assert "rows 16–27, columns 0–11" in ax_zoom.get_title()
    values = sorted(int(t.get_text()) for t in ax_zoom.texts)
    assert values == sorted(img[16:28, 0:12].ravel().tolist())


def test_class_means_averages_each_class():
    images = np.array([[[0.0]], [[2.0]], [[10.0]]])
    means = class_means(images, np.array([0, 0, 1]), num_classes=2)
    assert means.shape == (2, 1, 1) and means[0, 0, 0] == 1.0 and means[1, 0, 0] == 10.0


def test_environment_report_finds_packages_and_says_where_data_is(real_data_dir):
    report = envcheck.environment_report()
    assert report["packages"]["numpy"] and report["packages"]["torch"].startswith("2.13.0")
    status, detail = report["data"]["MNIST"]
    assert status == "found" and "CNNLIB_DATA_DIR" in detail and "60000 train" in detail
    assert "✓ MNIST" in envcheck.format_report(report)


def test_environment_report_explains_missing_data(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(tmp_path))
    report = envcheck.environment_report()
    assert report["data"]["MNIST"][0] == "missing"
    assert "will be downloaded" in envcheck.format_report(report)


def test_pixel_table_html_writes_every_value_shaded_with_readable_text():
    html = pixel_table_html(np.array([[0, 255], [7, 200]]), row0=3, col0=5)
    assert html.count("<td") == 4 and ">255</td>" in html and ">3</th>" in html and ">6</th>" in html
    assert "rgb(0,0,0);color:white'>255" in html and "rgb(255,255,255);color:black'>0" in html
    assert "font:13px" in html  # about 10 pt: readable at the default zoom


def test_browser_view_clamps_the_zoom_and_lists_its_values():
    labels = np.array([3, 1, 3])
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    view = browser_view(images, labels, 3, 1, row=25, col=0)
    assert view["index"] == 2 and view["zoom"] == (16, 0, 12, 12)
    assert "rows 16–27, columns 0–11" in view["caption"] and view["caption"].count("<td") == 144
    assert view["title"] == "training image #2: label 3"


def test_digit_browser_follows_its_controls_and_updates_the_figure_in_place():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), [3, 1, 1, 5, 1, 1, 1, 1, 1, 1])
    browser = digit_browser(rng.integers(0, 256, (16, 28, 28)), labels)
    image_artist = browser.figure.axes[0].images[0]
    browser.controls["digit"].value = 3
    browser.wait()
    assert browser.controls["example"].max == 4 and browser.view["index"] == 5
    browser.controls["example"].value = 2
    browser.wait()
    assert browser.view["index"] == 7 and browser.figure.axes[0].images[0] is image_artist
    assert "training image #7: label 3" == browser.figure.axes[0].get_title()
