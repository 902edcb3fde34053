"""Lesson 09 occlusion explorer: patch size and stride -> the occlusion map and the probability drop, beside saliency.

Pure, tested without a kernel: :func:`occlusion_view` (one digit, one setting: the occlusion map
spread over the image, the most damaging square, the saliency map) and :class:`OcclusionFigure`
(built once, updated in place). :func:`occlusion_explorer` only wires controls to them. Results
are memoised per setting, so going back to a setting is instant.
"""
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .inside import occlusion_map, one_thread, probabilities, saliency_map, upsample_occlusion

__all__ = ["FILLS", "occlusion_view", "OcclusionFigure", "occlusion_explorer"]

FILLS = {"grey (0.5)": 0.5, "black (0)": 0.0}


def occlusion_view(model, image, label, patch, stride, fill=0.5, explain="true", occlusion=occlusion_map,
                   saliency=saliency_map, memo=None, title=""):
    """Everything the explorer shows for one digit and one setting.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1].
    image : (28, 28) float array_like
        Pixels in [0, 1].
    label : int
        The true class.
    patch, stride : int
        Side and step of the occluding square.
    fill : float
        Its value (0.5 grey, 0 black).
    explain : {"true", "predicted"}
        Which class's probability the maps explain.
    occlusion, saliency : callable
        ``occlusion(model, x, target, patch, stride, fill)`` and ``saliency(model, x, target)``
        as in :mod:`cnnlib.widgets.inside` (e.g. the learner's).
    memo : dict, optional
        Cache of computed maps, shared between calls.
    title : str
        Prefix of the caption (e.g. which test digit).

    Returns
    -------
    dict
        ``digit (28, 28)``, ``occluded (28, 28)`` (the digit with the most damaging square),
        ``drop (OH, OW)``, ``spread (28, 28)`` (:func:`upsample_occlusion`, NaN where no square
        reached), ``saliency (28, 28)``, ``target``, ``pred``, ``label``, ``p`` (p(target) of the
        digit), ``worst`` (row, col of the most damaging square's corner), ``p_worst``,
        ``patch``, ``caption``.
    """
    memo = {} if memo is None else memo
    digit = np.asarray(image, dtype=np.float32)
    x = torch.as_tensor(digit)[None, None]
    H, W = digit.shape
    # small batches (one digit, its occluded copies): a second thread only adds waiting on a busy machine
    with one_thread():
        probs = probabilities(model, x)[0].numpy().astype(np.float64)
        pred, label = int(np.argmax(probs)), int(label)
        target = label if explain == "true" else pred
        key = ("occlusion", digit.tobytes(), target, int(patch), int(stride), float(fill))
        if key not in memo:
            memo[key] = np.asarray(torch.as_tensor(occlusion(model, x, target, int(patch), int(stride),
                                                             float(fill))), dtype=np.float64)
        skey = ("saliency", digit.tobytes(), target)
        if skey not in memo:
            memo[skey] = np.asarray(torch.as_tensor(saliency(model, x, target))[0], dtype=np.float64)
    drop = memo[key]
    i, j = np.unravel_index(int(np.argmax(drop)), drop.shape)
    worst = (int(i) * int(stride), int(j) * int(stride))
    occluded = digit.astype(np.float64).copy()
    occluded[worst[0]:worst[0] + patch, worst[1]:worst[1] + patch] = fill
    p = float(probs[target])
    p_worst = p - float(drop[i, j])
    which = "true class" if explain == "true" else "predicted class"
    verdict = "right" if pred == label else "WRONG"
    caption = (f"{title}label {label}, predicted {pred} ({verdict}) · explaining the {which} {target}: "
               f"p = {p:.3f} · {drop.shape[0]}×{drop.shape[1]} = {drop.size} positions of a {patch}×{patch} "
               f"square (fill {fill:g}), stride {stride} · largest drop {float(drop.max()):+.3f} (to p = "
               f"{p_worst:.3f}) with the square at row {worst[0]}, column {worst[1]}; largest rise "
               f"{float(-drop.min()):+.3f}")
    return {"digit": digit.astype(np.float64), "occluded": occluded, "drop": drop,
            "spread": upsample_occlusion(drop, int(patch), int(stride), H, W), "saliency": memo[skey],
            "target": target, "pred": pred, "label": label, "p": p, "worst": worst, "p_worst": p_worst,
            "patch": int(patch), "caption": caption}


class OcclusionFigure:
    """Three panels: the occluded digit, the occlusion map over the image, the saliency map."""

    def __init__(self, view):
        self.figure = Figure(figsize=(9, 3.2), dpi=80)
        self.figure.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.86, wspace=0.06)
        axes = self.figure.subplots(1, 3)
        self.im_digit = axes[0].imshow(view["occluded"], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        self.box = axes[0].add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="tab:orange", linewidth=2))
        self.im_drop = axes[1].imshow(view["spread"], cmap="coolwarm", interpolation="nearest")
        self.im_sal = axes[2].imshow(view["saliency"], cmap="magma", interpolation="nearest")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.titles = [ax.set_title("", fontsize=11) for ax in axes]
        self.update(view)

    def update(self, view):
        r, c = view["worst"]
        self.im_digit.set_data(view["occluded"])
        self.box.set_bounds(c - 0.5, r - 0.5, view["patch"], view["patch"])
        self.im_drop.set_data(view["spread"])
        top = max(float(np.nanmax(np.abs(view["spread"]))), 1e-6)
        self.im_drop.set_clim(-top, top)
        self.im_sal.set_data(view["saliency"])
        self.im_sal.set_clim(0, max(float(view["saliency"].max()), 1e-12))
        t = view["target"]
        self.titles[0].set_text(f"worst square: p({t}) {view['p']:.2f} → {view['p_worst']:.2f}")
        self.titles[1].set_text(f"occlusion: drop of p({t}) (red)")
        self.titles[2].set_text(f"saliency |d logit {t} / d x|")
        return self.figure


def occlusion_explorer(model, images, labels, names=None, patch=6, stride=2, occlusion=occlusion_map,
                       saliency=saliency_map):
    """Widget: digit, patch size, stride, fill and class -> occlusion map and probability drop, beside saliency.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1].
    images : (N, 28, 28) float array_like
        The digits to choose from (e.g. a few right and a few misclassified ones).
    labels : (N,) int array_like
    names : list of str, optional
        A label per digit for the caption (e.g. ``"test digit 247"``).
    occlusion, saliency : callable
        The implementations to use (e.g. the learner's).

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``index``, ``patch`` (2-14), ``stride`` (2-7), ``fill``, ``explain``.
    """
    import ipywidgets as widgets

    from ._live import Live

    images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels)
    names = names or [f"digit {i}" for i in range(len(images))]
    memo = {}
    style = {"description_width": "60px"}
    controls = {
        "index": widgets.IntSlider(0, 0, len(images) - 1, description="digit", style=style),
        "patch": widgets.IntSlider(patch, 2, 14, description="patch", style=style),
        # stride >= 2: at most 14 x 14 = 196 forward passes per frame (stride 1 would need up to 729)
        "stride": widgets.IntSlider(stride, 2, 7, description="stride", style=style),
        "fill": widgets.ToggleButtons(options=list(FILLS.items()), value=0.5, description="fill", style=style),
        "explain": widgets.ToggleButtons(options=[("true class", "true"), ("predicted class", "predicted")],
                                         value="true", description="explain", style=style),
    }

    def compute(index, patch, stride, fill, explain):
        return occlusion_view(model, images[index], labels[index], patch, stride, fill, explain, occlusion,
                              saliency, memo, title=f"{names[index]}: ")

    def layout(c):
        return widgets.VBox([widgets.HBox([c["index"], c["patch"], c["stride"]]),
                             widgets.HBox([c["fill"], c["explain"]])])

    plot = OcclusionFigure(compute(0, patch, stride, 0.5, "true"))
    return Live("occlusion-explorer", controls, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: view["caption"], layout=layout)
