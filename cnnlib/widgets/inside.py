"""Lesson 09's toolkit for looking inside a trained CNN: the reference methods its widgets and cells use.

Every function is pure (no widgets, no drawing) and works on any ``torch.nn.Module`` classifier
``(N, C, H, W) -> (N, K)`` logits; the lesson's models take pixels in [0, 1]
(:func:`cnnlib.reference_model.pixel_model`). Models are switched to eval mode and their
parameters' ``.grad`` are never touched (gradients are taken with :func:`torch.autograd.grad`
with respect to a copy of the input only).

* filters: :func:`normalize_filters`, :func:`kernel_similarity`;
* feature maps: :func:`stages`, :func:`receptive_fields`, :func:`layer_outputs`, :func:`channel_scores`,
  :func:`top_images`, :func:`class_purity`;
* attributions: :func:`input_gradient`, :func:`saliency_map`, :func:`smoothgrad`, :func:`occlusion_map`,
  :func:`upsample_occlusion`;
* what the network "wants": :func:`maximize_input`;
* adversarial examples: :func:`fgsm`, :func:`input_gradient_sign`, :func:`attack_table`;
* the learned representation: :func:`penultimate_features`, :func:`pca_fit`, :func:`pca_project`,
  :func:`pca_2d`, :func:`centroid_accuracy`.
"""
import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["one_thread", "normalize_filters", "kernel_similarity", "stages", "receptive_fields", "layer_outputs",
           "channel_scores", "top_images", "class_purity", "probabilities", "input_gradient", "saliency_map",
           "smoothgrad", "occlusion_size", "occlusion_map", "upsample_occlusion", "maximize_input",
           "input_gradient_sign", "fgsm", "attack_table", "penultimate_features", "pca_fit", "pca_project", "pca_2d",
           "centroid_accuracy"]


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block (restored after).

    Small batches (one image, ten images) gain nothing from a second thread, and on a busy
    machine two threads waiting for each other were measured up to 7x slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- filters -------------------------------------------------------------------------------------
def normalize_filters(w):
    """Scale each filter into [0, 1] for display, keeping 0 at 0.5 (grey) so the sign stays readable.

    ``out[f] = 0.5 + 0.5 * w[f] / max|w[f]|`` (the maximum over that filter's channels and
    positions); an all-zero filter becomes 0.5 everywhere.

    Parameters
    ----------
    w : (F, C, KH, KW) array_like
        A bank of filters (e.g. a conv layer's ``weight.detach().numpy()``).

    Returns
    -------
    (F, C, KH, KW) ndarray of float64
        Values in [0, 1]; the largest |weight| of each filter maps to 0 or 1.

    Raises
    ------
    ValueError
        ``w`` is not 4-D.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"normalize_filters: expected filters of shape (F, C, KH, KW), got shape {w.shape}")
    scale = np.abs(w).max(axis=(1, 2, 3), keepdims=True)
    return 0.5 + 0.5 * np.divide(w, scale, out=np.zeros_like(w), where=scale > 0)


def kernel_similarity(filters, kernels):
    """Cosine similarity between every 2-D filter and every named kernel of the same size.

    Parameters
    ----------
    filters : (F, KH, KW) array_like
    kernels : dict of str -> (KH, KW) array_like

    Returns
    -------
    (F, len(kernels)) ndarray of float64
        ``cos(f, k) = <f, k> / (|f| |k|)`` in [-1, 1]; -1 means "the negative of k". 0 for a zero filter.
    """
    f = np.asarray(filters, dtype=np.float64).reshape(len(filters), -1)
    k = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in kernels.values()])
    if f.shape[1] != k.shape[1]:
        raise ValueError(f"kernel_similarity: filters have {f.shape[1]} weights, kernels {k.shape[1]}")
    fn = np.linalg.norm(f, axis=1, keepdims=True)
    kn = np.linalg.norm(k, axis=1, keepdims=True)
    return np.divide(f, fn, out=np.zeros_like(f), where=fn > 0) @ (k / kn).T


# --- feature maps --------------------------------------------------------------------------------
def stages(model):
    """The layers whose outputs are the model's feature maps: every ReLU (``conv1, conv2, ...``) and max-pool.

    Parameters
    ----------
    model : torch.nn.Module
        E.g. a CapstoneNet (conv-BN-ReLU blocks), possibly inside :func:`pixel_model`.

    Returns
    -------
    list of (str, torch.nn.Module)
        ``[("conv1", relu), ("pool1", maxpool), ("conv2", relu), ...]`` in registration order
        (for sequential models, the order they run in).
    """
    out, n_conv, n_pool = [], 0, 0
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            n_conv += 1
            out.append((f"conv{n_conv}", module))
        elif isinstance(module, nn.MaxPool2d):
            n_pool += 1
            out.append((f"pool{n_pool}", module))
    return out


@contextlib.contextmanager
def _capture(model, names=None):
    """Forward hooks that keep a copy of the chosen stages' outputs in a dict."""
    seen, handles = {}, []
    for name, module in stages(model):
        if names is None or name in names:
            handles.append(module.register_forward_hook(
                lambda _m, _i, out, name=name: seen.__setitem__(name, out.detach().clone())))
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def receptive_fields(model):
    """Receptive-field size of one value of every stage's feature map, in input pixels (one axis).

    Walks the model's ``Conv2d`` and ``MaxPool2d`` layers in registration order with
    :func:`cnnlib.receptive.receptive_field` (square kernels and strides assumed).

    Returns
    -------
    dict of str -> int
        Stage name (:func:`stages`) -> size, e.g. ``{"conv1": 3, "pool1": 4, ...}``.
    """
    from cnnlib.receptive import receptive_field

    layers, out, names = [], {}, dict((id(m), n) for n, m in stages(model))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            k, s = module.kernel_size, module.stride
            layers.append((k[0] if isinstance(k, tuple) else k, s[0] if isinstance(s, tuple) else s))
        if id(module) in names:
            out[names[id(module)]] = receptive_field(layers)[0]
    return out


def layer_outputs(model, x):
    """Feature maps of every stage (:func:`stages`) for a batch, in eval mode, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor

    Returns
    -------
    dict of str -> (N, C_l, H_l, W_l) tensor
        In the order the stages ran, e.g. ``conv1 (N, 16, 28, 28)`` ... ``pool3 (N, 64, 3, 3)``
        for a CapstoneNet; plus ``"logits" (N, K)``.
    """
    model.eval()
    with torch.no_grad(), _capture(model) as seen:
        logits = model(torch.as_tensor(x))
    return dict(seen, logits=logits)


def channel_scores(model, x, batch_size=500):
    """How strongly each channel of each stage responds to each image: the maximum of its feature map.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor
    batch_size : int

    Returns
    -------
    dict of str -> (N, C_l) ndarray of float32
        ``scores[stage][n, c] = max over positions of feature map c of image n``.
    """
    parts = {}
    for start in range(0, len(x), batch_size):
        outs = layer_outputs(model, x[start:start + batch_size])
        for name, value in outs.items():
            if name != "logits":
                parts.setdefault(name, []).append(value.amax(dim=(2, 3)).numpy())
    return {name: np.concatenate(v) for name, v in parts.items()}


def top_images(scores, channel, k=8):
    """Indices of the ``k`` images with the highest scores for one channel, best first.

    Parameters
    ----------
    scores : (N, C) array_like
        One stage of :func:`channel_scores`.
    channel : int
    k : int

    Returns
    -------
    (k,) ndarray of int
    """
    s = np.asarray(scores)[:, int(channel)]
    return np.argsort(-s, kind="stable")[:k]


def class_purity(scores, labels, k=50):
    """For each channel, the share of its ``k`` top images that belong to their most common class.

    1.0: the channel's strongest responses all come from one digit (a class detector);
    about 0.1: it responds to all digits alike (a generic stroke detector).

    Parameters
    ----------
    scores : (N, C) array_like
    labels : (N,) array_like of int
    k : int

    Returns
    -------
    purity : (C,) ndarray of float64
    top_class : (C,) ndarray of int
        The most common class among each channel's top images.
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    top = np.argsort(-scores, axis=0, kind="stable")[:k]           # (k, C)
    counts = np.stack([np.bincount(labels[top[:, c]], minlength=10) for c in range(scores.shape[1])])
    return counts.max(axis=1) / float(k), counts.argmax(axis=1)


# --- attributions --------------------------------------------------------------------------------
def probabilities(model, x, batch_size=1000):
    """Softmax probabilities of a batch, in eval mode, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor
    batch_size : int
        Images per forward pass (memory stays bounded for the whole test set).

    Returns
    -------
    (N, K) tensor
    """
    x = torch.as_tensor(x)
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(x[i:i + batch_size]), dim=1) for i in range(0, len(x), batch_size)])


def _targets(target, n):
    t = torch.as_tensor(target).reshape(-1).long()
    if t.numel() == 1:
        return t.expand(n)
    if t.numel() != n:
        raise ValueError(f"expected one target or {n} targets, got {t.numel()}")
    return t


def input_gradient(model, x, target):
    """The signed gradient d logit[target] / d x, in eval mode, for every image of a batch.

    Parameters
    ----------
    model : torch.nn.Module
        Switched to eval mode; its parameters' ``.grad`` are left untouched.
    x : (N, C, H, W) float tensor
        Not modified.
    target : int or (N,) ints
        The class whose logit is differentiated, one for all images or one per image.

    Returns
    -------
    (N, C, H, W) tensor
        Same dtype as ``x``, no autograd history.
    """
    x = torch.as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    t = _targets(target, x.shape[0])
    model.eval()
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        score = model(xg).gather(1, t.view(-1, 1)).sum()   # images are independent in eval mode
        (grad,) = torch.autograd.grad(score, xg)
    return grad


def saliency_map(model, x, target):
    """Saliency: |d logit[target] / d x|, maximised over the input channels.

    Parameters
    ----------
    model : torch.nn.Module
        Switched to eval mode; its parameters' ``.grad`` are left untouched.
    x : (N, C, H, W) float tensor
        Not modified.
    target : int or (N,) ints
        The class whose logit is explained, one for all images or one per image.

    Returns
    -------
    (N, H, W) tensor
        Same dtype as ``x``, no autograd history.
    """
    return input_gradient(model, x, target).abs().amax(dim=1)


def smoothgrad(model, x, target, n=50, sigma=0.1, seed=0):
    """SmoothGrad: the gradient averaged over ``n`` noisy copies ``x + N(0, sigma^2)``, then |.| and max over channels.

    The *signed* gradients are averaged (Smilkov et al., 2017): where they flip sign from copy to
    copy they cancel, what is consistent in the neighbourhood of ``x`` stays.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor
    target : int or (N,) ints
    n : int
        Noisy copies per image (all in one batch of ``N * n``).
    sigma : float
        Standard deviation of the noise, in pixel units.
    seed : int

    Returns
    -------
    (N, H, W) tensor
    """
    x = torch.as_tensor(x)
    N, C, H, W = x.shape
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn((N, n, C, H, W), generator=gen, dtype=x.dtype) * sigma
    noisy = (x.unsqueeze(1) + noise).reshape(N * n, C, H, W)
    grads = input_gradient(model, noisy, _targets(target, N).repeat_interleave(n))
    return grads.reshape(N, n, C, H, W).mean(dim=1).abs().amax(dim=1)


def occlusion_size(H, W, patch, stride):
    """Output shape of an occlusion map: ``((H - patch) // stride + 1, (W - patch) // stride + 1)``."""
    if not (isinstance(patch, (int, np.integer)) and isinstance(stride, (int, np.integer))):
        raise ValueError(f"patch and stride must be ints, got {patch!r} and {stride!r}")
    if stride < 1 or patch < 1 or patch > H or patch > W:
        raise ValueError(f"need 1 <= patch <= min(H, W) = {min(H, W)} and stride >= 1, got patch {patch}, "
                         f"stride {stride}")
    return (H - patch) // stride + 1, (W - patch) // stride + 1


def occlusion_map(model, x, target, patch, stride, fill=0.5, batch_size=256):
    """Occlusion sensitivity: how much p(target) drops when a ``patch x patch`` square is set to ``fill``.

    Parameters
    ----------
    model : torch.nn.Module
        Switched to eval mode.
    x : (1, C, H, W) float tensor
        One image (not modified).
    target : int
    patch, stride : int
        The square's side and step; patches start at rows and columns ``0, stride, 2*stride, ...``
        while they fit inside the image.
    fill : float
        The value of the occluding square on every channel (0.5: grey).

    Returns
    -------
    (OH, OW) tensor
        ``drop[i, j] = p(target | x) - p(target | x with the square at (i*stride, j*stride))``,
        ``OH = (H - patch) // stride + 1`` (likewise OW); same dtype as ``x``.
    """
    x = torch.as_tensor(x)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"occlusion_map: expected one image of shape (1, C, H, W), got {tuple(x.shape)}")
    _, C, H, W = x.shape
    OH, OW = occlusion_size(H, W, patch, stride)
    base = probabilities(model, x)[0, int(target)]
    corners = [(i * stride, j * stride) for i in range(OH) for j in range(OW)]
    drops = []
    for start in range(0, len(corners), batch_size):
        chunk = corners[start:start + batch_size]
        batch = x.detach().repeat(len(chunk), 1, 1, 1)
        for k, (r, c) in enumerate(chunk):
            batch[k, :, r:r + patch, c:c + patch] = fill
        drops.append(base - probabilities(model, batch)[:, int(target)])
    return torch.cat(drops).reshape(OH, OW)


def upsample_occlusion(drop, patch, stride, H, W):
    """Spread an occlusion map back over the image: each pixel gets the mean drop of the squares covering it.

    Parameters
    ----------
    drop : (OH, OW) array_like
    patch, stride : int
    H, W : int

    Returns
    -------
    (H, W) ndarray of float64
        NaN where no square covered the pixel (the last rows/columns when ``stride`` does not
        divide ``H - patch``).
    """
    drop = np.asarray(drop, dtype=np.float64)
    total, count = np.zeros((H, W)), np.zeros((H, W))
    for i in range(drop.shape[0]):
        for j in range(drop.shape[1]):
            r, c = i * stride, j * stride
            total[r:r + patch, c:c + patch] += drop[i, j]
            count[r:r + patch, c:c + patch] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# --- what the network "wants" ----------------------------------------------------------------------
def _blur(x):
    k = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype) / 4
    kernel = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])


def maximize_input(model, targets, stage=None, steps=150, lr=0.1, l2=0.1, blur_every=0, start=0.12,
                   shape=(1, 28, 28), seed=0):
    """Activation maximisation: optimise images so that each excites one class (or one channel) most.

    The images are ``x = sigmoid(u)`` (pixels stay in [0, 1]); Adam maximises
    ``score(x) - l2 * sum(x**2)``, where ``score`` is the logit of class ``targets[i]`` or, with
    ``stage``, the mean of channel ``targets[i]`` of that stage's feature map. ``blur_every > 0``
    blurs the images every that many steps (a second simple regulariser against high-frequency noise).
    The images start at ``start`` (0.12: almost no ink; 0.5: grey) plus a little seeded noise.

    Parameters
    ----------
    model : torch.nn.Module
    targets : sequence of int
        One image per target.
    stage : str, optional
        A stage name of :func:`stages` (e.g. ``"conv4"``); default: the output logits.
    steps, lr, l2, blur_every, start, seed
        See above.
    shape : tuple
        ``(C, H, W)`` of an input image.

    Returns
    -------
    images : (len(targets), C, H, W) tensor
        Pixels in [0, 1].
    scores : (len(targets),) ndarray of float64
        The final score of each image (logit or mean channel activation).
    """
    model.eval()
    t = torch.as_tensor(list(targets)).long()
    gen = torch.Generator().manual_seed(int(seed))
    u0 = float(np.log(start / (1 - start)))                 # sigmoid(u0) = start
    u = (torch.randn((len(t),) + tuple(shape), generator=gen) * 0.1 + u0).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=lr)
    names = None if stage is None else {stage}
    if stage is not None and stage not in dict(stages(model)):
        raise ValueError(f"maximize_input: unknown stage {stage!r}; choose from {[n for n, _ in stages(model)]}")

    def score(x):
        with _live_capture(model, names) as seen:
            logits = model(x)
        if stage is None:
            return logits.gather(1, t.view(-1, 1))[:, 0]
        return seen[stage][torch.arange(len(t)), t].mean(dim=(1, 2))

    with torch.enable_grad(), one_thread():
        for step in range(steps):
            x = torch.sigmoid(u)
            objective = score(x) - l2 * (x ** 2).sum(dim=(1, 2, 3))
            (grad,) = torch.autograd.grad(objective.sum(), u)
            u.grad = -grad                                  # Adam minimises: ascend the objective
            opt.step()
            if blur_every and (step + 1) % blur_every == 0:
                with torch.no_grad():
                    u.copy_(torch.logit(_blur(torch.sigmoid(u)).clamp(1e-4, 1 - 1e-4)))
        with torch.no_grad():
            x = torch.sigmoid(u)
            final = score(x)
    return x.detach(), final.detach().numpy().astype(np.float64)


@contextlib.contextmanager
def _live_capture(model, names):
    """Like :func:`_capture` but keeps the outputs attached to the graph (for gradients)."""
    seen, handles = {}, []
    if names:
        for name, module in stages(model):
            if name in names:
                handles.append(module.register_forward_hook(
                    lambda _m, _i, out, name=name: seen.__setitem__(name, out)))
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


# --- adversarial examples ------------------------------------------------------------------------
def input_gradient_sign(model, x, y):
    """``sign(d CE(model(x), y) / d x)`` in eval mode (the direction FGSM steps in), shape of ``x``."""
    model.eval()
    xg = torch.as_tensor(x).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(xg), torch.as_tensor(y).long())
        (grad,) = torch.autograd.grad(loss, xg)
    return grad.sign()


def fgsm(model, x, y, eps):
    """Fast Gradient Sign Method: ``clip(x + eps * sign(d CE / d x), 0, 1)``.

    Parameters
    ----------
    model : torch.nn.Module
        Switched to eval mode; parameters' ``.grad`` untouched.
    x : (N, C, H, W) float tensor
        Pixels in [0, 1] (not modified).
    y : (N,) int tensor
        The true labels.
    eps : float >= 0
        The largest change of any pixel.

    Returns
    -------
    (N, C, H, W) tensor
        Adversarial images in [0, 1], no autograd history.
    """
    if not eps >= 0:
        raise ValueError(f"fgsm: eps must be >= 0, got {eps!r}")
    x = torch.as_tensor(x)
    return (x.detach() + eps * input_gradient_sign(model, x, y)).clamp(0.0, 1.0)


def attack_table(model, x, y, eps_values, attack=None, batch_size=500, seed=0):
    """Accuracy against eps: FGSM, and random signs of the same size as a control.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor
        Pixels in [0, 1].
    y : (N,) int tensor
    eps_values : sequence of float
    attack : callable, optional
        ``attack(model, x, y, eps)`` (e.g. the learner's ``fgsm``); default: the gradient sign
        is computed once per image and reused for every eps (the same images as :func:`fgsm`).
    seed : int
        For the random signs.

    Returns
    -------
    list of dict
        One row per eps: ``eps``, ``fgsm_acc``, ``noise_acc`` (fractions of the N images).
    """
    x, y = torch.as_tensor(x), torch.as_tensor(y).long()
    gen = torch.Generator().manual_seed(int(seed))
    signs = None
    if attack is None:
        signs = torch.cat([input_gradient_sign(model, x[i:i + batch_size], y[i:i + batch_size])
                           for i in range(0, len(x), batch_size)])
    noise = torch.randint(0, 2, x.shape, generator=gen).to(x.dtype) * 2 - 1

    def accuracy(images):
        right = 0
        for i in range(0, len(images), batch_size):
            right += int((probabilities(model, images[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
        return right / len(y)

    rows = []
    for eps in eps_values:
        if signs is not None:
            adv = (x + eps * signs).clamp(0.0, 1.0)
        else:
            adv = torch.cat([torch.as_tensor(attack(model, x[i:i + batch_size], y[i:i + batch_size], eps))
                             for i in range(0, len(x), batch_size)])
        rows.append({"eps": float(eps), "fgsm_acc": accuracy(adv),
                     "noise_acc": accuracy((x + eps * noise).clamp(0.0, 1.0))})
    return rows


# --- the learned representation -------------------------------------------------------------------
def penultimate_features(model, x, batch_size=1000, logits=False):
    """The input of the model's last ``nn.Linear`` layer: the features the classifier separates.

    Parameters
    ----------
    model : torch.nn.Module
    x : (N, C, H, W) tensor
    batch_size : int
    logits : bool
        Also return the model's output for the same forward passes.

    Returns
    -------
    features : (N, D) ndarray of float32
        For a CapstoneNet, ``D = 576`` (64 channels x 3 x 3, flattened).
    logits : (N, K) tensor
        Only with ``logits=True``.
    """
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    seen, outputs = [], []
    handle = last.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].detach().clone()))
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                outputs.append(model(torch.as_tensor(x[i:i + batch_size])))
    finally:
        handle.remove()
    features = torch.cat(seen).numpy()
    return (features, torch.cat(outputs)) if logits else features


def pca_fit(features, k=2):
    """Principal components of features (numpy only): the eigenvectors of their covariance matrix.

    Parameters
    ----------
    features : (N, D) array_like
    k : int
        How many components to keep.

    Returns
    -------
    mean : (D,) ndarray of float64
    components : (D, k) ndarray of float64
        Orthonormal columns, largest variance first, each oriented so that its largest
        loading is positive (a reproducible picture).
    explained : (k,) ndarray of float64
        Share of the total variance each component explains.
    """
    X = np.asarray(features, dtype=np.float64)
    mean = X.mean(axis=0)
    X = X - mean
    cov = X.T @ X / max(len(X) - 1, 1)
    values, vectors = np.linalg.eigh(cov)              # ascending
    order = np.argsort(values)[::-1][:k]
    top = vectors[:, order]
    top = top * np.sign(top[np.abs(top).argmax(axis=0), np.arange(len(order))])
    total = values.sum()
    return mean, top, values[order] / (total if total > 0 else 1.0)


def pca_project(features, mean, components):
    """Coordinates ``(features - mean) @ components`` (:func:`pca_fit`), shape ``(N, k)``."""
    return (np.asarray(features, dtype=np.float64) - mean) @ components


def pca_2d(features):
    """Project features onto their two principal components.

    Returns
    -------
    z : (N, 2) ndarray of float64
    explained : (2,) ndarray of float64
        Share of the total variance each direction explains.
    """
    mean, components, explained = pca_fit(features, 2)
    return pca_project(features, mean, components), explained


def centroid_accuracy(z, labels):
    """Share of points whose nearest class centroid (in ``z``'s space) is their own class's.

    A rough measure of how well the classes separate in a projection.
    """
    z, labels = np.asarray(z, dtype=np.float64), np.asarray(labels)
    classes = np.unique(labels)
    centroids = np.stack([z[labels == c].mean(axis=0) for c in classes])
    nearest = classes[np.argmin(((z[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)]
    return float((nearest == labels).mean())
