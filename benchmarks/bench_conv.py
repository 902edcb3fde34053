"""Benchmark: cnnlib's conv2d (forward + backward) against torch on CPU.

Layers shaped like those of a small MNIST CNN (batch 64, float32, 'same'
padding k // 2). Goal: cnnlib / torch <= 2 at 1 and at 2 threads on an idle
machine, and on a busy machine cnnlib's default configuration no slower than
one thread.

* Idle rows: for each thread setting a fresh Python process calls
  ``cnnlib.set_num_threads(t)`` and ``torch.set_num_threads(t)`` and times
  each layer in alternating blocks, cnnlib then torch, ROUNDS times, with a
  pause after each block (after a call, a library's idle threads spin for a
  while and would steal the other's cores). The host's speed drifts by up to
  2x from minute to minute; alternating exposes both libraries to the same
  drift. numpy's BLAS keeps its default thread count: cnnlib holds it at one
  thread inside its own ops.
* Busy rows: the same, while one pure-Python busy loop per core competes
  (a browser and JupyterLab on a student's laptop). cnnlib's default is
  compared with 1 thread; for reference also with the engine before issue
  19 (numpy's BLAS left at its default thread count) and with torch.

The ``load`` column is the highest 1-minute load average seen by the row's
process: idle-row figures taken with a load well above 0 are not reliable.
At one thread the ``cpu`` column gives the ratio of CPU times, which another
busy process disturbs much less than wall times. Run ``python benchmarks/bench_conv.py`` or through
``benchmarks/run_all.py``.
"""
import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

BATCH = 64
# (C, H=W, F, k)
LAYERS = [(1, 28, 16, 3), (1, 28, 32, 5), (16, 14, 32, 3), (16, 14, 32, 5)]
BUSY_LAYERS = [(16, 14, 32, 3), (16, 14, 32, 5)]
THREADS = (1, 2)
GOAL = 2.0
# Busy machine: default / 1 thread. Margin above 1 for noise: there, the very
# same setting alternating with itself measured 0.95 to 1.04.
BUSY_GOAL = 1.1
# Calls of each setting on the busy machine, and the least time they take
# (s): the scheduler's time slices (milliseconds) make single calls vary 4x
# there; with 60 calls the ratio of medians moved between 0.8 and 1.2 from
# run to run, and for a 1 ms layer 200 calls (0.4 s) were still too few.
BUSY_ROUNDS, BUSY_SECONDS = 200, 3.0
# Idle rows: blocks per library, alternating, and the pause after each block (s).
ROUNDS, PAUSE = 5, 0.2


def median_ms(fn, repeats):
    """Median wall time of `fn()` in ms, after two warm-up calls."""
    fn()
    fn()  # warm-up: allocations, BLAS/oneDNN kernel selection, thread start-up
    return 1e3 * float(np.median(_times(fn, repeats)[0]))


def _times(fn, repeats):
    """Wall and calling-thread CPU times (s) of `repeats` calls of `fn`.

    At one thread the CPU time is all the work, and another process taking
    turns on the core inflates it much less than the wall time.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.thread_time() - start_cpu)
    return walls, cpus


def layer_name(C, H, F, k):
    return f"conv N={BATCH} C={C} {H}x{H} F={F} k={k}"


def conv_cases(layers, seed):
    """(name, cnnlib fn, torch fn) per layer: forward + backward on fixed random data."""
    import torch
    import torch.nn.functional as TF

    from cnnlib.functional import conv2d_backward, conv2d_forward

    rng = np.random.default_rng(seed)
    cases = []
    for C, H, F, k in layers:
        x, w, b, dout = (rng.standard_normal((BATCH, C, H, H), dtype=np.float32),
                         rng.standard_normal((F, C, k, k), dtype=np.float32) * 0.1,
                         rng.standard_normal(F, dtype=np.float32),
                         rng.standard_normal((BATCH, F, H, H), dtype=np.float32))
        tx, tw, tb, tdout = (torch.from_numpy(a) for a in (x, w, b, dout))

        def ours(x=x, w=w, b=b, dout=dout, pad=k // 2):
            _, cache = conv2d_forward(x, w, b, stride=1, padding=pad)
            conv2d_backward(dout, cache)

        def theirs(x=tx, w=tw, b=tb, dout=tdout, pad=k // 2):
            x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
            TF.conv2d(x, w, b, stride=1, padding=pad).backward(dout)

        cases.append((layer_name(C, H, F, k), ours, theirs))
    return cases


def idle_rows(cases, threads, repeats):
    """Child process: each case at `threads` threads, cnnlib and torch in alternating blocks.

    The host's speed drifts from one second to the next (a virtual machine
    shares its physical cores), so each library is timed in ROUNDS blocks of
    ``repeats // ROUNDS`` calls, a cnnlib block then a torch block: both
    see the same drift, and the medians over all blocks are compared.
    """
    import torch

    from cnnlib._threads import set_num_threads
    load = os.getloadavg()[0]
    set_num_threads(threads)
    torch.set_num_threads(threads)
    block = max(1, repeats // ROUNDS)
    samples = []
    for _, ours, theirs in cases:
        times = {ours: ([], []), theirs: ([], [])}
        for fn in times:
            fn()
            fn()  # warm-up: allocations, BLAS/oneDNN kernel selection, thread start-up
        for _ in range(ROUNDS):
            for fn, (walls, cpus) in times.items():
                w, c = _times(fn, block)
                walls += w
                cpus += c
                # let the library's idle threads go to sleep (torch's spin a while)
                time.sleep(PAUSE)
        samples.append([1e3 * float(np.median(t)) for pair in times.values() for t in pair])
    load = max(load, os.getloadavg()[0])
    rows = []
    for (name, _, _), (o, o_cpu, t, t_cpu) in zip(cases, samples):
        row = _row(name, f"{threads} thread{'s' * (threads > 1)}", load, o, "torch", t,
                   f"<= {GOAL:g}", GOAL)
        # one thread: the calling thread's CPU time is all the work, for both libraries
        row["cpu_ratio"] = round(o_cpu / t_cpu, 2) if threads == 1 else ""
        rows.append(row)
    return rows


def busy_rows(cases, repeats):
    """Child process, machine busy: cnnlib default vs 1 thread, before issue 19, torch."""
    import torch

    from cnnlib import _blas, _threads
    load = os.getloadavg()[0]
    default = _threads.get_num_threads()
    label = f"busy, default ({default} threads)"
    rows = []
    for name, ours, theirs in cases:
        # at least BUSY_SECONDS of calls: a layer of 1 ms gets 1500 rounds, not 200
        rounds = max(BUSY_ROUNDS, int(BUSY_SECONDS / max(1e-4, median_ms(ours, 5) / 1e3)))
        t_default, t_one = alternating_ms(ours, default, 1, rounds)
        with _threads.num_threads(1):
            # before issue 19: one Python thread, numpy's BLAS at its default thread count
            saved, _blas._controllers = _blas._blas_controllers(), []
            try:
                t_before = median_ms(ours, repeats)
            finally:
                _blas._controllers = saved
        time.sleep(0.5)
        torch.set_num_threads(default)
        t_torch = median_ms(theirs, repeats)
        rows += [_row(name, label, load, t_default, "cnnlib 1 thread", t_one,
                      f"<= {BUSY_GOAL:g}", BUSY_GOAL),
                 _row(name, "busy, BLAS unlimited (before)", load, t_before, "cnnlib default",
                      t_default, "", None),
                 _row(name, label, load, t_default, f"torch {default} threads", t_torch, "", None)]
    return rows


def alternating_ms(fn, threads_a, threads_b, rounds):
    """Median ms of `fn` at two cnnlib thread counts, calls alternating.

    On a busy machine the load changes from one second to the next;
    alternating the two settings call by call exposes both to the same load.
    """
    from cnnlib import _threads

    times = ([], [])
    for i in range(rounds + 2):
        for n, out in zip((threads_a, threads_b), times):
            with _threads.num_threads(n):
                start = time.perf_counter()
                fn()
                if i >= 2:  # two warm-up rounds
                    out.append(time.perf_counter() - start)
    return tuple(1e3 * float(np.median(t)) for t in times)


def _row(case, setting, load, ms, vs, vs_ms, goal, limit):
    ratio = ms / vs_ms
    return {"case": case, "setting": setting, "load": round(load, 2), "cnnlib_ms": round(ms, 2),
            "vs": vs, "vs_ms": round(vs_ms, 2), "ratio": round(ratio, 2), "cpu_ratio": "",
            "goal": goal, "met": "" if limit is None else ("yes" if ratio <= limit else "NO")}


def in_child(script, *args):
    """Run ``script --child args...`` in a fresh Python; return the rows it prints as JSON."""
    out = subprocess.run([sys.executable, script, "--child", *map(str, args)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@contextlib.contextmanager
def busy_machine(n=None):
    """One pure-Python busy loop per core (or `n`) for the duration of the block."""
    n = n or os.cpu_count() or 1
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(1.0)  # let them start and take their share of the cores
        yield
    finally:
        for p in spinners:
            p.kill()
        for p in spinners:
            p.wait()


def run(repeats=20, threads=THREADS, busy=True):
    """Time forward+backward of each layer; one child process per setting.

    Parameters
    ----------
    repeats : int, default 20
        Timed repetitions per layer, library and setting; medians are reported.
    threads : sequence of int, default (1, 2)
        Thread settings of the idle rows (cnnlib and torch alike).
    busy : bool, default True
        Also measure the busy-machine rows.

    Returns
    -------
    list of dict
        One per row, keys ``case``, ``setting``, ``load``, ``cnnlib_ms``,
        ``vs``, ``vs_ms``, ``ratio``, ``goal``, ``met``.
    """
    script = os.path.abspath(__file__)
    rows = []
    for t in threads:
        rows += in_child(script, "idle", t, repeats)
    if busy:
        with busy_machine():
            rows += in_child(script, "busy", 0, repeats)
    return rows


def _child(mode, threads, repeats):
    if mode == "idle":
        return idle_rows(conv_cases(LAYERS, 0), int(threads), int(repeats))
    return busy_rows(conv_cases(BUSY_LAYERS, 0), int(repeats))


def format_table(rows):
    """Render the rows returned by :func:`run` as a text table."""
    lines = [f"{'case':<34} {'setting':<30} {'load':>5} {'cnnlib ms':>9}  {'vs':<18} "
             f"{'ms':>7} {'ratio':>5} {'cpu':>5}  goal", "-" * 130]
    for r in rows:
        lines.append(f"{r['case']:<34} {r['setting']:<30} {r['load']:5.2f} {r['cnnlib_ms']:9.2f}  "
                     f"{r['vs']:<18} {r['vs_ms']:7.2f} {r['ratio']:5.2f} {r['cpu_ratio']!s:>5}  "
                     f"{r['goal']} {r['met']}")
    lines.append("ratio: wall-time ratio (the goal); cpu: CPU-time ratio, 1-thread rows only; "
                 "load: 1-minute load average (idle rows are trustworthy near 0)")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(*sys.argv[2:5])))
    else:
        print(format_table(run()))
