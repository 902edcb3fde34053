"""Base class shared by the cnnlib optimizers (a small torch.optim.Optimizer)."""
import numpy as np


class Optimizer:
    """Holds parameter groups and per-parameter state; subclasses define ``_update``.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Usually ``model.parameters()``.  Like torch, a list of dicts
        ``{"params": [...], "lr": ...}`` gives groups with their own settings.
    defaults : dict
        Hyperparameters used by groups that do not set them.

    Notes
    -----
    ``param_groups[i]["lr"]`` may be changed between steps (learning-rate
    schedules), exactly as with torch.  Parameters whose ``.grad`` is None
    are skipped by ``step()``.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        params = list(params)
        if len(params) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.param_groups = []
        for group in params:
            self.add_param_group(group)
        self.state = {}  # id(param) -> state dict, like torch's per-param state

    def add_param_group(self, group):
        """Add a dict ``{"params": [...], **hyperparameters}``."""
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if hasattr(ps, "data") and hasattr(ps, "grad") else list(ps)
        for p in group["params"]:
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise ValueError(
                    "optimizer params must be Parameters (with .data and .grad), "
                    f"got {type(p).__name__}")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate hyperparameters; subclasses raise ValueError."""

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters.

        Like torch (``set_to_none=True`` by default) the grads become None, so
        the next backward writes fresh arrays; with ``set_to_none=False`` they
        are filled with zeros instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            hyper = {k: v for k, v in group.items() if k != "params"}
            self._check_group(hyper)
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"gradient shape {grad.shape} does not match "
                        f"parameter shape {p.data.shape}")
                state = self.state.get(id(p), {})
                w_new, state = self._update(p.data, grad, state, hyper)
                self.state[id(p)] = state
                # write in place so anything holding p.data sees the update
                if w_new is not p.data:  # (an optimizer may have updated it in place)
                    p.data[...] = w_new

    def _update(self, w, dw, state, hyper):
        raise NotImplementedError

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
