"""The numpy functional core of cnnlib: forward and backward of every layer.

Every ``*_forward`` returns ``(out, cache)`` and the matching ``*_backward``
takes ``(dout, cache)`` and returns the gradient(s) of its inputs. Shapes and
semantics follow ``torch.nn.functional`` (NCHW images, ``w`` of a linear layer
stored as ``(out_features, in_features)``).
"""
from .activations import (leaky_relu_backward, leaky_relu_forward, relu_backward, relu_forward,
                          sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward)
from .conv import conv2d_backward, conv2d_forward
from .conv_naive import conv2d_backward_naive, conv2d_forward_naive
from .dropout import dropout_backward, dropout_forward
from .im2col import col2im, conv_output_size, im2col, pad2d
from .linear import linear_backward, linear_forward
from .losses import cross_entropy, log_softmax, softmax
from .pool import avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward

__all__ = [
    "conv2d_forward", "conv2d_backward", "conv2d_forward_naive", "conv2d_backward_naive",
    "im2col", "col2im", "conv_output_size", "pad2d",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "linear_forward", "linear_backward", "dropout_forward", "dropout_backward",
    "softmax", "log_softmax", "cross_entropy",
]
