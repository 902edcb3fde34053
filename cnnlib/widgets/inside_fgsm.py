"""Lesson 09 FGSM slider: eps -> the perturbed digit, the perturbation, and the probability bars.

Pure, tested without a kernel: :func:`fgsm_view` (one digit, one eps: one forward and backward
pass of one image) and :class:`FGSMFigure` (built once, updated in place).
:func:`fgsm_slider` only wires controls to them.
"""
import numpy as np
import torch
from matplotlib.figure import Figure

from .inside import fgsm, one_thread, probabilities

__all__ = ["EPS_MAX", "fgsm_view", "FGSMFigure", "fgsm_slider"]

EPS_MAX = 0.3  # the slider's range, and the perturbation panel's colour scale (+-EPS_MAX)
_TRUE, _OTHER, _PRED = "tab:green", "0.75", "tab:orange"


def fgsm_view(model, image, label, eps, attack=fgsm, title=""):
    """Everything the slider shows for one digit and one eps.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1].
    image : (28, 28) float array_like
        Pixels in [0, 1].
    label : int
    eps : float >= 0
    attack : callable
        ``attack(model, x, y, eps)`` as :func:`cnnlib.widgets.inside.fgsm` (e.g. the learner's).
    title : str
        Prefix of the caption.

    Returns
    -------
    dict
        ``digit``, ``adversarial``, ``perturbation`` (adversarial - digit) as (28, 28) float64,
        ``p_clean (10,)``, ``p_adv (10,)``, ``pred_clean``, ``pred_adv``, ``label``, ``eps``,
        ``max_change`` (largest |pixel change|), ``flipped`` (bool), ``caption``.
    """
    digit = np.asarray(image, dtype=np.float32)
    x = torch.as_tensor(digit)[None, None]
    y = torch.tensor([int(label)])
    with one_thread():                    # one digit: a second thread only adds waiting
        adv = torch.as_tensor(attack(model, x, y, float(eps))).detach()
        both = probabilities(model, torch.cat([x, adv.to(x.dtype)])).numpy().astype(np.float64)
    p_clean, p_adv = both[0], both[1]
    pred_clean, pred_adv = int(p_clean.argmax()), int(p_adv.argmax())
    perturbation = adv[0, 0].numpy().astype(np.float64) - digit.astype(np.float64)
    max_change = float(np.abs(perturbation).max())
    flipped = pred_adv != pred_clean
    caption = (f"{title}label {int(label)} · ε = {eps:.2f} (every pixel moves by at most {eps:.2f}; largest "
               f"actual change {max_change:.2f}) · clean: predicted {pred_clean} with p = {p_clean[pred_clean]:.3f}"
               f" · attacked: predicted {pred_adv} with p = {p_adv[pred_adv]:.3f}, p({int(label)}) = "
               f"{p_adv[int(label)]:.3f}" + (" · the prediction FLIPPED" if flipped else ""))
    return {"digit": digit.astype(np.float64), "adversarial": adv[0, 0].numpy().astype(np.float64),
            "perturbation": perturbation, "p_clean": p_clean, "p_adv": p_adv, "pred_clean": pred_clean,
            "pred_adv": pred_adv, "label": int(label), "eps": float(eps), "max_change": max_change,
            "flipped": flipped, "caption": caption}


class FGSMFigure:
    """Four panels: the digit, the perturbation, the attacked digit, and both digits' probabilities."""

    def __init__(self, view):
        self.figure = Figure(figsize=(11, 2.9), dpi=80)
        self.figure.subplots_adjust(left=0.01, right=0.99, bottom=0.12, top=0.86, wspace=0.1)
        axes = self.figure.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.7]})
        self.im_digit = axes[0].imshow(view["digit"], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        self.im_pert = axes[1].imshow(view["perturbation"], cmap="coolwarm", vmin=-EPS_MAX, vmax=EPS_MAX,
                                      interpolation="nearest")
        self.im_adv = axes[2].imshow(view["adversarial"], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        for ax in axes[:3]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[3]
        self.clean = ax.bar(np.arange(10) - 0.2, view["p_clean"], width=0.4, color="0.85")
        self.adv = ax.bar(np.arange(10) + 0.2, view["p_adv"], width=0.4, color=_OTHER)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(range(10))
        ax.set_yticks([0, 1])              # every label costs drawing time on each frame
        ax.tick_params(labelsize=10)
        self.titles = [a.set_title("", fontsize=11) for a in axes]
        self.titles[1].set_text(f"perturbation (scale ±{EPS_MAX:g})")
        self.update(view)

    def update(self, view):
        self.im_digit.set_data(view["digit"])
        self.im_pert.set_data(view["perturbation"])
        self.im_adv.set_data(view["adversarial"])
        for k, (c, a) in enumerate(zip(self.clean, self.adv)):
            c.set_height(float(view["p_clean"][k]))
            a.set_height(float(view["p_adv"][k]))
            a.set_color(_TRUE if k == view["label"] else _PRED if k == view["pred_adv"] else _OTHER)
        self.titles[0].set_text(f"digit: {view['pred_clean']} (p = {view['p_clean'][view['pred_clean']]:.2f})")
        self.titles[2].set_text(f"attacked: {view['pred_adv']} (p = {view['p_adv'][view['pred_adv']]:.2f})")
        self.titles[3].set_text(f"p before (grey) and after; green: true {view['label']}")
        return self.figure


def fgsm_slider(model, images, labels, names=None, eps=0.1, attack=fgsm):
    """Widget: digit and eps -> the attacked digit, the perturbation and the probability bars.

    Parameters
    ----------
    model : torch.nn.Module
        On pixels in [0, 1].
    images : (N, 28, 28) float array_like
    labels : (N,) int array_like
    names : list of str, optional
        A label per digit for the caption.
    eps : float
        Initial eps, in [0, EPS_MAX].
    attack : callable
        ``attack(model, x, y, eps)`` (e.g. the learner's ``fgsm``).

    Returns
    -------
    widget : cnnlib.widgets._live.Live
        Controls ``index`` and ``eps`` (0 to 0.3 in steps of 0.01).
    """
    import ipywidgets as widgets

    from ._live import Live

    images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels)
    names = names or [f"digit {i}" for i in range(len(images))]
    controls = {"index": widgets.IntSlider(0, 0, len(images) - 1, description="digit"),
                "eps": widgets.FloatSlider(eps, min=0.0, max=EPS_MAX, step=0.01, description="ε",
                                           readout_format=".2f")}

    def compute(index, eps):
        return fgsm_view(model, images[index], labels[index], eps, attack, title=f"{names[index]}: ")

    plot = FGSMFigure(compute(0, eps))
    return Live("fgsm-slider", controls, compute, figure=plot.figure, draw=plot.update,
                html=lambda view: view["caption"])
