"""Headline benchmark of the numpy engine: train a small CNN on the full MNIST.

Built only from ``cnnlib.nn`` layers, trained with ``cnnlib.optim.Adam`` through
``cnnlib.train.fit`` on all 60,000 training images for 5 epochs, evaluated on
the 10,000 test images. Target (issue 19): >= 99.0 % test accuracy within
45 s wall time (training + evaluation, data loading excluded) on an idle
2-core machine, in the configuration a student gets: no environment
variables, cnnlib's default thread count, numpy's BLAS at its default (the
engine holds it at one thread inside its own ops).

Run:  python benchmarks/bench_train_numpy.py
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

TARGET_ACC = 0.990
TARGET_SECONDS = 45.0


def build_model(seed=0, c1=8, c2=16, hidden=128):
    """conv(1->c1,3,p1)-pool-relu-conv(c1->c2,3,p1)-pool-relu-fc(hidden)-relu-fc(10).

    Max-pooling before ReLU computes exactly the same function and gradients
    as ReLU before pooling (both are monotone), on 4x fewer elements.
    """
    from cnnlib import nn
    nn.manual_seed(seed)
    layers = [nn.Conv2d(1, c1, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
              nn.Conv2d(c1, c2, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten()]
    if hidden:
        layers += [nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10)]
    else:
        layers += [nn.Linear(c2 * 7 * 7, 10)]
    return nn.Sequential(*layers)


def run(num_epochs=5, batch_size=64, lr=3e-3, lr_decay=0.5, seed=0, c1=8, c2=16, hidden=128,
        threads=None, progress=False, verbose=True):
    """Train and evaluate; return a dict of the figures.

    Parameters
    ----------
    num_epochs, batch_size : int
    lr : float
        Initial Adam learning rate, multiplied by ``lr_decay`` after every epoch.
    seed : int
        Seeds the weights and the shuffling.
    c1, c2, hidden : int
        Architecture widths (see :func:`build_model`).
    threads : int or None
        cnnlib's thread count during the run (restored afterwards); None: its default.

    Returns
    -------
    dict
        One table row: architecture, params, threads, per-epoch seconds, final
        train accuracy, test_acc, seconds (train + eval wall time), images_per_s
        (training images per second), load (1-minute load average at the start),
        passed.
    """
    from cnnlib import _threads
    with _threads.num_threads(threads):
        return _run(num_epochs, batch_size, lr, lr_decay, seed, c1, c2, hidden, progress, verbose)


def _run(num_epochs, batch_size, lr, lr_decay, seed, c1, c2, hidden, progress, verbose):
    from cnnlib._threads import get_num_threads
    from cnnlib.data import load_mnist, normalize, to_float_nchw
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, fit

    ds = load_mnist()
    x_train, x_test = normalize(to_float_nchw(ds.x_train)), normalize(to_float_nchw(ds.x_test))
    model = build_model(seed, c1, c2, hidden)
    params = model.num_parameters()
    say = print if verbose else (lambda *a, **k: None)
    say(model)
    say(f"parameters: {params:,}   train {x_train.shape} {x_train.dtype}, test {x_test.shape}")
    load = os.getloadavg()[0]
    say(f"cnnlib threads: {get_num_threads()}   load average: {load:.2f}")
    say(f"Adam lr={lr} x{lr_decay}/epoch, batch_size={batch_size}, epochs={num_epochs}, "
        f"seed={seed}")
    opt = Adam(model.parameters(), lr=lr)

    def on_epoch_end(epoch, history):
        say(f"epoch {epoch + 1}/{num_epochs}: {history.epoch_time[-1]:6.1f} s   "
            f"train loss {history.train_loss[-1]:.4f}   train acc {history.train_acc[-1]:.4f}   "
            f"lr {opt.param_groups[0]['lr']:.2e}")
        opt.param_groups[0]["lr"] *= lr_decay

    start = time.perf_counter()
    history = fit(model, x_train, ds.y_train, optimizer=opt, num_epochs=num_epochs,
                  batch_size=batch_size, seed=seed, callback=on_epoch_end, progress=progress)
    t_train = time.perf_counter() - start
    test_loss, test_acc = evaluate(model, x_test, ds.y_test, batch_size=1000)
    seconds = time.perf_counter() - start
    passed = test_acc >= TARGET_ACC and seconds <= TARGET_SECONDS
    images_per_s = num_epochs * len(x_train) / t_train
    say(f"train time {t_train:.1f} s ({images_per_s:,.0f} images/s), eval {seconds - t_train:.1f} s, "
        f"total wall {seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s)")
    say(f"test loss {test_loss:.4f}   test accuracy {100 * test_acc:.2f} % "
        f"(target >= {100 * TARGET_ACC:.1f} %)   {'PASS' if passed else 'FAIL'}")
    return {"benchmark": "numpy CNN, full MNIST", "architecture": _short_arch(c1, c2, hidden),
            "params": params, "threads": get_num_threads(), "load": round(load, 2),
            "epochs": num_epochs, "batch_size": batch_size,
            "epoch_s": "/".join(f"{t:.1f}" for t in history.epoch_time),
            "train_acc": round(history.train_acc[-1], 4), "test_acc": test_acc,
            "seconds": round(seconds, 1), "images_per_s": round(images_per_s),
            "target": f">={100 * TARGET_ACC:.1f}% in {TARGET_SECONDS:.0f}s", "passed": passed}


def _short_arch(c1, c2, hidden):
    head = f"fc{hidden}-relu-fc10" if hidden else "fc10"
    return f"conv{c1}-pool-relu-conv{c2}-pool-relu-{head}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--lr-decay", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--c1", type=int, default=8)
    p.add_argument("--c2", type=int, default=16)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--threads", type=int, default=None, help="cnnlib threads (default: its own)")
    p.add_argument("--progress", action="store_true")
    a = p.parse_args()
    run(a.epochs, a.batch_size, a.lr, a.lr_decay, a.seed, a.c1, a.c2, a.hidden,
        threads=a.threads, progress=a.progress)


if __name__ == "__main__":
    main()
