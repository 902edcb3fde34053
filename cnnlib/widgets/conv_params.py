"""Parameter counts: a convolution versus a dense layer on the same image.

The comparison is fair in the sense that both layers map the same input
(C, n, n) to the same output (F, n, n), the output of a "same"-padded convolution.
The convolution's count does not depend on n; the dense layer's grows like n**4.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

__all__ = ["conv_param_count", "dense_param_count", "param_counts", "params_figure",
           "param_explorer"]


def _positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def conv_param_count(C, F, K, bias=True):
    """Weights (and biases) of a conv layer with F filters of size K over C channels.

    Parameters
    ----------
    C : int
        Input channels.
    F : int
        Filters (output channels).
    K : int or tuple (KH, KW)
        Kernel size.
    bias : bool
        One bias per filter.

    Returns
    -------
    count : int
        ``F * C * KH * KW + (F if bias else 0)``; weight shape is (F, C, KH, KW).
    """
    KH, KW = (K, K) if np.ndim(K) == 0 else K
    C, F, KH, KW = (_positive_int(n, v) for n, v in (("C", C), ("F", F), ("KH", KH), ("KW", KW)))
    return F * C * KH * KW + (F if bias else 0)


def dense_param_count(in_features, out_features, bias=True):
    """Weights (and biases) of a fully connected layer.

    Returns
    -------
    count : int
        ``in_features * out_features + (out_features if bias else 0)``.
    """
    n_in = _positive_int("in_features", in_features)
    n_out = _positive_int("out_features", out_features)
    return n_in * n_out + (n_out if bias else 0)


def param_counts(sides, C, F, K):
    """Conv and dense parameter counts for square images of each side length.

    Parameters
    ----------
    sides : (M,) array_like of int
        Image side n; the input is (C, n, n), both layers output (F, n, n).
    C, F, K : int
        Channels, filters, kernel size.

    Returns
    -------
    counts : dict
        ``side`` (M,) int64, ``conv`` (M,) int64 (constant), ``dense`` (M,) float64
        (float because it overflows int64 for large images).
    """
    sides = np.asarray(sides)
    if sides.ndim != 1 or sides.size == 0:
        raise ValueError(f"sides must be a non-empty 1-D array, got shape {sides.shape}")
    conv = conv_param_count(C, F, K)
    dense = [float(C * n * n) * float(F * n * n) + F * n * n for n in sides.tolist()]
    return {"side": sides.astype(np.int64), "conv": np.full(sides.shape, conv, dtype=np.int64),
            "dense": np.array(dense, dtype=np.float64)}


def params_figure(C=1, F=8, K=3, max_side=64, mark=28):
    """Plot conv vs dense parameter counts against the image side (log scale).

    Parameters
    ----------
    C, F, K : int
        Channels, filters, kernel size.
    max_side : int
        Largest image side plotted.
    mark : int or None
        Side to annotate (28 for MNIST).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    max_side = _positive_int("max_side", max_side)
    counts = param_counts(np.arange(1, max_side + 1), C, F, K)
    # Fixed margins: constrained layout would double the time a slider move takes.
    fig = Figure(figsize=(7, 3.8), dpi=80)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.91)
    ax = fig.subplots()
    ax.semilogy(counts["side"], counts["dense"], label=f"dense ({C}·n² → {F}·n²)", lw=2)
    ax.semilogy(counts["side"], counts["conv"], label=f"conv {K}×{K}, {C}→{F} channels", lw=2)
    if mark is not None and 1 <= mark <= max_side:
        conv, dense = counts["conv"][mark - 1], counts["dense"][mark - 1]
        ax.axvline(mark, color="0.6", ls=":")
        ax.annotate(f"n={mark}: dense {dense:,.0f}\nconv {conv:,}  ({dense / conv:,.0f}× fewer)",
                    (mark, np.sqrt(dense * conv)), fontsize=9, xytext=(6, 0),
                    textcoords="offset points")
    ax.set_xlabel("image side n (input C×n×n, output F×n×n)")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title("A convolution's parameter count does not grow with the image", fontsize=10)
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    # Plain-text powers of ten: the default mathtext labels triple the drawing time.
    ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _pos=None):
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if not np.isclose(exponent, round(exponent)):
        return ""
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)


def param_explorer(C=1, F=8, K=3, max_side=64):
    """Sliders for channels, filters, kernel size and largest side driving :func:`params_figure`.

    Returns
    -------
    widget : ipywidgets.VBox
    """
    import ipywidgets as widgets
    from IPython.display import display

    style = {"description_width": "80px"}
    controls = {
        "C": widgets.IntSlider(C, 1, 64, description="channels C", style=style),
        "F": widgets.IntSlider(F, 1, 128, description="filters F", style=style),
        "K": widgets.IntSlider(K, 1, 7, step=2, description="kernel K", style=style),
        "max_side": widgets.IntSlider(max_side, 8, 256, step=8, description="max side", style=style),
    }

    def show(C, F, K, max_side):
        display(params_figure(C, F, K, max_side))

    out = widgets.interactive_output(show, controls)
    return widgets.VBox([widgets.HBox(list(controls.values())[:2]),
                         widgets.HBox(list(controls.values())[2:]), out])
