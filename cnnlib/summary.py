"""summary(model, input_shape): a Keras-style table of layers, output shapes and parameters.

Works for cnnlib models and for torch ``nn.Module`` models, so a lesson can
show that the numpy network and its torch twin have the same shapes and
parameter counts.
"""
import numpy as np


class Summary:
    """Result of :func:`summary`; print it, or display it in a notebook.

    Attributes
    ----------
    rows : list of (name, type, output_shape, num_params)
        One row per leaf layer, in the order the forward pass calls them;
        ``output_shape`` excludes the batch axis.
    total_params : int
    input_shape : tuple of int
    """

    def __init__(self, model_name, input_shape, rows, total_params):
        self.model_name = model_name
        self.input_shape = tuple(input_shape)
        self.rows = rows
        self.total_params = int(total_params)

    def _cells(self):
        head = ("Layer (type)", "Output shape", "Param #")
        body = [(f"{name} ({kind})" if name else kind, str(tuple(shape)), f"{n:,}")
                for name, kind, shape, n in self.rows]
        return head, body

    def __str__(self):
        head, body = self._cells()
        widths = [max(len(r[i]) for r in [head] + body) + 2 for i in range(3)]
        line = lambda r: f"{r[0]:<{widths[0]}}{r[1]:<{widths[1]}}{r[2]:>{widths[2]}}"
        rule = "=" * sum(widths)
        out = [f"{self.model_name}, input {self.input_shape}", rule, line(head), rule]
        out += [line(r) for r in body]
        out += [rule, f"Total params: {self.total_params:,}"]
        return "\n".join(out)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        from html import escape
        head, body = self._cells()
        th = "".join(f"<th>{escape(h)}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in body)
        return (f"<p><b>{escape(self.model_name)}</b>, input {self.input_shape}</p>"
                f"<table><tr>{th}</tr>{trs}<tr><td><b>Total params</b></td><td></td>"
                f"<td><b>{self.total_params:,}</b></td></tr></table>")


def _is_torch_module(model):
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(model, torch.nn.Module)


def _summary_torch(model, input_shape):
    import torch
    rows, handles = [], []
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    for name, m in leaves:
        n_params = sum(p.numel() for p in m.parameters(recurse=False))

        def hook(mod, inp, out, name=name, n_params=n_params):
            rows.append((name, type(mod).__name__, tuple(out.shape[1:]), n_params))
        handles.append(m.register_forward_hook(hook))
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None else torch.float32
    was_training = model.training
    model.eval()  # no dropout / batch-statistics on the dummy batch
    try:
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape), dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    return rows, total


def _summary_cnnlib(model, input_shape):
    rows, wrapped = [], []
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    for name, m in leaves:
        n_params = sum(p.size for p in m.parameters(recurse=False))
        original = m.forward  # bound method of the class

        def recording_forward(*args, _orig=original, _name=name, _m=m, _n=n_params, **kw):
            out = _orig(*args, **kw)
            rows.append((_name, type(_m).__name__, tuple(np.shape(out)[1:]), _n))
            return out
        # an instance attribute shadows the class's forward, like a torch hook
        object.__setattr__(m, "forward", recording_forward)
        wrapped.append(m)
    first = next(model.parameters(), None)
    dtype = first.data.dtype if first is not None else np.float32
    was_training = model.training
    model.eval()
    try:
        model(np.zeros((1,) + tuple(input_shape), dtype=dtype))
    finally:
        for m in wrapped:
            del m.__dict__["forward"]
        model.train(was_training)
    return rows, model.num_parameters()


def summary(model, input_shape):
    """Table of each layer's output shape and parameter count.

    Parameters
    ----------
    model : cnnlib.nn.Module or torch.nn.Module
    input_shape : tuple of int
        Shape of ONE input without the batch axis, e.g. ``(1, 28, 28)``.
        A batch of one zero image is pushed through the model (in eval mode,
        restoring the previous mode afterwards).

    Returns
    -------
    Summary
        ``print(summary(...))`` shows the table; in a notebook it renders as HTML.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if _is_torch_module(model):
        rows, total = _summary_torch(model, input_shape)
    elif hasattr(model, "named_modules") and hasattr(model, "num_parameters"):
        rows, total = _summary_cnnlib(model, input_shape)
    else:
        raise ValueError(f"summary needs a cnnlib or torch Module, got {type(model).__name__}")
    return Summary(type(model).__name__, input_shape, rows, total)
