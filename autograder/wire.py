"""Messages between the judge and the sandboxed notebook: data only, never pickle.

A message is JSON plus raw array bytes. The judge decodes what the sandbox
sends *strictly*: numbers, strings, containers, numpy arrays and torch tensors
of plain dtypes, exceptions (by builtin type), cnnlib engine objects (only
cnnlib classes, filled with such data) and torch models (only whitelisted
layers, see :mod:`autograder.modspec`). Anything else becomes an
:class:`Opaque` placeholder that fails every comparison.

Objects the judge passes that are not data (a lambda, a check's helper
object) travel *by reference*: the sandbox gets a :class:`Remote` stand-in,
and using it asks the judge to run the call (see :mod:`autograder.agent`).

Arguments are sent by value; after a call the sandbox sends back the final
state of every mutable argument ("post"), which the judge writes into its
own objects, so a check sees in-place changes (a trained model, a modified
input) exactly as if the function had run locally.
"""
import builtins
import hashlib
import importlib
import json
import math
import socket
import struct

import numpy as np

MAGIC = b"CNW1"
MAX_MESSAGE = 1 << 29  # bytes; a larger message is refused
MAX_DEPTH = 64
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
           "float32", "float64", "complex64", "complex128"}
_CNN_PREFIXES = ("cnnlib.nn.", "cnnlib.optim.")
REMOTE_DUNDERS = {"__call__", "__len__", "__iter__", "__next__", "__getitem__", "__contains__"}


class WireError(Exception):
    """A malformed or refused message."""


class Opaque:
    """Stands for a value that could not be sent (e.g. a generator); fails comparisons."""

    def __init__(self, type_name, text=""):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<a {self.type_name} that the grader cannot inspect>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"got {self!r}; return numbers or arrays")

    __eq__ = lambda self, other: False  # noqa: E731
    __hash__ = object.__hash__


# ---------------------------------------------------------------- framing
def send(sock, tree, buffers=()):
    header = json.dumps({"m": tree, "b": [len(b) for b in buffers]}, allow_nan=False).encode()
    body = b"".join(bytes(b) for b in buffers)
    if len(header) + len(body) > MAX_MESSAGE:
        raise WireError(f"message of {len(header) + len(body)} bytes is larger than {MAX_MESSAGE}")
    sock.sendall(MAGIC + struct.pack("<QQ", len(header), len(body)) + header + body)


def _read(sock, n, deadline):
    import time

    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            sock.settimeout(min(left, 3600))
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            raise TimeoutError("no answer in time") from None
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock, deadline=None):
    """Read one message; return ``(tree, buffers)``. ``deadline`` is a ``time.monotonic()`` value."""
    head = _read(sock, 20, deadline)
    if head[:4] != MAGIC:
        raise WireError("not a grader message")
    n_header, n_body = struct.unpack("<QQ", head[4:])
    if n_header + n_body > MAX_MESSAGE:
        raise WireError(f"message of {n_header + n_body} bytes is larger than {MAX_MESSAGE}")
    try:
        header = json.loads(_read(sock, n_header, deadline))
        sizes = [int(s) for s in header["b"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise WireError(f"malformed message header: {exc}") from None
    if sum(sizes) != n_body or any(s < 0 for s in sizes):
        raise WireError("message buffers do not add up")
    body = _read(sock, n_body, deadline)
    buffers, offset = [], 0
    for s in sizes:
        buffers.append(body[offset:offset + s])
        offset += s
    return header["m"], buffers


def digest(obj):
    """A fingerprint of an array's or tensor's content (to send back only what changed)."""
    h = hashlib.blake2b(digest_size=16)
    if _is_tensor(obj):
        import torch

        h.update(repr((tuple(obj.shape), str(obj.dtype), obj.requires_grad)).encode())
        with torch.no_grad():
            h.update(obj.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
                     if obj.numel() else b"")
        if obj.grad is not None:
            h.update(digest(obj.grad).encode())
    else:
        a = np.ascontiguousarray(obj)
        h.update(repr((a.shape, str(a.dtype))).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _is_tensor(obj):
    torch = _torch()
    return torch is not None and isinstance(obj, torch.Tensor)


def _torch():
    import sys

    return sys.modules.get("torch")


# ---------------------------------------------------------------- encoding
class Encoder:
    """Turns values into a JSON tree plus buffers, keeping object identity within one message set.

    Parameters
    ----------
    prefix : str
        Prefix of the ids this side assigns ("j" judge, "s" sandbox).
    known : dict, optional
        ``id(obj) -> wire id`` of objects the other side already has (encoded as references).
    remotes : dict or None
        Where to register objects sent by reference; ``None`` means "never by reference"
        (the sandbox side: such values become opaque).
    """

    def __init__(self, prefix, known=None, remotes=None):
        self.prefix, self.buffers, self.remotes = prefix, [], remotes
        self.wire_of = dict(known or {})
        self._keep, self._count = [], 0

    def _new_id(self, obj):
        self._count += 1
        wid = f"{self.prefix}{self._count}"
        self.wire_of[id(obj)] = wid
        self._keep.append(obj)
        return wid

    def _buffer(self, data):
        self.buffers.append(data)
        return len(self.buffers) - 1

    def encode(self, value, full=False, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
        if not full and id(value) in self.wire_of:
            return {"t": "ref", "id": self.wire_of[id(value)]}
        enc = lambda v: self.encode(v, depth=depth + 1)  # noqa: E731
        torch = _torch()
        if isinstance(value, np.ndarray):
            if value.dtype.name not in _DTYPES:
                return self._fallback(value)
            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            data = np.ascontiguousarray(value).tobytes()
            return {"t": "nd", "id": wid, "d": value.dtype.name, "s": list(value.shape), "b": self._buffer(data)}
        if isinstance(value, np.generic):
            if value.dtype.name not in _DTYPES:
                return self._fallback(value)
            return {"t": "ns", "d": value.dtype.name, "b": self._buffer(np.asarray(value).tobytes())}
        if isinstance(value, tuple):
            return {"t": "tuple", "v": [enc(v) for v in value]}
        if isinstance(value, (list, dict)):
            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            if isinstance(value, list):
                return {"t": "list", "id": wid, "v": [enc(v) for v in value]}
            return {"t": "dict", "id": wid, "k": [enc(k) for k in value], "v": [enc(v) for v in value.values()]}
        if isinstance(value, BaseException):
            bases = [c.__name__ for c in type(value).__mro__ if getattr(builtins, c.__name__, None) is c]
            return {"t": "exc", "cls": type(value).__name__, "bases": bases, "msg": str(value)[:2000]}
        if isinstance(value, slice):
            return {"t": "slice", "v": [enc(value.start), enc(value.stop), enc(value.step)]}
        if isinstance(value, range):
            return {"t": "range", "v": [value.start, value.stop, value.step]}
        if value is Ellipsis:
            return {"t": "ellipsis"}
        if isinstance(value, np.dtype):
            return {"t": "ndtype", "v": value.name}
        if isinstance(value, np.random.Generator):
            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            return {"t": "rng", "id": wid, "bg": type(value.bit_generator).__name__,
                    "state": enc(value.bit_generator.state)}
        if torch is not None:
            node = self._encode_torch(torch, value, full, depth)
            if node is not None:
                return node
        if type(value).__module__.startswith(_CNN_PREFIXES):
            return self._encode_cnn(value, full, depth)
        return self._fallback(value)

    def _encode_torch(self, torch, value, full, depth):
        enc = lambda v: self.encode(v, depth=depth + 1)  # noqa: E731
        if isinstance(value, torch.Tensor):
            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            t = value.detach()
            dtype = str(t.dtype).replace("torch.", "")
            if dtype == "bfloat16":
                t = t.float()
            elif dtype not in _DTYPES:
                return self._fallback(value)
            data = t.contiguous().numpy().tobytes() if t.numel() else b""
            return {"t": "tensor", "id": wid, "d": dtype, "s": list(value.shape), "b": self._buffer(data),
                    "param": isinstance(value, torch.nn.Parameter), "rg": bool(value.requires_grad),
                    "grad": enc(value.grad) if value.grad is not None else None}
        if isinstance(value, torch.nn.Module):
            from .modspec import capture

            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            state = {p: enc(t) for p, t in value.named_parameters()}
            state.update({p: enc(t) for p, t in value.named_buffers()})
            return {"t": "module", "id": wid, "spec": capture(value), "state": state,
                    "train": {p: m.training for p, m in value.named_modules()}}
        if isinstance(value, torch.optim.Optimizer):
            wid = self.wire_of.get(id(value)) if full else self._new_id(value)
            groups = [{"params": [enc(p) for p in g["params"]],
                       "hyper": enc({k: v for k, v in g.items() if k != "params"})} for g in value.param_groups]
            state = [[enc(p), enc(s)] for p, s in value.state.items()]
            return {"t": "optim", "id": wid, "cls": type(value).__name__, "groups": groups, "state": state}
        if isinstance(value, torch.dtype):
            return {"t": "tdtype", "v": str(value).replace("torch.", "")}
        if isinstance(value, torch.device):
            return {"t": "device", "v": str(value)}
        return None

    def _encode_cnn(self, value, full, depth):
        from cnnlib.optim import Optimizer

        wid = self.wire_of.get(id(value)) if full else self._new_id(value)
        attrs = dict(vars(value))
        if isinstance(value, Optimizer):  # its state is keyed by id(param): send (param, state) pairs
            params = [p for g in value.param_groups for p in g["params"]]
            attrs["state"] = [(p, value.state[id(p)]) for p in params if id(p) in value.state]
        cls = type(value)
        return {"t": "cnn", "id": wid, "cls": f"{cls.__module__}:{cls.__qualname__}",
                "d": {k: self.encode(v, depth=depth + 1) for k, v in attrs.items()}}

    def _fallback(self, value):
        if self.remotes is not None:
            wid = self._new_id(value)
            self.remotes[wid] = value
            return {"t": "remote", "id": wid, "kind": "callable" if callable(value) else "object",
                    "type": type(value).__name__}
        return {"t": "opaque", "type": type(value).__name__}


# ---------------------------------------------------------------- decoding
class Decoder:
    """Turns a tree back into values.

    Parameters
    ----------
    objects : dict
        ``wire id -> object`` for references (this side's own objects, and those decoded so far).
    strict : bool
        The judge's mode: models only from whitelisted layers, engine objects only from cnnlib,
        references only to the judge's own objects.
    make_remote : callable, optional
        Sandbox side: ``make_remote(wire_id, kind, type_name)`` builds a stand-in for a judge object.
    """

    def __init__(self, buffers, objects=None, strict=True, make_remote=None):
        self.buffers, self.objects, self.strict, self.make_remote = buffers, objects if objects is not None \
            else {}, strict, make_remote

    def _register(self, node, obj):
        if node.get("id") is not None:
            self.objects[node["id"]] = obj
        return obj

    def _array(self, node):
        dtype = str(node.get("d"))
        if dtype not in _DTYPES:
            raise WireError(f"dtype {dtype!r} is not accepted")
        shape = tuple(int(s) for s in node["s"])
        if any(s < 0 for s in shape):
            raise WireError("negative array size")
        data = self.buffers[int(node["b"])]
        count = math.prod(shape)
        if count * np.dtype(dtype).itemsize != len(data):
            raise WireError("array bytes do not match its shape")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def decode(self, node, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise WireError("malformed value")
        dec = lambda v: self.decode(v, depth + 1)  # noqa: E731
        t = node["t"]
        if t == "ref":
            if node["id"] not in self.objects:
                raise WireError("reference to an unknown object")
            return self.objects[node["id"]]
        if t == "float":
            return float(node["v"]) if node["v"] in ("nan", "inf", "-inf") else _bad("float")
        if t == "nd":
            return self._register(node, self._array(node))
        if t == "ns":
            return self._array({**node, "s": []})[()]
        if t == "tuple":
            return tuple(dec(v) for v in node["v"])
        if t == "list":
            out = self._register(node, [])
            out.extend(dec(v) for v in node["v"])
            return out
        if t == "dict":
            out = self._register(node, {})
            for k, v in zip(node["k"], node["v"]):
                key = dec(k)
                try:
                    hash(key)
                except TypeError:
                    raise WireError("unhashable dict key") from None
                out[key] = dec(v)
            return out
        if t == "exc":
            return _exception(node)
        if t == "slice":
            return slice(*(dec(v) for v in node["v"]))
        if t == "range":
            return range(*(int(v) for v in node["v"]))
        if t == "ellipsis":
            return Ellipsis
        if t == "ndtype":
            name = str(node["v"])
            return np.dtype(name) if name in _DTYPES else _bad("dtype")
        if t == "rng":
            bit_gen = getattr(np.random, str(node["bg"]), None)
            if bit_gen not in (np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64):
                raise WireError("unknown random generator")
            gen = np.random.Generator(bit_gen())
            gen.bit_generator.state = dec(node["state"])
            return self._register(node, gen)
        if t in ("tensor", "module", "optim", "tdtype", "device"):
            return self._decode_torch(node, depth)
        if t == "cnn":
            return self._decode_cnn(node, depth)
        if t == "remote":
            if self.make_remote is None:
                if node["id"] in self.objects:
                    return self.objects[node["id"]]
                raise WireError("the sandbox cannot send objects by reference")
            return self._register(node, self.make_remote(node["id"], node.get("kind"), node.get("type")))
        if t == "opaque":
            return Opaque(str(node.get("type"))[:80])
        raise WireError(f"unknown value kind {t!r}")

    def _decode_torch(self, node, depth):
        import torch

        t = node["t"]
        if t == "tdtype":
            dtype = getattr(torch, str(node["v"]), None)
            return dtype if isinstance(dtype, torch.dtype) else _bad("dtype")
        if t == "device":
            return torch.device("cpu")
        if t == "tensor":
            dtype = node["d"]
            array = self._array({**node, "d": "float32" if dtype == "bfloat16" else dtype})
            tensor = torch.from_numpy(array)
            if dtype == "bfloat16":
                tensor = tensor.to(torch.bfloat16)
            if node.get("param"):
                tensor = torch.nn.Parameter(tensor, requires_grad=bool(node.get("rg")))
            elif node.get("rg") and tensor.is_floating_point():
                tensor.requires_grad_(True)
            self._register(node, tensor)
            if node.get("grad") is not None:
                tensor.grad = self.decode(node["grad"], depth + 1)
            return tensor
        if t == "module":
            from .modspec import rebuild

            model = self._register(node, rebuild(node["spec"]))
            load_module_state(model, {p: self.decode(v, depth + 1) for p, v in node["state"].items()},
                              node.get("train", {}))
            return model
        return self._decode_optim(torch, node, depth)

    def _decode_optim(self, torch, node, depth):
        classes = {c.__name__: c for c in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW,
                                           torch.optim.RMSprop, torch.optim.Adagrad)}
        cls = classes.get(node["cls"])
        if cls is None:
            raise WireError(f"optimizer {node['cls']!r} is not supported")
        groups = [{"params": [self.decode(p, depth + 1) for p in g["params"]], **self.decode(g["hyper"], depth + 1)}
                  for g in node["groups"]]
        opt = self._register(node, cls(groups))
        for p, s in node["state"]:
            opt.state[self.decode(p, depth + 1)] = self.decode(s, depth + 1)
        return opt

    def _decode_cnn(self, node, depth):
        module, _, qualname = str(node["cls"]).partition(":")
        if not module.startswith(_CNN_PREFIXES) or "." in qualname:
            raise WireError(f"class {node['cls']!r} is not a cnnlib engine class")
        cls = getattr(importlib.import_module(module), qualname, None)
        if not isinstance(cls, type) or not cls.__module__.startswith(_CNN_PREFIXES):
            raise WireError(f"class {node['cls']!r} is not a cnnlib engine class")
        obj = self._register(node, cls.__new__(cls))
        attrs = {str(k): self.decode(v, depth + 1) for k, v in node["d"].items()}
        if "state" in attrs and isinstance(attrs["state"], list):  # an optimizer's (param, state) pairs
            attrs["state"] = {id(p): s for p, s in attrs["state"]}
        vars(obj).update(attrs)
        return obj


    def apply_post(self, node, target):
        """Write the sandbox's final state of an argument (``node``) into the judge's ``target``."""
        t = node.get("t") if isinstance(node, dict) else None
        fresh = {**node, "id": None} if t else node
        if t == "nd" and isinstance(target, np.ndarray):
            value = self._array(node)
            if value.shape == target.shape and target.flags.writeable:
                target[...] = value.astype(target.dtype, copy=False)
        elif t == "tensor" and _is_tensor(target):
            import torch

            value = self.decode(fresh)
            with torch.no_grad():
                target.data = value.detach().to(target.dtype) if value.dtype != target.dtype else value.detach()
            if target.is_leaf and target.is_floating_point():
                target.requires_grad_(bool(node.get("rg")))
            target.grad = value.grad
        elif t == "list" and isinstance(target, list):
            target[:] = self.decode(fresh)
        elif t == "dict" and isinstance(target, dict):
            value = self.decode(fresh)
            target.clear()
            target.update(value)
        elif t == "module":
            from .modspec import apply_structure

            apply_structure(target, node["spec"])
            load_module_state(target, {p: self.decode(v) for p, v in node["state"].items()}, node.get("train", {}))
        elif t == "optim":
            target.state.clear()
            for p, s in node["state"]:
                target.state[self.decode(p)] = self.decode(s)
            for group, g in zip(target.param_groups, node["groups"]):
                group.update(self.decode(g["hyper"]))
        elif t == "cnn":
            attrs = {str(k): self.decode(v) for k, v in node["d"].items()}
            if "state" in attrs and isinstance(attrs["state"], list):
                attrs["state"] = {id(p): s for p, s in attrs["state"]}
            vars(target).clear()
            vars(target).update(attrs)
        elif t == "rng" and isinstance(target, np.random.Generator):
            target.bit_generator.state = self.decode(node["state"])


def _bad(what):
    raise WireError(f"malformed {what}")


def _exception(node):
    base = next((getattr(builtins, n) for n in node.get("bases", [])
                 if isinstance(getattr(builtins, n, None), type) and issubclass(getattr(builtins, n), BaseException)),
                Exception)
    if base in (KeyboardInterrupt, SystemExit, GeneratorExit):
        base = RuntimeError
    name = str(node.get("cls", base.__name__))[:80]
    cls = base if name == base.__name__ else type(name, (base,), {})
    return cls(str(node.get("msg", ""))[:2000])


def load_module_state(model, state, training):
    """Put decoded tensors and train/eval flags into a torch model, keeping tensor identity."""
    import torch

    for path, value in state.items():
        owner_path, _, name = path.rpartition(".")
        owner = model.get_submodule(owner_path) if owner_path else model
        if name in owner._parameters:
            if not isinstance(value, torch.nn.Parameter):
                value = torch.nn.Parameter(value, requires_grad=value.requires_grad)
            owner._parameters[name] = value
        elif name in owner._buffers:
            owner._buffers[name] = value
        else:
            raise WireError(f"the model has no tensor {path!r}")
    modules = dict(model.named_modules())
    for path, flag in training.items():
        if path in modules:
            modules[path].training = bool(flag)
    return model
