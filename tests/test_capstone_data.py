"""cnnlib.torch_data: TensorDatasets/DataLoaders from cnnlib.data arrays, seeded shuffling, augmentation."""
import numpy as np
import pytest
import torch

from cnnlib.data import MNIST_MEAN, MNIST_STD
from cnnlib.torch_data import make_loader, random_affine, to_tensor_dataset


def _fake(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def test_dataset_items_are_normalized_float32_nchw_images_and_int64_labels():
    x, y = _fake()
    ds = to_tensor_dataset(x, y)
    img, label = ds[3]
    assert img.shape == (1, 28, 28) and img.dtype == torch.float32
    assert label.dtype == torch.int64 and int(label) == y[3]
    expected = (x[3] / 255.0 - MNIST_MEAN) / MNIST_STD
    np.testing.assert_allclose(img[0].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_loader_yields_batches_of_the_requested_size_with_a_short_last_batch():
    ds = to_tensor_dataset(*_fake(50))
    shapes = [tuple(xb.shape) for xb, _ in make_loader(ds, batch_size=16)]
    assert shapes == [(16, 1, 28, 28)] * 3 + [(2, 1, 28, 28)]


def test_unshuffled_loader_keeps_order_and_covers_every_example_once():
    x, y = _fake(50)
    labels = torch.cat([yb for _, yb in make_loader(to_tensor_dataset(x, y), batch_size=16)])
    np.testing.assert_array_equal(labels.numpy(), y)


def test_shuffling_is_reproducible_with_a_seed_and_differs_between_epochs_and_seeds():
    x, _ = _fake(50)
    ds = to_tensor_dataset(x, np.arange(50))

    def epochs(seed, n=2):
        loader = make_loader(ds, batch_size=50, shuffle=True, seed=seed)
        return [next(iter(loader))[1].tolist() for _ in range(n)]

    a, b, c = epochs(0), epochs(0), epochs(1)
    assert a == b                       # same seed, same sequence of epochs
    assert a[0] != a[1]                 # reshuffled every epoch
    assert a[0] != c[0]                 # another seed, another order
    assert sorted(a[0]) == list(range(50))


def test_mismatched_or_float_labels_are_refused():
    x, y = _fake(10)
    with pytest.raises(ValueError):
        to_tensor_dataset(x, y[:5])
    with pytest.raises(ValueError):
        to_tensor_dataset(x, y.astype(float))


def test_random_affine_keeps_shape_and_background_and_is_reproducible():
    x = torch.from_numpy(((np.zeros((4, 1, 28, 28)) - MNIST_MEAN) / MNIST_STD).astype(np.float32))
    x[:, :, 10:18, 12:16] = 2.0
    out1 = random_affine(x, generator=torch.Generator().manual_seed(0))
    out2 = random_affine(x, generator=torch.Generator().manual_seed(0))
    assert out1.shape == x.shape and torch.equal(out1, out2)
    assert torch.allclose(out1[:, :, 0, 0], x[:, :, 0, 0], atol=1e-5)  # corners stay background
    assert not torch.allclose(out1, x)


def test_random_affine_with_zero_ranges_is_the_identity():
    x = torch.randn(3, 1, 28, 28)
    assert torch.allclose(random_affine(x, 0, 0, 0), x, atol=1e-5)
