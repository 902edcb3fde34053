"""Lesson 07, over- and underfitting: short training runs of the lesson's CNN on a few digits.

Pure functions (tested without a kernel): :func:`fit_run` trains
:func:`cnnlib.numpy_model.build_model` (any width, optional dropout) with SGD + momentum and
optional weight decay, data augmentation and early stopping, recording learning curves on the
training images and on held-out validation digits; :func:`curves_view` turns runs into what
the explorer draws. :class:`CurvesView` draws accuracy and loss curves in place;
:func:`fit_explorer` wires training-set size, width, dropout, weight decay and epochs to a
**Train** button (background work with a progress bar); :func:`curves_figure` is the static
figure.
"""
import html
import time

import numpy as np

from .. import numpy_model as nm
from ..optim import SGD
from ..train import evaluate

__all__ = ["SIZES", "WIDTHS", "DECAYS", "fit_run", "describe", "curves_view", "CurvesView", "curves_figure",
           "fit_explorer"]

SIZES = (100, 200, 500, 1000, 2000, 5000)
WIDTHS = (1, 2, 4, 8, 16)
DECAYS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
MAX_RUNS = 4
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
TRAIN_EVAL = 1000        # training images measured per epoch (the first ones: enough to see memorising)


def describe(n_train, width, dropout=0.0, weight_decay=0.0, augment=False, patience=None):
    """A short label for a run's settings, e.g. ``"500 digits, width 8, dropout 0.5"``."""
    parts = [f"{n_train} digits", f"width {width}"]
    if dropout:
        parts.append(f"dropout {dropout:g}")
    if weight_decay:
        parts.append(f"weight decay {weight_decay:g}")
    if augment:
        parts.append("augmented")
    if patience:
        parts.append(f"early stopping ({patience})")
    return ", ".join(parts)


def fit_run(data, val_data, n_train=500, width=8, dropout=0.0, weight_decay=0.0, epochs=30, lr=0.02, momentum=0.9,
            batch_size=32, seed=0, transform=None, patience=None, train_fn=None, dropout_layer=None,
            test_data=None, callback=None, label=None, hidden=None):
    """Train a fresh lesson CNN on the first ``n_train`` images and record learning curves.

    Parameters
    ----------
    data, val_data : tuple (x (N, 1, 28, 28) float32, y (N,) int)
        Training images (the first ``n_train`` are used) and held-out validation digits.
    n_train, width, epochs, batch_size, seed : int
    dropout : float
        Drop probability after the hidden layer (0: none).
    weight_decay : float
        L2 penalty's coefficient, added to the gradient by the optimizer (``g = dw + wd * w``).
    lr, momentum : float
        SGD's settings.
    transform : callable, optional
        ``transform(xb) -> xb`` applied to every training batch (augmentation).
    patience : int, optional
        Early stopping: stop after this many epochs without a higher validation accuracy and go
        back to the weights of the best epoch.
    train_fn : callable, optional
        ``train_fn(model, x, y, optimizer, batch_size, rng, transform) -> {"loss", "acc"}``
        (default :func:`cnnlib.numpy_model.train_one_epoch`).
    dropout_layer : callable, optional
        Builds the dropout layer (see :func:`cnnlib.numpy_model.build_model`).
    test_data : tuple, optional
        Measured once at the end (``test_acc``).
    callback : callable, optional
        ``callback(epoch, epochs)`` after every epoch (a progress bar).
    hidden : int, optional
        Hidden units (default ``16 * width``, see :func:`cnnlib.numpy_model.build_model`).

    Returns
    -------
    run : dict
        ``label``, ``settings`` (dict), ``params``, ``epoch`` (k,), ``train_loss``, ``train_acc``,
        ``val_loss``, ``val_acc`` (k,) (measured in eval mode after every epoch), ``best_epoch``
        (highest validation accuracy, the first if tied), ``stopped`` (epoch or None), ``train_final``, ``val_final``,
        ``test_acc`` (or None; after early stopping: of the restored weights), ``weight_norm``
        (``sqrt(sum w**2)`` over the weights, biases left out, at the end), ``seconds``.
    """
    x, y = data[0][:n_train], data[1][:n_train]
    model = nm.build_model(seed, width, dropout, dropout_layer, hidden)
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    train_fn = nm.train_one_epoch if train_fn is None else train_fn
    rng = np.random.default_rng(seed)
    curves = {k: [] for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")}
    best, best_state, stopped = None, None, None
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            train_fn(model, x, y, optimizer, batch_size, rng, transform)
            train_loss, train_acc = evaluate(model, x[:TRAIN_EVAL], y[:TRAIN_EVAL], batch_size=500)
            val_loss, val_acc = evaluate(model, *val_data, batch_size=500)
            for key, value in zip(curves, (epoch, train_loss, train_acc, val_loss, val_acc)):
                curves[key].append(value)
            if best is None or val_acc > curves["val_acc"][best - 1]:
                best = epoch
                if patience:
                    best_state = model.state_dict()
            if callback is not None:
                callback(epoch, epochs)
            if patience and epoch - best >= patience:
                stopped = epoch
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        final = best - 1 if patience else -1
        test_acc = None if test_data is None else evaluate(model, *test_data, batch_size=500)[1]
        weight_norm = float(np.sqrt(sum(np.sum(p.data.astype(np.float64) ** 2)
                                        for name, p in model.named_parameters() if name.endswith("weight"))))
    settings = {"n_train": len(x), "width": width, "hidden": hidden, "dropout": dropout, "weight_decay": weight_decay,
                "epochs": epochs, "augment": transform is not None, "patience": patience}
    return {"label": label or describe(len(x), width, dropout, weight_decay, transform is not None, patience),
            "settings": settings, "params": model.num_parameters(), **{k: np.array(v) for k, v in curves.items()},
            "best_epoch": best, "stopped": stopped, "train_final": curves["train_acc"][final],
            "val_final": curves["val_acc"][final], "test_acc": test_acc, "weight_norm": weight_norm,
            "seconds": time.perf_counter() - start}


def curves_view(runs, settings=None):
    """What the explorer draws: the last :data:`MAX_RUNS` runs' curves and a caption.

    Parameters
    ----------
    runs : list of dict
        From :func:`fit_run`.
    settings : dict, optional
        The controls' values (``n_train``, ``width``, ``dropout``, ``weight_decay``, ``epochs``); the
        caption says when pressing Train would make a new run.

    Returns
    -------
    view : dict
        ``curves``: list of (label, color, epoch (k,), train_acc, val_acc, train_loss, val_loss);
        ``epochs``: x-axis length; ``caption``: HTML.
    """
    shown = list(runs)[-MAX_RUNS:]
    curves, rows = [], []
    for i, run in enumerate(shown):
        color = COLORS[i % len(COLORS)]
        curves.append((run["label"], color, run["epoch"], run["train_acc"], run["val_acc"], run["train_loss"],
                       run["val_loss"]))
        gap = 100 * (run["train_final"] - run["val_final"])
        rows.append(f"<span style='color:{_hex(color)}'>&#9644;</span> <b>{html.escape(run['label'])}</b> "
                    f"({run['params']:,} parameters): train {run['train_final']:.1%}, "
                    f"validation {run['val_final']:.1%} (gap {gap:.1f} points)")
    if settings is not None:
        wanted = describe(settings["n_train"], settings["width"], settings["dropout"], settings["weight_decay"])
        if not shown or not _same(shown[-1]["settings"], settings):
            rows.append(f"press <b>Train</b> for {html.escape(wanted)}, {settings['epochs']} epochs")
    epochs = max([len(r["epoch"]) for r in shown] + [settings["epochs"] if settings else 1])
    return {"curves": curves, "epochs": epochs, "caption": "<br>".join(rows) if rows else "press <b>Train</b>"}


def _same(done, wanted):
    """Whether a run's settings are what the explorer's controls ask for (plain runs only)."""
    keys = ("n_train", "width", "dropout", "weight_decay", "epochs")
    return (all(done[k] == wanted[k] for k in keys) and done.get("hidden") is None and not done["augment"]
            and not done["patience"])


def _hex(color):
    from matplotlib.colors import to_hex

    return to_hex(color)


class CurvesView:
    """Accuracy (left) and loss (right) per epoch, training solid and validation dashed, in place."""

    def __init__(self, legend=False):
        from matplotlib.figure import Figure

        self.show_legend = legend
        self.figure = fig = Figure(figsize=(9, 3.2), dpi=80)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.22)
        self.ax_acc, self.ax_loss = fig.subplots(1, 2)
        self.lines = []
        for _ in range(MAX_RUNS):
            pair = []
            for ax in (self.ax_acc, self.ax_loss):
                pair += [ax.plot([], [], lw=1.8)[0], ax.plot([], [], lw=1.8, ls="--")[0]]
            self.lines.append(pair)
        for ax, title, ylabel in ((self.ax_acc, "accuracy: training (solid), validation (dashed)", "accuracy (%)"),
                                  (self.ax_loss, "loss: training (solid), validation (dashed)", "cross-entropy")):
            ax.set_title(title, fontsize=10, y=1.01)
            ax.set_xlabel("epoch", fontsize=10)
            ax.xaxis.set_label_coords(0.5, -0.1)
            ax.set_ylabel(ylabel, fontsize=10)
            ax.yaxis.set_label_coords(-0.1, 0.5)
            ax.grid(alpha=0.3)
        self.ax_acc.set_ylim(0, 101)
        self.ax_loss.set_ylim(0, 2.0)
        self.epochs = None
        self.legend = None
        self.restyled = True      # whether the last draw changed more than the curves (the axis range)

    def draw(self, view):
        """Update every curve for a :func:`curves_view`; ``restyled`` says if the x-range changed too."""
        self.restyled = False
        for i, lines in enumerate(self.lines):
            shown = i < len(view["curves"])
            for line in lines:
                line.set_visible(shown)
            if shown:
                label, color, epoch, train_acc, val_acc, train_loss, val_loss = view["curves"][i]
                for line, values in zip(lines, (100 * train_acc, 100 * val_acc, train_loss, val_loss)):
                    line.set_data(epoch, np.clip(values, -1e3, 1e3))
                    line.set_color(color)
                lines[0].set_label(label)
        if view["epochs"] != self.epochs:
            self.epochs, self.restyled = view["epochs"], True
            for ax in (self.ax_acc, self.ax_loss):
                ax.set_xlim(0.5, self.epochs + 0.5)
        if self.legend is not None:
            self.legend.remove()
            self.legend = None
        if self.show_legend and view["curves"]:
            self.legend = self.ax_acc.legend(handles=[lines[0] for lines in self.lines[:len(view["curves"])]],
                                             fontsize=8, loc="lower right")
        return self.figure


def curves_figure(runs):
    """Learning curves of several runs as a static figure (with a legend)."""
    return CurvesView(legend=True).draw(curves_view(runs))


def fit_explorer(data, val_data, runs=(), n_train=500, width=8, dropout=0.0, weight_decay=0.0, epochs=20,
                 train_fn=None, dropout_layer=None):
    """Training-set size, width, dropout, weight decay and epochs; **Train** adds a run (background).

    Parameters
    ----------
    data, val_data : tuple (x (N, 1, 28, 28), y (N,))
        Training images (at least 5,000) and validation digits.
    runs : sequence of dict
        Runs from :func:`fit_run` shown at first.
    train_fn, dropout_layer : callable, optional
        Passed to :func:`fit_run` (e.g. the learner's ``train_one_epoch`` and dropout).
    """
    import ipywidgets as w

    from ._live import Live, TaskButton

    done_runs = list(runs)
    view = CurvesView()
    controls = {"n_train": w.SelectionSlider(options=list(SIZES), value=n_train, description="digits"),
                "width": w.SelectionSlider(options=list(WIDTHS), value=width, description="width"),
                "dropout": w.FloatSlider(dropout, min=0.0, max=0.8, step=0.1, description="dropout"),
                "weight_decay": w.SelectionSlider(options=[(f"{d:g}", d) for d in DECAYS], value=weight_decay,
                                                  description="weight decay"),
                "epochs": w.IntSlider(epochs, min=5, max=40, step=5, description="epochs")}
    for control in controls.values():
        control.style.description_width = "90px"

    def settings():
        return {k: c.value for k, c in controls.items()}

    def work(progress):
        s = settings()
        return fit_run(data, val_data, s["n_train"], s["width"], round(s["dropout"], 2), s["weight_decay"],
                       s["epochs"], train_fn=train_fn, dropout_layer=dropout_layer,
                       callback=lambda epoch, total: progress(epoch / total, f"epoch {epoch} / {total}"))

    def done(run):
        done_runs.append(run)
        live.refresh()

    def clear(_button):
        done_runs.clear()
        live.refresh()

    button = TaskButton("Train", work, done=done, name="fit-train")
    clear_button = w.Button(description="Clear")
    clear_button.on_click(clear)

    def draw(v):
        view.draw(v)
        return view.restyled  # else only the curves changed: Live redraws just them over the cached axes

    live = Live("fit-explorer", controls,
                lambda **s: curves_view(done_runs, settings={**s, "dropout": round(s["dropout"], 2)}),
                figure=view.figure, draw=draw, html=lambda v: v["caption"],
                animated=[line for pair in view.lines for line in pair],
                layout=lambda c: w.VBox([w.HBox(list(c.values()), layout=w.Layout(flex_flow="row wrap")),
                                         w.HBox([button, clear_button])]))
    return live
