"""The two MNIST CNNs of the capstone: our compact reference net and the classic Keras recipe.

Used by ``benchmarks/bench_capstone.py`` and the tests; the lesson's graded
``Net`` is written by the learner and does not import this module.
"""
import torch
from torch import nn

__all__ = ["CapstoneNet", "KerasMnistCNN", "PARAM_BUDGET"]

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


class KerasMnistCNN(nn.Module):
    """The classic Keras ``mnist_cnn.py`` example, layer for layer, in PyTorch.

    ``Conv2D(32, 3x3, relu) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2x2) -> Dropout(0.25)
    -> Flatten -> Dense(128, relu) -> Dropout(0.5) -> Dense(10, softmax)``; no padding,
    so 28 -> 26 -> 24 -> 12. About 1.2 M parameters, most of them in the dense layer.
    The softmax is left to the loss (``cross_entropy`` takes logits).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True),
            nn.MaxPool2d(2), nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 12 * 12, 128), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(128, 10),
        )

    def forward(self, x):
        """``x : (N, 1, 28, 28)`` -> ``(N, 10)`` logits."""
        return self.classifier(self.features(x))


def build(name, **kwargs):
    """``"capstone"`` or ``"keras"`` -> a freshly initialized model (seed torch first)."""
    models = {"capstone": CapstoneNet, "keras": KerasMnistCNN}
    if name not in models:
        raise ValueError(f"build: unknown model {name!r}; choose from {sorted(models)}")
    return models[name](**kwargs)


if __name__ == "__main__":  # pragma: no cover - quick size check
    for m in (CapstoneNet(), KerasMnistCNN()):
        print(type(m).__name__, sum(p.numel() for p in m.parameters()), m(torch.zeros(2, 1, 28, 28)).shape)
