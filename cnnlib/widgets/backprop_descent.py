"""Lesson 05, learning a kernel: plain gradient descent on a 3x3 kernel, digits -> their Sobel-x maps.

The loss is the mean squared error between ``conv(x, w)`` and the target maps
``conv(x, w_star)`` (no padding, stride 1, no bias), over every output pixel of every digit.
It is a quadratic in the nine weights: with ``A`` the ``(M, 9)`` matrix of all 3x3 windows,

    L(w) = mean((A w - A w_star)**2) = (w - w_star)^T H (w - w_star),   H = A^T A / M,

and its gradient, the ``dw`` that ``conv2d_backward`` computes from ``dout = 2 (out - target) / M``,
is ``2 H (w - w_star)``. So a step costs a 9x9 product instead of a pass over the digits, and a
widget can redo hundreds of steps per frame; :func:`descent_path` is exactly the descent the
lesson runs with ``conv2d_backward`` (tested to agree with cnnlib's).

Pure functions: :func:`kernel_problem`, :func:`descent_path`, :func:`descent_view`;
:class:`DescentView` draws a view in place; :func:`kernel_descent` wires the controls.
"""
import numpy as np

from .. import functional as F
from ..kernels import get_kernel

__all__ = ["DIVERGED", "kernel_problem", "descent_path", "descent_view", "DescentView", "descent_figure",
           "kernel_descent"]

DIVERGED = 1e12   # a loss above this (or inf/nan) counts as diverged: the descent stops there


def kernel_problem(images, kernel=None):
    """The quadratic behind learning ``kernel`` from ``images``.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) array_like
        Pixels in [0, 1].
    kernel : (3, 3) array_like, optional
        The kernel to learn; default Sobel x.

    Returns
    -------
    problem : dict
        ``H`` (9, 9), ``w_star`` (3, 3), ``x`` (N, 1, H, W) float64, ``target`` (N, 1, H-2, W-2)
        = ``conv2d_forward(x, w_star)``, ``M`` (the number of output pixels).
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"images must be (N, H, W) or (N, 1, H, W), got shape {x.shape}")
    w_star = get_kernel("sobel_x") if kernel is None else np.asarray(kernel, dtype=np.float64)
    if w_star.shape != (3, 3):
        raise ValueError(f"kernel must be 3x3, got shape {w_star.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(x[:, 0], (3, 3), axis=(1, 2)).reshape(-1, 9)
    target = F.conv2d_forward(x, w_star[None, None], None)[0]
    return {"H": windows.T @ windows / len(windows), "w_star": w_star, "x": x, "target": target,
            "M": len(windows)}


def descent_path(problem, lr, steps, w0=None):
    """Plain gradient descent ``w <- w - lr * dL/dw`` from ``w0`` (default zeros).

    Parameters
    ----------
    problem : dict
        From :func:`kernel_problem`.
    lr : float > 0
    steps : int >= 0
    w0 : (3, 3) array_like, optional

    Returns
    -------
    path : dict
        ``kernels`` (k + 1, 3, 3): the kernel before each step and after the last one;
        ``losses`` (k + 1,): the loss of each; ``diverged`` (the step at which the loss passed
        :data:`DIVERGED`, or None). ``k = steps`` unless the descent diverged earlier.
    """
    lr, steps = float(lr), int(steps)
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    H, w_star = problem["H"], problem["w_star"].ravel()
    w = np.zeros(9) if w0 is None else np.asarray(w0, dtype=np.float64).ravel().copy()
    kernels, losses, diverged = [w.copy()], [], None
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            e = w - w_star
            loss = float(e @ H @ e)
            losses.append(loss)
            if not np.isfinite(loss) or loss > DIVERGED:
                diverged = step
                break
            if step == steps:
                break
            w = w - lr * 2.0 * (H @ e)
            kernels.append(w.copy())
    return {"kernels": np.array(kernels).reshape(-1, 3, 3), "losses": np.array(losses), "diverged": diverged}


def _fmt_kernel(k):
    return "<br>".join("&nbsp;".join(f"{v:+.2f}" for v in row) for row in k)


def descent_view(problem, lr=1.0, steps=100, index=0):
    """What the widget shows for a learning rate and a number of steps.

    Returns
    -------
    view : dict
        ``kernel`` (3, 3) the last kernel, ``losses`` (k + 1,), ``diverged``, ``feature_map`` of
        digit ``index`` with that kernel, ``target_map``, ``lr``, ``steps``, ``text`` (HTML).
    """
    path = descent_path(problem, lr, steps)
    kernel, losses = path["kernels"][-1], path["losses"]
    x = problem["x"][index:index + 1]
    if np.all(np.isfinite(kernel)) and np.abs(kernel).max() < 1e6:
        fmap = F.conv2d_forward(x, kernel[None, None], None)[0][0, 0]
    else:
        fmap = np.full(problem["target"].shape[2:], np.nan)
    if path["diverged"] is not None:
        verdict = (f"<b>diverged</b>: the loss passed {DIVERGED:.0e} at step {path['diverged']} "
                   f"(from {losses[0]:.3g} at step 0): the steps overshoot further each time.")
    else:
        err = np.abs(kernel - problem["w_star"]).max()
        verdict = (f"loss {losses[0]:.3g} at step 0, <b>{losses[-1]:.3g}</b> after {len(losses) - 1} steps; "
                   f"largest weight error {err:.3g}")
    text = (f"learning rate {float(lr):.3g}, {int(steps)} steps: {verdict}"
            f"<div style='display:flex;gap:2em;font-family:monospace'><div>learned kernel<br>"
            f"{_fmt_kernel(kernel)}</div><div>Sobel x<br>{_fmt_kernel(problem['w_star'])}</div></div>")
    return {"kernel": kernel, "losses": losses, "diverged": path["diverged"], "feature_map": fmap,
            "target_map": problem["target"][index, 0], "lr": float(lr), "steps": int(steps), "text": text}


class DescentView:
    """The widget's figure: learned kernel, Sobel x, the learned kernel's feature map, the loss curve."""

    def __init__(self, problem, max_steps=500):
        from matplotlib.figure import Figure

        self.figure = fig = Figure(figsize=(11, 2.8), dpi=80)
        fig.subplots_adjust(left=0.01, right=0.98, bottom=0.17, top=0.86, wspace=0.15)
        axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [0.8, 0.8, 1, 2.2]})
        self.kernel = axes[0].imshow(np.zeros((3, 3)), cmap="coolwarm", vmin=-2, vmax=2)
        # titles and labels at fixed places (y=..., label coords): a frame then skips measuring tick labels
        axes[0].set_title("learned kernel", fontsize=10, y=1.01)
        axes[1].imshow(problem["w_star"], cmap="coolwarm", vmin=-2, vmax=2)
        axes[1].set_title("Sobel x (the goal)", fontsize=10, y=1.01)
        limit = np.abs(problem["target"][0, 0]).max()
        self.fmap = axes[2].imshow(problem["target"][0, 0], cmap="coolwarm", vmin=-limit, vmax=limit)
        axes[2].set_title("its feature map (digit 0)", fontsize=10, y=1.01)
        for ax in axes[:3]:
            ax.set_xticks([])
            ax.set_yticks([])
        ax = self.ax_loss = axes[3]
        (self.curve,) = ax.plot([0], [1.0], lw=1.8, color="tab:blue")
        ax.set_yscale("log")
        ax.set_xlim(0, max_steps)
        ax.set_ylim(1e-8, 10)
        ax.set_yticks([1e-8, 1e-4, 1, 1e8], ["1e-8", "1e-4", "1", "1e8"], fontsize=10)   # few plain labels: fast
        ax.set_yticks([], minor=True)
        ax.set_xlabel("step", fontsize=10)
        ax.xaxis.set_label_coords(0.5, -0.16)
        ax.set_title("loss (mean squared error)", fontsize=10, y=1.01)
        ax.grid(alpha=0.3)
        self.max_steps = max_steps

    def draw(self, view):
        """Show ``view`` (from :func:`descent_view`) in place; returns the figure."""
        self.kernel.set_data(np.clip(np.nan_to_num(view["kernel"]), -1e6, 1e6))
        self.fmap.set_data(view["feature_map"])
        losses = view["losses"]
        self.curve.set_data(np.arange(len(losses)), np.clip(losses, 1e-30, 1e30))
        self.curve.set_color("tab:red" if view["diverged"] is not None else "tab:blue")
        self.ax_loss.set_xlim(0, max(10, view["steps"]))
        self.ax_loss.set_ylim(1e-8, 10 if view["diverged"] is None else 1e13)   # room for a divergence
        return self.figure


def descent_figure(problem, view):
    """One setting as a static figure (a new :class:`DescentView`)."""
    return DescentView(problem).draw(view)


def kernel_descent(images, lr=1.0, steps=100, max_steps=500):
    """Learning-a-kernel widget: learning rate and steps -> the learned kernel and the loss.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) array_like
        The digits the kernel learns from.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
    """
    import ipywidgets as widgets

    from ._live import Live

    problem = kernel_problem(images)
    controls = {"lr": widgets.FloatLogSlider(lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate",
                                             readout_format=".3g", style={"description_width": "90px"}),
                "steps": widgets.IntSlider(steps, min=0, max=max_steps, step=10, description="steps")}
    view = DescentView(problem, max_steps)
    return Live("kernel-descent", controls, lambda lr, steps: descent_view(problem, lr, steps),
                figure=view.figure, draw=view.draw, html=lambda v: v["text"])
