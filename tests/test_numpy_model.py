"""cnnlib.numpy_model: Lesson 07's network, its reference training epoch, data augmentation and the
saved model numpy_cnn.npz (save, checked load, measurement, credit), against PyTorch twins."""
import importlib.util
import zipfile

import numpy as np
import pytest
import torch

from cnnlib import nn, numpy_model as nm, optim
from cnnlib.train import evaluate, fit
from conftest import ROOT


def _torch_twin(model):
    """The same network in torch.nn, with the cnnlib model's weights."""
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin.eval()


def test_the_lesson_network_is_the_benchmark_network_with_torch_keys_and_outputs():
    spec = importlib.util.spec_from_file_location("bench_train_numpy", ROOT / "benchmarks" / "bench_train_numpy.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ours, theirs = nm.build_model(seed=3), bench.build_model(seed=3)
    assert ours.num_parameters() == 103_018
    assert {k: (v.shape, v.dtype.name) for k, v in ours.state_dict().items()} == nm.expected_state()
    for (k, a), (j, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == j and np.array_equal(a, b)
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = _torch_twin(ours)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours.eval()(x), expected, atol=1e-4)


def test_expected_state_lists_names_shapes_and_dtypes():
    state = nm.expected_state()
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias"]
    assert state["7.weight"] == ((128, 784), "float32") and state["9.bias"] == ((10,), "float32")


def test_width_hidden_and_dropout_options():
    small = nm.build_model(width=1, hidden=4)
    assert small.num_parameters() == 476
    with_dropout = nm.build_model(dropout=0.5)
    assert type(with_dropout[9]).__name__ == "Dropout" and with_dropout[9].p == 0.5
    made = nm.build_model(dropout=0.3, dropout_layer=lambda p: nn.Dropout(p))
    assert made[9].p == 0.3
    with pytest.raises(ValueError, match="width"):
        nm.build_model(width=0)


def test_save_then_load_gives_the_same_predictions_in_eval_mode(tmp_path):
    model = nm.build_model(seed=1)
    path = nm.save_model(model, tmp_path / "numpy_cnn")
    assert path.name == "numpy_cnn.npz" and path.stat().st_size < 500_000
    loaded = nm.load_model(path)
    assert not loaded.training
    x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), model.eval()(x))


def _write(path, arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("9.bias"), "missing ['9.bias']"),
    (lambda s: s.update(extra=np.zeros(3, np.float32)), "unexpected ['extra']"),
    (lambda s: s.update({"0.bias": np.zeros((8, 1), np.float32)}), "'0.bias' has shape (8, 1)"),
    (lambda s: s.update({"3.bias": np.zeros(16, np.int64)}), "'3.bias' has dtype int64"),
    (lambda s: s.update({"7.bias": np.full(128, np.nan, np.float32)}), "'7.bias' contains NaN"),
])
def test_a_malformed_file_is_refused_with_one_clear_line(tmp_path, change, message):
    state = nm.build_model().state_dict()
    change(state)
    path = _write(tmp_path / "numpy_cnn.npz", state)
    with pytest.raises(ValueError) as info:
        nm.load_state(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    result = nm.measure_saved_model(path)
    assert result["correct"] == 0 and message in result["error"]


def test_float64_arrays_are_accepted_as_float32(tmp_path):
    state = {k: v.astype(np.float64) for k, v in nm.build_model(seed=2).state_dict().items()}
    loaded = nm.load_state(_write(tmp_path / "m.npz", state))
    assert all(v.dtype == np.float32 for v in loaded.values())


def test_missing_garbage_pickled_and_oversized_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="numpy_cnn.npz not found next to the notebook"):
        nm.load_state(tmp_path / "numpy_cnn.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="is not an .npz archive"):
        nm.load_state(tmp_path / "junk.npz")
    state = nm.build_model().state_dict()
    state["0.bias"] = np.array([{"evil": 1}] * 8, dtype=object)    # needs pickle to read: refused
    with pytest.raises(ValueError, match="could not be read as numpy arrays"):
        nm.load_state(_write(tmp_path / "pickled.npz", state))
    big = tmp_path / "big.npz"
    big.write_bytes(b"0" * (nm.MAX_FILE_BYTES + 1))
    with pytest.raises(ValueError, match="bytes; a saved model"):
        nm.load_state(big)
    bomb = tmp_path / "bomb.npz"                                    # small on disk, huge unpacked
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0.weight.npy", b"\0" * (nm.MAX_FILE_BYTES + 10))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ValueError, match="unpacks to"):
        nm.load_state(bomb)


def test_credit_steps_are_counted_on_integers():
    assert nm.credit_thresholds() == [9650, 9700, 9750, 9800]
    assert [nm.model_credit(c) for c in (9649, 9650, 9700, 9799, 9800, 10000)] == [0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert nm.model_credit(49, n=50) == 1.0             # 98 % of 50 is exactly 49
    assert nm.model_credit(48, n=50) < 1.0


class _Data:
    def __init__(self, n=40, seed=0):
        g = np.random.default_rng(seed)
        self.x_train = g.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        self.y_train = g.integers(0, 10, n).astype(np.uint8)
        self.x_test, self.y_test = self.x_train[:20], self.y_train[:20]


def test_measure_saved_model_counts_correct_answers_like_evaluate(tmp_path):
    from cnnlib.data import normalize, to_float_nchw

    ds = _Data()
    model = nm.build_model(seed=4)
    path = nm.save_model(model, tmp_path / "numpy_cnn.npz")
    result = nm.measure_saved_model(path, ds=ds)
    _, acc = evaluate(model, normalize(to_float_nchw(ds.x_test)), ds.y_test.astype(np.int64))
    assert result["error"] is None and result["n"] == 20 and result["correct"] == round(acc * 20)


def test_train_one_epoch_equals_fit_and_leaves_train_mode():
    g = np.random.default_rng(0)
    x, y = g.standard_normal((50, 1, 28, 28)).astype(np.float32), g.integers(0, 10, 50)
    mine, ref = nm.build_model(seed=5, dropout=0.0).eval(), nm.build_model(seed=5)
    stats = nm.train_one_epoch(mine, x, y, optim.SGD(mine.parameters(), lr=0.05, momentum=0.9), 16,
                               np.random.default_rng(2))
    history = fit(ref, x, y, optimizer=optim.SGD(ref.parameters(), lr=0.05, momentum=0.9), num_epochs=1,
                  batch_size=16, seed=2, progress=False)
    assert mine.training
    for a, b in zip(mine.state_dict().values(), ref.state_dict().values()):
        np.testing.assert_array_equal(a, b)
    assert stats["loss"] == pytest.approx(history.train_loss[0]) and stats["acc"] == history.train_acc[0]


def test_train_one_epoch_applies_the_transform_to_every_batch():
    seen = []
    x, y = np.zeros((10, 1, 28, 28), np.float32), np.zeros(10, np.int64)
    model = nm.build_model()
    nm.train_one_epoch(model, x, y, optim.SGD(model.parameters(), lr=0.0), 4, np.random.default_rng(0),
                       transform=lambda xb: seen.append(len(xb)) or xb)
    assert seen == [4, 4, 2]


def test_train_recipe_records_one_row_per_epoch_and_is_seeded():
    ds = _Data(64)
    model_a, hist_a = nm.train_recipe(ds, epochs=2)
    model_b, hist_b = nm.train_recipe(ds, epochs=2)
    assert hist_a["epoch"] == [1, 2] and len(hist_a["val_acc"]) == 2 and hist_a["seconds"][1] >= hist_a["seconds"][0]
    assert hist_a["train_loss"] == hist_b["train_loss"]
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        np.testing.assert_array_equal(a, b)


def test_random_shift_equals_torch_pad_and_crop_and_keeps_labels():
    images = np.random.default_rng(0).standard_normal((6, 2, 9, 11)).astype(np.float32)
    labels = np.array([3, 1, 4, 1, 5, 9])
    out, out_labels = nm.random_shift(images, labels, 3, np.random.default_rng(7), fill=-0.5)
    shifts = np.random.default_rng(7).integers(-3, 4, size=(6, 2))
    padded = torch.nn.functional.pad(torch.from_numpy(images), (3, 3, 3, 3), value=-0.5)
    expected = torch.stack([padded[n, :, 3 - dy:3 - dy + 9, 3 - dx:3 - dx + 11] for n, (dy, dx) in enumerate(shifts)])
    np.testing.assert_array_equal(out, expected.numpy())
    assert out.dtype == np.float32 and np.array_equal(out_labels, labels) and out_labels is not labels
    np.testing.assert_array_equal(nm.random_shift(images, labels, 0, np.random.default_rng(0))[0], images)
    with pytest.raises(ValueError, match="max_shift"):
        nm.random_shift(images, labels, -1, np.random.default_rng(0))


class _FixedAngles:
    def __init__(self, degrees):
        self.degrees = degrees

    def uniform(self, low, high, size):
        return np.full(size, float(self.degrees))


def test_random_rotate_by_90_degrees_is_rot90_counter_clockwise():
    image = np.random.default_rng(1).random((2, 3, 7, 7))
    rotated = nm.random_rotate(image, 90, _FixedAngles(90))
    np.testing.assert_allclose(rotated, np.rot90(image, 1, axes=(2, 3)), atol=1e-12)
    np.testing.assert_array_equal(nm.random_rotate(image, 0, np.random.default_rng(0)), image)


def test_random_rotate_matches_torch_grid_sample_bilinear_with_zero_fill():
    images = np.random.default_rng(2).random((5, 1, 28, 28)).astype(np.float32)
    out = nm.random_rotate(images, 20, np.random.default_rng(3))
    angles = np.deg2rad(np.random.default_rng(3).uniform(-20, 20, size=5))
    cos, sin = np.cos(angles), np.sin(angles)
    theta = torch.tensor(np.stack([np.stack([cos, -sin, 0 * cos], 1), np.stack([sin, cos, 0 * cos], 1)], 1),
                         dtype=torch.float32)
    grid = torch.nn.functional.affine_grid(theta, (5, 1, 28, 28), align_corners=True)
    expected = torch.nn.functional.grid_sample(torch.from_numpy(images), grid, mode="bilinear", padding_mode="zeros",
                                               align_corners=True).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert out.dtype == np.float32


def test_augment_rotates_then_shifts_with_any_shift_function():
    images = np.random.default_rng(4).random((3, 1, 10, 10))
    calls = []

    def shift(imgs, labels, max_shift, rng, fill):
        calls.append((imgs.shape, max_shift, fill))
        return nm.random_shift(imgs, labels, max_shift, rng, fill)

    out = nm.augment(images, np.random.default_rng(0), max_shift=1, max_degrees=5, fill=0.25, shift=shift)
    assert out.shape == images.shape and calls == [((3, 1, 10, 10), 1, 0.25)]
    rng = np.random.default_rng(0)
    expected = nm.random_shift(nm.random_rotate(images, 5, rng, 0.25), None, 1, rng, 0.25)[0]
    np.testing.assert_array_equal(out, expected)


def test_background_value_is_a_blank_pixel_after_normalize():
    assert nm.background_value() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)


def test_the_loop_and_the_augmentation_live_in_their_own_modules_and_are_re_exported():
    """cnnlib.numpy_train and cnnlib.augment import on their own (engine side: no torch needed) and
    cnnlib.numpy_model hands out the very same functions (the lesson calls nm.train_one_epoch, nm.augment)."""
    import subprocess
    import sys

    from cnnlib import augment, numpy_train

    for name in ("train_one_epoch", "train_recipe"):
        assert getattr(nm, name) is getattr(numpy_train, name)
    for name in ("random_shift", "random_rotate", "augment", "background_value"):
        assert getattr(nm, name) is getattr(augment, name)
    code = ("import sys; import cnnlib.numpy_train, cnnlib.augment, cnnlib.numpy_model; "
            "assert 'torch' not in sys.modules, 'the engine side imported torch'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
