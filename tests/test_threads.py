"""cnnlib._threads: BLAS held at one thread inside ops, our own threads, same bits for any count."""
import threading

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

import cnnlib.functional as F
import cnnlib.functional.conv as conv_module
import cnnlib.functional.linear as linear_module
from cnnlib import _blas, _threads


def _blas_threads():
    return [lib["num_threads"] for lib in ThreadpoolController().info()
            if lib["user_api"] == "blas"]


@pytest.fixture
def blas_at_2():
    """numpy's BLAS at 2 threads during the test (as on a 2-core laptop), restored after."""
    controller = ThreadpoolController()
    if not controller.select(user_api="blas").lib_controllers:
        pytest.skip("no BLAS library that threadpoolctl can control")
    with controller.limit(limits=2, user_api="blas"):
        yield


def test_blas_single_thread_sets_1_inside_and_restores_the_callers_count(blas_at_2):
    assert _blas_threads() == [2] * len(_blas_threads())
    with _threads.blas_single_thread():
        assert set(_blas_threads()) == {1}
        with _threads.blas_single_thread():  # nested: still 1, and the outer exit restores
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}
    assert set(_blas_threads()) == {2}


def test_blas_single_thread_restores_even_after_an_exception(blas_at_2):
    with pytest.raises(RuntimeError):
        with _threads.blas_single_thread():
            raise RuntimeError("boom")
    assert set(_blas_threads()) == {2}


@pytest.mark.parametrize("callers_count", [1, 2])
def test_engine_ops_leave_the_callers_blas_setting_unchanged(callers_count):
    with ThreadpoolController().limit(limits=callers_count, user_api="blas"):
        before = _blas_threads()
        x = np.random.default_rng(0).standard_normal((8, 3, 10, 10)).astype(np.float32)
        out, cache = F.conv2d_forward(x, np.ones((4, 3, 3, 3), np.float32), None, padding=1)
        F.conv2d_backward(np.ones_like(out), cache)
        y, lcache = F.linear_forward(x.reshape(8, -1), np.ones((5, 300), np.float32), None)
        F.linear_backward(np.ones_like(y), lcache)
        assert _blas_threads() == before


class _FakeBlas:
    """Stands in for a threadpoolctl library controller; records what was set."""

    def __init__(self, n):
        self.n, self.history = n, []

    def get_num_threads(self):
        return self.n

    def set_num_threads(self, n):
        self.n = n
        self.history.append(n)


def test_concurrent_callers_restore_the_blas_setting_once_all_have_left(monkeypatch):
    # a fake library: OpenBLAS ignores changes made from a non-main thread once the main
    # thread has set its count, which is not what this test is about
    fake = _FakeBlas(2)
    monkeypatch.setattr(_blas, "_controllers", [fake])
    barrier = threading.Barrier(3)
    seen = []

    def op():
        with _threads.blas_single_thread():
            barrier.wait()  # all three inside at once
            seen.append(fake.n)
            barrier.wait()

    workers = [threading.Thread(target=op) for _ in range(3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert seen == [1, 1, 1]
    assert fake.history == [1, 2]  # set once by the first in, restored once by the last out


def test_blas_single_thread_does_not_touch_a_library_already_at_1(monkeypatch):
    fake = _FakeBlas(1)
    monkeypatch.setattr(_blas, "_controllers", [fake])
    with _threads.blas_single_thread():
        pass
    assert fake.history == []


CONV_CONFIGS = [
    # (N, C, H, W, F, k, stride, padding, the route auto picks)
    (9, 16, 14, 14, 8, 3, 1, 1, "shifts"),  # stride 1, 16 channels
    (9, 4, 11, 13, 8, 3, 1, 0, "shifts"),   # stride 1, 4 channels, no padding
    (9, 3, 14, 14, 8, 3, 1, 1, "im2col"),   # stride 1, 3 channels: shifted-sum dx
    (9, 3, 12, 11, 4, 3, 2, 1, "im2col"),   # stride 2: col2im dx
    (9, 16, 14, 14, 32, 5, 1, 2, "fft"),    # 16 channels, 5x5
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=str)
def test_conv2d_gives_the_same_bits_with_1_2_and_3_threads(monkeypatch, config, dtype):
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one chunk per image: 9 chunks
    N, C, H, W, Fo, k, stride, padding, route = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Fo, C, k, k)).astype(dtype)
    b = rng.standard_normal(Fo).astype(dtype)
    results = []
    for n in (1, 2, 3):
        with _threads.num_threads(n):
            out, cache = F.conv2d_forward(x, w, b, stride, padding)
            assert cache["route"] == route
            dout = np.cos(out)
            results.append((out,) + F.conv2d_backward(dout, cache))
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)
    assert all(a.dtype == dtype for a in results[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_gives_the_same_bits_with_1_and_2_threads_and_keeps_dtype(monkeypatch, dtype):
    monkeypatch.setattr(linear_module, "CHUNK_ROWS", 4)  # 11 rows: 3 chunks
    rng = np.random.default_rng(1)
    x = rng.standard_normal((11, 7)).astype(dtype)
    w = rng.standard_normal((5, 7)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    dout = rng.standard_normal((11, 5)).astype(dtype)
    results = []
    for n in (1, 2):
        with _threads.num_threads(n):
            out, cache = F.linear_forward(x, w, b)
            results.append((out,) + F.linear_backward(dout, cache))
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)
        assert a.dtype == dtype
    out, dx, dw, db = results[0]
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-5)
    np.testing.assert_allclose(dw, dout.T @ x, rtol=1e-5, atol=1e-5)


def test_run_chunks_runs_every_chunk_once_on_several_threads():
    seen, names = [], set()

    def fn(i, scratch):
        assert isinstance(scratch, _threads.Scratch)
        seen.append(i)
        names.add(threading.current_thread().name)

    with _threads.num_threads(3):
        _threads.run_chunks(fn, 40)
        _threads.run_chunks(fn, 0)
    assert sorted(seen) == list(range(40))


@pytest.mark.parametrize("total, step, ranges", [
    (10, 4, [(0, 4), (4, 8), (8, 10)]),   # the last range is shorter
    (8, 4, [(0, 4), (4, 8)]),
    (3, 5, [(0, 3)]),                     # one range smaller than a step
    (0, 4, []),
])
def test_run_ranges_cuts_range_total_into_consecutive_ranges_of_step(total, step, ranges):
    seen = []
    with _threads.num_threads(2):
        _threads.run_ranges(lambda lo, hi, scratch: seen.append((lo, hi)), total, step)
    assert sorted(seen) == ranges


@pytest.mark.parametrize("total, step, even", [
    (64, 9, 8),     # 8 ranges either way: 8 of 8, not 7 of 9 and 1 of 1
    (64, 20, 16),   # 4 ranges of 16, not 20, 20, 20, 4
    (64, 41, 32),   # 2 ranges
    (64, 64, 64),   # one range stays one
    (10, 3, 3),     # 4 ranges: 3, 3, 3, 1 is already as even as 4 ranges of step 3 get
    (7, 1, 1),
    (0, 5, 5),      # nothing to cut
])
def test_even_step_keeps_the_number_of_ranges_and_evens_them_out(total, step, even):
    assert _threads.even_step(total, step) == even
    if total:
        assert -(-total // even) == -(-total // step)


def test_run_chunks_reraises_the_first_error_after_the_other_chunks():
    done = []

    def fn(i, scratch):
        if i == 3:
            raise ValueError("chunk 3")
        done.append(i)

    with _threads.num_threads(2), pytest.raises(ValueError, match="chunk 3"):
        _threads.run_chunks(fn, 8)
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7]


def test_run_chunks_never_waits_for_a_thread_that_did_not_start(monkeypatch):
    """On a busy machine a worker may not be scheduled in time: the caller does all the work."""
    class StuckPool:
        def submit(self, fn):
            pass  # the worker never runs

    monkeypatch.setattr(_threads, "_get_pool", lambda: StuckPool())
    seen = []
    with _threads.num_threads(2):
        _threads.run_chunks(lambda i, scratch: seen.append(i), 5)
    assert seen == [0, 1, 2, 3, 4]


def test_set_num_threads_validates_and_returns_the_previous_count():
    old = _threads.set_num_threads(3)
    try:
        assert _threads.get_num_threads() == 3
        assert _threads.set_num_threads(1) == 3
        for bad in (0, -1, 1.5, True, "2"):
            with pytest.raises(ValueError, match="positive int"):
                _threads.set_num_threads(bad)
    finally:
        _threads.set_num_threads(old)


def test_default_thread_count_follows_cnnlib_num_threads(monkeypatch):
    monkeypatch.setenv("CNNLIB_NUM_THREADS", "3")
    with _threads.num_threads(None):
        assert _threads.get_num_threads() == 3
    monkeypatch.setenv("CNNLIB_NUM_THREADS", "lots")
    with pytest.raises(ValueError, match="CNNLIB_NUM_THREADS"):
        _threads.set_num_threads(None)
    monkeypatch.delenv("CNNLIB_NUM_THREADS")
    with _threads.num_threads(None):
        assert 1 <= _threads.get_num_threads() <= _threads.MAX_DEFAULT_THREADS


def test_scratch_array_is_reused_and_zeroed_only_when_made():
    scratch = _threads.Scratch(max_bytes=1000)
    a = _threads.scratch_array(scratch, "a", (2, 3), np.float32, zero=True)
    assert not a.any()
    a[:] = 7
    assert _threads.scratch_array(scratch, "a", (2, 3), np.float32, zero=True) is a
    assert _threads.scratch_array(scratch, "a", (2, 4), np.float32).shape == (2, 4)
    assert _threads.scratch_array(scratch, "a", (2, 3), np.float32, zero=True) is a


def test_scratch_drops_the_least_recently_used_arrays_beyond_its_budget():
    scratch = _threads.Scratch(max_bytes=1000)
    a = _threads.scratch_array(scratch, "a", (100,), np.float32)     # 400 bytes
    b = _threads.scratch_array(scratch, "b", (100,), np.float32)     # 800
    assert _threads.scratch_array(scratch, "a", (100,), np.float32) is a  # a used last
    _threads.scratch_array(scratch, "c", (100,), np.float32)         # 1200: b goes
    assert _threads.scratch_array(scratch, "a", (100,), np.float32) is a
    assert _threads.scratch_array(scratch, "b", (100,), np.float32) is not b


def test_each_thread_has_its_own_scratch():
    stores = []
    with _threads.num_threads(2):
        _threads.run_chunks(lambda i, scratch: stores.append(scratch), 1)
    stores.append(_threads.thread_scratch())
    t = threading.Thread(target=lambda: stores.append(_threads.thread_scratch()))
    t.start()
    t.join()
    assert stores[0] is stores[1] and stores[1] is not stores[2]


def test_a_site_runs_on_one_thread_while_that_is_faster_and_retries_less_and_less_often():
    site = _threads._Site()
    used = []
    for _ in range(200):
        n = site.pick(2)
        used.append(n)
        site.record(2, n, 0.010 if n == 2 else 0.001)  # threads 10x slower: a busy machine
    assert used[:4] == [2, 2, 1, 1]  # each way once to warm up, once measured
    retried = [i for i, n in enumerate(used[4:]) if n == 2]
    tries = retried[::2]
    assert retried[1::2] == [i + 1 for i in tries]  # a retry is two calls in a row
    assert 3 <= len(tries) <= 6 and all(b - a >= 8 for a, b in zip(tries, tries[1:]))
    gaps = [b - a for a, b in zip(tries, tries[1:])]
    assert gaps == sorted(gaps)  # backing off


def test_one_lucky_call_of_a_retry_does_not_switch_a_site_to_the_slower_way():
    """Busy machine: threads are 10x slower, except the first call of every retry."""
    site = _threads._Site()
    used = []
    for _ in range(200):
        n = site.pick(2)
        retry_start = n == 2 and (not used or used[-1] != 2)
        used.append(n)
        site.record(2, n, 0.0005 if retry_start else (0.010 if n == 2 else 0.001))
    assert used[4:].count(2) <= 12  # only the retries themselves


def test_a_site_keeps_one_thread_when_all_threads_are_only_a_little_faster():
    """5% faster is within a busy machine's noise: not worth a second thread."""
    site = _threads._Site()
    used = []
    for _ in range(100):
        n = site.pick(2)
        used.append(n)
        site.record(2, n, 0.00095 if n == 2 else 0.001)
    assert used[-20:].count(1) >= 18


def test_a_site_goes_back_to_threads_when_they_become_faster():
    site = _threads._Site()
    for i in range(450):
        n = site.pick(2)
        busy = i < 300
        site.record(2, n, (0.010 if busy else 0.001) if n == 2 else 0.002)
    assert [site.pick(2) for _ in range(5)] == [2] * 5


def test_run_chunks_chooses_per_call_site():
    calls = []
    with _threads.num_threads(2):
        for _ in range(6):
            _threads.run_chunks(lambda i, scratch: calls.append(threading.current_thread()), 4,
                                key="test site")
    assert len(calls) == 24
    assert "test site" in _threads._sites
