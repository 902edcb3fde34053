"""cnnlib.summary.summary works on cnnlib and torch models alike."""
import numpy as np
import pytest
import torch

import cnnlib.nn as nn
from cnnlib.summary import summary


def _pair():
    ours = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(16 * 6 * 6, 10))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.5),
                                 torch.nn.Linear(16 * 6 * 6, 10))
    return ours, theirs


def test_same_table_for_cnnlib_and_torch_twins():
    ours, theirs = _pair()
    s, ts = summary(ours, (1, 28, 28)), summary(theirs, (1, 28, 28))
    assert s.rows == ts.rows
    assert [r[2] for r in s.rows] == [(8, 28, 28), (8, 28, 28), (8, 14, 14), (16, 12, 12),
                                      (16, 12, 12), (16, 6, 6), (576,), (576,), (10,)]
    assert s.rows[0][3] == 8 * 9 + 8 and s.rows[-1][3] == 576 * 10 + 10
    assert s.total_params == ts.total_params == sum(p.numel() for p in theirs.parameters())
    text = str(s)
    assert "Conv2d" in text and "(16, 6, 6)" in text and f"{s.total_params:,}" in text
    assert "<table>" in s._repr_html_()


def test_summary_restores_training_mode_and_forward():
    ours, theirs = _pair()
    summary(ours, (1, 28, 28))
    summary(theirs, (1, 28, 28))
    assert ours.training and theirs.training
    assert "forward" not in ours[0].__dict__
    out = ours(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert out.shape == (2, 10)


def test_custom_cnnlib_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 5), nn.Tanh())
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.body(x))

    s = summary(Net(), (4,))
    assert [(r[0], r[1], r[2]) for r in s.rows] == [("body.0", "Linear", (5,)),
                                                    ("body.1", "Tanh", (5,)),
                                                    ("head", "Linear", (2,))]
    assert s.total_params == 4 * 5 + 5 + 5 * 2 + 2


def test_rejects_non_modules():
    with pytest.raises(ValueError, match="Module"):
        summary(object(), (1,))
