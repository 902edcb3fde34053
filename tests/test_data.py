"""cnnlib.data / cnnlib.idx / cnnlib.download: where files come from, integrity, atomic writes."""
import gzip
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from cnnlib import data
from cnnlib.data import IntegrityError, load_mnist, normalize, to_float_nchw
from cnnlib.idx import encode_idx, parse_idx

FILES = data._FILES


# ---------------------------------------------------------------- fixtures

def _tiny_arrays(seed=0, n_train=12, n_test=5):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_train).astype(np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_test).astype(np.uint8)]


def _gz(raw, level=9):
    # mtime=0 so the same content always compresses to the same bytes (stable md5).
    return gzip.compress(raw, compresslevel=level, mtime=0)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A fake 'mnist' dataset of 12 + 5 images with its own checksums, isolated from the real env."""
    arrays = _tiny_arrays()
    raws = {f: encode_idx(a) for f, a in zip(FILES, arrays)}
    gzs = {f: _gz(r) for f, r in raws.items()}
    sums = {f: (hashlib.md5(gzs[f]).hexdigest(), hashlib.sha256(raws[f]).hexdigest()) for f in FILES}
    monkeypatch.setitem(data.DATASETS, "mnist", ("mnist", ("http://127.0.0.1:9/",), sums))
    monkeypatch.delenv("CNNLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_memo", {})

    class Tiny:
        pass
    t = Tiny()
    t.arrays, t.raws, t.gzs, t.tmp = arrays, raws, gzs, tmp_path

    def write(folder, files=FILES, content=None):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            (folder / f).write_bytes(content(f) if content else gzs[f])
        return folder
    t.write = write
    return t


class _Mirror:
    """A loopback HTTP server serving a folder, recording each requested path."""

    def __init__(self, folder):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=str(folder), **k)

            def log_message(self, *args):
                requests.append(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(tmp_path):
    servers = []

    def make(folder):
        servers.append(_Mirror(folder))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def _dead_url():
    """A loopback URL on a port nothing listens on: connection refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _use_mirrors(monkeypatch, urls):
    sub, _, sums = data.DATASETS["mnist"]
    monkeypatch.setitem(data.DATASETS, "mnist", (sub, tuple(urls), sums))


def _leftovers(folder):
    return [p.name for p in Path(folder).rglob("*") if p.name.endswith(".part")]


# ---------------------------------------------------------------- IDX parsing

def test_idx_round_trip_keeps_shape_dtype_and_values():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    b = parse_idx(encode_idx(a), ndim=3)
    assert b.shape == (2, 3, 4) and b.dtype == np.uint8 and np.array_equal(a, b)
    f = np.linspace(-1, 1, 5).astype(np.float32)
    assert np.array_equal(parse_idx(encode_idx(f)), f)


@pytest.mark.parametrize("mutate, match", [
    (lambda b: b"\x00\x01" + b[2:], "bad IDX magic number 0x0001"),
    (lambda b: b"\x00\x00\x07" + b[3:], "bad IDX magic number"),
    (lambda b: b[:-1], "truncated or corrupt"),
    (lambda b: b + b"\x00", "does not match header shape"),
    (lambda b: b[:6], "truncated header"),
    (lambda b: b[:2], "too short"),
])
def test_idx_rejects_malformed_bytes_with_value_error(mutate, match):
    good = encode_idx(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=match):
        parse_idx(mutate(good), name="x.idx", ndim=3)


def test_idx_rejects_wrong_number_of_dimensions():
    with pytest.raises(ValueError, match="3 dimensions, expected 1"):
        parse_idx(encode_idx(np.zeros((2, 2, 2), np.uint8)), name="labels", ndim=1)


# ---------------------------------------------------------------- where files come from

def test_root_argument_with_subfolder_is_read_and_returns_documented_dtypes(tiny):
    tiny.write(tiny.tmp / "data" / "mnist")
    ds = load_mnist(root=tiny.tmp / "data", download=False)
    assert ds.origin == "root argument" and ds.source == tiny.tmp / "data" / "mnist"
    assert ds.x_train.shape == (12, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.shape == (5,)
    for got, want in zip(ds, tiny.arrays):
        assert np.array_equal(got, want)


def test_root_argument_holding_the_files_directly_is_read(tiny):
    tiny.write(tiny.tmp / "flat")
    assert load_mnist(root=tiny.tmp / "flat", download=False).source == tiny.tmp / "flat"


def test_root_beats_env_which_beats_cache(tiny, monkeypatch):
    tiny.write(tiny.tmp / "cache" / "mnist")
    assert load_mnist(download=False).origin == "cache"
    tiny.write(tiny.tmp / "env" / "mnist")
    monkeypatch.setenv("CNNLIB_DATA_DIR", str(tiny.tmp / "env"))
    assert load_mnist(download=False).origin == "CNNLIB_DATA_DIR"
    tiny.write(tiny.tmp / "root" / "mnist")
    assert load_mnist(root=tiny.tmp / "root", download=False).origin == "root argument"


def test_missing_files_without_download_name_every_file_and_the_folder(tiny):
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(root=tiny.tmp / "nothing", download=False)
    msg = str(err.value)
    assert str(tiny.tmp / "nothing" / "mnist") in msg
    assert all(f in msg for f in FILES)


# ---------------------------------------------------------------- integrity

def test_recompressed_copy_is_accepted_by_content_sha256(tiny):
    tiny.write(tiny.tmp / "d", content=lambda f: _gz(tiny.raws[f], level=1) + b"")
    assert hashlib.md5((tiny.tmp / "d" / FILES[0]).read_bytes()).hexdigest() != data.DATASETS["mnist"][2][FILES[0]][0]
    ds = load_mnist(root=tiny.tmp / "d", download=False)
    assert np.array_equal(ds.x_train, tiny.arrays[0])


def test_mismatching_file_is_refused_naming_file_and_both_hashes(tiny):
    other = encode_idx(_tiny_arrays(seed=1)[0])
    tiny.write(tiny.tmp / "d", content=lambda f: _gz(other) if f == FILES[0] else tiny.gzs[f])
    with pytest.raises(IntegrityError) as err:
        load_mnist(root=tiny.tmp / "d", download=False)
    msg = str(err.value)
    md5, sha = data.DATASETS["mnist"][2][FILES[0]]
    assert FILES[0] in msg and md5 in msg and sha in msg
    assert hashlib.md5(_gz(other)).hexdigest() in msg and hashlib.sha256(other).hexdigest() in msg


def test_truncated_gzip_is_refused_with_clear_message(tiny):
    tiny.write(tiny.tmp / "d", content=lambda f: tiny.gzs[f][: len(tiny.gzs[f]) // 2])
    with pytest.raises(IntegrityError, match="not a complete gzip file"):
        load_mnist(root=tiny.tmp / "d", download=False)


def test_verified_content_with_malformed_idx_raises_value_error(tiny, monkeypatch):
    bad = b"\x00\x00\x08\x03" + b"\x00" * 3  # a verified but malformed file
    sums = dict(data.DATASETS["mnist"][2])
    sums[FILES[0]] = (hashlib.md5(_gz(bad)).hexdigest(), hashlib.sha256(bad).hexdigest())
    monkeypatch.setitem(data.DATASETS, "mnist", ("mnist", (), sums))
    tiny.write(tiny.tmp / "d", content=lambda f: _gz(bad) if f == FILES[0] else tiny.gzs[f])
    with pytest.raises(ValueError, match="truncated header"):
        load_mnist(root=tiny.tmp / "d", download=False)


# ---------------------------------------------------------------- downloads

def test_download_skips_unreachable_mirror_and_caches_files_atomically(tiny, mirror, monkeypatch):
    srv = mirror(tiny.write(tiny.tmp / "served"))
    _use_mirrors(monkeypatch, [_dead_url(), srv.url])
    ds = load_mnist(progress=False)
    assert ds.origin == "download" and ds.source == tiny.tmp / "cache" / "mnist"
    assert np.array_equal(ds.x_test, tiny.arrays[2])
    assert sorted(srv.requests) == sorted("/" + f for f in FILES)
    assert _leftovers(tiny.tmp / "cache") == []
    # Second call reads the cache: no new requests.
    assert load_mnist(progress=False).origin == "cache" and len(srv.requests) == 4


def test_download_goes_into_root_when_root_is_given(tiny, mirror, monkeypatch):
    srv = mirror(tiny.write(tiny.tmp / "served"))
    _use_mirrors(monkeypatch, [srv.url])
    load_mnist(root=tiny.tmp / "mine", progress=False)
    assert all((tiny.tmp / "mine" / "mnist" / f).is_file() for f in FILES)


def test_corrupt_download_is_fetched_again_once_then_refused_without_partial_files(tiny, mirror, monkeypatch):
    bad = tiny.write(tiny.tmp / "bad", content=lambda f: _gz(b"garbage" + tiny.raws[f]))
    srv = mirror(bad)
    _use_mirrors(monkeypatch, [srv.url])
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(progress=False)
    assert srv.requests.count("/" + FILES[0]) == 2
    assert "checksum mismatch" in str(err.value)
    cache = tiny.tmp / "cache" / "mnist"
    assert not any(cache.glob("*")) if cache.exists() else True


def test_all_mirrors_down_gives_error_listing_each_mirror_and_the_files(tiny, monkeypatch):
    dead = [_dead_url(), _dead_url()]
    _use_mirrors(monkeypatch, dead)
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(progress=False)
    msg = str(err.value)
    assert all(d + FILES[0] in msg for d in dead) and "Put these four files in" in msg
    assert _leftovers(tiny.tmp) == []


def test_corrupted_cache_file_is_replaced_by_a_fresh_download(tiny, mirror, monkeypatch):
    srv = mirror(tiny.write(tiny.tmp / "served"))
    _use_mirrors(monkeypatch, [srv.url])
    cache = tiny.write(tiny.tmp / "cache" / "mnist")
    (cache / FILES[1]).write_bytes(tiny.gzs[FILES[1]][:-10])
    ds = load_mnist(progress=False)
    assert srv.requests == ["/" + FILES[1]]
    assert np.array_equal(ds.y_train, tiny.arrays[1]) and ds.origin == "cache"


# ---------------------------------------------------------------- conversions

def test_to_float_nchw_scales_to_unit_interval_with_channel_axis():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = to_float_nchw(x)
    assert out.shape == (1, 1, 2, 2) and out.dtype == np.float32
    assert np.allclose(out[0, 0], [[0, 1], [0.2, 0.4]])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 28, 28), np.float32), "expected uint8"),
    (np.zeros((2, 3, 28, 28), np.uint8), r"got \(2, 3, 28, 28\)"),
    (np.zeros((28, 28), np.uint8), r"got \(28, 28\)"),
])
def test_to_float_nchw_rejects_wrong_dtype_or_shape(bad, match):
    with pytest.raises(ValueError, match=match):
        to_float_nchw(bad)


def test_normalize_uses_mnist_statistics_and_rejects_integers():
    x = np.full((1, 1, 2, 2), 0.1307, np.float32)
    assert np.allclose(normalize(x), 0) and normalize(x).dtype == np.float32
    with pytest.raises(ValueError, match="use to_float_nchw first"):
        normalize(np.zeros((1, 1, 2, 2), np.uint8))


# ---------------------------------------------------------------- the genuine files

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_genuine_mnist_from_env_is_60k_10k_with_known_statistics(real_data_dir):
    ds = load_mnist(download=False)
    assert ds.origin == "CNNLIB_DATA_DIR" and ds.source.resolve() == real_data_dir / "mnist"
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert list(ds.y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert abs(ds.x_train.mean() / 255 - 0.1307) < 1e-3


def test_genuine_fashion_mnist_recompressed_copy_verifies_by_content(real_data_dir):
    ds = data.load_fashion_mnist(download=False)
    assert ds.x_train.shape == (60000, 28, 28) and ds.y_test.shape == (10000,)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10


def test_corrupted_copy_of_genuine_mnist_is_refused(real_data_dir, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in FILES:
        raw = (real_data_dir / "mnist" / f).read_bytes()
        if f == "t10k-labels-idx1-ubyte.gz":
            content = bytearray(gzip.decompress(raw))
            content[100] ^= 1  # one flipped label bit
            raw = _gz(bytes(content))
        (folder / f).write_bytes(raw)
    with pytest.raises(IntegrityError) as err:
        load_mnist(root=tmp_path, download=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value) and "ec29112dd5afa0611ce80d1b7f02629c" in str(err.value)
