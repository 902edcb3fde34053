"""Benchmark: cnnlib's max-pool and linear layers (forward + backward) against torch on CPU.

The pooling and fully connected layers of the lesson-07 network
(conv8-pool-relu-conv16-pool-relu-fc128-fc10, batch 64, float32), measured
like :mod:`bench_conv`: one fresh process per thread setting, all cnnlib
cases then all torch cases, then the same on a busy machine. Goals:
cnnlib / torch <= 2, and on the busy machine cnnlib's default no slower
than one thread.

Run ``python benchmarks/bench_layers.py`` or through ``benchmarks/run_all.py``.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_conv  # noqa: E402  (also puts the repository on sys.path)

BATCH = bench_conv.BATCH
POOLS = [(8, 28), (16, 14)]          # (C, H=W) of the inputs to MaxPool2d(2)
LINEARS = [(16 * 7 * 7, 128), (128, 10)]


def cases(seed=0):
    """(name, cnnlib fn, torch fn) per layer: forward + backward on fixed random data."""
    import torch
    import torch.nn.functional as TF

    import cnnlib.functional as F

    rng = np.random.default_rng(seed)
    out = []
    for C, H in POOLS:
        x = rng.standard_normal((BATCH, C, H, H), dtype=np.float32)
        dout = rng.standard_normal((BATCH, C, H // 2, H // 2), dtype=np.float32)
        tx, tdout = torch.from_numpy(x), torch.from_numpy(dout)

        def ours(x=x, dout=dout):
            _, cache = F.max_pool2d_forward(x, 2)
            F.max_pool2d_backward(dout, cache)

        def theirs(x=tx, dout=tdout):
            x = x.detach().requires_grad_()
            TF.max_pool2d(x, 2).backward(dout)

        out.append((f"max_pool2d 2x2 N={BATCH} C={C} {H}x{H}", ours, theirs))
    for fin, fout in LINEARS:
        x = rng.standard_normal((BATCH, fin), dtype=np.float32)
        w = rng.standard_normal((fout, fin), dtype=np.float32) * 0.05
        b = rng.standard_normal(fout, dtype=np.float32)
        dout = rng.standard_normal((BATCH, fout), dtype=np.float32)
        tx, tw, tb, tdout = (torch.from_numpy(a) for a in (x, w, b, dout))

        def ours(x=x, w=w, b=b, dout=dout):
            _, cache = F.linear_forward(x, w, b)
            F.linear_backward(dout, cache)

        def theirs(x=tx, w=tw, b=tb, dout=tdout):
            x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
            TF.linear(x, w, b).backward(dout)

        out.append((f"linear N={BATCH} {fin}->{fout}", ours, theirs))
    return out


def run(repeats=50, threads=bench_conv.THREADS, busy=True):
    """Time forward+backward of each layer at each thread setting, then on a busy machine.

    Parameters
    ----------
    repeats : int, default 50
    threads : sequence of int, default (1, 2)
    busy : bool, default True
        Also the busy-machine rows (one spinning process per core).

    Returns
    -------
    list of dict
        Rows as in :func:`bench_conv.run`.
    """
    script = os.path.abspath(__file__)
    rows = []
    for t in threads:
        rows += bench_conv.in_child(script, "idle", t, repeats)
    if busy:
        with bench_conv.busy_machine():
            rows += bench_conv.in_child(script, "busy", 0, repeats)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, threads, repeats = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        rows = (bench_conv.idle_rows(cases(), threads, repeats) if mode == "idle"
                else bench_conv.busy_rows(cases(), repeats))
        print(json.dumps(rows))
    else:
        print(bench_conv.format_table(run()))
