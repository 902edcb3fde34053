"""Lesson 05, the backprop stepper: a tiny computational graph, forward then backward, node by node.

The graph computes the cross-entropy of a two-class softmax on one number ``x``::

    m0 = w0 * x     z0 = m0 + b0     e0 = exp(z0)
    m1 = w1 * x     z1 = m1 + b1     e1 = exp(z1)     s = e0 + e1     p = e_y / s     L = -ln p

so ``L = CE(softmax([w0 x + b0, w1 x + b1]), y)``, written with operations whose local
derivatives are one line each. Pure functions: :func:`graph_state` (values and gradients
after any number of steps, tested against torch autograd) and :func:`GraphView` draws it in
place; :func:`backprop_stepper` only wires controls to them.
"""
import math

import numpy as np

__all__ = ["LEAVES", "OPS", "N_STEPS", "ops_for", "graph_state", "GraphView", "graph_figure", "backprop_stepper"]

LEAVES = ("x", "w0", "b0", "w1", "b1")
# (node, operation, inputs); "e_y" is e0 or e1 depending on the label y
OPS = (("m0", "mul", ("w0", "x")), ("m1", "mul", ("w1", "x")),
       ("z0", "add", ("m0", "b0")), ("z1", "add", ("m1", "b1")),
       ("e0", "exp", ("z0",)), ("e1", "exp", ("z1",)),
       ("s", "add", ("e0", "e1")), ("p", "div", ("e_y", "s")), ("L", "neglog", ("p",)))
N_STEPS = 2 * len(OPS)          # every operation forward, then every operation backward
_SYMBOL = {"mul": "·", "add": "+", "div": "/"}
# where each node sits in the drawing (column, row)
_POS = {"w0": (0, 0.0), "x": (0, 2.0), "w1": (0, 4.0), "b0": (1, 0.0), "b1": (1, 4.0),
        "m0": (1, 1.15), "m1": (1, 2.85), "z0": (2, 1.15), "z1": (2, 2.85), "e0": (3, 1.15), "e1": (3, 2.85),
        "s": (4, 3.1), "p": (5, 2.0), "L": (6, 2.0)}


def ops_for(y):
    """The operations in forward order, with ``e_y`` resolved for the label ``y`` (0 or 1).

    Returns
    -------
    ops : tuple of (name, kind, inputs)
    """
    if y not in (0, 1):
        raise ValueError(f"the label y must be 0 or 1, got {y!r}")
    return tuple((name, kind, tuple(f"e{y}" if i == "e_y" else i for i in inputs)) for name, kind, inputs in OPS)


def _forward(kind, a):
    if kind == "mul":
        return a[0] * a[1]
    if kind == "add":
        return a[0] + a[1]
    if kind == "exp":
        return math.exp(a[0])
    if kind == "div":
        return a[0] / a[1]
    return -math.log(a[0])            # neglog


def _local(kind, a, out):
    """Local derivatives d out / d input, one per input."""
    if kind == "mul":
        return (a[1], a[0])
    if kind == "add":
        return (1.0, 1.0)
    if kind == "exp":
        return (out,)
    if kind == "div":
        return (1.0 / a[1], -a[0] / a[1] ** 2)
    return (-1.0 / a[0],)


def _label(kind, inputs):
    if kind == "exp":
        return f"exp({inputs[0]})"
    if kind == "neglog":
        return f"-ln({inputs[0]})"
    return f"{inputs[0]}{_SYMBOL[kind]}{inputs[1]}"


def _fmt(v):
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def graph_state(x=1.0, w0=0.5, b0=0.0, w1=-0.5, b1=0.0, y=0, step=N_STEPS):
    """Values and gradients of the graph after ``step`` steps.

    Steps 1 to 9 compute one operation forward each; steps 10 to 18 each take one operation,
    last first, and send its gradient to its inputs: ``d input += d out * local derivative``
    (a node used twice, like ``x`` or ``e_y``, adds up what each use sends).

    Parameters
    ----------
    x, w0, b0, w1, b1 : float
    y : int
        The true class, 0 or 1.
    step : int in [0, N_STEPS]

    Returns
    -------
    state : dict
        ``values`` and ``grads`` (``node -> float``, only the nodes reached so far), ``active``
        (the operation of this step, or None), ``phase`` (``"start"``, ``"forward"``,
        ``"backward"``), ``edges`` (``[(input, node)]`` the step uses), ``text`` (what happened,
        with the numbers), ``step``, ``y``, and the final ``loss``, ``probs`` (2,) and
        ``dz`` (2,) = dL/d[z0, z1].
    """
    step = int(step)
    if not 0 <= step <= N_STEPS:
        raise ValueError(f"step must lie in [0, {N_STEPS}], got {step}")
    y = int(y)
    ops = ops_for(y)
    leaves = {"x": x, "w0": w0, "b0": b0, "w1": w1, "b1": b1}
    full = {k: float(v) for k, v in leaves.items()}
    for name, kind, inputs in ops:                          # the whole forward pass (for the caption and totals)
        full[name] = _forward(kind, [full[i] for i in inputs])
    n_fwd = min(step, len(ops))
    values = {k: full[k] for k in LEAVES}
    values.update({name: full[name] for name, _, _ in ops[:n_fwd]})
    grads, text, active, edges = {}, "", None, []
    if step == 0:
        phase = "start"
        text = ("Start: the inputs x, w0, b0, w1, b1 are set. Step forward to compute each node from its inputs.")
    elif step <= len(ops):
        phase = "forward"
        name, kind, inputs = ops[step - 1]
        active, edges = name, [(i, name) for i in inputs]
        args = [full[i] for i in inputs]
        if kind == "exp":
            formula = f"exp({inputs[0]}) = exp({_fmt(args[0])})"
        elif kind == "neglog":
            formula = f"-ln({inputs[0]}) = -ln({_fmt(args[0])})"
        else:
            formula = f"{inputs[0]} {_SYMBOL[kind]} {inputs[1]} = {_fmt(args[0])} {_SYMBOL[kind]} {_fmt(args[1])}"
        text = f"Forward {step}/{len(ops)}: {name} = {formula} = {_fmt(full[name])}"
        if name == "L":
            text += " (the loss). Now step backward."
    else:
        phase = "backward"
        grads["L"] = 1.0
        n_back = step - len(ops)
        for k, (name, kind, inputs) in enumerate(reversed(ops)):
            if k >= n_back:
                break
            local = _local(kind, [full[i] for i in inputs], full[name])
            sent = []
            for i, d in zip(inputs, local):
                before = grads.get(i)
                grads[i] = (before or 0.0) + grads[name] * d
                sent.append((i, d, grads[name] * d, before))
            if k == n_back - 1:
                active, edges = name, [(i, name) for i in inputs]
                parts = [f"d{name}/d{i} = {_fmt(d)}, so {i} receives {_fmt(grads[name])} × {_fmt(d)} = {_fmt(g)}"
                         + (f" (added to the {_fmt(b)} it already had: now {_fmt(grads[i])})" if b is not None else "")
                         for i, d, g, b in sent]
                head = f"Backward {n_back}/{len(ops)} at {name} (upstream dL/d{name} = {_fmt(grads[name])}): "
                text = head + "; ".join(parts) + "."
        if n_back == len(ops):
            text += " Done: every node holds dL/d(node)."
    e = np.array([full["e0"], full["e1"]])
    probs = e / e.sum()
    dz = probs - np.eye(2)[y]
    return {"values": values, "grads": grads, "active": active, "phase": phase, "edges": edges, "text": text,
            "step": step, "y": y, "loss": full["L"], "probs": probs, "dz": dz}


class GraphView:
    """The graph drawn once (boxes and arrows); :meth:`draw` only changes texts and colours."""

    def __init__(self, y=0):
        from matplotlib.figure import Figure

        self.figure = fig = Figure(figsize=(10.5, 3.6), dpi=80)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.98)
        self.ax = ax = fig.subplots()
        ax.set_xlim(-0.55, 6.6)
        ax.set_ylim(4.75, -0.7)
        ax.axis("off")
        self.edges = {}
        for name, _, inputs in OPS:
            for i in inputs:
                for src in (("e0", "e1") if i == "e_y" else (i,)):
                    (x0, y0), (x1, y1) = _POS[src], _POS[name]
                    (line,) = ax.plot([x0 + 0.33, x1 - 0.33], [y0, y1], color="0.75", lw=1.2, zorder=1)
                    self.edges[(src, name)] = line
        self.boxes, self.grads = {}, {}
        for name, (cx, cy) in _POS.items():
            self.boxes[name] = ax.text(cx, cy, name, ha="center", va="center", fontsize=10, zorder=3,
                                       bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.6", "lw": 1.2})
            self.grads[name] = ax.text(cx, cy + 0.47, "", ha="center", va="center", fontsize=10,
                                       color="tab:red", zorder=3)
        ax.text(-0.5, 4.6, "black: value (forward)   red: dL/d(node) (backward)", fontsize=10, color="0.3")

    def draw(self, state):
        """Show ``state`` (from :func:`graph_state`) in place; returns the figure."""
        ops = {name: (kind, inputs) for name, kind, inputs in ops_for(state["y"])}
        for name, box in self.boxes.items():
            if name in ops:
                kind, inputs = ops[name]
                head = f"{name} = {_label(kind, inputs)}"
            else:
                head = name
            value = state["values"].get(name)
            box.set_text(head if value is None else f"{head}\n{_fmt(value)}")
            active = name == state["active"]
            color = {"forward": "tab:blue", "backward": "tab:red"}.get(state["phase"], "0.6")
            box.get_bbox_patch().set_edgecolor(color if active else "0.6")
            box.get_bbox_patch().set_linewidth(2.6 if active else 1.2)
            g = state["grads"].get(name)
            self.grads[name].set_text("" if g is None else f"d: {_fmt(g)}")
        used = set(state["edges"])
        for (src, name), line in self.edges.items():
            live = name != "p" or src in ("s", f"e{state['y']}")   # p uses only e_y and s
            on = (src, name) in used
            line.set_color(("tab:blue" if state["phase"] == "forward" else "tab:red") if on else
                           ("0.6" if live else "0.9"))
            line.set_linewidth(2.6 if on else 1.2)
            line.set_linestyle("-" if live else ":")
        return self.figure


def graph_figure(state):
    """One state of the graph as a static figure (a new :class:`GraphView`)."""
    return GraphView(state["y"]).draw(state)


def backprop_stepper(x=1.0, w0=0.5, b0=0.0, w1=-0.5, b1=0.0, y=0, step=0):
    """Backprop stepper: edit the inputs, then step forward and backward through the graph.

    Returns
    -------
    widget : cnnlib.widgets._live.Live
    """
    import ipywidgets as widgets

    from ._live import Live

    def slider(value, name):
        return widgets.FloatSlider(value, min=-3, max=3, step=0.1, description=name, readout_format=".1f",
                                   layout=widgets.Layout(width="210px"), style={"description_width": "24px"})

    controls = {k: slider(v, k) for k, v in (("x", x), ("w0", w0), ("b0", b0), ("w1", w1), ("b1", b1))}
    controls["y"] = widgets.Dropdown(options=[0, 1], value=int(y), description="label y",
                                     layout=widgets.Layout(width="150px"))
    controls["step"] = widgets.IntSlider(int(step), min=0, max=N_STEPS, description="step",
                                         layout=widgets.Layout(width="420px"))
    back, forward = widgets.Button(description="◀ step back"), widgets.Button(description="step ▶")
    back.on_click(lambda _: setattr(controls["step"], "value", max(0, controls["step"].value - 1)))
    forward.on_click(lambda _: setattr(controls["step"], "value", min(N_STEPS, controls["step"].value + 1)))
    view = GraphView(int(y))

    def layout(c):
        return widgets.VBox([widgets.HBox([c[k] for k in LEAVES] + [c["y"]],
                                          layout=widgets.Layout(flex_flow="row wrap")),
                             widgets.HBox([c["step"], back, forward])])

    live = Live("backprop-stepper", controls, graph_state, figure=view.figure, draw=view.draw,
                html=lambda s: s["text"], layout=layout)
    live.step_buttons = (back, forward)
    return live
