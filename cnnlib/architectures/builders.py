"""Lesson 10's architectures on 28x28 inputs (``(N, 1, 28, 28) -> (N, 10)`` logits), seeded by the caller.

The table's five classics and the capstone (:data:`ARCHITECTURES`), the standard / separable twins of
the MobileNet section, the deep plain / residual stacks of the gradient-flow experiment and
:func:`first_layer_grad_norm`.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import DownBlock, PlainBlock, ResidualBlock, SeparableConv2d, conv_bn_relu as _conv_bn_relu

__all__ = ["lenet5", "classic_cnn", "vgg_style", "small_resnet", "mobilenet_style", "capstone", "ARCHITECTURES",
           "standard_net", "separable_net", "deep_net", "first_layer_grad_norm"]


def lenet5():
    """LeNet-5 (LeCun et al., 1998) in a modern reading, on 28x28 inputs.

    ``conv 6@5x5 (padding 2: the 32x32 of the paper) -> tanh -> avg-pool 2 -> conv 16@5x5 -> tanh
    -> avg-pool 2 -> 400 -> 120 -> 84 -> 10`` (tanh between the dense layers); 61,706 parameters.
    """
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def classic_cnn():
    """The classic Keras/TensorFlow tutorial CNN of Lesson 08 (:class:`cnnlib.models.ClassicTutorialCNN`)."""
    from ..models import ClassicTutorialCNN

    return ClassicTutorialCNN()


def vgg_style():
    """VGG-style: stacks of two 3x3 conv-BN-ReLU per resolution, doubling the channels after each max-pool.

    ``32, 32, pool -> 64, 64, pool -> 128, 128, pool -> flatten 128*3*3 -> 128 -> dropout -> 10``.
    """
    return nn.Sequential(*_conv_bn_relu(1, 32), *_conv_bn_relu(32, 32), nn.MaxPool2d(2),
                         *_conv_bn_relu(32, 64), *_conv_bn_relu(64, 64), nn.MaxPool2d(2),
                         *_conv_bn_relu(64, 128), *_conv_bn_relu(128, 128), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def small_resnet(channels=(16, 32, 64)):
    """A small ResNet: a 3x3 stem, one residual block per stage, stride-2 projection blocks between stages.

    ``stem c0 (28x28) -> ResidualBlock(c0) -> DownBlock(c0, c1) (14x14) -> ResidualBlock(c1)
    -> DownBlock(c1, c2) (7x7) -> ResidualBlock(c2) -> global average pool -> linear c2 -> 10``.
    """
    c0, c1, c2 = channels
    return nn.Sequential(*_conv_bn_relu(1, c0), ResidualBlock(c0), DownBlock(c0, c1), ResidualBlock(c1),
                         DownBlock(c1, c2), ResidualBlock(c2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(c2, 10))


def mobilenet_style(channels=(16, 32, 64, 128)):
    """MobileNet-style: a 3x3 stem, then depthwise separable blocks (BN + ReLU after each part).

    ``stem c0 (28x28) -> sep c1 stride 2 (14x14) -> sep c2 -> sep c3 stride 2 (7x7) -> sep c3
    -> global average pool -> linear c3 -> 10``.
    """
    c0, c1, c2, c3 = channels

    def sep(c_in, c_out, stride=1):
        return SeparableConv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False, batchnorm=True)

    return nn.Sequential(*_conv_bn_relu(1, c0), sep(c0, c1, 2), sep(c1, c2), sep(c2, c3, 2), sep(c3, c3),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, 10))


def capstone():
    """The course's capstone network of Lesson 08 (:class:`cnnlib.models.CapstoneNet`)."""
    from ..models import CapstoneNet

    return CapstoneNet()


#: name -> builder, in the order of the lesson's table
ARCHITECTURES = OrderedDict([
    ("LeNet-5 (1998)", lenet5), ("classic Keras CNN", classic_cnn), ("VGG-style", vgg_style),
    ("small ResNet", small_resnet), ("MobileNet-style", mobilenet_style), ("capstone (Lesson 08)", capstone)])


def standard_net(channels=(16, 32, 64, 64), separable=False):
    """Twin networks for Fashion-MNIST: standard 3x3 convolutions, or depthwise separable ones.

    ``stem conv c0 -> pool (14x14) -> c1 -> pool (7x7) -> c2 -> c3 -> global average pool ->
    dropout -> linear c3 -> 10``; every conv is followed by BatchNorm and ReLU. With
    ``separable=True`` every conv after the stem is a :class:`SeparableConv2d` (BN + ReLU after
    each part); the stem stays standard (a depthwise conv of one channel would be one 3x3 kernel).
    """
    c0, c1, c2, c3 = channels

    def conv(c_in, c_out):
        if separable:
            return [SeparableConv2d(c_in, c_out, 3, padding=1, bias=False, batchnorm=True)]
        return _conv_bn_relu(c_in, c_out)

    return nn.Sequential(*_conv_bn_relu(1, c0), nn.MaxPool2d(2), *conv(c0, c1), nn.MaxPool2d(2),
                         *conv(c1, c2), *conv(c2, c3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(c3, 10))


def separable_net(channels=(16, 32, 64, 64)):
    """:func:`standard_net` with depthwise separable convolutions after the stem."""
    return standard_net(channels, separable=True)


def deep_net(depth, residual=True, batchnorm=True, channels=16, block=None):
    """A deep stack for the gradient-flow experiment: a stem, ``depth`` blocks, a linear classifier.

    ``conv 1->C 3x3 -> (BN) -> ReLU -> max-pool 4 (7x7) -> depth x block(C) -> global average pool
    -> linear C -> 10``; each block holds two 3x3 convolutions, so the network has ``2 * depth + 2``
    layers with weights. ``net[0]`` is the first layer.

    Parameters
    ----------
    depth : int
    residual : bool
        :class:`ResidualBlock` (True) or :class:`PlainBlock` (False).
    batchnorm : bool
    channels : int
    block : callable, optional
        ``block(C)`` builds one block (e.g. the learner's ResidualBlock class); overrides ``residual``
        and ``batchnorm`` for the blocks.
    """
    make = block or (lambda c: (ResidualBlock if residual else PlainBlock)(c, batchnorm=batchnorm))
    stem = [nn.Conv2d(1, channels, 3, padding=1, bias=not batchnorm)]
    stem += [nn.BatchNorm2d(channels)] if batchnorm else []
    return nn.Sequential(*stem, nn.ReLU(), nn.MaxPool2d(4), *[make(channels) for _ in range(depth)],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))



def first_layer_grad_norm(model, x, y):
    """``||d loss / d W_1||`` of the first layer with weights (training mode, one batch, cross-entropy).

    The model's ``.grad`` are left as they were (``torch.autograd.grad``).
    """
    first = next(m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)))
    model.train()
    loss = F.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, first.weight)
    return float(grad.norm())
