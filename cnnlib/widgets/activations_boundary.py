"""Lesson 02, decision-boundary playground: a tiny cnnlib network on two rings.

Pure functions: :func:`make_rings`, :func:`toy_model`, :func:`train_toy`, :func:`boundary_grid`
(tested without a kernel); :func:`boundaries_figure` draws them; the playground widget only
wires controls and a Train button to them.
"""
import numpy as np

from .. import functional as F
from .. import nn, optim
from .activations import COLORS, _figure, _fixed

__all__ = ["make_rings", "toy_model", "train_toy", "boundary_grid", "playground_view", "BoundaryView",
           "playground_figure", "boundaries_figure", "boundary_playground"]


def make_rings(n=400, noise=0.08, seed=0):
    """Two concentric rings in 2-D: class 0 at radius 0.5, class 1 at radius 1.

    Parameters
    ----------
    n : int
        Number of points (half per class).
    noise : float
        Standard deviation of the radius.
    seed : int

    Returns
    -------
    X : (n, 2) float64 ndarray
    y : (n,) int64 ndarray, values 0 and 1
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    radius = np.where(y == 0, 0.5, 1.0) + noise * rng.standard_normal(n)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), y.astype(np.int64)


def _layer(name, slope=0.01):
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
            "leaky_relu": lambda: nn.LeakyReLU(slope)}[name]()


def toy_model(activation, hidden=16, seed=0):
    """``Linear(2, hidden) -> activation -> Linear(hidden, 2)`` from cnnlib.nn, float64.

    ``activation="none"`` leaves the middle out: the two linear layers are then one linear map.
    """
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(2, hidden, rng=rng, dtype=np.float64)]
    if activation != "none":
        layers.append(_layer(activation))
    layers.append(nn.Linear(hidden, 2, rng=rng, dtype=np.float64))
    return nn.Sequential(*layers)


def train_toy(activation="relu", hidden=16, steps=300, lr=0.03, seed=0, data=None, callback=None):
    """Train :func:`toy_model` on the rings, full batch, with cnnlib's Adam.

    Parameters
    ----------
    activation : str
        ``"none"``, ``"relu"``, ``"leaky_relu"``, ``"tanh"`` or ``"sigmoid"``.
    hidden, steps : int
    lr : float
    seed : int
        Seeds the weights (and the rings when ``data`` is None).
    data : tuple (X (n, 2), y (n,)), optional
        Default :func:`make_rings` with ``seed``.
    callback : callable, optional
        ``callback(step, steps)`` after every step (a progress bar).

    Returns
    -------
    result : dict
        ``model``, ``losses`` ((steps,) ndarray, loss before each step), ``loss`` (final),
        ``accuracy`` (on the training points), ``activation``, ``hidden``, ``steps``.
    """
    X, y = make_rings(seed=seed) if data is None else data
    model = toy_model(activation, hidden, seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    crit = nn.CrossEntropyLoss()
    losses = np.empty(steps)
    for step in range(steps):
        opt.zero_grad()
        losses[step] = crit(model(X), y)
        model.backward(crit.backward())
        opt.step()
        if callback is not None:
            callback(step + 1, steps)
    logits = model(X)
    return {"model": model, "losses": losses, "loss": crit(logits, y),
            "accuracy": float(np.mean(logits.argmax(axis=1) == y)),
            "activation": activation, "hidden": hidden, "steps": steps}


def boundary_grid(model, lim=1.5, n=121):
    """P(class 1) of a 2-D classifier on an ``n x n`` grid over ``[-lim, lim]^2``.

    Returns
    -------
    prob : (n, n) ndarray
        Row i is ``y = -lim + 2 lim i / (n - 1)`` (bottom row first, for ``origin="lower"``).
    """
    ticks = np.linspace(-lim, lim, n)
    xx, yy = np.meshgrid(ticks, ticks)
    logits = model(np.stack([xx.ravel(), yy.ravel()], axis=1))
    return F.softmax(logits)[:, 1].reshape(n, n)


def playground_view(result, lim=1.5, settings=None):
    """What the playground shows for one trained network.

    Parameters
    ----------
    result : dict
        From :func:`train_toy`.
    lim : float
    settings : tuple (activation, hidden, steps), optional
        The controls' current values; when they differ from ``result``'s, the caption says so.

    Returns
    -------
    view : dict
        ``prob`` (n, n) P(class 1) on the plane, ``losses`` (steps,), ``activation``, ``title``,
        ``caption`` (HTML).
    """
    trained = (result["activation"], result["hidden"], result["steps"])
    caption = (f"<b>{trained[0]}</b>, {trained[1]} hidden unit{'s' if trained[1] != 1 else ''}, {trained[2]} steps: "
               f"loss {result['loss']:.3f}, accuracy {result['accuracy']:.1%}")
    if settings is not None and tuple(settings) != trained:
        caption += " &nbsp;(settings changed: press <b>Train</b>)"
    return {"prob": boundary_grid(result["model"], lim), "losses": result["losses"],
            "activation": trained[0], "title": _title(result), "caption": caption}


class BoundaryView:
    """The playground's figure: P(class 1) over the plane with the rings, and the loss curve.

    Parameters
    ----------
    X : (n, 2) ndarray
    y : (n,) ndarray
    lim : float
        The plane shown is ``[-lim, lim]^2``.
    """

    def __init__(self, X, y, lim=1.5):
        from matplotlib.ticker import NullFormatter

        self.lim = lim
        self.figure = fig = _figure((8, 3.4))
        fig.subplots_adjust(left=0.02, right=0.97, bottom=0.15, top=0.88, wspace=0.25)
        self.ax_b, self.ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        self.image = _plane(self.ax_b, X, y, lim)
        self.contour = None
        self.title = _fixed(self.ax_b, "")
        (self.loss_line,) = self.ax_l.plot([], [], lw=1.8)
        self.ax_l.set_yscale("log")
        _fixed(self.ax_l, "training loss", "training step")
        self.ax_l.yaxis.set_minor_formatter(NullFormatter())     # no minor labels: fewer texts per frame
        self.ax_l.grid(alpha=0.3)

    def draw(self, view):
        """Update the picture in place for a :func:`playground_view`."""
        self.image.set_data(view["prob"])
        if self.contour is not None:
            self.contour.remove()
        self.contour = _contour(self.ax_b, view["prob"], self.lim)
        color = COLORS[view["activation"]]
        self.title.set_text(view["title"])
        self.title.set_color(color)
        losses = view["losses"]
        self.loss_line.set_data(np.arange(len(losses)), losses)
        self.loss_line.set_color(color)
        self.ax_l.set_xlim(0, max(1, len(losses) - 1))
        self.ax_l.set_ylim(max(1e-4, losses.min() / 1.5), max(1.0, losses.max() * 1.2))
        return self.figure


def _plane(ax, X, y, lim):
    image = ax.imshow(np.full((2, 2), 0.5), origin="lower", extent=(-lim, lim, -lim, lim), cmap="coolwarm",
                      vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=6, edgecolors="none")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    return image


def _contour(ax, prob, lim):
    if prob.min() >= 0.5 or prob.max() <= 0.5:
        return None                                   # one class everywhere: no boundary to draw
    ticks = np.linspace(-lim, lim, prob.shape[0])
    return ax.contour(ticks, ticks, prob, levels=[0.5], colors="k", linewidths=1.2)


def _title(result):
    return f"{result['activation']}, {result['hidden']} hidden: {result['accuracy']:.1%}"


def playground_figure(result, X, y):
    """One trained network as the playground shows it, as a static figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    return BoundaryView(X, y).draw(playground_view(result))


def boundaries_figure(results, X, y, lim=1.5):
    """Decision boundaries of trained toy networks side by side, and their loss curves.

    Parameters
    ----------
    results : list of dict
        From :func:`train_toy`.
    X : (n, 2) ndarray
    y : (n,) ndarray

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel per result (P(class 1) in colour, the 0.5 contour in black), then the losses.
    """
    fig = _figure((2.6 * (len(results) + 1.3), 2.9))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.16, top=0.88, wspace=0.12)
    axes = fig.subplots(1, len(results) + 1, gridspec_kw={"width_ratios": [1] * len(results) + [1.3]})
    for ax, result in zip(axes, results):
        prob = boundary_grid(result["model"], lim)
        _plane(ax, X, y, lim).set_data(prob)
        _contour(ax, prob, lim)
        ax.set_title(f"{result['activation']}: {result['accuracy']:.1%}", fontsize=10,
                     color=COLORS[result["activation"]])
        axes[-1].plot(result["losses"], color=COLORS[result["activation"]], lw=1.8, label=result["activation"])
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("training step", fontsize=10)
    axes[-1].set_title("training loss", fontsize=10)
    axes[-1].legend(fontsize=10)
    axes[-1].grid(alpha=0.3)
    return fig


def boundary_playground(X, y, activation="relu", hidden=3, steps=300):
    """Activation, hidden units and steps; **Train** (background, progress bar) redraws a :class:`BoundaryView`."""
    import ipywidgets as w

    from ._live import Live, TaskButton

    trained = {"result": train_toy(activation, hidden, steps, data=(X, y))}
    view = BoundaryView(X, y)
    controls = {"activation": w.Dropdown(options=["none", "relu", "leaky_relu", "tanh", "sigmoid"], value=activation,
                                         description="activation"),
                "hidden": w.IntSlider(hidden, min=1, max=32, description="hidden units"),
                "steps": w.IntSlider(steps, min=10, max=2000, step=10, description="steps")}

    def work(progress):
        act, width, total = (controls[k].value for k in ("activation", "hidden", "steps"))

        def callback(step, n):
            if step % 20 == 0 or step == n:
                progress(step / n, f"step {step} / {n}")

        return train_toy(act, width, total, data=(X, y), callback=callback)

    def done(result):
        trained["result"] = result
        live.refresh()

    button = TaskButton("Train", work, done=done, name="playground-train")
    live = Live("boundary-playground", controls,
                lambda activation, hidden, steps: playground_view(trained["result"],
                                                                  settings=(activation, hidden, steps)),
                figure=view.figure, draw=view.draw, html=lambda v: v["caption"],
                layout=lambda c: w.VBox([w.HBox(list(c.values())), button]))
    return live
