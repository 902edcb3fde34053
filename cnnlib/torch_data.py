"""MNIST as PyTorch ``TensorDataset``/``DataLoader`` objects, built from :mod:`cnnlib.data`.

No torchvision: the images are already numpy arrays, so a ``TensorDataset`` holds
them and a ``DataLoader`` hands out shuffled mini-batches. The optional
augmentation (:func:`random_affine`) is a few torch ops on a whole batch.
"""
import math

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from .data import MNIST_MEAN, MNIST_STD, normalize, to_float_nchw

__all__ = ["to_tensor_dataset", "make_loader", "mnist_loaders", "random_affine", "subset"]


def to_tensor_dataset(x, y, standardize=True):
    """Wrap uint8 images and int labels as a normalized ``TensorDataset``.

    Parameters
    ----------
    x : (N, 28, 28) uint8 ndarray
    y : (N,) int ndarray
    standardize : bool
        Standardize with the training set's mean and std (the default), or only
        scale to [0, 1] (what the classic tutorial does).

    Returns
    -------
    TensorDataset
        Items ``(image, label)``: ``(1, 28, 28) float32`` standardized with
        ``MNIST_MEAN``/``MNIST_STD`` (or in [0, 1]), and an ``int64`` label.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"to_tensor_dataset: expected labels of shape ({len(x)},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"to_tensor_dataset: labels must be integers, got dtype {y.dtype}")
    images = to_float_nchw(x)
    images = torch.from_numpy(normalize(images) if standardize else images)
    return TensorDataset(images, torch.from_numpy(y.astype(np.int64)))


def make_loader(dataset, batch_size=128, shuffle=False, seed=0):
    """A ``DataLoader`` that fetches whole batches at once (fast for in-memory tensors).

    A ``BatchSampler`` passes a list of indices to ``dataset[...]``, which a
    ``TensorDataset`` answers with one tensor-indexing call instead of
    ``batch_size`` single-item calls plus a collate step.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool
        Reshuffle every epoch, from a generator seeded with ``seed``: the same
        seed gives the same sequence of epochs.
    seed : int

    Returns
    -------
    DataLoader
        Yields ``(x, y)`` batches; the last batch may be smaller.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"make_loader: batch_size must be a positive int, got {batch_size!r}")
    if shuffle:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    else:
        sampler = SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=False)
    # batch_size=None: each "item" the sampler yields is already a batch of indices.
    return DataLoader(dataset, sampler=batches, batch_size=None)


def subset(x, y, n, seed=0):
    """A random, class-mixed subset of ``n`` examples (all of them if ``n`` is None)."""
    if n is None or n >= len(x):
        return x, y
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], y[idx]


def mnist_loaders(ds, batch_size=128, test_batch_size=1000, n_train=None, n_test=None, seed=0, standardize=True):
    """Train and test loaders for a :func:`cnnlib.data.load_mnist` dataset.

    Parameters
    ----------
    ds : Dataset
        ``x_train, y_train, x_test, y_test`` as returned by ``load_mnist``.
    n_train, n_test : int, optional
        Use a random subset of this size (fast mode, hyperparameter search).
    standardize : bool
        See :func:`to_tensor_dataset`.

    Returns
    -------
    train_loader, test_loader : DataLoader
        The train loader reshuffles every epoch (seeded); the test loader keeps order.
    """
    x_train, y_train = subset(ds.x_train, ds.y_train, n_train, seed)
    x_test, y_test = subset(ds.x_test, ds.y_test, n_test, seed)
    train = make_loader(to_tensor_dataset(x_train, y_train, standardize), batch_size, shuffle=True, seed=seed)
    test = make_loader(to_tensor_dataset(x_test, y_test, standardize), test_batch_size, shuffle=False)
    return train, test


def random_affine(x, max_shift=2.0, max_degrees=10.0, max_scale=0.1, generator=None):
    """Randomly shift, rotate and scale every image of a batch (data augmentation).

    Each image gets its own transform; pixels moved in from outside the frame
    are background (the value a blank MNIST pixel has after normalization).

    Parameters
    ----------
    x : (N, 1, H, W) float32 tensor
        Normalized images.
    max_shift : float
        Largest shift in pixels, along each axis.
    max_degrees : float
        Largest rotation, in degrees.
    max_scale : float
        Zoom factor drawn from ``[1 - max_scale, 1 + max_scale]``.
    generator : torch.Generator, optional
        For reproducible augmentation.

    Returns
    -------
    (N, 1, H, W) float32 tensor
    """
    if x.ndim != 4:
        raise ValueError(f"random_affine: expected (N, C, H, W) images, got shape {tuple(x.shape)}")
    n, _, h, w = x.shape

    def uniform(scale):
        return (torch.rand(n, generator=generator) * 2 - 1) * scale

    angle = uniform(math.radians(max_degrees))
    zoom = 1 + uniform(max_scale)
    # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size.
    tx, ty = uniform(2 * max_shift / w), uniform(2 * max_shift / h)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    background = -MNIST_MEAN / MNIST_STD
    # grid_sample pads with zeros, so shift the background to 0 and back.
    out = torch.nn.functional.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros")
    return out + background
