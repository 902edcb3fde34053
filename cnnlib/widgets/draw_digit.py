"""Draw a digit with the mouse and watch the trained CNN's probabilities (Lesson 08).

The strokes are drawn in the browser by :class:`DrawPad` (a small anywidget): no mouse move
goes to the kernel. When the button is lifted the pad sends the whole canvas once, so the
prediction is always made from the complete drawing, however busy the kernel is. The pure
functions (:func:`predict_drawing`, :func:`pad_view`) take the canvas as an array and are
tested without a kernel; :func:`draw_digit` wires the pad to them through ``Live``.
"""
import html

import anywidget
import matplotlib.pyplot as plt
import numpy as np
import traitlets
from ipywidgets.widgets.trait_types import bytes_serialization
from matplotlib.figure import Figure

from ..digit_preprocess import preprocess_digit, to_model_input
from ..plots_eval import plot_probabilities
from ._live import Live

__all__ = ["predict_drawing", "drawing_figure", "stroke_image", "pad_view", "DrawPad",
           "DrawingFigure", "draw_digit"]


def predict_drawing(model, image):
    """Preprocess a drawing like MNIST and return what ``model`` thinks it is.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, 1, 28, 28)`` normalized images and returns ``(N, 10)`` logits.
    image : (H, W) or (H, W, 4) ndarray
        The canvas: bright ink on a dark or transparent background.

    Returns
    -------
    digit : (28, 28) float32 ndarray
        The MNIST-like image the model saw.
    probs : (10,) float32 ndarray
        Softmax probabilities.

    Raises
    ------
    ValueError
        If the canvas is blank.
    """
    import torch

    digit = preprocess_digit(image)
    model.eval()
    with torch.inference_mode():
        logits = model(torch.from_numpy(to_model_input(digit)))
    return digit, torch.softmax(logits, dim=1)[0].numpy()


def drawing_figure(digit, probs):
    """The preprocessed 28x28 digit beside the probability bars (a pyplot figure)."""
    fig = plt.figure(figsize=(7, 2.6))
    DrawingFigure(digit, probs, figure=fig)
    fig.tight_layout()
    return fig


class DrawingFigure:
    """What the network sees beside its probabilities, built once and updated in place."""

    def __init__(self, digit=None, probs=None, figure=None):
        self.figure = figure if figure is not None else Figure(figsize=(7, 2.8), dpi=80)
        if figure is None:  # fixed margins: tight_layout per frame would double its cost
            self.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.12, top=0.88, wspace=0.25)
        self.ax_img, self.ax_bar = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
        self.im = self.ax_img.imshow(np.zeros((28, 28)), cmap="gray_r", vmin=0, vmax=1)
        self.ax_img.set_title("what the network sees (28x28)", fontsize=10)
        self.ax_img.set_xticks([])
        self.ax_img.set_yticks([])
        plot_probabilities(np.full(10, 0.1), ax=self.ax_bar)
        self.bars = list(self.ax_bar.patches)
        self.update({"digit": digit, "probs": probs})

    @property
    def animated(self):
        """Everything a new drawing changes (for ``Live(animated=)``): axes and ticks stay."""
        return [self.im, *self.bars, self.ax_bar.title]

    def update(self, view):
        """Show ``view["digit"]`` and ``view["probs"]`` (None: a blank pad)."""
        digit, probs = view.get("digit"), view.get("probs")
        blank = probs is None
        self.im.set_data(np.zeros((28, 28)) if digit is None else digit)
        probs = np.zeros(10) if blank else np.asarray(probs, dtype=float)
        best = int(probs.argmax())
        for i, bar in enumerate(self.bars):
            bar.set_height(probs[i])
            bar.set_color("tab:blue" if i == best and not blank else "tab:gray")
        self.ax_bar.set_title("draw a digit on the left" if blank
                              else f"prediction: {best} ({probs[best]:.0%})", fontsize=10)
        return False  # only animated artists changed


def stroke_image(points, size=280, width=18):
    """Rasterize a polyline (a synthetic "drawing") into a ``size x size`` ink image.

    Useful for testing the pipeline without a mouse: each segment between
    consecutive ``(x, y)`` points becomes a round-capped stroke ``width`` px wide.

    Returns
    -------
    (size, size) float32 ndarray, ink 1.0 on background 0.0
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
        raise ValueError(f"stroke_image: expected (K, 2) points, got shape {pts.shape}")
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    img = np.zeros((size, size), bool)
    segments = zip(pts, pts[1:]) if len(pts) > 1 else [(pts[0], pts[0])]
    for (x0, y0), (x1, y1) in segments:
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.zeros_like(xx) if length2 == 0 else np.clip(((xx - x0) * dx + (yy - y0) * dy) / length2, 0, 1)
        img |= (xx - (x0 + t * dx)) ** 2 + (yy - (y0 + t * dy)) ** 2 <= (width / 2) ** 2
    return img.astype(np.float32)


_PAD_JS = """
function render({ model, el }) {
  const size = model.get("size");
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.style.cssText = `width:${size}px;height:${size}px;border:1px solid gray;touch-action:none;cursor:crosshair`;
  const ctx = canvas.getContext("2d");
  const wipe = () => { ctx.fillStyle = "black"; ctx.fillRect(0, 0, size, size); };
  wipe();
  let last = null;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * size / r.width, (e.clientY - r.top) * size / r.height];
  };
  const line = (a, b) => {
    ctx.strokeStyle = "white"; ctx.lineWidth = model.get("line_width");
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
  };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
    line(last, last);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = at(e);
    line(last, p);
    last = p;
  });
  // One message per finished stroke: the whole canvas (red channel = ink) and the stroke count.
  const finish = () => {
    if (!last) return;
    last = null;
    const rgba = ctx.getImageData(0, 0, size, size).data;
    const ink = new Uint8Array(size * size);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i];
    model.set("ink", new DataView(ink.buffer));
    model.set("value", model.get("value") + 1);
    model.save_changes();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  const clear = document.createElement("button");
  clear.textContent = "Clear";
  clear.className = "jupyter-button widget-button";
  clear.style.cssText = "display:block;margin-top:4px";
  clear.addEventListener("click", () => {
    wipe();
    model.set("ink", new DataView(new ArrayBuffer(0)));
    model.set("value", 0);
    model.save_changes();
  });
  model.on("change:value", () => { if (model.get("value") === 0) wipe(); });
  el.appendChild(canvas);
  el.appendChild(clear);
}
export default { render };
"""


class DrawPad(anywidget.AnyWidget):
    """A canvas drawn on in the browser (white ink on black, like MNIST).

    ``value`` counts the strokes since the last Clear and ``ink`` holds the whole canvas
    (``size * size`` bytes, row-major); both arrive together once per finished stroke.
    """

    _esm = _PAD_JS
    size = traitlets.Int(280).tag(sync=True)
    line_width = traitlets.Int(18).tag(sync=True)
    value = traitlets.Int(0).tag(sync=True)
    ink = traitlets.Bytes(b"").tag(sync=True, **bytes_serialization)

    def image(self):
        """The canvas as a (size, size) uint8 array (zeros before the first stroke)."""
        if len(self.ink) != self.size * self.size:
            return np.zeros((self.size, self.size), np.uint8)
        return np.frombuffer(bytes(self.ink), np.uint8).reshape(self.size, self.size)


def pad_view(model, strokes, image):
    """What the widget shows for a canvas (pure apart from running the model).

    Returns
    -------
    view : dict
        ``digit``, ``probs`` (None while the pad is blank) and ``caption`` (HTML,
        ``prediction: D (P %)``, the form the browser suite reads).
    """
    if strokes == 0 or not np.any(image):
        return {"digit": None, "probs": None,
                "caption": "<div style='font-size:14px'>Draw a digit in the black square "
                           "(one stroke or several); <b>Clear</b> starts again.</div>"}
    try:
        digit, probs = predict_drawing(model, image)
    except ValueError as exc:
        return {"digit": None, "probs": None,
                "caption": f"<div style='font-size:14px'>{html.escape(str(exc))}</div>"}
    best = int(probs.argmax())
    runner_up = int(np.argsort(probs)[-2])
    return {"digit": digit, "probs": probs,
            "caption": f"<div style='font-size:16px'><b>prediction: {best} ({round(float(probs[best]) * 100)} %)</b>"
                       f" &nbsp; next: {runner_up} ({round(float(probs[runner_up]) * 100)} %) "
                       f"&nbsp; after {strokes} stroke{'s' if strokes != 1 else ''}</div>"}


def draw_digit(model, size=280, line_width=18):
    """A canvas to draw on with the mouse; the prediction updates when you lift the button.

    White ink on black, like MNIST. Press "Clear" to start again. Returns the widget
    (displayed as the cell's output).
    """
    pad = DrawPad(size=size, line_width=line_width)
    plot = DrawingFigure()

    def layout(controls):
        import ipywidgets as widgets

        return widgets.HBox([controls["pad"]])

    return Live("draw-digit", {"pad": pad}, lambda strokes, image: pad_view(model, strokes, image),
                figure=plot.figure, draw=plot.update, html=lambda view: view["caption"], layout=layout,
                values=lambda: {"strokes": pad.value, "image": pad.image()}, animated=plot.animated)
