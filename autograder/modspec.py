"""A torch model as data: its layers, its traced forward, rebuilt from a whitelist.

The judge must evaluate a learner's ``Net`` without running the learner's
Python code. Inside the sandbox, :func:`capture` records the model as data:
every layer (only standard ``torch.nn`` layers, with their constructor
arguments), and its ``forward`` traced by ``torch.fx`` once in training and
once in eval mode, as a list of operations. :func:`rebuild` makes an
equivalent :class:`Rebuilt` module from that data, constructing only
whitelisted layers and running only whitelisted functions in a small
interpreter (no code generation, no ``exec``). A forward with Python control
flow on tensor values cannot be traced: the rebuilt model then raises, with
the tracer's reason, whenever it is called.
"""
import math
import operator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["capture", "rebuild", "apply_structure", "Rebuilt", "SpecError", "MAX_PARAMETERS"]

MAX_PARAMETERS = 50_000_000  # elements, per rebuilt model: a spec cannot make the judge allocate more
MAX_NODES = 5_000


class SpecError(ValueError):
    """A model description the grader cannot (or will not) rebuild."""


def _probe_types():
    from cnnlib.probes import ModeProbe

    return {"ModeProbe": (ModeProbe, [])}


_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode"]
_BN = ["num_features", "eps", "momentum", "affine", "track_running_stats"]
LEAVES = {
    "Conv1d": (nn.Conv1d, _CONV), "Conv2d": (nn.Conv2d, _CONV),
    "ConvTranspose2d": (nn.ConvTranspose2d, ["in_channels", "out_channels", "kernel_size", "stride", "padding",
                                             "output_padding", "groups", "bias", "dilation"]),
    "Linear": (nn.Linear, ["in_features", "out_features", "bias"]),
    "BatchNorm1d": (nn.BatchNorm1d, _BN), "BatchNorm2d": (nn.BatchNorm2d, _BN),
    "LayerNorm": (nn.LayerNorm, ["normalized_shape", "eps", "elementwise_affine"]),
    "GroupNorm": (nn.GroupNorm, ["num_groups", "num_channels", "eps", "affine"]),
    "Dropout": (nn.Dropout, ["p"]), "Dropout1d": (nn.Dropout1d, ["p"]), "Dropout2d": (nn.Dropout2d, ["p"]),
    "ReLU": (nn.ReLU, []), "ReLU6": (nn.ReLU6, []), "LeakyReLU": (nn.LeakyReLU, ["negative_slope"]),
    "ELU": (nn.ELU, ["alpha"]), "GELU": (nn.GELU, ["approximate"]), "SiLU": (nn.SiLU, []),
    "Sigmoid": (nn.Sigmoid, []), "Tanh": (nn.Tanh, []), "Softplus": (nn.Softplus, ["beta", "threshold"]),
    "Hardswish": (nn.Hardswish, []), "Mish": (nn.Mish, []), "PReLU": (nn.PReLU, ["num_parameters"]),
    "Softmax": (nn.Softmax, ["dim"]), "LogSoftmax": (nn.LogSoftmax, ["dim"]),
    "MaxPool1d": (nn.MaxPool1d, ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]),
    "MaxPool2d": (nn.MaxPool2d, ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]),
    "AvgPool1d": (nn.AvgPool1d, ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]),
    "AvgPool2d": (nn.AvgPool2d, ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                 "divisor_override"]),
    "AdaptiveAvgPool1d": (nn.AdaptiveAvgPool1d, ["output_size"]),
    "AdaptiveAvgPool2d": (nn.AdaptiveAvgPool2d, ["output_size"]),
    "AdaptiveMaxPool2d": (nn.AdaptiveMaxPool2d, ["output_size"]),
    "Flatten": (nn.Flatten, ["start_dim", "end_dim"]), "Unflatten": (nn.Unflatten, ["dim", "unflattened_size"]),
    "Identity": (nn.Identity, []), "ZeroPad2d": (nn.ZeroPad2d, ["padding"]),
}
_STR_VALUES = {"padding_mode": {"zeros", "reflect", "replicate", "circular"}, "padding": {"same", "valid"},
               "approximate": {"none", "tanh"}}

FUNCTIONS = {f"F.{n}": getattr(F, n) for n in [
    "relu", "relu6", "leaky_relu", "gelu", "silu", "elu", "softplus", "hardswish", "mish", "dropout", "dropout1d",
    "dropout2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "conv1d", "conv2d", "linear", "batch_norm", "layer_norm", "group_norm", "softmax",
    "log_softmax", "pad", "sigmoid", "tanh"]}
FUNCTIONS.update({f"torch.{n}": getattr(torch, n) for n in [
    "flatten", "relu", "sigmoid", "tanh", "cat", "stack", "add", "mul", "sub", "div", "matmul", "mean", "sum",
    "amax", "reshape", "transpose", "permute", "squeeze", "unsqueeze", "softmax", "log_softmax", "exp", "log",
    "abs", "clamp", "sqrt", "neg", "maximum", "minimum", "where", "zeros_like", "ones_like"]})
FUNCTIONS.update({f"operator.{n}": getattr(operator, n) for n in [
    "add", "sub", "mul", "truediv", "floordiv", "neg", "getitem", "matmul", "pow", "iadd", "imul"]})
FUNCTIONS["getattr"] = getattr
_NAME_OF = {id(fn): name for name, fn in FUNCTIONS.items()}
_GETATTR_OK = {"shape", "dtype", "device", "ndim", "T"}
METHODS = {"view", "reshape", "flatten", "size", "permute", "transpose", "contiguous", "squeeze", "unsqueeze",
           "mean", "sum", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "add", "mul", "sub", "div", "exp",
           "log", "abs", "clamp", "amax", "expand", "expand_as", "view_as", "unflatten", "chunk", "split", "float",
           "type_as", "dim", "numel", "pow", "sqrt", "neg", "matmul", "t", "repeat", "clone", "add_", "mul_",
           "relu_", "max", "argmax"}


def _leaf_types():
    return {**LEAVES, **_probe_types()}


def _leaf_name(module):
    for name, (cls, _) in _leaf_types().items():
        if type(module) is cls:
            return name
    return None


def _config(module, keys):
    cfg = {}
    for key in keys:
        value = getattr(module, key)
        if key == "bias" and not isinstance(value, bool):
            value = value is not None
        cfg[key] = value
    return cfg


class _Tracer(torch.fx.Tracer):
    """Leaves are the whitelisted layers (and any other torch.nn layer, which rebuild refuses by name)."""

    def is_leaf_module(self, m, qualname):
        return _leaf_name(m) is not None or super().is_leaf_module(m, qualname)


def _const(value, where):
    """A constant argument of a traced operation, as JSON."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, torch.fx.Node):
        return {"node": value.name}
    if isinstance(value, (tuple, torch.Size)):
        return {"tuple": [_const(v, where) for v in value]}
    if isinstance(value, list):
        return [_const(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): _const(v, where) for k, v in value.items()}}
    if isinstance(value, slice):
        return {"slice": [_const(v, where) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).replace("torch.", "")}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    raise SpecError(f"{where}: an argument of type {type(value).__name__} cannot be described")


def _trace(module, training):
    was = [(m, m.training) for m in module.modules()]
    module.train(training)
    try:
        graph = _Tracer().trace(module)
    finally:
        for m, flag in was:
            m.training = flag
    nodes = []
    for node in graph.nodes:
        target = node.target
        if node.op == "call_function":
            if id(target) not in _NAME_OF:
                raise SpecError(f"forward uses {getattr(target, '__name__', target)!r}, which the grader does not "
                                "support: use torch layers and torch/F functions")
            target = _NAME_OF[id(target)]
        elif not isinstance(target, str):
            raise SpecError(f"forward has an operation the grader cannot describe ({node.op})")
        nodes.append({"op": node.op, "name": node.name, "target": target,
                      "args": _const(tuple(node.args), node.name), "kwargs": _const(dict(node.kwargs), node.name)})
    return nodes


def capture(module):
    """Describe ``module`` as JSON-able data: layers, containers, direct tensors, traced forward graphs.

    Returns
    -------
    dict
        ``class``, ``leaves`` {path: {"type", "cfg"}}, ``containers`` [paths], ``tensors``
        {path: "param" | "buffer"} for tensors owned by non-leaf modules, ``graphs``
        {"train": nodes, "eval": nodes} or ``graph_error`` (why tracing failed).
    """
    if isinstance(module, Rebuilt):
        return dict(module.spec)
    leaves, containers, leaf_paths = {}, [], []
    for path, m in module.named_modules():
        if not path:
            continue
        if any(path.startswith(p + ".") for p in leaf_paths):
            continue  # inside a whitelisted layer (none have children, but be safe)
        name = _leaf_name(m)
        if name is not None:
            leaves[path] = {"type": name, "cfg": _const(_config(m, _leaf_types()[name][1]), path)}
            leaf_paths.append(path)
        elif isinstance(m, nn.Module) and m.__module__.startswith("torch.nn") and \
                not isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            leaves[path] = {"type": type(m).__name__, "cfg": {}}  # refused by name at rebuild
            leaf_paths.append(path)
        else:
            containers.append(path)
    tensors = {}
    for kind, items in (("param", module.named_parameters()), ("buffer", module.named_buffers())):
        for path, _ in items:
            owner = path.rpartition(".")[0]
            if owner not in leaves:
                tensors[path] = kind
    spec = {"class": type(module).__name__, "leaves": leaves, "containers": containers, "tensors": tensors}
    try:
        spec["graphs"] = {"train": _trace(module, True), "eval": _trace(module, False)}
    except Exception as exc:  # noqa: BLE001 - tracing a learner's forward can fail in many ways
        spec["graph_error"] = (f"{type(module).__name__}.forward could not be traced by torch.fx "
                               f"({type(exc).__name__}: {str(exc)[:300]}); use torch layers and functions, "
                               "without Python if/for on tensor values")
    return spec


def _load(value):
    if isinstance(value, list):
        return [_load(v) for v in value]
    if isinstance(value, dict):
        if len(value) != 1:
            raise SpecError("malformed constant")
        (key, inner), = value.items()
        if key == "tuple":
            return tuple(_load(v) for v in inner)
        if key == "float":
            return float(inner)
        if key == "slice":
            return slice(*(_load(v) for v in inner))
        if key == "ellipsis":
            return Ellipsis
        if key == "dtype":
            dtype = getattr(torch, str(inner), None)
            if not isinstance(dtype, torch.dtype):
                raise SpecError(f"unknown dtype {inner!r}")
            return dtype
        if key == "device":
            return torch.device(str(inner))
        if key == "dict":
            return {k: _load(v) for k, v in inner.items()}
        raise SpecError(f"unknown constant {key!r}")
    return value


def _check_cfg(where, cfg):
    for key, value in cfg.items():
        flat = value if isinstance(value, (tuple, list)) else (value,)
        for v in flat:
            if isinstance(v, str):
                if v not in _STR_VALUES.get(key, ()):
                    raise SpecError(f"{where}: {key}={v!r} is not supported")
            elif isinstance(v, bool) or v is None:
                continue
            elif isinstance(v, (int, float)):
                if not math.isfinite(v) or abs(v) > 1e7:
                    raise SpecError(f"{where}: {key}={v!r} is out of range")
            else:
                raise SpecError(f"{where}: {key} has an unsupported value")


def make_leaf(where, leaf):
    """Construct one whitelisted layer from ``{"type", "cfg"}`` (size-checked on the meta device first)."""
    types = _leaf_types()
    kind = leaf.get("type")
    if kind not in types:
        raise SpecError(f"layer {where!r} is a {kind}, which the grader does not support")
    cls, keys = types[kind]
    cfg = _load(leaf.get("cfg", {}))
    if not isinstance(cfg, dict) or set(cfg) - set(keys):
        raise SpecError(f"layer {where!r}: unexpected settings {sorted(set(cfg) - set(keys))}")
    _check_cfg(where, cfg)
    try:
        with torch.device("meta"):
            probe = cls(**cfg)
        if sum(t.numel() for t in probe.parameters()) > MAX_PARAMETERS:
            raise SpecError(f"layer {where!r} has more than {MAX_PARAMETERS:,} parameters")
        return cls(**cfg)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SpecError(f"layer {where!r} ({kind}) cannot be built: {exc}") from None


def _owner(root, path, create):
    parent = root
    for part in path.split(".")[:-1] if path else []:
        child = parent._modules.get(part)
        if child is None:
            if not create:
                raise SpecError(f"no module at {path!r}")
            child = nn.Module()
            parent.add_module(part, child)
        parent = child
    return parent, path.rpartition(".")[2]


class Rebuilt(nn.Module):
    """A model rebuilt from :func:`capture` data: whitelisted layers, interpreted forward graphs."""

    def __init__(self, spec):
        super().__init__()
        object.__setattr__(self, "spec", spec)

    def forward(self, *args, **kwargs):
        if "graph_error" in self.spec:
            raise RuntimeError(self.spec["graph_error"])
        return _run(self, self.spec["graphs"]["train" if self.training else "eval"], args, kwargs)

    def __repr__(self):
        return f"{self.spec.get('class', 'Model')} (rebuilt by the grader)\n" + super().__repr__()


def rebuild(spec):
    """Build a :class:`Rebuilt` module from :func:`capture` data; raise :class:`SpecError` if refused."""
    if not isinstance(spec, dict) or not isinstance(spec.get("leaves"), dict):
        raise SpecError("not a model description")
    graphs = spec.get("graphs") or {}
    if sum(len(g) for g in graphs.values()) > MAX_NODES:
        raise SpecError(f"the traced forward has more than {MAX_NODES} operations")
    for nodes in graphs.values():
        _validate(nodes)
    root = Rebuilt(spec)
    for path in spec.get("containers", []):
        parent, name = _owner(root, str(path), create=True)
        if name not in parent._modules:
            parent.add_module(name, nn.Module())
    total = 0
    for path, leaf in spec["leaves"].items():
        module = make_leaf(path, leaf)
        total += sum(p.numel() for p in module.parameters())
        if total > MAX_PARAMETERS:
            raise SpecError(f"the model has more than {MAX_PARAMETERS:,} parameters")
        parent, name = _owner(root, str(path), create=True)
        parent.add_module(name, module)
    for path, kind in spec.get("tensors", {}).items():
        parent, name = _owner(root, str(path), create=True)
        if kind == "param":
            parent.register_parameter(name, nn.Parameter(torch.empty(0)))
        else:
            parent.register_buffer(name, torch.empty(0))
    return root


_OPS = {"placeholder", "get_attr", "call_module", "call_function", "call_method", "output"}


def _validate(nodes):
    """Refuse a graph with an operation outside the whitelist before anything is built."""
    if not isinstance(nodes, list):
        raise SpecError("malformed forward graph")
    for node in nodes:
        if not isinstance(node, dict) or node.get("op") not in _OPS or not isinstance(node.get("target"), str):
            raise SpecError("malformed forward graph")
        if node["op"] == "call_function" and node["target"] not in FUNCTIONS:
            raise SpecError(f"the forward uses {node['target']!r}, which the grader does not support")
        if node["op"] == "call_method" and node["target"] not in METHODS:
            raise SpecError(f"the forward calls .{node['target']}(), which the grader does not support")


def apply_structure(model, spec):
    """Make ``model``'s layers match ``spec`` (replace changed layers, add new ones); return it.

    Used on the judge's own models after a learner's function changed them
    (e.g. replaced the classifier head): unchanged layers keep their identity.
    """
    current = {p: m for p, m in model.named_modules() if p}
    for path, leaf in spec["leaves"].items():
        module = current.get(path)
        name = _leaf_name(module) if module is not None else None
        if name == leaf.get("type") and _const(_config(module, _leaf_types()[name][1]), path) == leaf.get("cfg"):
            continue
        parent, attr = _owner(model, path, create=True)
        setattr(parent, attr, make_leaf(path, leaf))
    for path, kind in spec.get("tensors", {}).items():
        parent, name = _owner(model, path, create=True)
        if name not in parent._parameters and name not in parent._buffers:
            if kind == "param":
                parent.register_parameter(name, nn.Parameter(torch.empty(0)))
            else:
                parent.register_buffer(name, torch.empty(0))
    return model


def _fetch(root, target):
    obj = root
    for part in target.split("."):
        if part in obj._modules:
            obj = obj._modules[part]
        elif part in obj._parameters:
            obj = obj._parameters[part]
        elif part in obj._buffers:
            obj = obj._buffers[part]
        else:
            raise SpecError(f"the forward refers to {target!r}, which the model does not have")
    return obj


def _run(root, nodes, args, kwargs):
    env, inputs = {}, list(args)

    def load(value):
        if isinstance(value, dict) and set(value) == {"node"}:
            return env[value["node"]]
        if isinstance(value, list):
            return [load(v) for v in value]
        if isinstance(value, dict) and set(value) == {"tuple"}:
            return tuple(load(v) for v in value["tuple"])
        if isinstance(value, dict) and set(value) == {"dict"}:
            return {k: load(v) for k, v in value["dict"].items()}
        return _load(value)

    for node in nodes:
        op, name, target = node["op"], node["name"], node["target"]
        if op == "placeholder":
            if inputs:
                env[name] = inputs.pop(0)
            elif target in kwargs:
                env[name] = kwargs[target]
            else:
                defaults = load(node["args"])
                if not defaults:
                    raise TypeError(f"forward() missing argument {target!r}")
                env[name] = defaults[0]
            continue
        a, kw = load(node["args"]), load(node["kwargs"])
        if op == "get_attr":
            env[name] = _fetch(root, target)
        elif op == "call_module":
            module = _fetch(root, target)
            if not isinstance(module, nn.Module):
                raise SpecError(f"{target!r} is not a layer")
            env[name] = module(*a, **kw)
        elif op == "call_function":
            fn = FUNCTIONS.get(target)
            if fn is None or (fn is getattr and (len(a) != 2 or a[1] not in _GETATTR_OK)):
                raise SpecError(f"the forward uses {target!r}, which the grader does not support")
            env[name] = fn(*a, **kw)
        elif op == "call_method":
            if target not in METHODS or not a or not isinstance(a[0], torch.Tensor):
                raise SpecError(f"the forward calls .{target}(), which the grader does not support")
            env[name] = getattr(a[0], target)(*a[1:], **kw)
        elif op == "output":
            return a[0]
        else:
            raise SpecError(f"unknown operation {op!r}")
    raise SpecError("the traced forward has no output")
