"""Small matplotlib helpers shared by the lessons. Each returns the Figure it drew."""
import matplotlib.pyplot as plt
import numpy as np


def show_values(image, ax=None, cmap="gray_r", fontsize=None, fmt="{:.0f}", title=None):
    """Draw a 2-D array as a heatmap with every value written in its cell.

    Parameters
    ----------
    image : (H, W) ndarray
    ax : matplotlib Axes, optional
        Drawn into if given; otherwise a new figure sized to the array.
    fmt : str
        Format for each value.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"show_values: expected a 2-D image (H, W), got shape {image.shape}")
    H, W = image.shape
    if ax is None:
        side = max(3.0, 0.35 * max(H, W))
        _, ax = plt.subplots(figsize=(side * W / max(H, W), side * H / max(H, W)))
    ax.imshow(image, cmap=cmap)
    lo, hi = float(image.min()), float(image.max())
    mid = (lo + hi) / 2
    size = fontsize or max(4, min(12, 180 / max(H, W)))
    for (r, c), v in np.ndenumerate(image):
        # Text colour flips on dark cells so every number stays readable.
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=size,
                color="white" if (v > mid) == (cmap.endswith("_r")) else "black")
    ax.set_xticks(range(W))
    ax.set_yticks(range(H))
    ax.tick_params(labelsize=max(4, size - 1), length=0)
    if title:
        ax.set_title(title)
    return ax.figure


def image_grid(images, titles=None, ncols=8, cmap="gray_r", size=1.3):
    """Show a batch of images in a grid.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) ndarray
    titles : sequence of str, optional
        One per image.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"image_grid: expected (N, H, W) or (N, 1, H, W), got shape {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"image_grid: {len(titles)} titles for {len(images)} images")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig
