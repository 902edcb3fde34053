"""Receptive fields of a stack of convolution and pooling layers.

A layer is described by its window size ``kernel``, its ``stride`` and
optionally its zero ``padding``: ``(kernel, stride)`` or ``(kernel, stride,
padding)``. Along one axis, with ``r`` the receptive-field size and ``j`` the
*jump* (distance in input pixels between two neighbouring outputs), starting
from one input pixel (``r = 1, j = 1``)::

    r <- r + (kernel - 1) * j
    j <- j * stride

Padding does not change ``r`` or ``j``; it moves the window: output ``i`` of the
whole stack sees the input pixels ``start + i * j, ..., start + i * j + r - 1``
with ``start <- start - padding * j`` per layer (before ``j`` is updated).
Pixels outside ``0 .. H - 1`` are padding zeros.

Numpy only; the lesson-03 receptive-field explorer draws what these compute.
"""
from collections import namedtuple

__all__ = ["Layer", "as_layers", "receptive_field", "layer_table", "input_region", "output_shape"]

Layer = namedtuple("Layer", "kernel stride padding")


def _whole(value, name, low):
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def as_layers(layers):
    """Validate a stack of layers and return it as a list of :class:`Layer`.

    Parameters
    ----------
    layers : sequence of (kernel, stride) or (kernel, stride, padding)
        Whole numbers, ``kernel >= 1``, ``stride >= 1``, ``padding >= 0``.

    Returns
    -------
    list of Layer

    Raises
    ------
    ValueError
        On a layer that is not 2 or 3 whole numbers in range.
    """
    out = []
    for i, layer in enumerate(layers):
        layer = tuple(layer)
        if len(layer) not in (2, 3):
            raise ValueError(f"layer {i} must be (kernel, stride) or (kernel, stride, padding), got {layer!r}")
        kernel = _whole(layer[0], f"layer {i}: kernel", 1)
        stride = _whole(layer[1], f"layer {i}: stride", 1)
        padding = _whole(layer[2], f"layer {i}: padding", 0) if len(layer) == 3 else 0
        out.append(Layer(kernel, stride, padding))
    return out


def layer_table(layers):
    """Receptive-field size, jump and start after each layer.

    Parameters
    ----------
    layers : sequence of (kernel, stride) or (kernel, stride, padding)

    Returns
    -------
    rows : list of dict
        One per layer, in order: ``kernel``, ``stride``, ``padding``, ``size``
        (receptive field in input pixels), ``jump`` (input pixels between
        neighbouring outputs) and ``start`` (first input pixel seen by output 0;
        negative when it lies in the padding).
    """
    size, jump, start = 1, 1, 0
    rows = []
    for layer in as_layers(layers):
        size += (layer.kernel - 1) * jump
        start -= layer.padding * jump
        jump *= layer.stride
        rows.append({**layer._asdict(), "size": size, "jump": jump, "start": start})
    return rows


def receptive_field(layers):
    """Receptive-field size and jump of one output of the whole stack, along one axis.

    Parameters
    ----------
    layers : sequence of (kernel, stride) or (kernel, stride, padding)
        An empty stack is the input itself: ``(1, 1)``.

    Returns
    -------
    size : int
        How many input pixels one output value depends on (along one axis).
    jump : int
        How many input pixels apart two neighbouring outputs are (the product
        of the strides).

    Examples
    --------
    >>> receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)])   # conv3, pool2, conv3, pool2
    (10, 4)
    """
    rows = layer_table(layers)
    return (rows[-1]["size"], rows[-1]["jump"]) if rows else (1, 1)


def output_shape(layers, height, width):
    """Output height and width of the stack on a ``height x width`` input (floor, like torch).

    Returns
    -------
    (OH, OW) : tuple of int
        ``(0, 0)`` if some layer's window does not fit its (padded) input.
    """
    h, w = _whole(height, "height", 1), _whole(width, "width", 1)
    for layer in as_layers(layers):
        h = (h + 2 * layer.padding - layer.kernel) // layer.stride + 1
        w = (w + 2 * layer.padding - layer.kernel) // layer.stride + 1
        if h < 1 or w < 1:
            return 0, 0
    return h, w


def input_region(layers, row, col, shape=None):
    """Input pixels that output ``[row, col]`` of the stack depends on.

    Parameters
    ----------
    layers : sequence of (kernel, stride) or (kernel, stride, padding)
    row, col : int
        Position in the stack's output, 0-based.
    shape : (H, W) tuple of int, optional
        The input's height and width. Without it the region is the textbook
        one, ``start + row * jump`` to ``start + row * jump + size - 1``, which
        may reach into the padding. With it, the region is clipped to the
        pixels that really exist at every layer (padding, and rows a layer's
        floor drops, are not part of it): exactly the input pixels the output
        depends on.

    Returns
    -------
    rows, cols : tuple of (int, int)
        First and last input row (column) of the region, inclusive.

    Raises
    ------
    ValueError
        If ``shape`` is given and ``[row, col]`` is outside the stack's output.
    """
    row, col = _whole(row, "row", 0), _whole(col, "col", 0)
    if shape is None:
        rows = layer_table(layers)
        size, jump, start = (rows[-1]["size"], rows[-1]["jump"], rows[-1]["start"]) if rows else (1, 1, 0)
        top, left = start + row * jump, start + col * jump
        return (top, top + size - 1), (left, left + size - 1)
    layers = as_layers(layers)
    height, width = _whole(shape[0], "height", 1), _whole(shape[1], "width", 1)
    sizes = [(height, width)] + [output_shape(layers[:i + 1], height, width) for i in range(len(layers))]
    OH, OW = sizes[-1]
    if not (row < OH and col < OW):
        raise ValueError(f"output position ({row}, {col}) is outside the {OH}x{OW} output of the stack")
    (top, bottom), (left, right) = (row, row), (col, col)
    for layer, (h, w) in zip(reversed(layers), reversed(sizes[:-1])):
        k, s, p = layer
        top, bottom = max(top * s - p, 0), min(bottom * s - p + k - 1, h - 1)
        left, right = max(left * s - p, 0), min(right * s - p + k - 1, w - 1)
    return (top, bottom), (left, right)
