"""Lesson 09 feature-map browser: a digit, a layer and a channel -> its feature map and the digits it likes.

Pure functions, tested without a kernel: :func:`tile_images` lays digits out in a grid,
:func:`feature_view` computes everything the browser shows (one forward pass of one digit);
:class:`FeatureFigure` draws it, built once and updated in place. :func:`feature_browser` only
wires controls to them through :class:`cnnlib.widgets._live.Live`.
"""
import numpy as np
import torch
from matplotlib.figure import Figure

from .inside import layer_outputs, one_thread, top_images

__all__ = ["tile_images", "stage_choices", "feature_view", "FeatureFigure", "feature_browser"]


def tile_images(images, ncols):
    """Lay ``(K, H, W)`` images out in a grid with 1-pixel NaN gaps (NaN cells are drawn blank).

    Returns
    -------
    (rows*(H+1) - 1, ncols*(W+1) - 1) ndarray of float64
        Image ``k`` at row ``k // ncols``, column ``k % ncols``.
    """
    images = np.asarray(images, dtype=np.float64)
    K, H, W = images.shape
    rows = -(-K // ncols)
    out = np.full((rows * (H + 1) - 1, ncols * (W + 1) - 1), np.nan)
    for k in range(K):
        r, c = divmod(k, ncols)
        out[r * (H + 1):r * (H + 1) + H, c * (W + 1):c * (W + 1) + W] = images[k]
    return out


def stage_choices(scores):
    """Dropdown options ``[("conv1: 16 × 28 × 28", "conv1"), ...]`` from :func:`inside.channel_scores`-like shapes.

    Parameters
    ----------
    scores : dict of str -> tuple
        Stage name -> feature-map shape ``(C, H, W)`` of one image.
    """
    return [(f"{name}: {c} × {h} × {w}", name) for name, (c, h, w) in scores.items()]


def feature_view(model, images, labels, scores, index, stage, channel, k=8):
    """Everything the browser shows for one digit, stage and channel.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1] (e.g. :func:`cnnlib.reference_model.pixel_model`).
    images : (N, 28, 28) float ndarray
        The digits to browse, pixels in [0, 1]; also the pool of "dataset examples".
    labels : (N,) int ndarray
    scores : dict of str -> (N, C) ndarray
        :func:`cnnlib.widgets.inside.channel_scores` of ``images``.
    index, channel : int
    stage : str
        E.g. ``"conv3"``.
    k : int
        How many top digits to show.

    Returns
    -------
    dict
        ``digit (28, 28)``, ``fmap (H_l, W_l)`` float64 (channel ``channel`` of the digit's map
        at ``stage``), ``top (k,)`` indices of the digits whose map ``channel`` peaks highest,
        ``top_tiles`` those digits tiled 2 rows high, ``top_labels``, ``pred`` (the model's
        class for the digit), ``label``, ``peak`` (the map's max), ``peak_at`` (row, col),
        ``n_channels``, ``caption`` (str).
    """
    x = torch.as_tensor(np.asarray(images[index], dtype=np.float32))[None, None]
    with one_thread():                    # one digit: a second thread only adds waiting
        outs = layer_outputs(model, x)
    maps = outs[stage][0]
    channel = int(np.clip(channel, 0, maps.shape[0] - 1))
    fmap = maps[channel].numpy().astype(np.float64)
    top = top_images(scores[stage], channel, k)
    peak_at = tuple(int(v) for v in np.unravel_index(int(np.argmax(fmap)), fmap.shape))
    pred, label = int(outs["logits"][0].argmax()), int(labels[index])
    top_labels = [int(v) for v in np.asarray(labels)[top]]
    caption = (f"test digit {index} (label {label}, predicted {pred}) · {stage}, channel {channel} of "
               f"{maps.shape[0]}: a {fmap.shape[0]}×{fmap.shape[1]} map, peak {fmap.max():.2f} at row "
               f"{peak_at[0]}, column {peak_at[1]} · its {k} strongest digits (labels {top_labels}) "
               f"peak at {float(scores[stage][top[0], channel]):.2f} to {float(scores[stage][top[-1], channel]):.2f}")
    return {"digit": np.asarray(images[index], dtype=np.float64), "fmap": fmap, "top": top,
            "top_tiles": tile_images(np.asarray(images)[top], ncols=-(-k // 2)), "top_labels": top_labels,
            "pred": pred, "label": label, "peak": float(fmap.max()), "peak_at": peak_at,
            "n_channels": int(maps.shape[0]), "stage": stage, "channel": channel, "caption": caption}


class FeatureFigure:
    """The browser's figure: the digit, the feature map, the top digits; built once, updated in place."""

    def __init__(self, view):
        self.figure = Figure(figsize=(10, 3.0), dpi=80)
        self.figure.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.86, wspace=0.08)
        axes = self.figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 2.1]})
        self.im_digit = axes[0].imshow(view["digit"], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        self.im_map = axes[1].imshow(view["fmap"], cmap="viridis", interpolation="nearest")
        self.im_top = axes[2].imshow(view["top_tiles"], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        (self.peak,) = axes[1].plot([], [], "+", color="tab:red", ms=14, mew=2)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.titles = [ax.set_title("", fontsize=11) for ax in axes]
        self.axes = axes
        self.update(view)

    def update(self, view):
        self.im_digit.set_data(view["digit"])
        fmap = view["fmap"]
        self.im_map.set_data(fmap)
        # imshow's extent follows the map's size (28, 14, 7 or 3 pixels): always the same square
        self.im_map.set_extent((-0.5, fmap.shape[1] - 0.5, fmap.shape[0] - 0.5, -0.5))
        self.axes[1].set_xlim(-0.5, fmap.shape[1] - 0.5)
        self.axes[1].set_ylim(fmap.shape[0] - 0.5, -0.5)
        self.im_map.set_clim(0, max(view["peak"], 1e-6))
        self.peak.set_data([view["peak_at"][1]], [view["peak_at"][0]])
        self.im_top.set_data(view["top_tiles"])
        self.titles[0].set_text(f"digit (label {view['label']}, predicted {view['pred']})")
        self.titles[1].set_text(f"{view['stage']}, channel {view['channel']} (+: peak)")
        self.titles[2].set_text(f"the {len(view['top'])} digits that excite channel {view['channel']} most")
        return self.figure


def feature_browser(model, images, labels, scores, index=0, stage="conv1", channel=0):
    """Widget: digit, layer and channel -> the feature map next to the digit, and the digits it likes most.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1].
    images : (N, 28, 28) float ndarray
        Pixels in [0, 1]: the digits to browse and the pool of top examples.
    labels : (N,) int ndarray
    scores : dict of str -> (N, C) ndarray
        :func:`cnnlib.widgets.inside.channel_scores` of ``images``.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``index``, ``stage``, ``channel`` (its range follows the stage).
    """
    import ipywidgets as widgets

    from ._live import Live

    images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels)
    sample = layer_outputs(model, torch.as_tensor(images[:1])[:, None])
    shapes = {name: tuple(v.shape[1:]) for name, v in sample.items() if name != "logits"}
    style = {"description_width": "60px"}
    controls = {
        "index": widgets.IntSlider(index, 0, len(images) - 1, description="digit", style=style),
        "stage": widgets.Dropdown(options=stage_choices(shapes), value=stage, description="layer", style=style),
        "channel": widgets.IntSlider(channel, 0, shapes[stage][0] - 1, description="channel", style=style),
    }

    def on_stage(change):
        with live.hold():   # the channel slider's range follows the layer: one frame
            controls["channel"].max = shapes[change["new"]][0] - 1

    controls["stage"].observe(on_stage, names="value")   # before Live's own observer

    def compute(index, stage, channel):
        return feature_view(model, images, labels, scores, index, stage, channel)

    plot = FeatureFigure(compute(index, stage, channel))
    live = Live("feature-browser", controls, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: view["caption"])
    return live
