"""The two MNIST CNNs of the capstone: our compact reference net and the classic tutorial CNN.

Used by ``benchmarks/bench_capstone.py`` and the tests; the lesson's graded
``Net`` is written by the learner and does not import this module.
"""
import torch
from torch import nn

__all__ = ["CapstoneNet", "ClassicTutorialCNN", "PARAM_BUDGET"]

#: Parameter budget of the capstone exercise (the learner's ``Net`` must stay under it).
PARAM_BUDGET = 150_000


def _conv_bn_relu(c_in, c_out):
    # bias=False: BatchNorm's shift makes a conv bias redundant.
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class CapstoneNet(nn.Module):
    """Compact CNN: four 3x3 conv-BN-ReLU blocks, three max-pools, dropout, one linear layer.

    Shapes (``c = channels``)::

        (N, 1, 28, 28) -conv c0, pool-> (N, c0, 14, 14) -conv c1, conv c1, pool-> (N, c1, 7, 7)
        -conv c2, pool-> (N, c2, 3, 3) -flatten, dropout, linear-> (N, 10) logits

    Most compute is spent at 14x14 and 7x7, where it is cheap; the first
    layer at full resolution stays narrow because it is the most expensive.

    Parameters
    ----------
    channels : tuple of 3 ints
    p_drop : float
        Dropout probability before the classifier.
    """

    def __init__(self, channels=(16, 32, 64), p_drop=0.25):
        super().__init__()
        c0, c1, c2 = channels
        self.features = nn.Sequential(
            *_conv_bn_relu(1, c0), nn.MaxPool2d(2),
            *_conv_bn_relu(c0, c1), *_conv_bn_relu(c1, c1), nn.MaxPool2d(2),
            *_conv_bn_relu(c1, c2), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(p_drop), nn.Linear(c2 * 3 * 3, 10))

    def forward(self, x):
        """``x : (N, 1, 28, 28)`` normalized images -> ``(N, 10)`` logits."""
        return self.classifier(self.features(x))


class ClassicTutorialCNN(nn.Module):
    """The classic TensorFlow tutorial CNN the course measures itself against, in PyTorch.

    ``Conv2D(32, 3x3, relu) -> MaxPool 2x2 -> Conv2D(64, 3x3, relu) -> MaxPool 2x2 ->
    Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) -> Dense(10)``; no padding, so
    28 -> 26 -> 13 -> 11 -> 5 -> 3. 93,322 parameters. Trained on inputs scaled to
    [0, 1] with Adam (Keras defaults: learning rate 0.001, batch 32) for 5 epochs; the
    tutorial reports 99.03 % test accuracy.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 3, 64), nn.ReLU(inplace=True),
                                        nn.Linear(64, 10))

    def forward(self, x):
        """``x : (N, 1, 28, 28)`` in [0, 1] -> ``(N, 10)`` logits."""
        return self.classifier(self.features(x))


def build(name, **kwargs):
    """``"capstone"`` or ``"classic"`` -> a freshly initialized model (seed torch first)."""
    models = {"capstone": CapstoneNet, "classic": ClassicTutorialCNN}
    if name not in models:
        raise ValueError(f"build: unknown model {name!r}; choose from {sorted(models)}")
    return models[name](**kwargs)


if __name__ == "__main__":  # pragma: no cover - quick size check
    for m in (CapstoneNet(), ClassicTutorialCNN()):
        print(type(m).__name__, sum(p.numel() for p in m.parameters()), m(torch.zeros(2, 1, 28, 28)).shape)
