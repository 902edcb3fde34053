"""How to write a widget in this course: thin, fast, tested.

A widget is an instrument: the student moves a control and the picture answers at once
(budget: median <= 150 ms, worst <= 300 ms from input to changed pixels on an idle 2-core
machine, measured in a real browser by ``make bench``). Measured for the kernel explorer
(issue 10): rebuilding its matplotlib figure per move cost 180-270 ms of Python alone;
updating the artists of a figure built once costs 30-60 ms with a full Agg draw, 10-40 ms
when only the moving artists are redrawn (``animated=``), and the PNG goes into an
``ipywidgets.Image`` through an encoder that takes 4 ms. In the browser, slider to pixels,
this path measured 83-97 ms median against 120-144 ms for the same figure on an ipympl
canvas (machine under load 7). So:

1. **A pure view function** ``my_view(**controls) -> dict`` of arrays, numbers and strings.
   No ipywidgets, no drawing. Unit-test it in ``tests/test_widgets_<topic>.py``.
2. **A figure built once** (``matplotlib.figure.Figure``, never pyplot) and a ``draw(view)``
   that only updates its artists in place: ``im.set_data``, ``line.set_ydata``,
   ``text.set_text``, ``bar.set_height``, ``patch.set_xy``. Matplotlib text is slow (~1 ms
   per label): a grid of numbers or a sentence goes in the HTML caption instead (``html=``),
   and labels in the figure use ``fontsize >= 10`` at ``dpi=80`` (>= 8 pt on screen).
3. **``Live(name, controls, my_view, figure=fig, draw=draw, html=...)``** wires it up
   (``beside=True``: caption right of the figure; ``animated=[artists]``: blit them, see
   :class:`Live`; ``values=``: state that is not a control value, e.g. a drawing).
   It renders the first state before returning, then redraws on every control change in a
   background thread that always draws the *latest* state: a burst of slider moves costs
   one or two frames, never a queue of stale ones. An exception in ``my_view``/``draw`` is
   shown in the widget (red) and raised by :meth:`Live.wait`.
4. **Long work** (training) goes behind a :class:`TaskButton` with a progress bar, never in
   an observer: observers must return at once.
5. **Browser test**: add the widget to ``tests/browser/specs/lessonNN.py`` (see
   ``tests/browser/spec.py``): controls are found by the ``cnn-ctl-<key>`` class that
   ``Live`` adds, the widget by ``cnn-<name>``. Put the numbers a move changes into the
   caption (sizes, the sum, the prediction): the spec checks them there, and a picture
   that changes for the wrong reason then cannot pass. Every ``Live`` widget in a lesson
   must have a spec, or the suite fails.

Minimal example (the lesson cell is just ``relu_explorer()``)::

    import ipywidgets as widgets
    import numpy as np
    from matplotlib.figure import Figure
    from cnnlib.widgets._live import Live

    def relu_view(slope):                                  # pure, unit-tested
        x = np.linspace(-3, 3, 61)
        y = np.where(x > 0, x, slope * x)
        return {"x": x, "y": y, "caption": f"leaky ReLU, slope {slope:g} for x < 0"}

    def relu_explorer(slope=0.1):
        view = relu_view(slope)
        fig = Figure(figsize=(5, 3), dpi=80)               # built once
        ax = fig.subplots()
        (line,) = ax.plot(view["x"], view["y"])
        ax.set_ylim(-3, 3)

        def draw(view):                                    # in place, never rebuild
            line.set_ydata(view["y"])

        slope_slider = widgets.FloatSlider(slope, min=0, max=1, step=0.05, description="slope")
        return Live("relu-explorer", {"slope": slope_slider}, relu_view,
                    figure=fig, draw=draw, html=lambda view: view["caption"])

Controls are passed to the view function by their key; a list of widgets (e.g. a 3x3 grid
of weights) passes a list of values. Related controls (one slider bounding another, a
preset filling a grid) are wired with ordinary ``observe`` calls inside ``with live.hold():``
so that the change draws one frame. ``live.controls[key]`` reaches a control,
``live.view`` the last view drawn, ``live.wait()`` waits for the pending frame (tests).
"""
import contextlib
import html as _html
import json
import struct
import threading
import time
import traceback
import zlib

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from .._blas import blas_single_thread

__all__ = ["Live", "TaskButton", "figure_png", "array_png", "png_bytes", "Cancelled"]

# One frame at a time across all widgets: two cores, and matplotlib's text engine is
# shared between figures.
_RENDER_LOCK = threading.Lock()


def _agg(fig):
    return fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(pixels):
    """Encode an (H, W, 3|4) uint8 array as PNG: no row filters, zlib level 1.

    Measured on an 800x300 figure: 4 ms and 18 KB, where Pillow's adaptive row filters
    take 13-18 ms for 15 KB.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, channels = pixels.shape
    rows = np.zeros((height, 1 + width * channels), np.uint8)  # each row: filter byte 0, pixels
    rows[:, 1:] = pixels.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _chunk(b"IEND", b""))


def figure_png(fig, draw=True):
    """Draw a matplotlib Figure with Agg and encode it as PNG bytes.

    ``draw=False`` encodes what the canvas already holds (after blitting).

    Returns
    -------
    png : bytes
    """
    canvas = _agg(fig)
    if draw:
        canvas.draw()
    return png_bytes(np.asarray(canvas.buffer_rgba()))


def array_png(array, vmin=None, vmax=None, cmap="gray", scale=1):
    """Encode a 2-D array (colour-mapped) or an (H, W, 3|4) uint8 array as PNG bytes.

    Parameters
    ----------
    array : (H, W) or (H, W, 3|4) array_like
    vmin, vmax : float, optional
        Colour limits of a 2-D array (default: its min and max).
    cmap : str
        Matplotlib colormap name for a 2-D array.
    scale : int
        Each pixel becomes a ``scale x scale`` block (crisp, no blur from the browser).

    Returns
    -------
    png : bytes
    """
    from matplotlib import colormaps

    array = np.asarray(array)
    if array.ndim == 2:
        lo = float(np.min(array)) if vmin is None else vmin
        hi = float(np.max(array)) if vmax is None else vmax
        norm = (array.astype(np.float64) - lo) / (hi - lo if hi > lo else 1.0)
        array = colormaps[cmap](np.clip(norm, 0, 1), bytes=True)
    elif not (array.ndim == 3 and array.shape[2] in (3, 4) and array.dtype == np.uint8):
        raise ValueError(f"array_png: expected (H, W) or uint8 (H, W, 3|4), got {array.dtype} {array.shape}")
    if scale != 1:
        array = np.repeat(np.repeat(array, int(scale), axis=0), int(scale), axis=1)
    return png_bytes(array)


def _plain(value):
    """Control values as JSON for the browser tests (arrays become their shape)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return f"<{type(value).__name__} {getattr(value, 'shape', '')}>"


class Live(widgets.VBox):
    """Controls -> pure view function -> a figure updated in place (+ an HTML caption).

    Parameters
    ----------
    name : str
        Short kebab-case name; the widget gets the CSS class ``cnn-<name>`` and each
        control ``cnn-ctl-<key>`` (``cnn-ctl-<key>-<i>`` inside a list), which is how the
        browser tests find them.
    controls : dict of str -> ipywidgets.ValueWidget or list of them
        Passed to ``compute`` by key (a list passes the list of values).
    compute : callable
        ``compute(**values) -> view``: pure, no widgets.
    figure : matplotlib.figure.Figure, optional
        Built once by the caller; shown as a PNG image.
    draw : callable, optional
        ``draw(view)`` updates the figure's artists in place (required with ``figure``).
    html : callable, optional
        ``html(view) -> str`` shown under the figure (escape user text with ``html.escape``).
    layout : callable, optional
        ``layout(controls) -> widget`` arranging the controls (default: one wrapping row).
    values : callable, optional
        ``values() -> dict`` overriding how the keyword arguments of ``compute`` are read
        (for state that is not a control's value, e.g. an image received from the browser).
    beside : bool
        Put the caption to the right of the figure instead of under it.
    animated : list of matplotlib artists, optional
        Speed-up for figures whose frames change only a few artists (blitting): everything
        else is drawn once into a cached background and these are drawn over it each
        frame. ``draw(view)`` must then return True whenever it changed anything else
        (a title, axis limits), which redraws the background.
    """

    def __init__(self, name, controls, compute, figure=None, draw=None, html=None,
                 layout=None, values=None, beside=False, animated=None):
        if figure is not None and draw is None:
            raise ValueError("Live: a figure needs a draw(view) that updates it in place")
        self.name = name
        self.controls = dict(controls)
        self._compute, self._draw, self._html = compute, draw, html
        self._values = values
        self.figure = figure
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        if figure is not None:
            if not isinstance(figure.canvas, FigureCanvasAgg):
                FigureCanvasAgg(figure)
            # At its own size: a stretched PNG is blurred and its labels no longer 8 pt.
            self.image.width = str(figure.canvas.get_width_height()[0])
        self.image.add_class("cnn-live-image")
        self.caption = widgets.HTML()
        self.caption.add_class("cnn-live-caption")
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error.add_class("cnn-live-error")
        # What the last frame shows, as JSON: the browser tests wait on it.
        self.state = widgets.HTML(layout=widgets.Layout(display="none"))
        self.state.add_class("cnn-live-state")
        self.view, self.frames, self.last_error = None, 0, None
        self._animated, self._background = list(animated or []), None
        for artist in self._animated:
            artist.set_animated(True)
        self._lock = threading.Lock()
        self._dirty, self._held, self._worker = False, 0, None

        for key, control in self.controls.items():
            for i, w in enumerate(control if isinstance(control, (list, tuple)) else [control]):
                w.add_class(f"cnn-ctl-{key}-{i}" if isinstance(control, (list, tuple)) else f"cnn-ctl-{key}")
                w.observe(self._changed, names="value")
        flat = [w for c in self.controls.values() for w in (c if isinstance(c, (list, tuple)) else [c])]
        box = layout(self.controls) if layout else widgets.HBox(
            flat, layout=widgets.Layout(flex_flow="row wrap"))
        shown = ([self.image] if figure is not None else []) + [self.caption]
        if beside and figure is not None:
            shown = [widgets.HBox(shown, layout=widgets.Layout(align_items="flex-start"))]
        parts = [box] + shown + [self.error, self.state]
        super().__init__(parts)
        self.add_class("cnn-live")
        self.add_class(f"cnn-{name}")
        self._render()  # the first frame synchronously: the cell shows a picture at once

    # --- state -------------------------------------------------------------------------------
    def values(self):
        """The keyword arguments ``compute`` gets for the current control state."""
        if self._values is not None:
            return self._values()
        return {k: ([w.value for w in c] if isinstance(c, (list, tuple)) else c.value)
                for k, c in self.controls.items()}

    @contextlib.contextmanager
    def hold(self):
        """Change several controls, draw once at the end."""
        with self._lock:
            self._held += 1
        try:
            yield
        finally:
            with self._lock:
                self._held -= 1
            self.refresh()

    def refresh(self):
        """Ask for a frame of the current state (coalesced with any pending one)."""
        self._changed(None)

    # --- drawing -----------------------------------------------------------------------------
    def _changed(self, _change):
        with self._lock:
            self._dirty = True
            if self._held or self._worker is not None:
                return
            self._worker = threading.Thread(target=self._work, name=f"cnn-live-{self.name}", daemon=True)
            self._worker.start()

    def _work(self):
        # Observers only set a flag; this loop draws whatever the controls say *now*, so
        # moves that arrive during a frame collapse into the next one.
        while True:
            with self._lock:
                if not self._dirty or self._held:
                    self._worker = None  # under the lock: a change arriving now starts a new worker
                    return
                self._dirty = False
            self._render()

    def _render(self):
        values, start = {}, time.perf_counter()
        with _RENDER_LOCK:
            try:
                values = self.values()
                view = self._compute(**values)
                png = None
                if self.figure is not None:
                    png = self._figure_png(self._draw(view))
                text = self._html(view) if self._html else None
            except Exception as exc:  # shown to the student; the worker must keep going
                self.last_error = exc
                self.error.value = (f"<pre style='color:#b00020;white-space:pre-wrap'>"
                                    f"{_html.escape(''.join(traceback.format_exception_only(type(exc), exc)))}</pre>")
                self.error.layout.display = None
                self._publish(values, error=str(exc))
                return
        self.view, self.last_error = view, None
        self.frame_ms = round(1000 * (time.perf_counter() - start), 1)
        if png is not None:
            self.image.value = png
        if text is not None:
            self.caption.value = text
        if self.error.layout.display != "none":
            self.error.layout.display = "none"
            self.error.value = ""
        self._publish(values)

    def _figure_png(self, restyled):
        if not self._animated:
            return figure_png(self.figure)
        canvas = _agg(self.figure)
        if restyled or self._background is None:
            canvas.draw()  # everything but the animated artists
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        return figure_png(self.figure, draw=False)

    def _publish(self, values, error=None):
        self.frames += 1
        self.state.value = _html.escape(json.dumps(
            {"frame": self.frames, "values": _plain(values), "error": error,
             "ms": getattr(self, "frame_ms", None)}))

    def wait(self, timeout=30):
        """Wait until every requested frame is drawn; re-raise a drawing error (for tests).

        Returns
        -------
        self
        """
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"{self.name}: frame not drawn within {timeout} s")
        if self.last_error is not None:
            raise self.last_error
        return self


class Cancelled(Exception):
    """Raised inside a :class:`TaskButton` job when the student presses Stop."""


class TaskButton(widgets.VBox):
    """A button that runs long work (training) in the background, with a progress bar.

    Parameters
    ----------
    description : str
        Button label, e.g. ``"Train 1 epoch"``.
    work : callable
        ``work(progress) -> result``, run in a background thread so the kernel (and every
        other widget) stays responsive. Call ``progress(fraction, text="")`` now and then:
        it moves the bar and raises :class:`Cancelled` once Stop was pressed.
    done : callable, optional
        ``done(result)`` after success, e.g. ``live.refresh``.
    name : str, optional
        CSS class ``cnn-<name>`` for the browser tests.
    """

    def __init__(self, description, work, done=None, name=None):
        self._description, self._work, self._done = description, work, done
        self.button = widgets.Button(description=description)
        self.button.add_class("cnn-task-button")
        self.bar = widgets.FloatProgress(value=0, min=0, max=1, layout=widgets.Layout(width="220px"))
        self.status = widgets.HTML()
        self.status.add_class("cnn-task-status")
        self.result, self.error = None, None
        self._thread, self._stop = None, threading.Event()
        self.button.on_click(self._click)
        super().__init__([widgets.HBox([self.button, self.bar]), self.status])
        if name:
            self.add_class(f"cnn-{name}")

    def _click(self, _button):
        if self._thread is not None and self._thread.is_alive():
            self._stop.set()
            self.status.value = "stopping…"
            return
        self._stop.clear()
        self.button.description = "Stop"
        self.bar.value, self.bar.bar_style = 0, ""
        self.status.value = "running…"
        # BLAS at one thread, set from here: OpenBLAS ignores a count set from the task's own thread, and
        # its spinning threads made a 0.7 s training take 3.4 s there on a busy machine
        self._blas = contextlib.ExitStack()
        self._blas.enter_context(blas_single_thread())
        self._thread = threading.Thread(target=self._run, name="cnn-task", daemon=True)
        self._thread.start()

    def _progress(self, fraction, text=""):
        if self._stop.is_set():
            raise Cancelled()
        self.bar.value = float(np.clip(fraction, 0, 1))
        if text:
            self.status.value = _html.escape(text)

    def _run(self):
        try:
            self.result, self.error = self._work(self._progress), None
            self.bar.value, self.bar.bar_style = 1, "success"
            self.status.value = "done"
            if self._done is not None:
                self._done(self.result)
        except Cancelled:
            self.status.value, self.bar.bar_style = "stopped", "warning"
        except Exception as exc:
            self.error = exc
            self.bar.bar_style = "danger"
            self.status.value = f"<span style='color:#b00020'>{_html.escape(repr(exc))}</span>"
        finally:
            self.button.description = self._description
            self._blas.close()

    def wait(self, timeout=600):
        """Wait for the job to finish; re-raise its error (for tests). Returns its result."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result
