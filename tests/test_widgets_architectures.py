"""Lesson 10's widgets: the pure functions of the conv cost calculator and the transfer explorer."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from cnnlib import architectures as A  # noqa: E402
from cnnlib.widgets import architectures_cost as wc  # noqa: E402
from cnnlib.widgets import architectures_transfer as wt  # noqa: E402


@pytest.mark.parametrize("c_in,c_out,k,size", [(32, 64, 3, 14), (1, 1, 1, 1), (3, 200, 7, 28)])
def test_cost_view_counts_are_the_layers_of_pytorch(c_in, c_out, k, size):
    view = wc.cost_view(c_in, c_out, k, size)
    std = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    dw = nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in)
    pw = nn.Conv2d(c_in, c_out, 1)
    shape = (c_in, size, size)
    assert view["standard"] == (A.count_params(std), A.count_macs(std, shape))
    assert view["depthwise"] == (A.count_params(dw), A.count_macs(dw, shape))
    assert view["pointwise"] == (A.count_params(pw), A.count_macs(pw, shape))
    assert view["separable"] == A.conv_params_and_macs(c_in, c_out, k, size, size, True)
    for i, key in enumerate(("params", "macs")):
        std_h, dw_h, pw_h = view["heights"][key]
        assert std_h == pytest.approx(100)
        assert dw_h + pw_h == pytest.approx(100 * view["separable"][i] / view["standard"][i])
    assert f"{view['separable'][0]:,}" in view["caption"]


def test_cost_view_by_hand_and_both_formulas():
    view = wc.cost_view(32, 64, 3, 14, formula="standard")
    assert view["standard"] == (18_496, 3_612_672)
    assert view["separable"] == (2_432, 457_856)
    assert view["labels"]["params"] == ("100 %", "13.1 %") and view["labels"]["macs"] == ("100 %", "12.7 %")
    assert "C_out·C_in·k²" in view["caption"]
    assert "pointwise 1×1" in wc.cost_view(32, 64, 3, 14)["caption"]
    with pytest.raises(ValueError):
        wc.cost_view(formula="grouped")


def test_cost_figure_updates_in_place_and_cuts_tall_bars():
    plot = wc.CostFigure(wc.cost_view(32, 64, 3, 14))
    std, dw, pw = plot.bars["params"]
    assert std.get_height() == pytest.approx(100) and dw.get_height() + pw.get_height() == pytest.approx(13.15, abs=0.01)
    view = wc.cost_view(8, 1, 1, 5)            # a 1x1 conv to one channel: the separable layer costs MORE
    assert view["ratio_params"] > 1
    figure_before = plot.figure
    assert plot.update(view) is False and plot.figure is figure_before
    assert pw.get_y() + pw.get_height() <= wc.YMAX + 1e-9
    assert plot.texts["params"][1].get_text().endswith("↑")
    assert len(plot.animated) == 10
    assert isinstance(wc.cost_figure(), Figure)


def _grid():
    per = np.linspace(0.5, 0.95, 10)
    grid = {}
    for m, base in zip(A.METHODS, (0.7, 0.75, 0.5)):
        for lab, gain in ((10, 0.0), (100, 0.1), (1000, 0.2)):
            grid[wt.grid_key(m, lab)] = {"acc": base + gain, "per_class": per, "steps": 30, "seconds": 1.5}
    return grid


def test_transfer_view_curves_selection_and_caption():
    grid = _grid()
    view = wt.transfer_view(grid, 100, "frozen", n_test=500)
    labels, acc = view["curves"]["scratch"]
    assert labels.tolist() == [10, 100, 1000] and acc == pytest.approx([50, 60, 70])
    assert view["point"] == (100.0, pytest.approx(80.0)) and view["trained"]
    assert view["per_class"] == pytest.approx(100 * np.linspace(0.5, 0.95, 10))
    assert "<b>80.0 %</b> on 500 test images" in view["caption"]
    assert "fine-tuned 85.0 %" in view["caption"] and "scratch 60.0 %" in view["caption"]
    assert "T-shirt/top (50 %)" in view["caption"]


def test_transfer_view_of_a_setting_not_trained_yet():
    view = wt.transfer_view({}, 30, "scratch")
    assert not view["trained"] and view["point"] is None and np.all(view["per_class"] == 0)
    assert "press <b>Train</b>" in view["caption"]
    assert all(len(v[0]) == 0 for v in view["curves"].values())
    with pytest.raises(ValueError):
        wt.transfer_view({}, 10, "linear probe")


def test_transfer_figure_updates_in_place():
    grid = _grid()
    plot = wt.TransferFigure(wt.transfer_view(grid, 10, "scratch"))
    assert plot.lines["scratch"].get_ydata() == pytest.approx([50, 60, 70])
    assert plot.bars[0].get_height() == pytest.approx(50)
    figure = plot.figure
    assert plot.update(wt.transfer_view({}, 300, "frozen")) is False and plot.figure is figure
    assert len(plot.animated) == 3 + 2 + 10
    assert len(plot.ring.get_xdata()) == 0 and plot.bars[3].get_height() == 0
    assert "press Train" in plot.title.get_text()
    assert isinstance(wt.transfer_figure(grid, 1000, "fine-tuned"), Figure)


def test_transfer_explorer_trains_a_missing_setting_into_the_grid():
    pytest.importorskip("ipywidgets")
    grid, calls = _grid(), []

    def run(method, labels, progress):
        calls.append((method, labels))
        progress(1.0)
        return {"acc": 0.5, "per_class": np.full(10, 0.5)}

    live = wt.transfer_explorer(grid, run, labels=100, method="frozen", choices=(10, 30, 100, 1000))
    live.wait()
    assert live.view["trained"] and calls == []
    live.train_button._click(None)                   # a trained setting: nothing to do
    live.train_button.wait()
    assert calls == []
    live.controls["labels"].value = 30
    live.wait()
    assert not live.view["trained"]
    live.train_button._click(None)
    live.train_button.wait()
    live.wait()
    assert calls == [("frozen", 30)] and wt.grid_key("frozen", 30) in grid
    assert live.view["trained"] and live.view["point"] == (30.0, pytest.approx(50.0))
