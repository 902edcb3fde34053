"""Benchmark: cnnlib's fast conv2d (forward + backward) against torch on CPU.

Layers are shaped like those of a small MNIST CNN (batch 64, float32,
'same' padding k // 2). Both sides use 2 threads: torch via
``torch.set_num_threads(2)``, numpy through its BLAS (OpenBLAS uses one thread
per core by default; set OPENBLAS_NUM_THREADS before starting Python to
change it). The goal is a ratio cnnlib / torch of at most 2.

Run ``python benchmarks/bench_conv.py`` or call :func:`run` from
``benchmarks/run_all.py``.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from cnnlib.functional import conv2d_backward, conv2d_forward  # noqa: E402

THREADS = 2
BATCH = 64
# (C, H=W, F, k)
LAYERS = [(1, 28, 16, 3), (1, 28, 32, 5), (16, 14, 32, 3), (16, 14, 32, 5)]
GOAL = 2.0


def _median_ms(fn, repeats):
    fn()  # warm-up: allocations, BLAS/oneDNN kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def run(repeats=20, seed=0, threads=THREADS):
    """Time forward+backward of each layer in cnnlib and in torch.

    Parameters
    ----------
    repeats : int, default 20
        Timed repetitions per layer and library; the median is reported.
    seed : int, default 0
    threads : int, default 2
        torch's thread count. numpy's BLAS picks its own at import time
        (``OPENBLAS_NUM_THREADS``, else one per core).

    Returns
    -------
    list of dict
        One per layer, keys ``layer``, ``cnnlib_ms``, ``torch_ms``, ``ratio``,
        ``threads``.
    """
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    cases = []
    for C, H, F, k in LAYERS:
        arrays = (rng.standard_normal((BATCH, C, H, H), dtype=np.float32),
                  rng.standard_normal((F, C, k, k), dtype=np.float32) * 0.1,
                  rng.standard_normal(F, dtype=np.float32),
                  rng.standard_normal((BATCH, F, H, H), dtype=np.float32))
        cases.append((f"N={BATCH} C={C} {H}x{H} F={F} k={k}", k // 2, arrays))

    def ours(pad, x, w, b, dout):
        _, cache = conv2d_forward(x, w, b, stride=1, padding=pad)
        conv2d_backward(dout, cache)

    def theirs(pad, x, w, b, dout):
        x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
        TF.conv2d(x, w, b, stride=1, padding=pad).backward(dout)

    # All cnnlib timings first, then all torch timings: torch's OpenMP
    # threads busy-wait after each call and OpenBLAS's threads do the same,
    # so interleaving the two libraries makes each steal the other's cores.
    ours_ms = [_median_ms(lambda: ours(pad, *arrays), repeats) for _, pad, arrays in cases]
    time.sleep(0.5)
    torch_ms = []
    for _, pad, arrays in cases:
        tensors = tuple(torch.from_numpy(a) for a in arrays)
        torch_ms.append(_median_ms(lambda: theirs(pad, *tensors), repeats))
    return [{"layer": name, "cnnlib_ms": o, "torch_ms": t, "ratio": o / t, "threads": threads}
            for (name, _, _), o, t in zip(cases, ours_ms, torch_ms)]


def format_table(rows):
    """Render the rows returned by :func:`run` as a text table."""
    lines = [f"{'layer':<30} | {'cnnlib ms':>9} | {'torch ms':>8} | {'ratio':>5}",
             "-" * 62]
    for r in rows:
        lines.append(f"{r['layer']:<30} | {r['cnnlib_ms']:9.2f} | {r['torch_ms']:8.2f} | "
                     f"{r['ratio']:5.2f}")
    worst = max(r["ratio"] for r in rows)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", f"{os.cpu_count()} (default)")
    lines.append(f"conv2d forward+backward, float32, median ms; torch threads {rows[0]['threads']}, "
                 f"numpy BLAS threads {blas}")
    lines.append(f"goal ratio <= {GOAL}: {'met' if worst <= GOAL else 'NOT met'} "
                 f"(worst {worst:.2f})")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(run()))
    sys.exit(0)
