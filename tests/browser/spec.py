"""The declarative language of the browser suite: what to open, what to move, what to expect.

A lesson's widgets join the suite through one file, ``tests/browser/specs/lessonNN.py``,
defining ``LESSON = Lesson(...)``; the suite finds it by itself. No Playwright code::

    from ..spec import Lesson, Widget, Set, Nudge, Press, Burst

    LESSON = Lesson("02_activations.ipynb", [
        Widget("relu-explorer", cell="relu_explorer(",
               steps=[Set("slope", 0.5, caption="slope 0.5"),        # type into the slider's box
                      Nudge("slope", +1, expect={"slope": 0.55})],   # one arrow-key step
               bench=[Nudge("slope", +1), Nudge("slope", -1)]),
    ])

* ``Widget(name, cell=...)``: the widget with CSS class ``cnn-<name>`` (``Live`` adds it) in the
  output of the first code cell whose source contains ``cell``.
* A control is named by its key in ``Live(controls={...})`` (CSS class ``cnn-ctl-<key>``,
  ``<key>-<i>`` inside a list), or else by its ``description`` label. The harness looks at the
  control and acts like a student: arrow keys or the number box of a slider, choosing in a
  dropdown, clicking a toggle button or a button, typing into a text box and pressing Enter.
* ``Set`` on a dropdown picks the option by its label; when the options are (label, value)
  pairs, say what the state then holds: ``Set("explain", "predicted class",
  expect={"explain": "predicted"})``. A grid of controls passed as a list is addressed
  item by item: ``Set("weights-4", 1)``.
* After every step the harness waits (generously, no fixed sleeps) until the widget shows a
  *new frame* whose control values include the moved control's new value and ``expect``,
  whose text contains every ``caption`` string, and (if ``image_changes``) whose picture
  differs from before. It fails on a drawing error shown in the widget, on
  "Error displaying widget", on a cell error and on any JavaScript console error.
* ``bench`` lists the steps ``make bench`` repeats to measure latency (default: ``steps``).
  Each step must change the state, so cycle between two values (``Nudge +1`` then ``-1``).
"""
from dataclasses import dataclass, field


def _tuple(value):
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Step:
    """Base of every action. ``expect``: control values the new frame must show;
    ``caption``: text(s) the widget must then contain; ``image_changes``: the picture differs."""

    expect: dict = field(default_factory=dict, kw_only=True)
    caption: tuple = field(default=(), kw_only=True)
    image_changes: bool = field(default=True, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "caption", _tuple(self.caption))

    def label(self):
        return type(self).__name__


@dataclass(frozen=True)
class Set(Step):
    """Set a control to ``value`` the way a student would (slider: arrow keys up to the value)."""

    control: str
    value: object

    def label(self):
        return f"set {self.control}={self.value!r}"


@dataclass(frozen=True)
class Nudge(Step):
    """One arrow-key step of a slider (``direction`` +1 or -1): the latency probe."""

    control: str
    direction: int = 1

    def label(self):
        return f"nudge {self.control} {'+' if self.direction > 0 else '-'}1"


@dataclass(frozen=True)
class Burst(Step):
    """``presses`` arrow-key steps as fast as the keyboard goes: only the last may count."""

    control: str
    presses: int = 10
    direction: int = 1

    def label(self):
        return f"burst {self.control} x{self.presses}"


@dataclass(frozen=True)
class Press(Step):
    """Click a button (named by key or by its text)."""

    control: str

    def label(self):
        return f"press {self.control}"


@dataclass(frozen=True)
class Draw(Step):
    """Draw strokes on the widget's canvas with the mouse.

    ``strokes``: polylines in canvas fractions (0..1, x right, y down). Afterwards the widget
    must show a prediction computed from the *complete* drawing: the harness reads the
    canvas pixels and asks the kernel for ``predict_drawing(<model>, pixels)``. ``busy``
    keeps the kernel busy that many seconds while drawing (the slow-kernel case).
    """

    strokes: tuple
    model: str = "model"
    busy: float = 0.0

    def label(self):
        return f"draw {len(self.strokes)} stroke(s){' on a busy kernel' if self.busy else ''}"


@dataclass(frozen=True)
class Widget:
    """One widget of a lesson and what to do with it."""

    name: str
    cell: str
    steps: tuple = ()
    bench: tuple = None

    @property
    def css(self):
        return f"cnn-{self.name}"


@dataclass(frozen=True)
class Lesson:
    """A notebook in lessons/ and its widgets. ``timeout``: seconds for "Run All" (fast mode)."""

    notebook: str
    widgets: tuple = ()
    timeout: float = 900

    @property
    def stem(self):
        return self.notebook.rsplit(".", 1)[0]
