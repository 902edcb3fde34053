"""Receptive-field explorer: pick a stack of layers and an output cell, see the input it depends on.

The numbers come from :mod:`cnnlib.receptive` (size ``r``, jump ``j``, start,
and the exact region, checked there against torch autograd). Pure functions
(``parse_stack``, ``rf_view``, ``rf_figure``, ``output_grid``, ``cell_at``)
are tested without a kernel; :func:`receptive_field_explorer` only wires
controls, and a canvas whose clicks pick the output cell, to them.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlib import receptive

__all__ = ["PRESETS", "parse_stack", "rf_view", "rf_figure", "output_grid", "cell_at", "receptive_field_explorer"]

# name -> [(kind, kernel, stride, padding)]; "same" padding for 3x3 convolutions
PRESETS = {
    "conv 3×3": [("conv", 3, 1, 1)],
    "conv 3×3 → conv 3×3": [("conv", 3, 1, 1), ("conv", 3, 1, 1)],
    "conv 3×3 → pool 2×2": [("conv", 3, 1, 1), ("pool", 2, 2, 0)],
    "conv → pool → conv → pool": [("conv", 3, 1, 1), ("pool", 2, 2, 0), ("conv", 3, 1, 1), ("pool", 2, 2, 0)],
    "conv → pool → conv → conv → pool → conv → pool": [
        ("conv", 3, 1, 1), ("pool", 2, 2, 0), ("conv", 3, 1, 1), ("conv", 3, 1, 1), ("pool", 2, 2, 0),
        ("conv", 3, 1, 1), ("pool", 2, 2, 0)],
    "5 × conv 3×3 (no pooling)": [("conv", 3, 1, 1)] * 5,
    "conv 5×5 stride 2 → pool 3×3 stride 2 (overlapping)": [("conv", 5, 2, 2), ("pool", 3, 2, 0)],
}


def parse_stack(text):
    """Read a stack typed as ``"conv 3/1/1, pool 2/2"``: kind, then kernel/stride[/padding].

    Parameters
    ----------
    text : str
        Comma-separated layers; ``kind`` is ``conv`` or ``pool`` (optional,
        default ``conv``); padding defaults to 0.

    Returns
    -------
    stack : list of (kind, kernel, stride, padding)

    Raises
    ------
    ValueError
        With a message naming the layer that could not be read.
    """
    stack = []
    for i, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        words = part.split()
        kind = words[0] if len(words) == 2 else "conv"
        numbers = words[-1].split("/")
        if kind not in ("conv", "pool") or len(words) > 2 or len(numbers) not in (2, 3):
            raise ValueError(f"layer {i + 1} ({part!r}): write it like 'conv 3/1/1' or 'pool 2/2' "
                             "(kind kernel/stride/padding)")
        try:
            values = [int(n) for n in numbers] + [0] * (3 - len(numbers))
        except ValueError:
            raise ValueError(f"layer {i + 1} ({part!r}): kernel, stride and padding must be whole numbers") from None
        receptive.as_layers([values])                # validates the ranges
        stack.append((kind, *values))
    return stack


def _layers(stack):
    return [(k, s, p) for _, k, s, p in stack]


def rf_view(stack, row, col, shape=(28, 28)):
    """Everything the explorer shows for one stack and one output cell.

    Parameters
    ----------
    stack : list of (kind, kernel, stride, padding)
    row, col : int
        Output cell; clamped into the output.
    shape : (H, W)

    Returns
    -------
    view : dict
        ``out_shape`` (OH, OW); ``row``, ``col`` (clamped); ``region`` exact
        ((top, bottom), (left, right)), inclusive; ``textbook`` the unclipped
        region from the formula; ``size``, ``jump``; ``table`` per-layer rows
        of :func:`cnnlib.receptive.layer_table`; ``text`` (str). ``out_shape``
        is (0, 0) and ``region`` None when the stack does not fit the input.
    """
    layers = _layers(stack)
    table = receptive.layer_table(layers)
    size, jump = receptive.receptive_field(layers)
    OH, OW = receptive.output_shape(layers, *shape)
    lines = [f"input {shape[0]}×{shape[1]}: r = 1, j = 1"]
    for (kind, k, s, p), t in zip(stack, table):
        lines.append(f"{kind} {k}×{k}, stride {s}, padding {p}: r = {t['size'] - (k - 1) * (t['jump'] // s)} "
                     f"+ ({k} − 1)·{t['jump'] // s} = {t['size']}, j = {t['jump'] // s}·{s} = {t['jump']}")
    if OH == 0:
        lines.append("This stack does not fit the input: some layer's window is larger than its input.")
        return {"out_shape": (0, 0), "row": 0, "col": 0, "region": None, "textbook": None,
                "size": size, "jump": jump, "table": table, "text": "\n".join(lines), "shape": tuple(shape)}
    row, col = int(np.clip(row, 0, OH - 1)), int(np.clip(col, 0, OW - 1))
    region = receptive.input_region(layers, row, col, shape=shape)
    textbook = receptive.input_region(layers, row, col)
    (top, bottom), (left, right) = region
    lines.append(f"output {OH}×{OW}; cell [{row}, {col}] sees input rows {top}–{bottom}, columns {left}–{right} "
                 f"(receptive field {size}×{size}, of which {bottom - top + 1}×{right - left + 1} inside the image)")
    return {"out_shape": (OH, OW), "row": row, "col": col, "region": region, "textbook": textbook,
            "size": size, "jump": jump, "table": table, "text": "\n".join(lines), "shape": tuple(shape)}


def rf_figure(view, image, fig=None, grid=True):
    """Draw an :func:`rf_view` on a digit; with ``fig`` (built here before) update it in place.

    Parameters
    ----------
    view : dict
    image : (H, W) array_like
    fig : Figure, optional
    grid : bool
        Also draw the output grid with the chosen cell (the widget draws its own, clickable).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Left: the digit, the exact region (filled) and the textbook region
        (dashed, may reach into the zero padding, grey). Right: the output grid with the cell.
    """
    image = np.asarray(image, dtype=float)
    H, W = image.shape
    if fig is None:
        fig = Figure(figsize=(9, 4.4) if grid else (4.6, 4.4), dpi=80)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.15)
        axes = fig.subplots(1, 2) if grid else [fig.subplots()]
        a = {"in": axes[0]}
        a["digit"] = axes[0].imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        a["region"] = axes[0].add_patch(Rectangle((0, 0), 1, 1, fc="tab:orange", alpha=0.45, ec="tab:orange", lw=2))
        a["textbook"] = axes[0].add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="tab:orange", ls="--", lw=1.5))
        if grid:
            a["out"] = axes[1]
            a["grid"] = axes[1].imshow(np.zeros((1, 1)), cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0].set_facecolor("0.85")            # outside the image: the zero padding
        fig._rf_artists = a
    a = fig._rf_artists
    a["digit"].set_data(image)
    margin = max(2, view["size"] // 2)
    a["in"].set_xlim(-0.5 - margin, W - 0.5 + margin)
    a["in"].set_ylim(H - 0.5 + margin, -0.5 - margin)
    if view["region"] is None:
        a["region"].set_visible(False)
        a["textbook"].set_visible(False)
        a["in"].set_title(f"the stack does not fit a {H}×{W} input", fontsize=10)
    else:
        (top, bottom), (left, right) = view["region"]
        (ttop, tbottom), (tleft, tright) = view["textbook"]
        a["region"].set_bounds(left - 0.5, top - 0.5, right - left + 1, bottom - top + 1)
        a["textbook"].set_bounds(tleft - 0.5, ttop - 0.5, tright - tleft + 1, tbottom - ttop + 1)
        a["region"].set_visible(True)
        a["textbook"].set_visible(True)
        a["in"].set_title(f"receptive field {view['size']}×{view['size']} (dashed), "
                          f"in the image {bottom - top + 1}×{right - left + 1}", fontsize=10)
    if "grid" in a:
        grid_values = output_grid(view)
        a["grid"].set_data(grid_values)
        a["grid"].set_extent((-0.5, grid_values.shape[1] - 0.5, grid_values.shape[0] - 0.5, -0.5))
        a["out"].set_xlim(-0.5, grid_values.shape[1] - 0.5)
        a["out"].set_ylim(grid_values.shape[0] - 0.5, -0.5)
        OH, OW = view["out_shape"]
        a["out"].set_title(f"output {OH}×{OW}, cell [{view['row']}, {view['col']}], jump {view['jump']} px", fontsize=10)
    return fig


def output_grid(view):
    """The output grid as shades: a light checkerboard, the chosen cell dark.

    Returns
    -------
    grid : (max(OH, 1), max(OW, 1)) ndarray in [0, 1]
    """
    OH, OW = view["out_shape"]
    grid = np.full((max(OH, 1), max(OW, 1)), 0.15)
    if view["region"] is not None:
        grid[::2, ::2] = grid[1::2, 1::2] = 0.05
        grid[view["row"], view["col"]] = 0.8
    return grid


TYPED = "typed below"
CANVAS_PX = 224


def cell_at(view, x, y, size=CANVAS_PX):
    """The output cell (row, col) under a click at pixel (x, y) of the grid canvas, or None."""
    OH, OW = view["out_shape"]
    if OH == 0:
        return None
    cell = size / max(OH, OW)
    row, col = int(y // cell), int(x // cell)
    return (row, col) if 0 <= row < OH and 0 <= col < OW else None


def _draw_canvas(canvas, view, size=CANVAS_PX):
    from matplotlib import colormaps
    from ipycanvas import hold_canvas

    grid = output_grid(view)
    cell = size / max(grid.shape)
    colours = colormaps["Blues"](grid, bytes=True)
    with hold_canvas():
        canvas.clear()
        for shade in np.unique(grid):
            rows, cols = np.nonzero(grid == shade)
            r, g, b, _ = colours[rows[0], cols[0]]
            canvas.fill_style = f"rgb({r}, {g}, {b})"
            canvas.fill_rects(cols * cell, rows * cell, cell, cell)


def receptive_field_explorer(image, stack="conv → pool → conv → pool"):
    """Interactive receptive-field explorer: a preset or typed stack; click an output cell (or use the sliders).

    Parameters
    ----------
    image : (H, W) array_like
        The digit drawn under the region.
    stack : str
        Initial preset, a key of ``PRESETS``.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``stack``, ``typed``, ``row``, ``col``; the output grid is a canvas:
        a click on a cell sets ``row`` and ``col``.
    """
    import html

    import ipywidgets as widgets
    from ipycanvas import Canvas

    from ._live import Live

    image = np.asarray(image, dtype=np.float64)
    style = {"description_width": "60px"}
    wide = widgets.Layout(width="470px")
    controls = {
        "stack": widgets.Dropdown(options=list(PRESETS) + [TYPED], value=stack, description="stack",
                                  style=style, layout=wide),
        "typed": widgets.Text(value="conv 3/1/1, pool 2/2, conv 3/1/1, pool 2/2", description="typed",
                              continuous_update=False, style=style, layout=wide),
        "row": widgets.IntSlider(3, 0, 6, description="out row", style=style),
        "col": widgets.IntSlider(3, 0, 6, description="out col", style=style),
    }

    def layers_of(stack, typed):
        return PRESETS[stack] if stack in PRESETS else parse_stack(typed)

    def compute(stack, typed, row, col):
        return rf_view(layers_of(stack, typed), row, col, image.shape)

    first = compute(stack, controls["typed"].value, 3, 3)
    fig = rf_figure(first, image, grid=False)
    canvas = Canvas(width=CANVAS_PX, height=CANVAS_PX, layout=widgets.Layout(width=f"{CANVAS_PX}px"))
    canvas.add_class("cnn-rf-grid")

    def draw(view):
        rf_figure(view, image, fig, grid=False)
        _draw_canvas(canvas, view)

    def layout(c):
        note = widgets.HTML("output grid: <b>click a cell</b>")
        return widgets.HBox([widgets.VBox([c["stack"], c["typed"], c["row"], c["col"]]), widgets.VBox([note, canvas])])

    live = Live("receptive-field-explorer", controls, compute, figure=fig, draw=draw,
                html=lambda view: f"<pre>{html.escape(view['text'])}</pre>", layout=layout)

    def bound_cell(_):
        try:
            OH, OW = receptive.output_shape(_layers(layers_of(controls["stack"].value, controls["typed"].value)),
                                            *image.shape)
        except ValueError:
            return                                   # the widget shows the message
        with live.hold():
            controls["row"].max, controls["col"].max = max(OH - 1, 0), max(OW - 1, 0)

    def typed_changed(_):
        with live.hold():
            controls["stack"].value = TYPED
            bound_cell(None)

    def clicked(x, y):
        cell = None if live.view is None else cell_at(live.view, x, y)
        if cell is not None:
            with live.hold():
                controls["row"].value, controls["col"].value = cell

    controls["stack"].observe(bound_cell, names="value")
    controls["typed"].observe(typed_changed, names="value")
    canvas.on_mouse_down(clicked)
    bound_cell(None)
    return live
