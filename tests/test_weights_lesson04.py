"""cnnlib.weights: the shipped small CNN of Lesson 04 loads, reaches its stated accuracy, matches torch,
and the committed script regenerates it."""
import importlib.util

import numpy as np
import pytest
import torch

from cnnlib.weights import (LESSON04_FILE, PARAM_NAMES, forward_stages, lesson04_info, lesson04_model,
                            lesson04_torch_model, load_lesson04_cnn, save_lesson04_cnn, train_lesson04_cnn)
from conftest import ROOT

SHAPES = {"conv1.weight": (8, 1, 3, 3), "conv1.bias": (8,), "conv2.weight": (16, 8, 3, 3), "conv2.bias": (16,),
          "fc.weight": (10, 784), "fc.bias": (10,)}


def _random_params(rng, C1, C2, H, W, K):
    return {"conv1.weight": rng.standard_normal((C1, 1, 3, 3)), "conv1.bias": rng.standard_normal(C1),
            "conv2.weight": rng.standard_normal((C2, C1, 3, 3)), "conv2.bias": rng.standard_normal(C2),
            "fc.weight": rng.standard_normal((K, C2 * (H // 4) * (W // 4))), "fc.bias": rng.standard_normal(K)}


def test_the_file_is_small_and_holds_float32_parameters_of_the_documented_shapes():
    assert LESSON04_FILE.stat().st_size < 200_000
    params = load_lesson04_cnn()
    assert tuple(params) == PARAM_NAMES
    assert {k: v.shape for k, v in params.items()} == SHAPES
    assert all(v.dtype == np.float32 for v in params.values())
    info = lesson04_info()
    assert info["num_params"] == sum(v.size for v in params.values()) == 9098
    assert info["test_n"] == 10_000 and info["test_accuracy"] == info["test_correct"] / 10_000 >= 0.98


def test_every_load_returns_fresh_arrays():
    a = load_lesson04_cnn()
    a["fc.bias"][:] = 0
    assert np.abs(load_lesson04_cnn()["fc.bias"]).sum() > 0


@pytest.mark.parametrize("C1, C2, H, W, K", [(8, 16, 28, 28, 10), (3, 5, 12, 16, 4), (2, 2, 8, 8, 3)])
def test_forward_stages_match_the_torch_layers_stage_by_stage(C1, C2, H, W, K):
    rng = np.random.default_rng(C1 + H)
    params = _random_params(rng, C1, C2, H, W, K)
    x = rng.random((3, 1, H, W))
    stages = forward_stages(x, params)
    assert list(stages) == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "logits",
                            "softmax"]
    t = {k: torch.tensor(v) for k, v in params.items()}
    out = torch.tensor(x)
    expected = {}
    for i in (1, 2):
        out = expected[f"conv{i}"] = torch.nn.functional.conv2d(out, t[f"conv{i}.weight"], t[f"conv{i}.bias"], padding=1)
        out = expected[f"relu{i}"] = torch.relu(out)
        out = expected[f"pool{i}"] = torch.nn.functional.max_pool2d(out, 2)
    out = expected["flatten"] = torch.flatten(out, 1)
    out = expected["logits"] = torch.nn.functional.linear(out, t["fc.weight"], t["fc.bias"])
    expected["softmax"] = torch.softmax(out, dim=1)
    for name, value in expected.items():
        np.testing.assert_allclose(stages[name], value.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


def test_the_cnnlib_and_torch_twins_compute_the_same_logits_as_forward_stages():
    params = load_lesson04_cnn()
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    logits = forward_stages(x, params)["logits"]
    np.testing.assert_allclose(lesson04_model(params)(x), logits, atol=1e-4)
    with torch.no_grad():
        np.testing.assert_allclose(lesson04_torch_model(params)(torch.from_numpy(x)).numpy(), logits, atol=1e-4)
    assert set(lesson04_torch_model(params).state_dict()) == set(PARAM_NAMES)


def test_the_weights_reach_their_stated_accuracy_on_the_mnist_test_set(real_data_dir):
    from cnnlib.data import load_mnist, to_float_nchw

    ds = load_mnist(root=real_data_dir, download=False, progress=False)
    x = to_float_nchw(ds.x_test)
    params = load_lesson04_cnn()
    pred = np.concatenate([forward_stages(x[i:i + 2000], params)["logits"].argmax(1) for i in range(0, 10_000, 2000)])
    assert int((pred == ds.y_test).sum()) == lesson04_info()["test_correct"]
    with torch.no_grad():
        torch_pred = lesson04_torch_model(params)(torch.from_numpy(x)).argmax(1).numpy()
    assert np.mean(torch_pred == pred) >= 0.9995        # float32 sums in a different order may flip a near-tie


def test_training_is_seeded_and_a_save_load_round_trip_keeps_everything(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((96, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 96)
    a, history = train_lesson04_cnn(x, y, epochs=2, batch_size=32, seed=3)
    b, _ = train_lesson04_cnn(x, y, epochs=2, batch_size=32, seed=3)
    c, _ = train_lesson04_cnn(x, y, epochs=2, batch_size=32, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in PARAM_NAMES)
    assert not np.array_equal(a["fc.weight"], c["fc.weight"])
    assert history.epochs == 2 and len(history.batch_loss) == 6
    save_lesson04_cnn(tmp_path / "w.npz", a, {"test_accuracy": 0.5})
    back = load_lesson04_cnn(tmp_path / "w.npz")
    assert all(np.array_equal(back[k], a[k]) for k in PARAM_NAMES)
    assert lesson04_info(tmp_path / "w.npz") == {"test_accuracy": 0.5}


@pytest.mark.slow
def test_the_committed_script_regenerates_equivalent_weights(tmp_path, real_data_dir, monkeypatch):
    """About 35 s on two cores: the full seeded training of scripts/make_lesson04_weights.py.

    On the machine that made the file the result is bit-identical; elsewhere (another BLAS, a faster
    engine summing in another order) float32 rounding may differ, so compare what matters."""
    monkeypatch.setenv("CNNLIB_DATA_DIR", str(real_data_dir))
    spec = importlib.util.spec_from_file_location("make_lesson04_weights", ROOT / "scripts" / "make_lesson04_weights.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    info = script.make(out=tmp_path / "regenerated.npz")
    shipped = lesson04_info()
    assert {k: info[k] for k in script.SETTINGS} == {k: shipped[k] for k in script.SETTINGS}
    assert abs(info["test_accuracy"] - shipped["test_accuracy"]) <= 0.003
    from cnnlib.data import load_mnist, to_float_nchw

    x = to_float_nchw(load_mnist(root=real_data_dir, download=False, progress=False).x_test[:2000])
    new, old = load_lesson04_cnn(tmp_path / "regenerated.npz"), load_lesson04_cnn()
    agree = forward_stages(x, new)["logits"].argmax(1) == forward_stages(x, old)["logits"].argmax(1)
    assert agree.mean() >= 0.99
