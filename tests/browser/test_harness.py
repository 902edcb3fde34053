"""The browser suite can fail: broken widgets in a scratch notebook are reported, a good one passes.

The scratch notebook is written into the server's scratch copy of lessons/ (never into the
repository) and holds one correct widget beside widgets broken the ways a lesson could be.
"""
import nbformat
import pytest

from .harness import HarnessFailure, LessonPage
from .spec import Lesson, Nudge, Set, Widget

SETUP = '''
import ipywidgets as widgets
import numpy as np
from traitlets import Unicode
from matplotlib.figure import Figure
from cnnlib.widgets._live import Live

def relu_view(slope):
    x = np.linspace(-3, 3, 61)
    return {"y": np.where(x > 0, x, slope * x), "caption": f"slope {slope:g}"}

def explorer(name, view=relu_view):
    fig = Figure(figsize=(4, 2.5), dpi=80)
    (line,) = fig.subplots().plot(np.linspace(-3, 3, 61), relu_view(0.1)["y"])
    slider = widgets.FloatSlider(0.1, min=0, max=1, step=0.05, description="slope")
    return Live(name, {"slope": slider}, view, figure=fig,
                draw=lambda v: line.set_ydata(v["y"]), html=lambda v: v["caption"])

def raises_above_half(slope):
    if slope > 0.5:
        raise ValueError("slope too steep for this broken widget")
    return relu_view(slope)

class Unknown(widgets.DOMWidget):
    _view_name = Unicode("NoSuchView").tag(sync=True)
    _view_module = Unicode("no-such-module").tag(sync=True)
    _model_module = Unicode("no-such-module").tag(sync=True)
'''
CELLS = {
    "good": 'explorer("good")',
    "frozen": 'explorer("frozen", lambda slope: relu_view(0.1))   # ignores its slider',
    "raising": 'explorer("raising", raises_above_half)',
    "unspecced": 'explorer("unspecced")',
    "failing cell": 'raise RuntimeError("a cell that fails")',
}
GOOD = Widget("good", cell='explorer("good")',
              steps=(Set("slope", 0.3, caption="slope 0.3"), Nudge("slope", -1, expect={"slope": 0.25})))


def _write(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def broken_page(lessons, lab, browser):
    lessons.close()  # one kernel at a time
    _write(lab.root / "zz_broken_widgets.ipynb", CELLS.values())
    page = LessonPage(browser, lab, "zz_broken_widgets.ipynb")
    try:
        page.run_all(300)
    except HarnessFailure as exc:  # expected: the last cell raises
        page.run_all_failure = exc
    yield page
    page.close()


def test_a_failing_cell_fails_run_all(broken_page):
    assert "RuntimeError: a cell that fails" in str(getattr(broken_page, "run_all_failure", ""))


def test_a_live_widget_without_a_spec_is_reported(broken_page):
    with pytest.raises(HarnessFailure, match=r"cnn-unspecced.*no browser spec"):
        broken_page.check_rendered(["cnn-good", "cnn-frozen", "cnn-raising"])


def test_the_good_widget_passes(broken_page):
    driver = broken_page.widget(GOOD)
    driver.check_rendered()
    for step in GOOD.steps:
        assert driver.perform(step)["state"]["values"]["slope"] == pytest.approx(step.expect.get("slope", 0.3))


def test_a_widget_whose_picture_does_not_follow_its_control_fails(broken_page, monkeypatch):
    monkeypatch.setattr("browser.harness.STEP_TIMEOUT", 8.0)  # the failure is a wait running out
    driver = broken_page.widget(Widget("frozen", cell='explorer("frozen"'))
    with pytest.raises(HarnessFailure, match="no frame showing"):
        driver.perform(Set("slope", 0.3, caption="slope 0.3"))


def test_a_widget_that_raises_fails_with_its_error(broken_page):
    driver = broken_page.widget(Widget("raising", cell='explorer("raising"'))
    with pytest.raises(HarnessFailure, match="slope too steep"):
        driver.perform(Set("slope", 0.6))
    with pytest.raises(HarnessFailure, match="slope too steep"):
        driver.check_rendered()


def test_a_widget_that_cannot_be_displayed_fails_the_render_check(broken_page):
    cell = broken_page.page.locator(".jp-Notebook .jp-CodeCell").last
    broken_page.page.evaluate(
        "async () => { const nb = window.__cnn.panel.content; nb.activeCellIndex = nb.widgets.length - 1;"
        " nb.activeCell.model.sharedModel.setSource('display(Unknown())');"
        " await window.jupyterapp.commands.execute('notebook:run-cell'); }")
    cell.locator(".jp-OutputArea-output").first.wait_for()
    with pytest.raises(HarnessFailure, match="widget failed to display"):
        broken_page.check_rendered([], timeout=60)
    with pytest.raises(HarnessFailure, match="no-such-module"):
        broken_page.check_console()


def test_a_javascript_console_error_fails(broken_page):
    broken_page.page.evaluate("() => console.error('boom from a widget')")
    with pytest.raises(HarnessFailure, match="boom from a widget"):
        broken_page.check_console()
