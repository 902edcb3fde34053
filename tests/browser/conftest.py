"""Session fixtures of the browser suite: one JupyterLab server and one Chromium for all lessons."""
import pytest

from .harness import Browser, LabServer, LessonPage, find_chromium

NO_BROWSER = ("no Chrome/Chromium found (Debian: `apt-get install chromium`; or set CNN_CHROMIUM "
              "to a Chrome executable): the browser suite did NOT run")


@pytest.fixture(scope="session")
def chromium():
    path = find_chromium()
    if path is None:
        pytest.skip(NO_BROWSER)
    return path


@pytest.fixture(scope="session")
def lab(chromium, real_data_dir):
    with LabServer(env={"CNNLIB_DATA_DIR": str(real_data_dir)}) as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium):
    session = Browser(chromium)
    yield session
    session.close()


class OpenLessons:
    """Keeps one lesson open at a time (each is a kernel): the checks of a lesson run in a row."""

    def __init__(self, browser, lab):
        self.browser, self.lab = browser, lab
        self.current, self.page, self.failure = None, None, None

    def open(self, lesson):
        """The lesson's page after Run All and the render check (done once per lesson)."""
        if self.current != lesson.notebook:
            self.close()
            self.current, self.failure = lesson.notebook, None
            try:
                self.page = LessonPage(self.browser, self.lab, lesson.notebook)
                self.page.run_all(lesson.timeout)
                self.page.check_rendered([w.css for w in lesson.widgets])
            except Exception as exc:
                self.failure = exc
        return self.page

    def close(self):
        if self.page is not None:
            self.page.close()
        self.page = None


@pytest.fixture(scope="session")
def lessons(browser, lab):
    opened = OpenLessons(browser, lab)
    yield opened
    opened.close()


MEASURED = []  # (lesson, widget, step, latency ms, frames): printed at the end, never asserted


def pytest_terminal_summary(terminalreporter):
    if not MEASURED:
        return
    terminalreporter.section("widget latency (input to changed pixels; informative, see `make bench`)")
    for lesson, widget, step, latency, frames in MEASURED:
        terminalreporter.write_line(f"{lesson:24s} {widget:22s} {step:34s} {latency:7.0f} ms  {frames} frame(s)")
