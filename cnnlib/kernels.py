"""Classic hand-made 3x3 kernels (filters) used in the convolution lesson.

Every kernel is meant for *cross-correlation*, the operation deep-learning
libraries call "convolution": the kernel slides over the image unflipped, so
``sobel_x`` responds positively where the image gets brighter from left to right.

Examples
--------
>>> from cnnlib.kernels import get_kernel
>>> get_kernel("sobel_x")
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
"""
import numpy as np

__all__ = ["PRESETS", "DESCRIPTIONS", "names", "get_kernel", "describe"]

# Stored as nested lists so nobody can mutate a shared array by accident;
# get_kernel() hands out fresh float64 arrays.
PRESETS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "box_blur": [[1 / 9] * 3] * 3,
    "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}

DESCRIPTIONS = {
    "identity": "copies the image unchanged (only the centre weight is 1)",
    "sobel_x": "vertical edges: positive where brightness increases left to right",
    "sobel_y": "horizontal edges: positive where brightness increases top to bottom",
    "box_blur": "average of the 3x3 neighbourhood (weights sum to 1)",
    "gaussian_blur": "weighted average, centre counts most (weights sum to 1)",
    "sharpen": "identity plus edges: exaggerates differences to the neighbours",
    "laplacian": "second derivative: zero on flat regions and linear ramps",
    "edge": "outline detector: centre minus the 8 neighbours (weights sum to 0)",
}


def names():
    """Return the preset names, in display order.

    Returns
    -------
    names : list of str
    """
    return list(PRESETS)


def get_kernel(name):
    """Return a fresh copy of the preset kernel called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names` (``"identity"``, ``"sobel_x"``, ``"sobel_y"``,
        ``"box_blur"``, ``"gaussian_blur"``, ``"sharpen"``, ``"laplacian"``, ``"edge"``).

    Returns
    -------
    kernel : (3, 3) ndarray of float64

    Raises
    ------
    ValueError
        If ``name`` is not a preset.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {names()}")
    return np.array(PRESETS[name], dtype=np.float64)


def describe(name):
    """Return a one-line, student-facing description of the preset ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a preset.
    """
    if name not in DESCRIPTIONS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {names()}")
    return DESCRIPTIONS[name]
