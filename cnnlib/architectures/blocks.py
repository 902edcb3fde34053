"""Building blocks of Lesson 10's architectures: residual, plain, downsampling and depthwise separable blocks.

All made of standard ``torch.nn`` layers with no Python control flow on tensor values, so ``torch.fx`` traces them.
"""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["threads", "ResidualBlock", "PlainBlock", "DownBlock", "SeparableConv2d", "conv_bn_relu"]


@contextlib.contextmanager
def threads(n=1):
    """Run torch on ``n`` threads inside the block (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- building blocks -----------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``: two 3x3 convolutions and an identity shortcut.

    Parameters
    ----------
    channels : int
        ``C``: input and output channels; ``(N, C, H, W) -> (N, C, H, W)``.
    batchnorm : bool
        BatchNorm after each convolution (convolutions without bias); False: convolutions with
        bias and no normalization (``bn1``, ``bn2`` are identities).
    """

    def __init__(self, channels, batchnorm=True):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(channels) if batchnorm else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(channels) if batchnorm else nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class PlainBlock(ResidualBlock):
    """The layers of :class:`ResidualBlock` without the shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))))``."""

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))


class DownBlock(nn.Module):
    """A residual block that halves the resolution and changes the channels.

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` where ``conv1`` has stride 2 and the
    shortcut is a 1x1 convolution with stride 2 and BatchNorm (a *projection*: the identity cannot
    change the shape). ``(N, C_in, H, W) -> (N, C_out, ceil(H / 2), ceil(W / 2))``.
    """

    def __init__(self, c_in, c_out, stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SeparableConv2d(nn.Module):
    """A depthwise separable convolution: a depthwise ``k x k`` conv (``groups=C_in``), then a 1x1 conv.

    Parameters
    ----------
    c_in, c_out : int
    k : int
        Kernel size of the depthwise part.
    stride, padding : int
        Of the depthwise part (the 1x1 part has stride 1, no padding).
    bias : bool
        Biases in both parts (as ``nn.Conv2d``'s default); False when BatchNorm follows.
    batchnorm : bool
        BatchNorm + ReLU after each part (the MobileNet block) instead of nothing in between.

    Shapes: ``(N, C_in, H, W) -> (N, C_out, OH, OW)`` with the output size of the depthwise part.
    """

    def __init__(self, c_in, c_out, k=3, stride=1, padding=1, bias=True, batchnorm=False):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, k, stride=stride, padding=padding, groups=c_in, bias=bias)
        self.bn1 = nn.BatchNorm2d(c_in) if batchnorm else nn.Identity()
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.act = nn.ReLU() if batchnorm else nn.Identity()

    def forward(self, x):
        return self.act(self.bn2(self.pointwise(self.act(self.bn1(self.depthwise(x))))))


def conv_bn_relu(c_in, c_out, stride=1):
    """``[Conv2d 3x3 (padding 1, no bias), BatchNorm2d, ReLU]``: a list to splice into ``nn.Sequential``."""
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
