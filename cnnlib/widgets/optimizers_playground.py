"""Lesson 06, the trajectory playground: paths of several optimizers over a 2-D loss surface.

:class:`TrajectoryView` draws a :func:`cnnlib.widgets.optimizers.trajectory_view` in place (the
landscape and its contour lines only when the surface changes); :func:`trajectory_figure` and
:func:`lr_panels_figure` are static figures; :func:`trajectory_playground` only wires controls to
the view function and the figure.
"""
import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .optimizers import (COLORS, LABELS, OPTIMIZERS, SURFACES, landscape, make_surface, rate_slider, trajectory,
                         trajectory_view)

__all__ = ["TrajectoryView", "trajectory_figure", "lr_panels_figure", "trajectory_playground", "fixed_layout"]


def _figure(size):
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=80)


def fixed_layout(ax, title, xlabel=None, ylabel=None, ylabel_x=-0.1):
    """Title and axis labels at fixed places, for figures redrawn in place.

    Left to itself matplotlib measures every tick label at every frame to place the title and
    the axis labels (a third of a frame's time here); at fixed positions it does not.

    Returns
    -------
    title : matplotlib.text.Text
    """
    text = ax.set_title(title, fontsize=11, y=1.01)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=10)
        ax.xaxis.set_label_coords(0.5, -0.09)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=10)
        ax.yaxis.set_label_coords(ylabel_x, 0.5)
    return text


class TrajectoryView:
    """The playground's figure: paths over the log-loss landscape (left), loss gap per step (right).

    Parameters
    ----------
    legend : bool
        Draw a legend (static figures); the widget names the paths in its caption instead.
    """

    def __init__(self, legend=False):
        self.show_legend = legend
        self.figure = fig = _figure((10, 3.9))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.91, wspace=0.22)
        self.ax_s, self.ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.image = self.ax_s.imshow(np.zeros((2, 2)), origin="lower", cmap="Greys", aspect="auto",
                                      vmin=-3, vmax=3, interpolation="nearest")
        self.contour, self.key = None, None
        (self.start_dot,) = self.ax_s.plot([], [], "o", color="white", mec="k", ms=7, zorder=5)
        self.start_dot.set_label("start")
        (self.min_dot,) = self.ax_s.plot([], [], "*", color="gold", mec="k", ms=13, zorder=5)
        self.paths, self.losses = {}, {}
        for name in OPTIMIZERS:
            (self.paths[name],) = self.ax_s.plot([], [], ".-", color=COLORS[name], lw=1.6, ms=4, label=LABELS[name])
            (self.losses[name],) = self.ax_l.plot([], [], color=COLORS[name], lw=1.8, label=LABELS[name])
        self.title = fixed_layout(self.ax_s, "", "w1", "w2", ylabel_x=-0.08)
        self.ax_l.set_yscale("log")
        self.ax_l.yaxis.set_major_locator(LogLocator(numticks=6))
        self.ax_l.yaxis.set_minor_locator(NullLocator())        # fewer labels: each costs ~1 ms per frame
        for axis in (self.ax_s.xaxis, self.ax_s.yaxis, self.ax_l.xaxis):
            axis.set_major_locator(MaxNLocator(nbins=4))
        fixed_layout(self.ax_l, "L - L*: loss above its minimum (log scale)", "step")
        self.ax_l.grid(alpha=0.3)
        self.legend = None

    def _draw_landscape(self, view):
        xs, ys, image = view["xs"], view["ys"], view["image"]
        self.image.set_data(image)
        self.image.set_extent((xs[0], xs[-1], ys[0], ys[-1]))
        self.image.set_clim(*_clim(image))
        if self.contour is not None:
            self.contour.remove()
        levels = np.linspace(float(image.min()), float(image.max()), 14)[1:-1]
        self.contour = self.ax_s.contour(xs, ys, image, levels=levels, colors="0.55", linewidths=0.6)
        self.ax_s.set_xlim(*view["xlim"])
        self.ax_s.set_ylim(*view["ylim"])
        self.start_dot.set_data([view["start"][0]], [view["start"][1]])
        self.min_dot.set_data([view["minimum"][0]], [view["minimum"][1]])
        self.key = view["key"]

    def draw(self, view):
        """Update the figure in place for a :func:`trajectory_view` (the background only when it changed)."""
        if view["key"] != self.key:
            self._draw_landscape(view)
        highest, lowest = 1e-6, np.inf
        for name in OPTIMIZERS:
            run = view["runs"].get(name)
            self.paths[name].set_visible(run is not None)
            self.losses[name].set_visible(run is not None)
            if run is None:
                continue
            self.paths[name].set_data(run["path"][:, 0], run["path"][:, 1])
            self.losses[name].set_data(np.arange(len(run["gap"])), np.maximum(run["gap"], 1e-12))
            highest = max(highest, float(run["gap"].max()))
            lowest = min(lowest, float(run["gap"].min()))
        self.ax_l.set_xlim(0, max(1, view["steps"]))
        self.ax_l.set_ylim(max(1e-12, min(lowest, highest / 100) / 3), highest * 3)
        self.title.set_text(f"{view['surface']}, lr = {view['lr']:.3g}")
        if self.legend is not None:
            self.legend.remove()
            self.legend = None
        if self.show_legend and view["runs"]:
            self.legend = self.ax_l.legend(fontsize=10, handles=[self.losses[n] for n in view["runs"]],
                                           loc="lower left")
        return self.figure


def _clim(image):
    """Colour limits for the landscape: white at the minimum, at most mid-grey at the highest loss."""
    low, high = float(image.min()), float(image.max())
    return low, high + 1.2 * (high - low)


def trajectory_figure(**settings):
    """One setting of the playground (the keyword arguments of :func:`trajectory_view`) as a static figure."""
    return TrajectoryView(legend=True).draw(trajectory_view(**settings))


def lr_panels_figure(lrs, surface="bowl", steps=30, condition=10.0):
    """Gradient descent with several learning rates, one panel each, and their losses together.

    Parameters
    ----------
    lrs : sequence of float
    surface : str
    steps : int
    condition : float

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    s = make_surface(surface, condition)
    xs, ys, image = landscape(surface, float(condition) if surface == "bowl" else 1.0)
    fig = _figure((3.0 * (len(lrs) + 1.2), 3.0))
    fig.subplots_adjust(left=0.04, right=0.98, bottom=0.16, top=0.86, wspace=0.25)
    axes = fig.subplots(1, len(lrs) + 1, gridspec_kw={"width_ratios": [1] * len(lrs) + [1.2]})
    colors = ["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:orange"]
    for ax, lr, color in zip(axes, lrs, colors):
        run = trajectory(s, "gd", lr, steps)
        ax.imshow(image, origin="lower", cmap="Greys", aspect="auto", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                  clim=_clim(image))
        ax.plot(run["path"][:, 0], run["path"][:, 1], ".-", color=color, lw=1.4, ms=5)
        ax.plot(*s.minimum, "*", color="gold", mec="k", ms=12)
        ax.set_xlim(*s.xlim)
        ax.set_ylim(*s.ylim)
        ax.set_xticks([])
        ax.set_yticks([])
        end = f"diverged at step {run['diverged']}" if run["diverged"] else f"L - L* = {run['gap'][-1]:.1e}"
        ax.set_title(f"lr = {lr:g}: {end}", fontsize=10, color=color)
        axes[-1].plot(np.maximum(run["gap"], 1e-12), color=color, lw=1.8, label=f"lr = {lr:g}")
    axes[-1].set_yscale("log")
    axes[-1].set_xlim(0, steps)
    axes[-1].set_xlabel("step", fontsize=10)
    axes[-1].set_title("L - L* (log scale)", fontsize=10)
    axes[-1].legend(fontsize=9)
    axes[-1].grid(alpha=0.3)
    return fig


def trajectory_playground(surface="bowl", optimizers=("gd",), lr=0.5, momentum=0.9, beta2=0.99, steps=50,
                          condition=10.0, name="trajectory-playground"):
    """Surface, optimizers (several at once), learning rate (log slider), momentum / betas, steps
    and the bowl's condition number, driving a :class:`TrajectoryView`."""
    import ipywidgets as w

    from ._live import Live

    view = TrajectoryView()
    controls = {"surface": w.Dropdown(options=list(SURFACES), value=surface, description="surface")}
    for opt in OPTIMIZERS:
        controls[opt] = w.Checkbox(opt in optimizers, description=LABELS[opt], indent=False,
                                   layout=w.Layout(width="150px"))
    controls["lr"] = rate_slider(lr, 1e-4, 4, "lr")
    controls["mu"] = w.FloatSlider(momentum, min=0.0, max=0.99, step=0.01, description="momentum / β1")
    controls["beta2"] = w.FloatSlider(beta2, min=0.5, max=0.999, step=0.001, description="β2 / α",
                                      readout_format=".3f")
    controls["steps"] = w.IntSlider(steps, min=1, max=500, description="steps")
    controls["kappa"] = w.SelectionSlider(options=[(f"{k:g}", float(k)) for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)],
                                          value=float(condition), description="bowl κ")
    for key in ("mu", "beta2", "kappa"):
        controls[key].style.description_width = "90px"

    def compute(surface, lr, mu, beta2, steps, kappa, **ticked):
        return trajectory_view(surface, [o for o, on in ticked.items() if on], lr, mu, beta2, steps, kappa)

    def layout(c):
        return w.VBox([w.HBox([c["surface"]] + [c[o] for o in OPTIMIZERS], layout=w.Layout(flex_flow="row wrap")),
                       w.HBox([c["lr"], c["steps"], c["kappa"]], layout=w.Layout(flex_flow="row wrap")),
                       w.HBox([c["mu"], c["beta2"]], layout=w.Layout(flex_flow="row wrap"))])

    return Live(name, controls, compute, figure=view.figure, draw=view.draw, html=lambda v: v["caption"],
                layout=layout)
