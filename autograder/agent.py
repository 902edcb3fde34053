"""Runs inside the sandboxed kernel, where each grade cell used to be: serves the judge.

The grader replaces every grade cell of a submission by ``serve(grade_id,
address)``. When the notebook reaches it, the agent connects to the judge
(outside the sandbox), announces the cell, and then runs whatever the judge
asks for: "call the learner's ``conv2d`` with these arrays", "what is
``Net``?". It answers with data only (:mod:`autograder.wire`). The check
code itself never enters the sandbox, so nothing here can see it, and
nothing here decides a score: a submission that tampers with this module
only breaks its own answers.
"""
import socket

from cnnlib._quiet import quiet

from . import wire

__all__ = ["serve", "Remote"]


class Remote:
    """Stand-in for an object of the judge's (a lambda, a check's helper): using it asks the judge."""

    def __init__(self, link, wid, kind, type_name):
        object.__setattr__(self, "_link", (link, wid, kind, type_name))

    def _ask(self, what, name=None, args=(), kwargs=None):
        link, wid, _, _ = self._link
        return link.ask_remote(wid, what, name, args, kwargs or {})

    def __call__(self, *args, **kwargs):
        return self._ask("call", None, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __len__(self):
        return self._ask("dunder", "__len__")

    def __iter__(self):
        return self._ask("dunder", "__iter__")

    def __next__(self):
        return self._ask("dunder", "__next__")

    def __getitem__(self, key):
        return self._ask("dunder", "__getitem__", (key,))

    def __contains__(self, item):
        return self._ask("dunder", "__contains__", (item,))

    def __repr__(self):
        return f"<{self._link[3]} of the grader>"


class _Link:
    """One connection to the judge, and the learner's namespace it works on."""

    def __init__(self, sock, namespace):
        self.sock, self.ns = sock, namespace

    def make_remote(self, wid, kind, type_name):
        return Remote(self, wid, kind, type_name)

    def ask_remote(self, wid, what, name, args, kwargs):
        enc = wire.Encoder("s")
        wire.send(self.sock, {"op": "remote", "id": wid, "what": what, "name": name,
                              "args": enc.encode(list(args)), "kwargs": enc.encode(kwargs)}, enc.buffers)
        msg, bufs = self.serve_until("remote_result")
        value = wire.Decoder(bufs, strict=False, make_remote=self.make_remote).decode(msg["value"])
        if not msg["ok"]:
            raise value
        return value

    def serve_until(self, wanted):
        """Answer the judge's requests until a message of kind ``wanted`` arrives; return it."""
        while True:
            msg, bufs = wire.recv(self.sock)
            op = msg.get("op")
            if op == wanted:
                return msg, bufs
            if op == "call":
                self.call(msg, bufs)
            elif op == "lookup":
                self.lookup(msg)
            else:
                raise wire.WireError(f"unexpected request {op!r}")

    def lookup(self, msg):
        enc, found = wire.Encoder("s"), {}
        for name in msg["names"]:
            if name not in self.ns:
                found[name] = {"kind": "missing"}
            elif callable(self.ns[name]):
                found[name] = {"kind": "callable"}
            else:
                found[name] = {"kind": "value", "value": _safe_encode(enc, self.ns[name])}
        wire.send(self.sock, {"op": "lookup_result", "names": found}, enc.buffers)

    def call(self, msg, bufs):
        objects, before = {}, {}
        result, ok = None, False
        try:
            dec = wire.Decoder(bufs, objects=objects, strict=False, make_remote=self.make_remote)
            args, kwargs = dec.decode(msg["args"]), dec.decode(msg["kwargs"])
            before = {wid: wire.digest(o) for wid, o in objects.items() if _has_content(o)}
            name = msg["name"]
            if name not in self.ns:
                raise NameError(f"name {name!r} is not defined: run the cell that defines it (and keep its name)")
            with quiet():
                result = self.ns[name](*args, **kwargs)
            ok = True
        except KeyboardInterrupt:
            result = TimeoutError("interrupted: it ran longer than the time limit")
        except BaseException as exc:  # noqa: BLE001 - whatever the learner's code raised is the answer
            result = exc
        enc = wire.Encoder("s", known={id(o): wid for wid, o in objects.items()})
        post = {}
        for wid, obj in objects.items():
            if isinstance(obj, Remote) or (wid in before and wire.digest(obj) == before[wid]):
                continue
            try:
                post[wid] = enc.encode(obj, full=True)
            except Exception:  # noqa: BLE001 - an argument turned into something unsendable: leave it
                pass
        value = _safe_encode(enc, result)
        wire.send(self.sock, {"op": "result", "ok": ok, "value": value, "post": post}, enc.buffers)


def _has_content(obj):
    import numpy as np

    return isinstance(obj, np.ndarray) or wire._is_tensor(obj)


def _safe_encode(enc, value):
    try:
        return enc.encode(value)
    except Exception as exc:  # noqa: BLE001 - e.g. a model the grader cannot describe
        return enc.encode(ValueError(f"the grader could not read this result: {exc}"))


def serve(grade_id, address):
    """Announce ``grade_id`` to the judge at ``address`` and serve it until it is done."""
    from IPython import get_ipython

    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else {}
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.connect(address)
        link = _Link(sock, namespace)
        wire.send(sock, {"op": "ready", "grade_id": grade_id})
        link.serve_until("done")
    print(f"[{grade_id}: checked by the grader]")
