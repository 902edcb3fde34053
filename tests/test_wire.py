"""The judge <-> sandbox protocol: values round-trip as data, and the judge refuses anything else.

The agent (sandbox side) and a judge Session talk over a socketpair in this
process, with a plain dict standing in for the learner's kernel namespace.
"""
import socket
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from autograder import wire
from autograder.agent import _Link
from autograder.judge import CellTimeout, Session
from autograder.modspec import SpecError, capture, rebuild


def roundtrip(value, strict=True):
    enc = wire.Encoder("j")
    tree = enc.encode(value)
    return wire.Decoder(enc.buffers, strict=strict).decode(tree)


@pytest.mark.parametrize("value", [None, True, 3, -2**70, 2.5, "é", (1, (2, "x")), [1, [2]], {"a": 1, 2: (3,)},
                                   slice(1, None, 2), Ellipsis, range(2, 9, 3)])
def test_plain_python_values_round_trip(value):
    assert roundtrip(value) == value


def test_non_finite_floats_numpy_and_torch_values_keep_dtype_shape_and_flags():
    assert np.isnan(roundtrip(float("nan"))) and roundtrip(float("-inf")) == float("-inf")
    for dtype in ("float32", "float64", "int64", "uint8", "bool", "complex64"):
        a = (np.arange(6) % 2).astype(dtype).reshape(2, 3)
        b = roundtrip(a)
        assert b.dtype == a.dtype and np.array_equal(a, b) and b.flags.writeable
    assert roundtrip(np.float32(1.5)).dtype == np.float32
    t = torch.arange(4.0, requires_grad=True)
    t.sum().backward()
    u = roundtrip(t)
    assert u.requires_grad and torch.equal(u.detach(), t.detach()) and torch.equal(u.grad, t.grad)
    assert roundtrip(torch.float16) is torch.float16 and roundtrip(np.dtype("int32")) == np.dtype("int32")
    gen = np.random.default_rng(5)
    assert roundtrip(gen).random() == np.random.default_rng(5).random()


def test_the_same_object_twice_is_decoded_as_one_object():
    a = np.zeros(3)
    x, y = roundtrip((a, a))
    assert x is y


def test_a_model_is_rebuilt_from_whitelisted_layers_and_computes_the_same_thing():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                          nn.MaxPool2d(2))
            self.head = nn.Linear(4 * 14 * 14, 10)
            self.scale = nn.Parameter(torch.tensor(2.0))

        def forward(self, x):
            x = torch.flatten(self.features(x), 1)
            return nn.functional.dropout(self.head(x), 0.5, self.training) * self.scale

    torch.manual_seed(0)
    net = Net()
    net.train()(torch.randn(8, 1, 28, 28))  # move the BatchNorm statistics
    copy = roundtrip(net)
    assert list(copy.state_dict()) == list(net.state_dict())
    x = torch.randn(3, 1, 28, 28)
    net.eval(), copy.eval()
    assert torch.allclose(copy(x), net(x))
    copy.train()
    torch.manual_seed(1)
    a = copy(x)
    torch.manual_seed(1)
    assert torch.allclose(a, net.train()(x))  # the training-mode graph keeps dropout
    a.sum().backward()
    assert copy.head.weight.grad is not None


def test_models_the_grader_cannot_rebuild_are_refused_with_the_reason():
    class Sine(nn.Module):
        def forward(self, x):
            return torch.sin(x)

    with pytest.raises(RuntimeError, match="'sin', which the grader does not support"):
        rebuild(capture(Sine()))(torch.ones(2))

    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    rebuilt = rebuild(capture(Branchy()))
    with pytest.raises(RuntimeError, match="could not be traced"):
        rebuilt(torch.ones(2))
    with pytest.raises(SpecError, match="Transformer"):
        rebuild(capture(nn.Sequential(nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
                                                     num_decoder_layers=1, dim_feedforward=8))))


def test_a_hostile_spec_cannot_make_the_judge_allocate_or_call_anything():
    huge = {"leaves": {"fc": {"type": "Linear", "cfg": {"dict": {"in_features": 100000, "out_features": 100000, "bias": True}}}},
            "containers": [], "tensors": {}, "graphs": {"train": [], "eval": []}}
    with pytest.raises(SpecError, match="more than"):
        rebuild(huge)
    evil = {"leaves": {}, "containers": [], "tensors": {}, "graphs": {g: [
        {"op": "placeholder", "name": "x", "target": "x", "args": {"tuple": []}, "kwargs": {"dict": {}}},
        {"op": "call_function", "name": "y", "target": "os.system", "args": {"tuple": ["true"]}, "kwargs": {"dict": {}}},
        {"op": "output", "name": "out", "target": "output", "args": {"tuple": [{"node": "y"}]}, "kwargs": {"dict": {}}},
    ] for g in ("train", "eval")}}
    with pytest.raises(SpecError, match="os.system"):
        rebuild(evil)
    for leaf in ({"type": "Conv2d", "cfg": {"dict": {"in_channels": 1, "out_channels": 1, "kernel_size": 3,
                                                      "padding_mode": "__import__('os')"}}},
                 {"type": "Linear", "cfg": {"dict": {"in_features": 2, "out_features": 2, "exec": "x"}}},
                 {"type": "Linear", "cfg": {"in_features": 2, "out_features": 2}},
                 {"type": "Pickle", "cfg": {"dict": {}}}):
        with pytest.raises(SpecError):
            rebuild({"leaves": {"m": leaf}, "containers": [], "tensors": {}, "graphs": {"train": [], "eval": []}})


@pytest.mark.parametrize("node, message", [
    ({"t": "cnn", "id": "s1", "cls": "os:system", "d": {}}, "not a cnnlib engine class"),
    ({"t": "cnn", "id": "s1", "cls": "cnnlib.nn.module:Module.__init__", "d": {}}, "not a cnnlib engine class"),
    ({"t": "remote", "id": "s9", "kind": "callable", "type": "function"}, "by reference"),
    ({"t": "nd", "id": "s1", "d": "object", "s": [1], "b": 0}, "not accepted"),
    ({"t": "nd", "id": "s1", "d": "float64", "s": [1000], "b": 0}, "do not match"),
    ({"t": "ref", "id": "j1"}, "unknown object"),
    ({"t": "pickle", "v": "cos\nsystem"}, "unknown value kind"),
    ({"t": "optim", "id": "s1", "cls": "LBFGS", "groups": [], "state": []}, "not supported"),
])
def test_the_judge_refuses_what_is_not_plain_data(node, message):
    with pytest.raises(wire.WireError, match=message):
        wire.Decoder([b"\0" * 8], strict=True).decode(node)


def test_exceptions_come_back_as_their_builtin_base_and_never_as_a_way_out():
    class Mine(ValueError):
        pass

    exc = roundtrip(Mine("bad shape"))
    assert isinstance(exc, ValueError) and type(exc).__name__ == "Mine" and str(exc) == "bad shape"
    for stop in (SystemExit(3), KeyboardInterrupt()):  # a learner's exit cannot stop the judge
        assert isinstance(roundtrip(stop), RuntimeError) and not isinstance(roundtrip(stop), (SystemExit, KeyboardInterrupt))


def test_framing_refuses_garbage_and_times_out():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET / HTTP/1.1\r\n\r\n" + b"\0" * 8)
        with pytest.raises(wire.WireError, match="not a grader message"):
            wire.recv(b, time.monotonic() + 5)
        with pytest.raises(TimeoutError):
            wire.recv(b, time.monotonic() + 0.2)


def _serve(namespace):
    """A judge Session talking to an agent (in a thread) that serves ``namespace``."""
    judge_end, agent_end = socket.socketpair()
    link = _Link(agent_end, namespace)
    thread = threading.Thread(target=lambda: link.serve_until("done"), daemon=True)
    thread.start()
    session = Session(judge_end, time.monotonic() + 60, interrupt=lambda: None)
    return session, thread, judge_end, agent_end


def test_a_call_brings_back_results_in_place_changes_and_exceptions():
    def scale_(x, k):
        x *= k                                     # modifies its argument in place
        return x.sum()

    def train(model, opt, data):
        model.train()
        for xb, yb in data:
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            opt.step()
        return {"done": True}

    def boom(x):
        raise ValueError(f"bad input of shape {x.shape}")

    session, thread, a, b = _serve({"scale_": scale_, "train": train, "boom": boom, "answer": 42})
    try:
        x = np.ones(3)
        assert session.call("scale_", (x, 2.0), {}) == 6.0 and np.array_equal(x, [2.0, 2.0, 2.0])
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        before = model[0].weight.detach().clone()
        model.eval()
        data = [(torch.randn(4, 2), torch.randn(4, 1))]
        assert session.call("train", (model, opt, data), {}) == {"done": True}
        assert model.training and not torch.equal(model[0].weight, before)
        assert model[0].weight is opt.param_groups[0]["params"][0]  # the judge's optimizer still holds its params
        assert opt.state[model[0].weight]["momentum_buffer"].shape == (1, 2)
        with pytest.raises(ValueError, match=r"bad input of shape \(2,\)"):
            session.call("boom", (np.zeros(2),), {})
        found = session.lookup(["answer", "scale_", "missing"])
        assert found["answer"] == 42 and callable(found["scale_"])
        with pytest.raises(NameError, match="missing"):
            found["missing"]()
    finally:
        from autograder import wire as w
        w.send(a, {"op": "done"})
        thread.join(5)
        a.close(), b.close()


def test_objects_of_the_check_stay_in_the_judge_and_are_called_back():
    class Counter:
        def __init__(self):
            self.steps = 0

        def step(self):
            self.steps += 1

    def uses(f, sched, x):
        sched.step()
        sched.step()
        return f(x) + sched.steps

    session, thread, a, b = _serve({"uses": uses})
    try:
        counter, seen = Counter(), []
        assert session.call("uses", (lambda v: seen.append(v.shape) or 10, counter, np.zeros((2, 2))), {}) == 12
        assert counter.steps == 2 and seen == [(2, 2)]
    finally:
        wire.send(a, {"op": "done"})
        thread.join(5)
        a.close(), b.close()


def test_a_call_past_the_deadline_interrupts_and_stops_the_cell():
    judge_end, agent_end = socket.socketpair()
    interrupts = []
    session = Session(judge_end, time.monotonic() + 0.3, interrupt=lambda: interrupts.append(1))
    wire.send(judge_end, {"op": "noop"})
    with judge_end, agent_end:
        with pytest.raises(KeyboardInterrupt):  # CellTimeout or SandboxGone: both stop the cell
            session.call("slow", (), {})
    assert interrupts == [1]
    assert issubclass(CellTimeout, KeyboardInterrupt)
