"""The course's reference MNIST model: the capstone network, trained once by cnnlib's own code, cached.

Lessons that open up or reuse a trained CNN (Lesson 09 looks inside it, Lesson 10 transfers its
features) need one even when the learner has no ``mnist_cnn.pt`` of their own. No weights are
ever downloaded: :func:`load_reference_model` trains :class:`cnnlib.models.CapstoneNet` with the
capstone recipe of ``benchmarks/bench_capstone.py`` (seeded; about a minute on 2 cores, with a
progress bar) the first time, and caches the result in the user cache directory beside the
datasets (:func:`cnnlib.data.cache_dir`, i.e. ``$CNNLIB_CACHE_DIR`` or ``~/.cache/cnnlib``),
under ``models/``. Later calls load the file in milliseconds.

Two recipes, each with its own cache file:

* ``"full"``: 3 epochs over all 60,000 training images (AdamW, OneCycle, light augmentation),
  about 99.5 % test accuracy;
* ``"quick"``: 100 steps of 64 images (no augmentation), about 97 % in a few seconds, for fast
  mode (``CNNLIB_FAST=1``: tests, the autograder) and for graded checks that need *a* trained
  network.

The cache is written atomically (to a ``.part`` file, then :func:`os.replace`), so a crash or a
parallel process never leaves half a file under the real name. On loading, a file that cannot
be read, holds another recipe, has the wrong keys or shapes, non-finite numbers, or tensors
that no longer match the checksum stored with them is *rebuilt*, never used. A cache folder that
cannot be written (a read-only sandbox) only costs the retraining: the model is still returned.

Typical use::

    from cnnlib.reference_model import load_reference_model, pixel_model
    net = load_reference_model()          # CapstoneNet in eval mode, inputs standardized
    model = pixel_model(net)              # the same network on pixels in [0, 1]
"""
import hashlib
import os
import time
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from .data import MNIST_MEAN, MNIST_STD, cache_dir

__all__ = ["RECIPES", "FORMAT", "load_reference_model", "reference_info", "cache_path", "train_reference",
           "standardizer", "pixel_model", "open_capstone_model", "state_digest"]

FORMAT = "cnnlib.reference_model/1"

#: name -> training recipe (change a recipe => change its ``version``: old cache files are then rebuilt)
RECIPES = {
    "full": dict(version=1, seed=0, n_train=None, epochs=3, batch_size=128, lr=1e-2, weight_decay=1e-4,
                 augment=True, n_test=None),
    "quick": dict(version=1, seed=0, n_train=6400, epochs=1, batch_size=64, lr=1e-2, weight_decay=1e-4,
                  augment=False, n_test=2000, threads=1),
}

_memo = {}  # (recipe name, resolved path) -> (state_dict, info): a second load in the same process is free


def _recipe_name(quick):
    if quick is None:
        from . import fast_mode
        quick = fast_mode()
    return "quick" if quick else "full"


def _key(name):
    r = RECIPES[name]
    return f"capstone-{name}-v{r['version']}-seed{r['seed']}"


def cache_path(quick=None):
    """Where the reference model of a recipe is cached: ``<cache_dir>/models/<key>.pt``.

    Parameters
    ----------
    quick : bool, optional
        The quick recipe (default: in fast mode, ``CNNLIB_FAST=1``) or the full one.

    Returns
    -------
    pathlib.Path
    """
    return cache_dir() / "models" / f"{_key(_recipe_name(quick))}.pt"


def state_digest(state_dict):
    """sha256 over the names, shapes, dtypes and bytes of a state_dict's tensors (in key order).

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def train_reference(quick=None, progress=True):
    """Train the reference network from scratch with a recipe of :data:`RECIPES` (seeded).

    The global torch random state is left as it was (the seed is applied inside
    :func:`torch.random.fork_rng`).

    Parameters
    ----------
    quick : bool, optional
        The quick recipe (default: in fast mode) or the full one.
    progress : bool
        tqdm progress bars while training (one per epoch).

    Returns
    -------
    state_dict : OrderedDict of tensors
        Of a :class:`cnnlib.models.CapstoneNet`.
    info : dict
        ``recipe`` (name), ``key``, ``test_acc`` (fraction), ``n_test`` (test images measured),
        ``train_seconds`` (wall time of the training epochs), ``steps`` (optimizer steps),
        ``threads`` (torch threads used), ``torch`` (version).
    """
    from .data import load_mnist

    name = _recipe_name(quick)
    r = RECIPES[name]
    ds = load_mnist(progress=progress)
    threads = torch.get_num_threads()
    # Small batches gain nothing from a second thread, and lose a lot on a busy machine.
    torch.set_num_threads(min(threads, r.get("threads", threads)))
    try:
        state, info = _train(name, r, ds, progress)
    finally:
        torch.set_num_threads(threads)
    return state, info


def _train(name, r, ds, progress):
    from .models import CapstoneNet
    from .torch_data import mnist_loaders, random_affine
    from .torch_train import evaluate, fit, one_cycle

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(r["seed"])
        model = CapstoneNet()
        train_loader, test_loader = mnist_loaders(ds, batch_size=r["batch_size"], n_train=r["n_train"],
                                                  n_test=r["n_test"], seed=r["seed"])
        opt = torch.optim.AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
        sched = one_cycle(opt, r["lr"], r["epochs"], len(train_loader))
        transform = None
        if r["augment"]:
            gen = torch.Generator().manual_seed(r["seed"] + 1)
            transform = lambda x: random_affine(x, generator=gen)  # noqa: E731
        no_eval = lambda *a, **k: {"loss": float("nan"), "acc": float("nan")}  # noqa: E731 - test once, at the end
        history = fit(model, train_loader, [], opt, r["epochs"], scheduler=sched, transform=transform,
                      progress=progress, eval_fn=no_eval)
        test = evaluate(model, test_loader)
    info = {"recipe": name, "key": _key(name), "test_acc": float(test["acc"]), "n_test": int(test["n"]),
            "train_seconds": round(float(sum(history["seconds"])), 1), "steps": r["epochs"] * len(train_loader),
            "threads": torch.get_num_threads(), "torch": str(torch.__version__)}
    return OrderedDict((k, v.detach().clone()) for k, v in model.eval().state_dict().items()), info


def _check_file(path, name):
    """The (state_dict, info) stored in ``path`` if it is a sound cache file for recipe ``name``, else the reason."""
    from .models import CapstoneNet

    try:
        # weights_only: tensors and plain Python values only, never pickled code
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, garbage, or an old format: all rebuilt
        return None, f"it cannot be read ({type(exc).__name__})"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None, "it is not a cnnlib reference-model file"
    if data.get("key") != _key(name):
        return None, f"it holds the recipe {data.get('key')!r}, not {_key(name)!r}"
    state, info = data.get("state_dict"), data.get("info")
    if not isinstance(state, dict) or not isinstance(info, dict):
        return None, "it lacks the weights or their description"
    expected = CapstoneNet().state_dict()
    if list(state) != list(expected):
        return None, "its weights do not have the capstone network's names"
    for k, v in expected.items():
        if not torch.is_tensor(state[k]) or state[k].shape != v.shape or state[k].dtype != v.dtype:
            return None, f"{k} does not have the shape and dtype of the capstone network's"
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            return None, f"{k} holds NaN or infinite values"
    if data.get("digest") != state_digest(state):
        return None, "its weights do not match their checksum (the file is corrupt)"
    return (OrderedDict(state), info), None


def _write_atomically(path, obj):
    """torch.save into ``<path>.<pid>.part`` then os.replace: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        torch.save(obj, part)
        os.replace(part, path)
    finally:
        if part.exists():
            part.unlink()


def _state_and_info(quick, progress):
    name = _recipe_name(quick)
    path = cache_path(name == "quick")
    memo_key = (name, str(path.resolve()))
    if memo_key in _memo:
        return _memo[memo_key]
    found, why = (None, None)
    if path.is_file():
        found, why = _check_file(path, name)
        if found is None and progress:
            print(f"The cached reference model {path} is not usable ({why}): training it again.")
    if found is None:
        if progress:
            print(f"Training the course's reference model ({name} recipe) once; it is then cached in {path}.")
        start = time.perf_counter()
        state, info = train_reference(name == "quick", progress=progress)
        info["wall_seconds"] = round(time.perf_counter() - start, 1)
        try:
            _write_atomically(path, {"format": FORMAT, "key": _key(name), "state_dict": state,
                                     "digest": state_digest(state), "info": info})
        except OSError as exc:
            if progress:
                print(f"(could not cache it in {path.parent}: {type(exc).__name__}; it will be trained again "
                      "next time)")
        found = (state, info)
    _memo[memo_key] = found
    return found


def load_reference_model(progress=True, quick=None):
    """The course's reference CNN for MNIST, trained once and cached (see the module docstring).

    Parameters
    ----------
    progress : bool
        Say what happens and show progress bars if the model has to be trained.
    quick : bool, optional
        The quick recipe (~97 %, seconds) instead of the full one (~99.5 %, about a minute
        on 2 cores). Default: quick in fast mode (``CNNLIB_FAST=1``), full otherwise.

    Returns
    -------
    net : cnnlib.models.CapstoneNet
        A new model on every call (changing it changes nothing for the next caller), in eval
        mode. Its inputs are *standardized* images ``(N, 1, 28, 28)``, like the capstone's:
        ``(pixels - MNIST_MEAN) / MNIST_STD``; wrap it with :func:`pixel_model` to feed pixels
        in [0, 1]. Outputs: logits ``(N, 10)``.
    """
    from .models import CapstoneNet

    state, _ = _state_and_info(quick, progress)
    net = CapstoneNet()
    net.load_state_dict(state)
    return net.eval()


def reference_info(quick=None, progress=True):
    """How the reference model was made and how good it is (trains it first if needed).

    Returns
    -------
    dict
        ``recipe``, ``key``, ``test_acc`` (fraction of ``n_test`` test images, measured right
        after training), ``n_test``, ``train_seconds``, ``steps``, ``threads``, ``torch``, and
        ``path`` (the cache file).
    """
    _, info = _state_and_info(quick, progress)
    return dict(info, path=str(cache_path(quick)))


def standardizer(mean=MNIST_MEAN, std=MNIST_STD):
    """A frozen 1x1 convolution computing ``(x - mean) / std``: pixels in [0, 1] -> standardized inputs.

    A standard ``torch.nn.Conv2d(1, 1, 1)`` with weight ``1 / std`` and bias ``-mean / std``
    (``requires_grad=False``), so models built with it travel to the grader like any other.

    Returns
    -------
    torch.nn.Conv2d
    """
    conv = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0 / std)
        conv.bias.fill_(-mean / std)
    return conv.requires_grad_(False)


def pixel_model(net):
    """``net`` (which expects standardized images) as a model of pixels in [0, 1].

    Parameters
    ----------
    net : torch.nn.Module
        E.g. from :func:`load_reference_model`; shared, not copied.

    Returns
    -------
    torch.nn.Sequential
        ``standardize`` (:func:`standardizer`) then ``net``, in eval mode:
        ``(N, 1, 28, 28)`` pixels in [0, 1] -> ``(N, 10)`` logits.
    """
    return nn.Sequential(OrderedDict(standardize=standardizer(), net=net)).eval()


def open_capstone_model(path="mnist_cnn.pt", use_file=True, quick=None, progress=True):
    """The learner's capstone model if ``path`` holds one for CapstoneNet, else the reference model.

    Parameters
    ----------
    path : path-like
        The learner's saved ``state_dict`` (Lesson 08 writes ``mnist_cnn.pt`` next to its notebook).
    use_file : bool
        False: use the reference model without looking at ``path`` (e.g. while grading).
    quick, progress
        As in :func:`load_reference_model`.

    Returns
    -------
    net : cnnlib.models.CapstoneNet
        In eval mode, on standardized inputs.
    origin : str
        ``"yours"`` or ``"reference"``.
    message : str
        One or two sentences saying which model this is and why.
    """
    from .models import CapstoneNet
    from .torch_train import load_state_dict_file

    path = Path(path)
    reason = "grading mode" if not use_file else f"{path.name} was not found next to this notebook"
    if use_file and path.is_file():
        try:
            net = load_state_dict_file(CapstoneNet(), path)
            return net, "yours", f"Opened your capstone model {path.name} (loaded into cnnlib.models.CapstoneNet)."
        except (ValueError, RuntimeError) as exc:
            reason = f"{path.name} could not be loaded into the capstone's architecture ({exc})"
    net = load_reference_model(progress=progress, quick=quick)
    info = reference_info(quick, progress=False)
    message = (f"{reason}: using the course's reference model instead (cnnlib.models.CapstoneNet, "
               f"{info['recipe']} recipe, trained by cnnlib in {info['train_seconds']:.0f} s, "
               f"test accuracy {info['test_acc']:.2%} on {info['n_test']:,} test images).")
    return net, "reference", message
