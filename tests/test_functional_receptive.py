"""cnnlib.receptive: receptive-field size, jump and input region, checked against torch autograd."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from cnnlib.receptive import as_layers, input_region, layer_table, output_shape, receptive_field

STACKS = [
    [],
    [(3, 1)],
    [(3, 1), (3, 1)],
    [(3, 1), (2, 2), (3, 1), (2, 2)],
    [(3, 1, 1), (2, 2), (3, 1, 1), (2, 2)],            # the lesson's conv-pool-conv-pool with "same" padding
    [(11, 4, 2), (3, 2), (5, 1, 2), (3, 2)],           # AlexNet's first layers
    [(5, 2, 2), (3, 3, 1), (2, 1)],
    [(1, 1), (1, 2)],
]


def torch_dependence(layers, height, width, row, col):
    """Input pixels with a non-zero gradient for output [row, col]: convolutions with all-one weights."""
    x = torch.ones(1, 1, height, width, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in as_layers(layers):
        y = TF.conv2d(y, torch.ones(1, 1, layer.kernel, layer.kernel, dtype=torch.float64),
                      stride=layer.stride, padding=layer.padding)
    y[0, 0, row, col].backward()
    return x.grad[0, 0].numpy() != 0, tuple(y.shape[2:])


@pytest.mark.parametrize("layers", STACKS, ids=str)
def test_input_region_is_exactly_what_torch_autograd_depends_on(layers):
    height, width = 67, 61
    mask, shape = torch_dependence(layers, height, width, 0, 0)
    assert output_shape(layers, height, width) == shape
    for row, col in [(0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, shape[1] // 3)]:
        mask, _ = torch_dependence(layers, height, width, row, col)
        (top, bottom), (left, right) = input_region(layers, row, col, shape=(height, width))
        expected = np.zeros((height, width), dtype=bool)
        expected[top:bottom + 1, left:right + 1] = True
        np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize("layers", STACKS[:5], ids=str)
def test_textbook_region_clipped_to_the_image_is_exact_when_no_layer_drops_rows(layers):
    """28x28 (the lesson's digits): every layer's windows tile its input, so only the image border clips."""
    for row, col in [(0, 0), (2, 5), (5, 5)]:
        if max(row, col) >= output_shape(layers, 28, 28)[0]:
            continue
        (top, bottom), (left, right) = input_region(layers, row, col)
        exact = input_region(layers, row, col, shape=(28, 28))
        assert exact == ((max(top, 0), min(bottom, 27)), (max(left, 0), min(right, 27)))


def test_exact_region_excludes_rows_a_layer_drops():
    layers = [(11, 4, 2), (3, 2), (5, 1, 2), (3, 2)]
    assert input_region(layers, 2, 1) == ((14, 80), (-2, 64))           # textbook, reaches past row 66
    assert input_region(layers, 2, 1, shape=(67, 61)) == ((14, 64), (0, 56))
    with pytest.raises(ValueError, match=r"output position \(3, 0\) is outside the 3x2 output"):
        input_region(layers, 3, 0, shape=(67, 61))


@pytest.mark.parametrize("layers", [s for s in STACKS if s and all(len(layer) == 2 for layer in s)], ids=str)
def test_unpadded_size_is_the_width_of_the_dependence(layers):
    mask, _ = torch_dependence(layers, 40, 40, 0, 0)
    size, jump = receptive_field(layers)
    assert mask.any(axis=0).sum() == size == mask.any(axis=1).sum()
    shifted, _ = torch_dependence(layers, 40, 40, 0, 1)
    assert np.argmax(shifted.any(axis=0)) == jump     # the next output starts `jump` pixels further


def test_hand_computed_table():
    rows = layer_table([(3, 1, 1), (2, 2), (3, 1, 1), (2, 2)])
    assert [(r["size"], r["jump"], r["start"]) for r in rows] == [(3, 1, -1), (4, 2, -1), (8, 2, -3), (10, 4, -3)]
    assert receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)]) == (10, 4)
    assert receptive_field([]) == (1, 1)
    assert receptive_field([(11, 4), (3, 2)]) == (19, 8)
    assert input_region([(2, 2)], 3, 1) == ((6, 7), (2, 3))
    assert input_region([], 5, 2) == ((5, 5), (2, 2))


def test_results_are_python_ints():
    size, jump = receptive_field([(np.int64(3), np.int64(2))])
    assert type(size) is int and type(jump) is int


def test_output_shape_reports_a_stack_that_does_not_fit():
    assert output_shape([(3, 1), (2, 2)], 28, 28) == (13, 13)
    assert output_shape([(5, 1), (5, 1)], 6, 9) == (0, 0)


@pytest.mark.parametrize("layers, match", [
    ([(0, 1)], r"layer 0: kernel must be a whole number >= 1, got 0"),
    ([(3, 1), (2, 0)], r"layer 1: stride must be a whole number >= 1, got 0"),
    ([(3, 1, -1)], r"padding must be a whole number >= 0"),
    ([(3,)], r"must be \(kernel, stride\) or \(kernel, stride, padding\)"),
    ([(2.5, 1)], r"kernel must be a whole number"),
])
def test_bad_layers_raise(layers, match):
    with pytest.raises(ValueError, match=match):
        receptive_field(layers)
