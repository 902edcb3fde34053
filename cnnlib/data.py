"""MNIST and Fashion-MNIST as numpy arrays, verified against their official checksums.

Where the files come from, in order:

1. the ``root`` argument (a folder holding the four ``.gz`` files, or holding ``mnist/``
   and ``fashion-mnist/`` sub-folders);
2. the ``CNNLIB_DATA_DIR`` environment variable (a folder holding ``mnist/`` and
   ``fashion-mnist/``);
3. the user cache (``CNNLIB_CACHE_DIR``, default ``~/.cache/cnnlib``);
4. a download from the public mirrors into ``root`` if given, else the cache;
5. otherwise a ``FileNotFoundError`` that says exactly which files to put where.

A file is accepted when the md5 of the ``.gz`` equals the official value, or the sha256
of its uncompressed content does (repackaged copies, e.g. Debian's Fashion-MNIST, are
recompressed but hold the same bytes). Anything else is refused, naming the file and
both hashes.
"""
import gzip
import hashlib
import os
import zlib
from collections import namedtuple
from pathlib import Path

import numpy as np

from .download import download as _download
from .idx import parse_idx

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# name -> (sub-folder, mirrors, {file: (md5 of .gz, sha256 of uncompressed)})
DATASETS = {
    "mnist": ("mnist", (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ), dict(zip(_FILES, (
        ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("d53e105ee54ea40749a09fcbcd1e9432", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("9fb629c4189551a2d022fa330f9573f3", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        ("ec29112dd5afa0611ce80d1b7f02629c", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    )))),
    "fashion-mnist": ("fashion-mnist", (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ), dict(zip(_FILES, (
        ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        ("25c81989df183df01b3e8a0aad5dffbe", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        ("bef4ecab320f06d8554ea6380940ec79", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        ("bb300cfdad3c16e7a12a480ee83cd310", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    )))),
}


class IntegrityError(ValueError):
    """A data file is truncated, corrupt or does not match its official checksum."""


class Dataset(namedtuple("Dataset", "x_train y_train x_test y_test")):
    """Train and test arrays; unpack as ``x_train, y_train, x_test, y_test = ds``.

    ``x_*`` are uint8 ``(N, 28, 28)`` images (0 = background, 255 = ink), ``y_*`` are
    int64 ``(N,)`` labels 0-9. ``ds.source`` is the folder the files were read from and
    ``ds.origin`` says how it was found (``"root argument"``, ``"CNNLIB_DATA_DIR"``,
    ``"cache"`` or ``"download"``).
    """


def cache_dir():
    """The user cache folder for downloads: ``CNNLIB_CACHE_DIR`` or ``~/.cache/cnnlib``."""
    env = os.environ.get("CNNLIB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnnlib"


def _read_verified(path, md5, sha256):
    """Return the uncompressed bytes of ``path`` if it matches either checksum, else raise."""
    raw_gz = path.read_bytes()
    gz_md5 = hashlib.md5(raw_gz).hexdigest()
    try:
        content = gzip.decompress(raw_gz)
    except (OSError, EOFError, zlib.error) as exc:
        raise IntegrityError(
            f"{path}: not a complete gzip file ({exc}); md5 of the .gz is {gz_md5}, expected {md5}. "
            "Delete it and download it again."
        ) from None
    if gz_md5 == md5:
        return content
    content_sha = hashlib.sha256(content).hexdigest()
    if content_sha != sha256:
        raise IntegrityError(
            f"{path}: checksum mismatch: md5 of the .gz is {gz_md5} (expected {md5}) and sha256 of its "
            f"content is {content_sha} (expected {sha256}). The file is corrupt or not the official one."
        )
    return content


def _verify_message(md5, sha256):
    def verify(path):
        try:
            _read_verified(Path(path), md5, sha256)
        except IntegrityError as exc:
            return str(exc)
        return None
    return verify


def _candidates(sub, root):
    """Local folders to look in, in order, each with its origin label."""
    places = []
    if root is not None:
        root = Path(root).expanduser()
        places += [(root / sub, "root argument"), (root, "root argument")]
    env = os.environ.get("CNNLIB_DATA_DIR")
    if env:
        places.append((Path(env).expanduser() / sub, "CNNLIB_DATA_DIR"))
    places.append((cache_dir() / sub, "cache"))
    return places


def _missing_message(name, sub, root, failures):
    where = f"{Path(root).expanduser() / sub}" if root is not None else f"$CNNLIB_DATA_DIR/{sub} or {cache_dir() / sub}"
    lines = [f"{name}: the data files were not found and could not be downloaded.",
             f"Put these four files in {where}:"] + [f"  {f}" for f in _FILES]
    lines.append("(or set CNNLIB_DATA_DIR to a folder holding mnist/ and fashion-mnist/ sub-folders).")
    if failures:
        lines.append("Download attempts:")
        lines += failures
    return "\n".join(lines)


_memo = {}  # (resolved path, mtime, size) -> parsed array: a reload in the same process is free


def _file_key(path):
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def _load(name, root, download, progress):
    sub, mirrors, checksums = DATASETS[name]

    def fetch(f, dest):
        md5, sha = checksums[f]
        _download([m + f for m in mirrors], dest, _verify_message(md5, sha), progress=progress)

    for folder, origin in _candidates(sub, root):
        if all((folder / f).is_file() for f in _FILES):
            break
    else:
        if not download:
            raise FileNotFoundError(_missing_message(name, sub, root, []))
        folder = (Path(root).expanduser() / sub) if root is not None else cache_dir() / sub
        origin = "download"
        failures = []
        for f in _FILES:
            if (folder / f).is_file():
                continue
            try:
                fetch(f, folder / f)
            except OSError as exc:
                failures.append(f"  {exc}".replace("\n", "\n  "))
        if failures:
            raise FileNotFoundError(_missing_message(name, sub, root, failures))

    arrays = []
    for f in _FILES:
        path = folder / f
        key = _file_key(path)
        if key not in _memo:
            md5, sha = checksums[f]
            try:
                content = _read_verified(path, md5, sha)
            except IntegrityError:
                if origin not in ("cache", "download") or not download:
                    raise
                # A cached download went bad: fetch it once more, atomically replacing it.
                fetch(f, path)
                content = _read_verified(path, md5, sha)
                key = _file_key(path)
            _memo[key] = parse_idx(content, name=str(path), ndim=3 if "images" in f else 1)
        arrays.append(_memo[key])
    x_train, y_train, x_test, y_test = arrays
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise IntegrityError(f"{folder}: {split} images {x.shape} {x.dtype} do not match labels {y.shape}")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise IntegrityError(f"{folder}: {split} labels outside 0-9")
    ds = Dataset(x_train.copy(), y_train.astype(np.int64), x_test.copy(), y_test.astype(np.int64))
    ds.source, ds.origin = folder, origin
    return ds


def load_mnist(root=None, download=True, progress=True):
    """Load MNIST: 60,000 training and 10,000 test handwritten digits.

    Parameters
    ----------
    root : path-like, optional
        Folder to read from (and download into). See the module docstring for the order.
    download : bool
        Download from the public mirrors if no local copy is found.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    Dataset
        ``x_train : (60000, 28, 28) uint8``, ``y_train : (60000,) int64``,
        ``x_test : (10000, 28, 28) uint8``, ``y_test : (10000,) int64``.

    Raises
    ------
    FileNotFoundError
        No local copy and no download possible; the message lists the files and where to put them.
    IntegrityError
        A file is truncated, corrupt or mismatches its checksum (the message names the file and
        the expected and actual hashes).
    """
    return _load("mnist", root, download, progress)


def load_fashion_mnist(root=None, download=True, progress=True):
    """Load Fashion-MNIST (same shapes as :func:`load_mnist`; class names in ``FASHION_MNIST_CLASSES``)."""
    return _load("fashion-mnist", root, download, progress)


def to_float_nchw(x):
    """Turn uint8 images into float32 in [0, 1] with a channel axis.

    Parameters
    ----------
    x : (N, H, W) or (N, 1, H, W) uint8 ndarray

    Returns
    -------
    (N, 1, H, W) float32 ndarray
    """
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"to_float_nchw: expected uint8 images (0-255), got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    elif not (x.ndim == 4 and x.shape[1] == 1):
        raise ValueError(f"to_float_nchw: expected shape (N, H, W) or (N, 1, H, W), got {x.shape}")
    return x.astype(np.float32) / np.float32(255.0)


def normalize(x, mean=MNIST_MEAN, std=MNIST_STD):
    """Standardize float images: ``(x - mean) / std`` (defaults: MNIST's training statistics).

    Parameters
    ----------
    x : (N, 1, H, W) float ndarray
        Values in [0, 1], e.g. from :func:`to_float_nchw`.

    Returns
    -------
    ndarray of the same shape and dtype
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"normalize: expected float images in [0, 1] (use to_float_nchw first), got dtype {x.dtype}")
    if std <= 0:
        raise ValueError(f"normalize: std must be positive, got {std}")
    return ((x - mean) / std).astype(x.dtype, copy=False)
