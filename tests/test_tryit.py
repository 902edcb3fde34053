"""Try-it cells survive a learner's bug: one clear line, then the lesson goes on."""
import torch
from torch import nn

from cnnlib.probes import ModeProbe
from cnnlib.tryit import mine_or_reference, try_it


def test_try_it_turns_any_error_into_one_line_and_lets_the_cell_end(capsys):
    with try_it("output_size"):
        print(f"{2.5:2d}")  # a float where the cell expects an int
    with try_it("conv2d"):
        raise NotImplementedError()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Trying your output_size failed with ValueError: Unknown format code 'd'")
    assert out[0].endswith("fix it above and re-run this cell. (The rest of the lesson still runs.)")
    assert out[1] == "conv2d is not written yet: implement it above, then re-run this cell."


def test_mine_or_reference_probes_the_learners_version_and_falls_back_saying_why(capsys):
    def mine(x):
        raise IndexError("index 3 is out of bounds")

    def reference(x):
        return x

    assert mine_or_reference("pad2d", mine, reference, probe=lambda f: f(1)) is reference
    assert mine_or_reference("pad2d", reference, mine, probe=lambda f: f(1)) is reference
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Trying your pad2d failed with IndexError: index 3 is out of bounds: the rest of this "
                             "lesson uses cnnlib's reference pad2d")
    assert out[1] == "Using your pad2d."


def test_mode_probe_counts_calls_by_mode_and_autograd():
    model = nn.Sequential(ModeProbe(), nn.Linear(3, 2))
    model.train()(torch.zeros(1, 3)).sum().backward()
    with torch.no_grad():
        model.eval()(torch.zeros(2, 3))
    probe = model[0]
    assert (int(probe.calls), int(probe.calls_grad), int(probe.calls_training)) == (2, 1, 1)
