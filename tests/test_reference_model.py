"""cnnlib.reference_model: trained once, cached atomically, reused; a corrupt cache file is rebuilt, never used."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from cnnlib import reference_model as rm
from cnnlib.data import MNIST_MEAN, MNIST_STD
from cnnlib.models import CapstoneNet


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder, an empty in-process memo, and a fake trainer that counts its calls."""
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(rm, "_memo", {})
    calls = []

    def fake_train(quick=None, progress=True):
        calls.append(quick)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(len(calls))
            net = CapstoneNet().eval()
        state = OrderedDict((k, v.detach().clone()) for k, v in net.state_dict().items())
        name = "quick" if quick else "full"
        return state, {"recipe": name, "key": rm._key(name), "test_acc": 0.5, "n_test": 10, "train_seconds": 0.1,
                       "steps": 1, "threads": 1, "torch": str(torch.__version__)}

    monkeypatch.setattr(rm, "train_reference", fake_train)
    return tmp_path, calls


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_the_first_call_trains_and_caches_the_next_ones_reuse_the_file(cache):
    folder, calls = cache
    first = rm.load_reference_model(quick=True, progress=False)
    path = rm.cache_path(quick=True)
    assert calls == [True] and path.is_file() and path.parent == folder / "models"
    assert not list(path.parent.glob("*.part"))                       # nothing half-written left behind
    rm._memo.clear()                                                   # a new process: only the file remains
    second = rm.load_reference_model(quick=True, progress=False)
    assert calls == [True] and _same_weights(first, second)
    assert isinstance(second, CapstoneNet) and not second.training


def test_each_call_returns_a_fresh_model_in_eval_mode(cache):
    a = rm.load_reference_model(quick=True, progress=False)
    with torch.no_grad():
        a.features[0].weight.zero_()
    a.train()
    b = rm.load_reference_model(quick=True, progress=False)
    assert not b.training and b.features[0].weight.abs().sum() > 0


def test_quick_and_full_recipes_have_their_own_cache_files(cache, monkeypatch):
    _, calls = cache
    assert rm.cache_path(quick=True) != rm.cache_path(quick=False)
    rm.load_reference_model(quick=True, progress=False)
    rm.load_reference_model(quick=False, progress=False)
    assert calls == [True, False]
    monkeypatch.setenv("CNNLIB_FAST", "1")
    assert rm.cache_path() == rm.cache_path(quick=True)                # fast mode picks the quick recipe
    monkeypatch.setenv("CNNLIB_FAST", "")
    assert rm.cache_path() == rm.cache_path(quick=False)


def _corrupt_truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt_garbage(path):
    path.write_bytes(b"not a torch file at all" * 100)


def _corrupt_bitflip(path):
    data = torch.load(path, weights_only=True)
    data["state_dict"]["classifier.2.weight"][0, 0] += 1.0            # the stored checksum no longer matches
    torch.save(data, path)


def _corrupt_nan(path):
    data = torch.load(path, weights_only=True)
    data["state_dict"]["features.0.weight"][0, 0, 0, 0] = float("nan")
    data["digest"] = rm.state_digest(data["state_dict"])
    torch.save(data, path)


def _corrupt_other_recipe(path):
    data = torch.load(path, weights_only=True)
    data["key"] = "capstone-quick-v0-seed0"
    torch.save(data, path)


def _corrupt_other_architecture(path):
    data = torch.load(path, weights_only=True)
    data["state_dict"] = OrderedDict(list(data["state_dict"].items())[:-1])
    data["digest"] = rm.state_digest(data["state_dict"])
    torch.save(data, path)


def _corrupt_pickled_object(path):
    torch.save(CapstoneNet(), path)                                   # a whole pickled model: refused by weights_only


@pytest.mark.parametrize("corrupt", [_corrupt_truncated, _corrupt_garbage, _corrupt_bitflip, _corrupt_nan,
                                     _corrupt_other_recipe, _corrupt_other_architecture, _corrupt_pickled_object])
def test_a_corrupt_cache_file_is_rebuilt_not_used(cache, corrupt, capsys):
    _, calls = cache
    good = rm.load_reference_model(quick=True, progress=False)
    path = rm.cache_path(quick=True)
    corrupt(path)
    rm._memo.clear()
    rebuilt = rm.load_reference_model(quick=True, progress=True)
    assert calls == [True, True], "the corrupt file was used instead of retraining"
    assert "not usable" in capsys.readouterr().out
    assert not _same_weights(good, rebuilt)                           # the fake trainer's second model
    assert rm._check_file(path, "quick")[0] is not None               # and the file is sound again
    rm._memo.clear()
    assert _same_weights(rm.load_reference_model(quick=True, progress=False), rebuilt) and calls == [True, True]


def test_writing_is_atomic_a_failed_save_leaves_no_file_under_the_real_name(cache, monkeypatch):
    _, calls = cache
    path = rm.cache_path(quick=True)

    def failing_save(obj, target):
        with open(target, "wb") as f:
            f.write(b"half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    net = rm.load_reference_model(quick=True, progress=False)          # still returns a model
    assert isinstance(net, CapstoneNet) and calls == [True]
    assert not path.exists() and not list(path.parent.glob("*.part"))


def test_an_unwritable_cache_folder_costs_only_the_retraining(cache, monkeypatch, capsys):
    folder, calls = cache
    blocker = folder / "blocked"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(blocker))
    net = rm.load_reference_model(quick=True, progress=True)
    assert isinstance(net, CapstoneNet) and calls == [True]
    assert "could not cache it" in capsys.readouterr().out


def test_two_processes_writing_at_once_never_expose_a_partial_file(cache):
    path = rm.cache_path(quick=True)
    state, info = rm.train_reference(True)
    payload = {"format": rm.FORMAT, "key": rm._key("quick"), "state_dict": state,
               "digest": rm.state_digest(state), "info": info}
    rm._write_atomically(path, payload)
    part = path.with_name(f"{path.name}.999.part")
    part.write_bytes(b"another writer, half way")                     # someone else's unfinished .part
    assert rm._check_file(path, "quick")[0] is not None               # the real name is untouched by it
    rm._write_atomically(path, payload)
    assert part.exists() and rm._check_file(path, "quick")[0] is not None


def test_reference_info_describes_the_model_and_its_file(cache):
    info = rm.reference_info(quick=True, progress=False)
    assert info["recipe"] == "quick" and info["path"] == str(rm.cache_path(quick=True))
    assert {"test_acc", "n_test", "train_seconds", "steps", "threads", "torch"} <= set(info)


def test_pixel_model_standardizes_inside_a_frozen_1x1_convolution():
    torch.manual_seed(0)
    net = CapstoneNet().eval()
    model = rm.pixel_model(net)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net((x - MNIST_MEAN) / MNIST_STD), atol=1e-5, rtol=1e-5)
    conv = model.standardize
    assert isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (1, 1)
    assert not any(p.requires_grad for p in conv.parameters()) and not model.training
    assert model.net is net                                            # shared, not copied


def test_open_capstone_model_prefers_the_learners_file(cache, tmp_path):
    _, calls = cache
    torch.manual_seed(3)
    mine = CapstoneNet()
    torch.save(mine.state_dict(), tmp_path / "mnist_cnn.pt")
    net, origin, message = rm.open_capstone_model(tmp_path / "mnist_cnn.pt", quick=True, progress=False)
    assert origin == "yours" and _same_weights(net, mine.eval()) and not net.training and calls == []
    assert "mnist_cnn.pt" in message

    net, origin, message = rm.open_capstone_model(tmp_path / "mnist_cnn.pt", use_file=False, quick=True,
                                                  progress=False)
    assert origin == "reference" and "grading mode" in message and calls == [True]


def test_open_capstone_model_falls_back_and_says_why(cache, tmp_path):
    net, origin, message = rm.open_capstone_model(tmp_path / "missing.pt", quick=True, progress=False)
    assert origin == "reference" and "missing.pt was not found" in message and "reference model" in message
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    torch.save(other.state_dict(), tmp_path / "other.pt")
    net, origin, message = rm.open_capstone_model(tmp_path / "other.pt", quick=True, progress=False)
    assert origin == "reference" and "could not be loaded into the capstone's architecture" in message
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert rm.open_capstone_model(tmp_path / "junk.pt", quick=True, progress=False)[1] == "reference"


def test_state_digest_sees_every_value_name_and_shape():
    state = OrderedDict(a=torch.zeros(2, 3), b=torch.ones(4))
    base = rm.state_digest(state)
    assert base == rm.state_digest(OrderedDict((k, v.clone()) for k, v in state.items()))
    changed = OrderedDict(a=torch.zeros(2, 3), b=torch.tensor([1.0, 1, 1, 1.0000001]))
    renamed = OrderedDict(a=torch.zeros(2, 3), c=torch.ones(4))
    reshaped = OrderedDict(a=torch.zeros(3, 2), b=torch.ones(4))
    assert len({base, rm.state_digest(changed), rm.state_digest(renamed), rm.state_digest(reshaped)}) == 4


@pytest.mark.slow
def test_the_real_quick_recipe_trains_reproducibly_and_leaves_the_global_rng_alone(real_data_dir, tmp_path,
                                                                                      monkeypatch):
    """The real quick recipe (100 steps): > 90 % on 2,000 test digits, same weights when trained twice."""
    monkeypatch.setenv("CNNLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(rm, "_memo", {})
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    state_a, info = rm.train_reference(quick=True, progress=False)
    assert torch.get_num_threads() == threads                        # restored after the 1-thread recipe
    assert torch.equal(torch.rand(1), expected_next)                  # seeded inside fork_rng
    assert info["recipe"] == "quick" and info["steps"] == 100 and info["n_test"] == 2000
    assert info["test_acc"] > 0.9
    state_b, _ = rm.train_reference(quick=True, progress=False)
    assert rm.state_digest(state_a) == rm.state_digest(state_b)
    net = rm.load_reference_model(quick=True, progress=False)
    assert rm.cache_path(quick=True).is_file() and np.isfinite(rm.reference_info(True)["test_acc"])
    assert isinstance(net, CapstoneNet)
