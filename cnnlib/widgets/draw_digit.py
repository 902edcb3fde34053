"""Draw a digit with the mouse and watch the trained CNN's probabilities (Lesson 08).

The pure functions (:func:`predict_drawing`, :func:`drawing_figure`) take a
canvas image as an array and are tested without a kernel; :func:`draw_digit`
only wires an ipycanvas canvas and two buttons to them.
"""
import matplotlib.pyplot as plt
import numpy as np

from ..digit_preprocess import preprocess_digit, to_model_input
from ..plots_eval import plot_probabilities

__all__ = ["predict_drawing", "drawing_figure", "stroke_image", "draw_digit"]


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
    """The preprocessed 28x28 digit beside the probability bars."""
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(7, 2.6), gridspec_kw={"width_ratios": [1, 1.6]})
    ax_img.imshow(digit, cmap="gray_r", vmin=0, vmax=1)
    ax_img.set_title("what the network sees (28x28)", fontsize=9)
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    plot_probabilities(probs, ax=ax_bar)
    fig.tight_layout()
    return fig


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


def draw_digit(model, size=280, line_width=18):
    """A canvas to draw on with the mouse; the prediction updates when you lift the button.

    White ink on black, like MNIST. Press "Clear" to start again.
    Returns the widget box (displayed as the cell's output).
    """
    import ipywidgets as widgets
    from IPython.display import display
    from ipycanvas import Canvas, hold_canvas

    canvas = Canvas(width=size, height=size, sync_image_data=True,
                    layout=widgets.Layout(width=f"{size}px", height=f"{size}px", border="1px solid gray"))
    out = widgets.Output()
    clear = widgets.Button(description="Clear", icon="eraser")
    state = {"drawing": False, "last": None, "pending": False}

    def reset(*_):
        with hold_canvas():
            canvas.clear()
            canvas.fill_style = "black"
            canvas.fill_rect(0, 0, size, size)
        canvas.stroke_style = "white"
        canvas.line_width = line_width
        canvas.line_cap = "round"
        with out:
            out.clear_output(wait=True)
            print("Draw a digit in the black square (one stroke or several).")

    def down(x, y):
        state.update(drawing=True, last=(x, y))

    def move(x, y):
        if state["drawing"]:
            canvas.stroke_line(*state["last"], x, y)
            state["last"] = (x, y)

    def up(x, y):
        if state["drawing"]:
            canvas.stroke_line(*state["last"], x, y)
        state.update(drawing=False, pending=True)

    def on_image(change):
        # The browser sends the pixels after drawing; predict only once a stroke is finished.
        if not state["pending"] or change["new"] is None:
            return
        state["pending"] = False
        with out:
            out.clear_output(wait=True)
            try:
                digit, probs = predict_drawing(model, canvas.get_image_data())
            except ValueError as exc:
                print(exc)
                return
            fig = drawing_figure(digit, probs)
            display(fig)
            plt.close(fig)

    canvas.on_mouse_down(down)
    canvas.on_mouse_move(move)
    canvas.on_mouse_up(up)
    canvas.on_mouse_out(lambda x, y: state.update(drawing=False))
    canvas.observe(on_image, "image_data")
    clear.on_click(reset)
    reset()
    return widgets.HBox([widgets.VBox([canvas, clear]), out])
