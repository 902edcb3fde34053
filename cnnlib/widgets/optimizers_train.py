"""Lesson 06 on a real model: a small numpy CNN on an MNIST subset, trained by each optimizer.

Pure functions (tested without a kernel, against the torch twin): :func:`small_cnn`,
:func:`make_optimizer`, :func:`train_run` (a training loop that can change the learning rate at
every step), :func:`smooth` (a bias-corrected moving average, Adam's correction),
:func:`lr_range_test`, :func:`runs_view`. :class:`RunsView` draws loss curves in place;
:func:`lr_explorer` wires an optimizer, a learning-rate slider and a **Train** button
(background work with a progress bar) to them.
"""
import time

import numpy as np

from .. import nn, optim
from ..train import evaluate
from .optimizers import LABELS
from .optimizers_playground import fixed_layout

__all__ = ["TRAINERS", "RuleOptimizer", "small_cnn", "make_optimizer", "train_run", "smooth", "lr_range_test", "runs_view",
           "RunsView", "runs_figure", "lr_explorer"]

TRAINERS = ("sgd", "momentum", "rmsprop", "adam")
MAX_RUNS = 6          # curves the explorer keeps (the oldest goes first)
RUN_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def small_cnn(seed=0):
    """``conv(1->8, 3x3, pad 1) -> max-pool 2 -> ReLU -> conv(8->16, 3x3, pad 1) -> max-pool 2 -> ReLU
    -> flatten -> linear(784 -> 10)`` from cnnlib.nn, float32, weights seeded like torch's defaults.

    Returns
    -------
    model : cnnlib.nn.Sequential
        ``(N, 1, 28, 28)`` images in, ``(N, 10)`` logits out; 9,098 parameters.
    """
    nn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class RuleOptimizer(optim.Optimizer):
    """A cnnlib optimizer applying any update rule ``rule(w, dw, state, **hyper) -> (w_new, state)``
    to every parameter (e.g. the learner's ``adam_step``); ``hyper`` holds ``lr`` and the rest."""

    def __init__(self, params, rule, **hyper):
        self.rule = rule
        super().__init__(params, hyper)

    def _update(self, w, dw, state, hyper):
        return self.rule(w, dw, state, **hyper)


def make_optimizer(name, params, lr, momentum=0.9, weight_decay=0.0, rules=None):
    """A cnnlib optimizer by name: ``"sgd"``, ``"momentum"`` (SGD, momentum 0.9), ``"rmsprop"``, ``"adam"``.

    ``rules`` maps names to ``(rule, hyper)``: those optimizers become a :class:`RuleOptimizer`
    applying ``rule`` with ``lr`` and ``hyper`` (e.g. ``{"adam": (adam_step, {})}``).
    """
    if rules and name in rules:
        rule, hyper = rules[name]
        return RuleOptimizer(params, rule, lr=lr, **hyper)
    if name == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"make_optimizer: unknown optimizer {name!r}; use one of {TRAINERS}")


def train_run(optimizer, lr, data, steps, batch_size=64, seed=0, schedule=None, eval_data=None, callback=None,
              blow_up=10.0, rules=None, label=None):
    """Train a fresh :func:`small_cnn` for ``steps`` mini-batches.

    The weights and the order of the mini-batches depend on ``seed`` only, so runs with the
    same seed differ only by the optimizer and its learning rate.

    Parameters
    ----------
    optimizer : str
        One of :data:`TRAINERS`.
    lr : float
        The learning rate (the start value when ``schedule`` is given).
    data : tuple (x (N, 1, 28, 28) float32, y (N,) int)
    steps, batch_size, seed : int
    schedule : callable, optional
        ``schedule(step) -> lr`` set before every step (``step`` counts from 0).
    eval_data : tuple (x, y), optional
        Accuracy measured after training (skipped when the run diverged).
    callback : callable, optional
        ``callback(step, steps)`` after every step (a progress bar).
    blow_up : float
        The run stops as diverged when the loss is not finite or exceeds this.
    rules : dict, optional
        Update rules to use instead of cnnlib's optimizers (see :func:`make_optimizer`).
    label : str, optional
        How plots and captions name the run (default: the optimizer and its learning rate).

    Returns
    -------
    run : dict
        ``optimizer``, ``lr``, ``steps``, ``label``, ``losses`` (k,) mini-batch losses, ``lrs`` (k,) the
        learning rate of each step, ``diverged`` (step index or None), ``accuracy`` (float or None),
        ``seconds``.
    """
    x, y = data
    model = small_cnn(seed)
    opt = make_optimizer(optimizer, model.parameters(), lr, rules=rules)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    order = np.empty(0, dtype=np.int64)
    losses, lrs, diverged = [], [], None
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        for step in range(int(steps)):
            if schedule is not None:
                for group in opt.param_groups:
                    group["lr"] = float(schedule(step))
            if len(order) < batch_size:
                order = np.concatenate([order, rng.permutation(len(x))])
            idx, order = order[:batch_size], order[batch_size:]
            loss = crit(model(x[idx]), y[idx])
            losses.append(loss)
            lrs.append(opt.param_groups[0]["lr"])
            if not np.isfinite(loss) or loss > blow_up:
                diverged = step
                break
            opt.zero_grad()
            model.backward(crit.backward())
            opt.step()
            if callback is not None:
                callback(step + 1, steps)
        accuracy = None
        if eval_data is not None and diverged is None:
            accuracy = evaluate(model, *eval_data)[1]
    label = label or f"{LABELS[optimizer]}, lr {lr:.3g}"
    return {"optimizer": optimizer, "lr": lr, "steps": int(steps), "label": label, "losses": np.array(losses),
            "lrs": np.array(lrs), "diverged": diverged, "accuracy": accuracy,
            "seconds": time.perf_counter() - start}


def smooth(values, beta=0.9):
    """Exponential moving average with Adam's bias correction: ``m_t / (1 - beta**t)``.

    Parameters
    ----------
    values : (T,) array_like
    beta : float in [0, 1)

    Returns
    -------
    (T,) float64 ndarray
        Without the correction the first values would be pulled towards 0.
    """
    values = np.asarray(values, dtype=np.float64)
    out, m = np.empty_like(values), 0.0
    for t, v in enumerate(values, start=1):
        m = beta * m + (1 - beta) * v
        out[t - 1] = m / (1 - beta ** t)
    return out


def lr_range_test(data, lr_start=1e-4, lr_end=3.0, steps=100, optimizer="momentum", seed=0, batch_size=64,
                  callback=None):
    """The learning-rate range test: raise the learning rate exponentially, one step at a time.

    ``lr_t = lr_start * (lr_end / lr_start) ** (t / (steps - 1))``; the run stops when the loss
    blows up. The loss first falls faster as the rate grows, then becomes unstable.

    Returns
    -------
    dict
        ``lrs`` (k,), ``losses`` (k,), ``smoothed`` (k,) (:func:`smooth`), ``best_lr`` (the rate
        where the smoothed loss is lowest), ``suggested_lr`` (``best_lr / 10``), ``diverged``.
    """
    ratio = lr_end / lr_start
    run = train_run(optimizer, lr_start, data, steps, batch_size, seed,
                    schedule=lambda t: lr_start * ratio ** (t / (steps - 1)), callback=callback)
    smoothed = smooth(run["losses"])
    best = int(np.argmin(smoothed))
    return {"lrs": run["lrs"], "losses": run["losses"], "smoothed": smoothed, "best_lr": float(run["lrs"][best]),
            "suggested_lr": float(run["lrs"][best]) / 10, "diverged": run["diverged"]}


def runs_view(runs, settings=None):
    """What the learning-rate explorer shows: the smoothed loss curve of every run so far.

    Parameters
    ----------
    runs : list of dict
        From :func:`train_run` (the last :data:`MAX_RUNS` are shown).
    settings : tuple (optimizer, lr, steps), optional
        The controls' current values; the caption says when they would give a new run.

    Returns
    -------
    view : dict
        ``curves`` list of (label, color, steps (k,), smoothed loss (k,)), ``steps`` (x-axis length),
        ``caption`` (HTML).
    """
    shown = list(runs)[-MAX_RUNS:]
    curves, rows = [], []
    for i, run in enumerate(shown):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        losses = run["losses"]
        curves.append((run["label"], color, np.arange(len(losses)),     # a blow-up shoots off the top
                       smooth(np.where(np.isfinite(losses), np.minimum(losses, 1e3), 1e3))))
        swatch = f"<span style='color:{_hex(color)}'>&#9644;</span> <b>{run['label']}</b>, {run['steps']} steps: "
        if run["diverged"] is not None:
            rows.append(swatch + f"diverged at step {run['diverged']} (loss {run['losses'][-1]:.3g})")
        else:
            acc = "" if run["accuracy"] is None else f", test accuracy {run['accuracy']:.1%}"
            rows.append(swatch + f"final loss {curves[-1][3][-1]:.3f}{acc} ({run['seconds']:.1f} s)")
    if settings is not None:
        opt, lr, steps = settings
        last = shown[-1] if shown else None
        if last is None or (last["optimizer"], last["lr"], last["steps"]) != (opt, lr, steps):
            rows.append(f"press <b>Train</b> for {LABELS[opt]}, lr {lr:.3g}, {steps} steps")
    return {"curves": curves, "steps": max([r["steps"] for r in shown] + [1]),
            "caption": "<br>".join(rows) if rows else "press <b>Train</b>"}


def _hex(color):
    from matplotlib.colors import to_hex

    return to_hex(color)


class RunsView:
    """Loss curves (smoothed, as a function of the step), one line per run, updated in place."""

    def __init__(self, legend=False):
        from matplotlib.figure import Figure

        self.show_legend = legend
        self.figure = fig = Figure(figsize=(8, 3.2), dpi=80)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9)
        self.ax = fig.subplots()
        self.lines = [self.ax.plot([], [], lw=1.8)[0] for _ in range(MAX_RUNS)]
        fixed_layout(self.ax, "small CNN on an MNIST subset", "step", "training loss (smoothed)", ylabel_x=-0.06)
        self.ax.set_ylim(0, 2.6)
        self.ax.grid(alpha=0.3)
        self.legend = None

    def draw(self, view):
        """Update the curves in place for a :func:`runs_view`."""
        for i, line in enumerate(self.lines):
            shown = i < len(view["curves"])
            line.set_visible(shown)
            if shown:
                label, color, x, y = view["curves"][i]
                line.set_data(x, y)
                line.set_color(color)
                line.set_label(label)
        self.ax.set_xlim(0, view["steps"])
        if self.legend is not None:
            self.legend.remove()
            self.legend = None
        if self.show_legend and view["curves"]:
            self.legend = self.ax.legend(handles=self.lines[:len(view["curves"])], fontsize=9, loc="upper right")
        return self.figure


def runs_figure(runs):
    """Loss curves of several runs as a static figure (with a legend)."""
    return RunsView(legend=True).draw(runs_view(runs))


def lr_explorer(data, eval_data, runs=(), optimizer="momentum", lr=0.05, steps=200, rules=None):
    """Optimizer, learning rate (log slider) and steps; **Train** adds a run (background, progress bar).

    Parameters
    ----------
    data, eval_data : tuple (x (N, 1, 28, 28), y (N,))
        Training subset and held-out digits for the accuracy.
    runs : sequence of dict
        Runs to show at first (from :func:`train_run`).
    rules : dict, optional
        Update rules to train with (see :func:`make_optimizer`).
    """
    import ipywidgets as w

    from ._live import Live, TaskButton
    from .optimizers import rate_slider

    done_runs = list(runs)
    view = RunsView()
    controls = {"optimizer": w.Dropdown(options=[(LABELS[o], o) for o in TRAINERS], value=optimizer,
                                        description="optimizer"),
                "lr": rate_slider(lr, 1e-4, 3, "lr"),
                "steps": w.IntSlider(steps, min=20, max=600, step=20, description="steps")}

    def work(progress):
        opt, rate, total = (controls[k].value for k in ("optimizer", "lr", "steps"))

        def callback(step, n):
            if step % 10 == 0 or step == n:
                progress(step / n, f"step {step} / {n}")

        return train_run(opt, rate, data, total, eval_data=eval_data, callback=callback, rules=rules)

    def done(run):
        done_runs.append(run)
        live.refresh()

    def clear(_button):
        done_runs.clear()
        live.refresh()

    button = TaskButton("Train", work, done=done, name="lr-train")
    clear_button = w.Button(description="Clear")
    clear_button.on_click(clear)
    live = Live("lr-explorer", controls,
                lambda optimizer, lr, steps: runs_view(done_runs, settings=(optimizer, lr, steps)),
                figure=view.figure, draw=view.draw, html=lambda v: v["caption"],
                layout=lambda c: w.VBox([w.HBox(list(c.values()), layout=w.Layout(flex_flow="row wrap")),
                                         w.HBox([button, clear_button])]))
    return live
