"""Regenerate cnnlib/weights/lesson04_cnn.npz: the trained small CNN of Lesson 04.

Trains with cnnlib's own numpy engine (see cnnlib.weights.train_lesson04_cnn),
seeded, on the 60,000 MNIST training images, evaluates on the 10,000 test
images and writes the weights with that accuracy. One BLAS thread, so the run
is reproducible (about a minute on two cores).

Run:  CNNLIB_DATA_DIR=/path/to/data python scripts/make_lesson04_weights.py [--out FILE]
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy loads OpenBLAS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from cnnlib.data import load_mnist, to_float_nchw  # noqa: E402
from cnnlib.weights import (LESSON04_FILE, forward_stages, save_lesson04_cnn,  # noqa: E402
                            train_lesson04_cnn)

SETTINGS = dict(epochs=3, batch_size=64, lr=3e-3, lr_decay=0.5, seed=0)


def make(out=LESSON04_FILE, n_train=None, progress=False):
    """Train, evaluate and save; return the info dict written into the file."""
    ds = load_mnist(progress=False)
    x, y = to_float_nchw(ds.x_train), ds.y_train
    if n_train is not None:
        x, y = x[:n_train], y[:n_train]
    start = time.perf_counter()
    params, history = train_lesson04_cnn(x, y, progress=progress, **SETTINGS)
    seconds = time.perf_counter() - start
    x_test = to_float_nchw(ds.x_test)
    pred = np.concatenate([forward_stages(x_test[i:i + 1000], params)["logits"].argmax(1)
                           for i in range(0, len(x_test), 1000)])
    correct = int((pred == ds.y_test).sum())
    info = dict(SETTINGS, n_train=len(x), test_correct=correct, test_n=len(x_test),
                test_accuracy=correct / len(x_test), train_loss=[round(v, 4) for v in history.train_loss],
                num_params=int(sum(v.size for v in params.values())))
    save_lesson04_cnn(out, params, info)
    print(f"trained in {seconds:.0f} s; test accuracy {correct / len(x_test):.2%} "
          f"({correct} of {len(x_test)}); wrote {out} ({Path(out).stat().st_size / 1024:.0f} KiB)")
    return info


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(LESSON04_FILE), help="where to write the .npz")
    parser.add_argument("--n-train", type=int, default=None, help="train on the first N images only")
    args = parser.parse_args()
    make(args.out, args.n_train)
