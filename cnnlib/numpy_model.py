"""Lesson 07's numpy CNN: its architecture and the saved model ``numpy_cnn.npz`` (save, load with
checks, measure, grade).

Engine side: numpy and :mod:`cnnlib` only, no torch. The grade cell of Lesson 07 builds
:func:`build_model` itself (trusted code), loads the learner's file with
``np.load(allow_pickle=False)`` through :func:`load_state`, which checks every array's name,
shape and dtype, and scores the test accuracy with :func:`model_credit`.

Architecture (the benchmark network of ``benchmarks/bench_train_numpy.py``, width 8)::

    conv(1->8, 3x3, pad 1) - maxpool 2 - ReLU - conv(8->16, 3x3, pad 1) - maxpool 2 - ReLU
    - flatten - linear(784->128) - ReLU - [dropout] - linear(128->10)

Max-pooling before ReLU computes the same function as ReLU before pooling (both are
monotone), on four times fewer numbers.

The lesson's training loop lives in :mod:`cnnlib.numpy_train`, its data augmentation in
:mod:`cnnlib.augment`; both are re-exported here (``nm.train_one_epoch``, ``nm.random_shift``, ...).
"""
import numbers
import zipfile
from pathlib import Path

import numpy as np

from . import nn

__all__ = ["MODEL_FILE", "RECIPE", "CREDIT", "build_model", "expected_state", "save_model", "load_state",
           "load_model", "train_one_epoch", "train_recipe", "measure_saved_model", "model_credit",
           "credit_thresholds", "random_shift", "random_rotate", "augment", "background_value"]

MODEL_FILE = "numpy_cnn.npz"
# The full run of Lesson 07 (and of benchmarks/bench_lesson07.py): Adam, learning rate multiplied by
# lr_decay after every epoch, all 60,000 training images, seeded weights and shuffling.
RECIPE = {"epochs": 5, "batch_size": 64, "lr": 3e-3, "lr_decay": 0.5, "seed": 0}
# Grading of the saved model: a share of the points per step of accuracy above `low`, all at `high`.
CREDIT = {"low": 0.96, "high": 0.98, "steps": 4}
# A saved model is about 0.4 MB; anything much larger is refused before it is read.
MAX_FILE_BYTES = 4 * 1024 * 1024
_FLOAT_DTYPES = ("float32", "float64")


def build_model(seed=0, width=8, dropout=0.0, dropout_layer=None, hidden=None):
    """The lesson's CNN, from :mod:`cnnlib.nn`, weights seeded like torch's defaults.

    Parameters
    ----------
    seed : int
        Seeds cnnlib's module-level generator before the layers draw their weights.
    width : int
        Channels of the first convolution; the second has ``2 * width``, the hidden dense
        layer ``16 * width`` units. The graded model has width 8 (103,018 parameters).
    dropout : float
        Drop probability of a dropout layer after the hidden ReLU (0: no such layer, and the
        state_dict keys are those of the graded file).
    dropout_layer : callable, optional
        ``dropout_layer(p) -> Module`` builds that layer (default :class:`cnnlib.nn.Dropout`
        with a generator seeded by ``seed``), e.g. a layer made of the learner's functions.
    hidden : int, optional
        Units of the hidden dense layer instead of ``16 * width``.

    Returns
    -------
    model : cnnlib.nn.Sequential
        ``(N, 1, 28, 28)`` float32 images in, ``(N, 10)`` logits out.
    """
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
        raise ValueError(f"build_model: width must be a positive int, got {width!r}")
    c1, c2 = int(width), 2 * int(width)
    hidden = 16 * c1 if hidden is None else int(hidden)
    nn.manual_seed(seed)
    layers = [nn.Conv2d(1, c1, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
              nn.Conv2d(c1, c2, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
              nn.Linear(c2 * 7 * 7, hidden), nn.ReLU()]
    if dropout:
        make = dropout_layer or (lambda p: nn.Dropout(p, rng=np.random.default_rng(seed)))
        layers.append(make(dropout))
    layers.append(nn.Linear(hidden, 10))
    return nn.Sequential(*layers)


def expected_state():
    """``{name: (shape, dtype)}`` of the graded file: the keys of ``build_model().state_dict()``."""
    return {k: (v.shape, v.dtype.name) for k, v in build_model().state_dict().items()}


def save_model(model, path=MODEL_FILE):
    """Save ``model.state_dict()`` as an uncompressed ``.npz`` (one array per parameter).

    Returns
    -------
    pathlib.Path
        The file written (numpy adds ``.npz`` if ``path`` lacks it).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    np.savez(path, **model.state_dict())
    return path


def load_state(path=MODEL_FILE, expected=None):
    """Read a saved state_dict, refusing anything that is not exactly the lesson's arrays.

    Parameters
    ----------
    path : path-like
    expected : dict, optional
        ``{name: (shape, dtype)}``, default :func:`expected_state`.

    Returns
    -------
    dict of str -> ndarray
        float32 copies, one per expected name.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        One line saying what is wrong: not an ``.npz`` archive, too large, a missing or
        unexpected array, a wrong shape or dtype, or values that are not finite.
    """
    path = Path(path)
    expected = expected_state() if expected is None else expected
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found next to the notebook: run the full training and the save "
                                f"cell (without CNNLIB_FAST), then submit {path.name} with the notebook")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} has {size:,} bytes; a saved model of this lesson has about 0.4 MB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ValueError(f"{path.name} is not an .npz archive: save it with cnnlib.numpy_model.save_model(model)"
                         ) from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_FILE_BYTES:                      # a small compressed file that would unpack to a huge one
        raise ValueError(f"{path.name} unpacks to {unpacked:,} bytes; a saved model of this lesson has about 0.4 MB")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            missing = [k for k in expected if k not in names]
            unexpected = [k for k in names if k not in expected]
            if missing or unexpected:
                raise ValueError(f"{path.name} does not hold the lesson's arrays: missing {missing[:4]}, "
                                 f"unexpected {unexpected[:4]} (save the lesson's model with save_model)")
            arrays = {k: archive[k] for k in expected}
    except ValueError as exc:
        if "does not hold" in str(exc):
            raise
        raise ValueError(f"{path.name} could not be read as numpy arrays ({_short(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path.name} could not be read as numpy arrays ({type(exc).__name__})") from None
    state = {}
    for name, (shape, _dtype) in expected.items():
        value = arrays[name]
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{path.name}: array {name!r} has shape {tuple(value.shape)}, the lesson's model "
                             f"needs {tuple(shape)}")
        if value.dtype.name not in _FLOAT_DTYPES:
            raise ValueError(f"{path.name}: array {name!r} has dtype {value.dtype}, expected float32")
        if not np.isfinite(value).all():
            raise ValueError(f"{path.name}: array {name!r} contains NaN or infinity")
        state[name] = value.astype(np.float32)
    return state


def _short(exc, limit=120):
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load_model(path=MODEL_FILE):
    """:func:`build_model` with the weights of ``path`` (see :func:`load_state`), in eval mode."""
    model = build_model()
    model.load_state_dict(load_state(path))
    return model.eval()


def credit_thresholds(n=10000, low=None, high=None, steps=None):
    """The numbers of correct answers (out of ``n``) each credit step requires (see :data:`CREDIT`)."""
    low = CREDIT["low"] if low is None else low
    high = CREDIT["high"] if high is None else high
    steps = CREDIT["steps"] if steps is None else steps
    return [int(round(n * (low + (high - low) * k / steps))) for k in range(1, steps + 1)]


def model_credit(correct, n=10000, low=None, high=None, steps=None):
    """Share of the saved model's points: one step per ``(high - low) / steps`` of accuracy above ``low``.

    With :data:`CREDIT` (96 %, 98 %, 4 steps): a quarter per 0.5 percentage points above 96.0 %,
    everything at 98.0 % or more. Counted on integers, so exactly 9,800 of 10,000 is full credit.
    """
    thresholds = credit_thresholds(n, low, high, steps)
    return sum(int(correct) >= t for t in thresholds) / len(thresholds)


def measure_saved_model(path=MODEL_FILE, ds=None, batch_size=1000):
    """Load ``path`` into :func:`build_model` and count correct answers on the 10,000 MNIST test images.

    Never raises: the grade cell reports ``error`` instead of a traceback.

    Returns
    -------
    dict
        ``correct``, ``n`` (ints, 0 on failure), ``acc`` (fraction), ``error`` (None, or one line
        saying what was wrong with the file).
    """
    from .data import normalize, to_float_nchw
    from .train import predict

    result = {"correct": 0, "n": 0, "acc": 0.0, "error": None}
    try:
        model = load_model(path)
    except (FileNotFoundError, ValueError) as exc:
        result["error"] = str(exc)
        return result
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash the grade cell
        result["error"] = f"could not load {Path(path).name}: {type(exc).__name__}: {_short(exc)}"
        return result
    try:
        if ds is None:
            from .data import load_mnist
            ds = load_mnist(progress=False)
        x_test = normalize(to_float_nchw(ds.x_test))
        with np.errstate(all="ignore"):
            logits = predict(model, x_test, batch_size=batch_size)
        correct = int((logits.argmax(axis=1) == ds.y_test).sum())
    except Exception as exc:  # noqa: BLE001
        result["error"] = f"evaluating the model failed: {type(exc).__name__}: {_short(exc)}"
        return result
    n = len(ds.y_test)
    result.update(correct=correct, n=n, acc=correct / n)
    return result


# re-exports (after the definitions above: numpy_train imports build_model and RECIPE from here)
from .augment import augment, background_value, random_rotate, random_shift  # noqa: E402
from .numpy_train import train_one_epoch, train_recipe  # noqa: E402
