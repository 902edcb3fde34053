"""Parameter, Module and Sequential: the torch.nn-shaped skeleton of cnnlib.nn.

A cnnlib Module has an explicit ``backward(dout)`` (there is no autograd):
it returns the gradient with respect to the module's input and *adds* the
gradients of its parameters into their ``.grad`` (None until the first
backward), exactly like torch accumulates into ``.grad``.  Call
``zero_grad()`` (or ``optimizer.zero_grad()``) before each backward pass.
"""
from collections import OrderedDict

import numpy as np


class Parameter:
    """A trainable array: ``.data`` holds the values, ``.grad`` the gradient.

    Parameters
    ----------
    data : array_like
        Initial values (copied into a new ndarray; float32 unless the input is
        already a floating ndarray).

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
        None until a backward pass accumulates into it.
    """

    def __init__(self, data):
        arr = np.asarray(data)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32)
        self.data = np.array(arr, copy=True)
        self.grad = None

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def accumulate_grad(self, g):
        """Add ``g`` into ``.grad`` (creating it on first use), like torch."""
        g = np.asarray(g)
        if g.shape != self.data.shape:
            raise ValueError(f"gradient shape {g.shape} does not match "
                             f"parameter shape {self.data.shape}")
        if self.grad is None:
            self.grad = g.astype(self.data.dtype, copy=True)
        else:
            self.grad += g

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of all layers (like torch.nn.Module).

    Assigning a :class:`Parameter` or a :class:`Module` to an attribute
    registers it, so ``parameters()``, ``state_dict()``, ``train()`` and the
    repr find it in registration order.  Subclasses implement ``forward(x)``
    and ``backward(dout)``.

    Attributes
    ----------
    training : bool
        True after ``train()`` (the default), False after ``eval()``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration ---------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call Module.__init__() before assigning attributes")
        params, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            self.__dict__.pop(name, None)
            modules[name] = value
        elif value is None and (name in params or name in modules):
            (params if name in params else modules)[name] = None
        else:
            params.pop(name, None)
            modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for e.g. ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise ValueError(f"cannot register {type(param).__name__} as parameter {name!r}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name, module):
        """Register a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise ValueError(f"{type(module).__name__} is not a Module")
        self._modules[str(name)] = module

    # --- traversal --------------------------------------------------------
    def named_parameters(self, prefix="", recurse=True):
        """Yield ``(name, Parameter)`` pairs with torch-style dotted names ("0.weight")."""
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse=True):
        """Yield every Parameter, in registration order, recursively (like torch)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix="", memo=None):
        """Yield ``(name, module)`` for this module (name ``prefix``) and all descendants."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    # --- training helpers ---------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset all parameter gradients.

        Like torch's default (``set_to_none=True``), grads become None and the
        next backward creates fresh arrays; ``set_to_none=False`` fills the
        existing arrays with zeros instead.
        """
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def train(self, mode=True):
        """Set ``training`` on this module and all descendants; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Shorthand for ``train(False)`` (Dropout then passes inputs through)."""
        return self.train(False)

    def num_parameters(self):
        """Total number of scalar parameters."""
        return sum(p.size for p in self.parameters())

    # --- state ----------------------------------------------------------------
    def state_dict(self):
        """OrderedDict ``name -> ndarray copy`` with torch's keys ("0.weight", "0.bias", ...).

        Load it into the twin torch model with
        ``tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.
        """
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or torch tensors) into the parameters, in place.

        Parameters
        ----------
        state_dict : mapping name -> ndarray or torch.Tensor
            e.g. ``torch_model.state_dict()`` of the twin torch model.
        strict : bool
            If True, missing or unexpected keys raise ValueError.

        Values are cast to each parameter's dtype; a shape mismatch raises.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        for name, value in state_dict.items():
            if name not in own:
                continue
            if hasattr(value, "detach"):  # a torch tensor
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            p = own[name]
            if value.shape != p.data.shape:
                raise ValueError(f"load_state_dict: {name!r} has shape {value.shape}, "
                                 f"the parameter has shape {p.data.shape}")
            p.data[...] = value

    # --- computation -----------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _get_cache(self):
        cache = self.__dict__.get("_cache")
        if cache is None:
            raise ValueError(f"{type(self).__name__}: call forward before backward")
        return cache

    # --- repr ------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """Chain modules: ``forward`` runs them in order, ``backward`` in reverse.

    Parameters
    ----------
    *modules : Module
        Registered under the names "0", "1", ... (so state_dict keys match
        torch.nn.Sequential's).

    Supports ``len``, iteration, ``model[i]`` and ``model[a:b]`` (a new
    Sequential sharing the same layers).
    """

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise ValueError(f"Sequential argument {i} is a {type(m).__name__}, not a Module")
            self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*mods[idx])
        return mods[idx]

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, dout):
        for m in reversed(list(self._modules.values())):
            dout = m.backward(dout)
        return dout
