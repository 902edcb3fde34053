"""Lesson 10's toolkit: small CNN architectures on 28x28 inputs, what they cost, transfer learning, 1-D convolution.

Everything is plain PyTorch (and numpy for :func:`conv1d`); models are seeded by the caller
(``torch.manual_seed``) and made of standard ``torch.nn`` layers, so ``torch.fx`` can trace them.

* building blocks: :class:`ResidualBlock` (identity shortcut), :class:`PlainBlock` (the same layers
  without it), :class:`DownBlock` (stride 2, 1x1 projection shortcut), :class:`SeparableConv2d`
  (depthwise ``groups=C`` then pointwise 1x1);
* architectures (``(N, 1, 28, 28) -> (N, 10)`` logits): :func:`lenet5`, :func:`classic_cnn`,
  :func:`vgg_style`, :func:`small_resnet`, :func:`mobilenet_style`, :func:`capstone`
  (:data:`ARCHITECTURES`); the twins :func:`standard_net` / :func:`separable_net`; :func:`deep_net`
  (a deep stack of plain or residual blocks);
* costs: :func:`count_params`, :func:`count_macs` (forward hooks), :func:`conv_params_and_macs`
  (the formula), :func:`time_inference`, :func:`cost_table`;
* transfer learning: :func:`freeze`, :func:`unfreeze`, :func:`replace_head`, :func:`standardize`,
  :func:`per_class_indices`, :func:`train`, :func:`accuracy`, :func:`conv_features`,
  :func:`transfer_steps`, :func:`transfer_run`;
* gradient flow: :func:`first_layer_grad_norm`;
* sequences: :func:`conv1d` (numpy, via :func:`cnnlib.functional.conv2d_forward`),
  :func:`make_waveforms`, :func:`sequence_cnn`, :func:`sequence_mlp`.

Split by concept: :mod:`.blocks`, :mod:`.builders`, :mod:`.costs`, :mod:`.transfer`,
:mod:`.sequences`; everything is importable from ``cnnlib.architectures``. Training and timing run
on one torch thread (:func:`threads`): the batches are small, and on a shared
2-core machine two threads waiting for each other were measured up to 50x slower.
"""
from .blocks import *  # noqa: F401,F403
from .blocks import __all__ as _blocks
from .builders import *  # noqa: F401,F403
from .builders import __all__ as _builders
from .costs import *  # noqa: F401,F403
from .costs import __all__ as _costs
from .sequences import *  # noqa: F401,F403
from .sequences import __all__ as _sequences
from .transfer import *  # noqa: F401,F403
from .transfer import __all__ as _transfer

__all__ = _blocks + _builders + _costs + _transfer + _sequences
