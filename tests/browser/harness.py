"""Run the lessons in JupyterLab in headless Chromium and drive their widgets like a student.

Used by the browser suite (tests/browser/test_lessons.py) and by ``make bench``
(benchmarks/bench_widgets.py). Lesson authors never touch this file: they write specs
(tests/browser/spec.py explains how).

* :class:`LabServer` starts JupyterLab exactly as ``make lab`` does (free port, token), on a
  scratch copy of lessons/ (JupyterLab autosaves what it runs) with fresh settings.
* :class:`Browser` launches the system Chromium through Playwright.
* :class:`LessonPage` opens a notebook, runs all cells, checks every widget rendered, and
  collects JavaScript console errors.
* :class:`WidgetDriver` performs spec steps and measures input-to-pixels latency in the page
  (input event timestamp to the animation frame that shows the new, decoded picture).
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from .spec import Burst, Draw, Nudge, Press, Set

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_TIMEOUT = 60.0        # seconds for a widget to show the expected frame (a loaded CI is slow)
RENDER_TIMEOUT = 120.0     # seconds for every widget of a lesson to appear after "Run All"
# JupyterLab settings for an unattended run: no news pop-up over the widgets, every cell in the
# DOM (windowing would detach off-screen widgets), no autosave of the scratch copy.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}
# Console errors that are not the course's business would go here, each with its reason.
IGNORED_CONSOLE = ()


class HarnessFailure(AssertionError):
    """What a student would see as broken: the message says which lesson, widget and step."""


def find_chromium():
    """Path of a Chrome/Chromium executable, or None (``CNN_CHROMIUM`` overrides)."""
    for candidate in (os.environ.get("CNN_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome", "google-chrome-stable", "chrome"):
        if candidate and (shutil.which(candidate) or Path(candidate).is_file()):
            return shutil.which(candidate) or candidate
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``make lab`` on a scratch copy of ``lessons`` with the lessons' fast mode on."""

    def __init__(self, lessons=ROOT / "lessons", extra_files=(), env=None):
        self.tmp = Path(tempfile.mkdtemp(prefix="cnn-browser-"))
        self.root = self.tmp / "lessons"
        shutil.copytree(lessons, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for path in extra_files:
            shutil.copy(path, self.root)
        settings = self.tmp / "settings"
        for plugin, values in LAB_SETTINGS.items():
            target = settings / f"{plugin}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"), BROWSER="true",
                        JUPYTERLAB_SETTINGS_DIR=str(settings),
                        JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
                        CNNLIB_FAST="1", **(env or {}))
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=120):
        args = (f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={self.token} "
                "--LabApp.expose_app_in_browser=True")
        self.log = open(self.tmp / "lab.log", "wb")
        self.proc = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_PORT={self.port}", f"LAB_ROOT={self.root}", f"LAB_ARGS={args}"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)  # so the whole group (make + jupyter + kernels) can be stopped
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessFailure(f"make lab exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise HarnessFailure(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars=3000):
        return (self.tmp / "lab.log").read_text(errors="replace")[-chars:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Browser:
    """Headless Chromium through Playwright (the system browser: nothing is downloaded)."""

    def __init__(self, executable):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)

    def close(self):
        self.browser.close()
        self._pw.stop()


_PAGE_JS = (Path(__file__).with_name("page.js")).read_text()


class LessonPage:
    """One notebook open in JupyterLab (one browser tab)."""

    def __init__(self, browser, server, notebook):
        self.server, self.notebook = server, notebook
        self.console = []
        self.page = browser.browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(STEP_TIMEOUT * 1000)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console.append(f"uncaught: {exc}"))
        self.page.add_init_script(_PAGE_JS)
        self.page.goto(f"{server.url}/lab/tree/{notebook}?reset&token={server.token}")
        self.page.wait_for_function(
            "(path) => window.__cnn.openPanel(path)", arg=notebook, timeout=120_000)
        self.page.evaluate("() => window.__cnn.kernelReady()")

    def _on_console(self, msg):
        if msg.type == "error" and not any(re.search(p, msg.text) for p in IGNORED_CONSOLE):
            self.console.append(msg.text)

    def run_all(self, timeout):
        """Run All Cells; raise with the first cell error (kernel side)."""
        result = self.page.evaluate("(ms) => window.__cnn.runAll(ms)", timeout * 1000)
        if result["errors"] or not result["ok"]:
            first = result["errors"][0] if result["errors"] else {"cell": "?", "text": "Run All stopped"}
            raise HarnessFailure(f"{self.notebook}: cell {first['cell']} failed:\n{first['text']}")
        return result

    def check_rendered(self, css_names, timeout=RENDER_TIMEOUT):
        """Every widget shows (no "Loading widget"/"Error displaying widget") and has a spec."""
        report = self.page.evaluate("([ms, names]) => window.__cnn.widgetsSettled(ms, names)",
                                    [timeout * 1000, list(css_names)])
        if report["errors"]:
            raise HarnessFailure(f"{self.notebook}: {report['errors'][0]}")
        missing = sorted(set(report["live"]) - set(css_names))
        if missing:
            raise HarnessFailure(
                f"{self.notebook}: widget(s) {missing} have no browser spec: add them to "
                "tests/browser/specs/ (see tests/browser/spec.py)")

    def widget(self, spec):
        return WidgetDriver(self, spec)

    def kernel_execute(self, code):
        """Run code in this notebook's kernel; returns its printed output."""
        result = self.page.evaluate("(code) => window.__cnn.execute(code)", code)
        if result["error"]:
            raise HarnessFailure(f"kernel: {result['error']}")
        return result["out"]

    def check_console(self):
        if self.console:
            raise HarnessFailure(f"{self.notebook}: JavaScript console error(s):\n" + "\n".join(self.console[:20]))

    def close(self):
        try:
            self.page.evaluate("() => window.__cnn.shutdown()")
        finally:
            self.page.close()


class WidgetDriver:
    """Acts on one widget as a student would, and times what the student sees."""

    def __init__(self, lesson_page, spec):
        self.lp, self.spec, self.page = lesson_page, spec, lesson_page.page
        cells = self.page.locator(".jp-Notebook .jp-CodeCell").filter(
            has=self.page.locator(".jp-InputArea-editor", has_text=spec.cell))
        if cells.count() == 0:
            raise HarnessFailure(f"{spec.name}: no code cell contains {spec.cell!r}")
        output = cells.first.locator(".jp-OutputArea")
        own = output.locator(f".{spec.css}")
        # Widgets written before the Live base have no class: take the first widget root.
        self.root = own.first if own.count() else output.locator(".jp-OutputArea-output .jupyter-widgets").first
        self.root.wait_for(state="attached", timeout=RENDER_TIMEOUT * 1000)
        self.root.scroll_into_view_if_needed()

    # --- controls ----------------------------------------------------------------------------
    def control(self, key):
        """The element of a control: class ``cnn-ctl-<key>``, else the widget labelled ``key``."""
        by_class = self.root.locator(f".cnn-ctl-{key}")
        if by_class.count():
            return by_class.first
        labelled = self.root.locator(".widget-inline-hbox, .jupyter-widget-inline-hbox, .widget-toggle-buttons").filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$")))
        if labelled.count():
            return labelled.first
        button = self.root.locator("button", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$"))
        if button.count():
            return button.first
        raise HarnessFailure(f"{self.spec.name}: no control {key!r} (class cnn-ctl-{key} or label {key!r})")

    def _kind(self, el):
        return el.evaluate("(el) => window.__cnn.kind(el)")

    def _slider_value(self, el):
        return el.evaluate("(el) => window.__cnn.sliderValue(el)")

    def _arrow(self, el, direction, presses=1):
        handle = el.locator(".noUi-handle").first
        handle.focus()
        key = "ArrowRight" if direction > 0 else "ArrowLeft"
        for _ in range(presses):
            handle.press(key)
        return self._slider_value(el)

    def _act(self, step):
        """Perform the input; return the control values the next frame must show."""
        expect = dict(step.expect)
        if isinstance(step, (Nudge, Burst)):
            el = self.control(step.control)
            before = self._slider_value(el)
            after = self._arrow(el, step.direction, getattr(step, "presses", 1))
            if after == before:
                raise HarnessFailure(f"{self.spec.name}: {step.label()} did not move the slider (at {before})")
            expect.setdefault(step.control, after)
        elif isinstance(step, Set):
            el = self.control(step.control)
            kind = self._kind(el)
            if kind == "slider":
                current = self._slider_value(el)
                if abs(current - step.value) < 1e-9:
                    raise HarnessFailure(f"{self.spec.name}: {step.label()} changes nothing (already {current})")
                direction = 1 if step.value > current else -1
                for _ in range(1000):
                    current = self._arrow(el, direction)
                    if (current - step.value) * direction >= -1e-9:
                        break
                if abs(current - step.value) > 1e-6:
                    raise HarnessFailure(f"{self.spec.name}: slider {step.control} cannot reach {step.value} (stops at {current})")
            elif kind == "dropdown":
                el.locator("select").select_option(label=str(step.value))
            elif kind == "toggle":
                el.locator("button", has_text=re.compile(rf"^\s*{re.escape(str(step.value))}\s*$")).click()
            elif kind == "text":
                box = el.locator("input, textarea").first
                box.fill(str(step.value))
                box.press("Enter")
            elif kind == "checkbox":
                box = el.locator("input[type=checkbox]")
                if box.is_checked() != bool(step.value):
                    box.click()
            else:
                raise HarnessFailure(f"{self.spec.name}: cannot set a {kind!r} control ({step.control})")
            expect.setdefault(step.control, step.value)
        elif isinstance(step, Press):
            el = self.control(step.control)
            (el if self._kind(el) == "button" else el.locator("button").first).click()
        elif isinstance(step, Draw):
            self._draw(step)
        else:
            raise HarnessFailure(f"unknown step {step!r}")
        return expect

    def _draw(self, step):
        canvas = self.root.locator("canvas").first
        box = canvas.bounding_box()
        if step.busy:
            self.page.evaluate("(code) => { window.__cnn.execute(code); }", f"import time; time.sleep({step.busy})")
        mouse = self.page.mouse
        for stroke in step.strokes:
            points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
            mouse.move(*points[0])
            mouse.down()
            for point in points[1:]:
                mouse.move(*point, steps=4)
            mouse.up()

    # --- observation -------------------------------------------------------------------------
    def state(self):
        """The JSON the widget publishes for its last frame (None for widgets without ``Live``)."""
        return self.root.evaluate("(root) => window.__cnn.state(root)")

    def snapshot(self):
        return self.root.evaluate("(root) => window.__cnn.snapshot(root)")

    def perform(self, step, settle_ms=0):
        """Do one step, wait for the frame it asks for; return what was measured.

        Returns
        -------
        dict
            ``latency_ms`` (last input event to the painted frame), ``frames`` drawn,
            ``state`` (the widget's JSON).
        """
        before = self.snapshot()
        expect = self._act(step)
        args = {"expect": expect, "caption": list(step.caption), "before": before,
                "imageChanges": step.image_changes, "timeoutMs": STEP_TIMEOUT * 1000,
                "settleMs": settle_ms}
        if isinstance(step, Draw) and before.get("state"):
            drawn = before["state"]["values"].get("strokes", 0) + len(step.strokes)
            args["expect"] = {**expect, "strokes": drawn}
        result = self.root.evaluate("(root, args) => window.__cnn.waitFor(root, args)", args)
        if result.get("failure"):
            raise HarnessFailure(f"{self.spec.name}: after '{step.label()}': {result['failure']}")
        if isinstance(step, Draw) and result.get("state"):
            self._check_prediction(step)
        return result

    def _check_prediction(self, step):
        """The prediction shown is the model's answer for the whole canvas, as drawn."""
        pixels = self.root.locator("canvas").first.evaluate("(c) => window.__cnn.canvasInk(c)")
        code = (
            "import base64 as _b, numpy as _np\n"
            "from cnnlib.widgets.draw_digit import predict_drawing as _pd\n"
            f"_ink = _np.frombuffer(_b.b64decode('{pixels['b64']}'), _np.uint8).reshape({pixels['h']}, {pixels['w']})\n"
            f"_d, _p = _pd({step.model}, _ink)\n"
            "print(int(_p.argmax()), round(float(_p.max()) * 100))\n")
        digit, percent = map(int, self.lp.kernel_execute(code).split())
        text = self.root.evaluate("(root) => root.innerText")
        shown = re.search(r"prediction:\s*(\d)\s*\((\d+)\s*%\)", text)
        if not shown:
            raise HarnessFailure(f"{self.spec.name}: no 'prediction: D (P %)' shown after drawing:\n{text[:300]}")
        if (int(shown[1]), int(shown[2])) != (digit, percent):
            raise HarnessFailure(
                f"{self.spec.name}: shows prediction {shown[1]} ({shown[2]} %) but the complete drawing "
                f"gives {digit} ({percent} %): the prediction was made from an unfinished drawing")

    def check_rendered(self):
        """The widget shows a picture or text and no drawing error."""
        report = self.root.evaluate("(root) => window.__cnn.renderReport(root)")
        if report:
            raise HarnessFailure(f"{self.spec.name}: {report}")

