"""The Live base of every widget: first frame at once, later frames coalesced, errors shown."""
import io
import json
import threading

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from cnnlib.widgets._live import Cancelled, Live, TaskButton, array_png, figure_png  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _state(live):
    return json.loads(live.state.value.replace("&quot;", '"'))


def _line_widget(compute=None):
    fig = Figure(figsize=(3, 2), dpi=80)
    (line,) = fig.subplots().plot([0, 1], [0, 0])
    slider = widgets.IntSlider(1, 0, 100, description="a")

    def view(a):
        return {"y": [0, a], "caption": f"a = {a}"}

    live = Live("test-line", {"a": slider}, compute or view, figure=fig,
                draw=lambda v: line.set_ydata(v["y"]), html=lambda v: v["caption"])
    return live, slider, line


def test_first_frame_is_drawn_before_the_constructor_returns():
    live, _, line = _line_widget()
    assert bytes(live.image.value).startswith(PNG)
    assert live.caption.value == "a = 1" and list(line.get_ydata()) == [0, 1]
    state = _state(live)
    assert (state["frame"], state["values"], state["error"]) == (1, {"a": 1}, None) and state["ms"] > 0
    assert live.image.width == "240"  # shown at its own size (3 in x 80 dpi), never stretched
    assert {"cnn-live", "cnn-test-line"} <= set(live._dom_classes)
    assert "cnn-ctl-a" in live.controls["a"]._dom_classes


def test_a_control_change_draws_the_new_state():
    live, slider, line = _line_widget()
    before = live.image.value
    slider.value = 7
    live.wait()
    assert list(line.get_ydata()) == [0, 7] and live.caption.value == "a = 7"
    assert bytes(live.image.value) != bytes(before) and _state(live)["values"] == {"a": 7}


def test_a_burst_of_moves_draws_only_the_latest_state():
    entered, release = threading.Event(), threading.Event()
    seen = []

    def slow_view(a):
        seen.append(a)
        if len(seen) == 2:  # the first background frame blocks until the burst is over
            entered.set()
            release.wait(10)
        return {"y": [0, a], "caption": str(a)}

    live, slider, _ = _line_widget(slow_view)
    slider.value = 2
    assert entered.wait(10)
    for v in range(3, 40):
        slider.value = v
    release.set()
    live.wait()
    assert seen == [1, 2, 39]  # initial frame, the frame in progress, then only the latest
    assert live.frames == 3 and live.caption.value == "39"


def test_hold_draws_once_for_several_changes():
    calls = []
    a, b = widgets.IntSlider(0), widgets.IntSlider(0)
    live = Live("pair", {"a": a, "b": b}, lambda a, b: calls.append((a, b)) or {"s": a + b},
                html=lambda v: str(v["s"]))
    with live.hold():
        a.value, b.value = 3, 4
    live.wait()
    assert calls == [(0, 0), (3, 4)] and live.caption.value == "7"


def test_a_list_of_controls_passes_a_list_and_gets_indexed_classes():
    cells = [widgets.FloatText(float(i)) for i in range(3)]
    live = Live("grid", {"w": cells}, lambda w: {"sum": sum(w)}, html=lambda v: f"{v['sum']:g}")
    assert live.caption.value == "3"
    assert [f"cnn-ctl-w-{i}" in c._dom_classes for i, c in enumerate(cells)] == [True] * 3
    cells[2].value = 10.0
    assert live.wait().caption.value == "11"


def test_an_error_is_shown_in_the_widget_raised_by_wait_and_cleared_by_a_good_state():
    def view(a):
        if a == 5:
            raise ValueError("five is not allowed")
        return {"y": [0, a], "caption": str(a)}

    live, slider, _ = _line_widget(view)
    slider.value = 5
    with pytest.raises(ValueError, match="five"):
        live.wait()
    assert "five is not allowed" in live.error.value and live.error.layout.display is None
    assert "five" in _state(live)["error"]
    slider.value = 6
    live.wait()
    assert live.error.layout.display == "none" and _state(live)["error"] is None


def test_a_figure_without_draw_is_refused():
    with pytest.raises(ValueError, match="draw"):
        Live("x", {}, lambda: {}, figure=Figure())


def test_figure_png_and_array_png_are_pngs_of_the_right_size():
    fig = Figure(figsize=(2, 1), dpi=50)
    fig.subplots().plot([0, 1])
    assert Image.open(io.BytesIO(figure_png(fig))).size == (100, 50)
    ramp = np.arange(12.0).reshape(3, 4)
    img = Image.open(io.BytesIO(array_png(ramp, scale=2))).convert("L")
    assert img.size == (8, 6)
    pixels = np.asarray(img)
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255 and pixels[0, 0] == pixels[1, 1]
    with pytest.raises(ValueError, match="expected"):
        array_png(np.zeros((2, 2, 3)))  # float RGB is ambiguous


def test_task_button_runs_work_in_the_background_with_progress_and_done():
    done = []

    def work(progress):
        for i in range(4):
            progress((i + 1) / 4, f"step {i + 1}")
        return 42

    task = TaskButton("Train", work, done=done.append, name="trainer")
    task.button.click()
    assert task.wait(10) == 42 and done == [42]
    assert task.bar.value == 1 and task.status.value == "done" and task.button.description == "Train"


def test_task_button_stop_cancels_and_an_error_is_reported():
    started, go_on = threading.Event(), threading.Event()

    def work(progress):
        started.set()
        go_on.wait(10)
        progress(0.5)  # raises Cancelled after Stop
        return "never"

    task = TaskButton("Train", work)
    task.button.click()
    assert started.wait(10) and task.button.description == "Stop"
    task.button.click()  # Stop
    go_on.set()
    assert task.wait(10) is None and task.status.value == "stopped"

    failing = TaskButton("Go", lambda progress: 1 / 0)
    failing.button.click()
    with pytest.raises(ZeroDivisionError):
        failing.wait(10)
    assert "ZeroDivisionError" in failing.status.value
    assert issubclass(Cancelled, Exception)


def test_animated_artists_are_blitted_over_a_cached_background_with_the_same_pixels():
    def build(animated):
        fig = Figure(figsize=(3, 2), dpi=80)
        ax = fig.subplots()
        ax.set_title("static title")
        (line,) = ax.plot([0, 1], [0, 0])
        ax.set_ylim(0, 10)
        slider = widgets.IntSlider(1, 0, 10)

        def draw(view):
            line.set_ydata([0, view["a"]])
            if view["a"] == 7:
                ax.set_title("title changed")
                return True  # the background must be redrawn
            return False

        return Live("blit", {"a": slider}, lambda a: {"a": a}, figure=fig, draw=draw,
                    animated=[line] if animated else None), slider

    fast, fast_slider = build(True)
    slow, slow_slider = build(False)
    for value in (3, 7, 2):
        fast_slider.value = slow_slider.value = value
        fast.wait(), slow.wait()
        a, b = (np.asarray(Image.open(io.BytesIO(bytes(w.image.value)))) for w in (fast, slow))
        assert np.array_equal(a, b), value


@pytest.mark.parametrize("channels", [3, 4])
def test_png_bytes_decodes_to_the_same_pixels(channels):
    from cnnlib.widgets._live import png_bytes

    pixels = np.random.default_rng(channels).integers(0, 256, (7, 5, channels), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(pixels))))
    assert decoded.shape == pixels.shape and np.array_equal(decoded, pixels)
