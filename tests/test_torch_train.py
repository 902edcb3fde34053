"""cnnlib.torch_train: the reference loop trains, evaluates exactly, and refuses bad model files."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnlib.models import PARAM_BUDGET, CapstoneNet, ClassicTutorialCNN
from cnnlib.torch_data import make_loader, to_tensor_dataset
from cnnlib.torch_train import (accuracy_credit, accuracy_thresholds, count_parameters, evaluate, fit,
                                load_state_dict_file, one_cycle, predict_proba, train_one_epoch)


def _loader(n=64, batch_size=16, shuffle=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return make_loader(to_tensor_dataset(x, rng.integers(0, 10, n)), batch_size, shuffle=shuffle)


def _tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 13 * 13, 10))


def test_reference_net_is_under_the_parameter_budget_and_outputs_n_by_10_logits():
    model = CapstoneNet()
    assert count_parameters(model) <= PARAM_BUDGET
    assert model.eval()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert any(isinstance(m, nn.Dropout) for m in model.modules())


def test_classic_tutorial_model_has_its_93k_parameters_and_the_tutorial_shapes():
    """320 + 18,496 + 36,928 (three convs) + 36,928 + 650 (two dense layers) = 93,322."""
    model = ClassicTutorialCNN()
    assert count_parameters(model) == 93_322
    assert model.features(torch.zeros(2, 1, 28, 28)).shape == (2, 64, 3, 3)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_evaluate_equals_a_direct_computation_in_eval_mode():
    model, loader = _tiny(), _loader()
    model.train()
    result = evaluate(model, loader)
    assert not model.training
    x = torch.cat([xb for xb, _ in loader])
    y = torch.cat([yb for _, yb in loader])
    with torch.no_grad():
        logits = model(x)
    assert result["n"] == 64
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item())


def test_training_epochs_lower_the_loss_on_a_small_fixed_set():
    model, loader = _tiny(), _loader(n=32, batch_size=32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = evaluate(model, loader)["loss"]
    for _ in range(15):
        stats = train_one_epoch(model, loader, opt)
    assert model.training
    assert stats.keys() >= {"loss", "acc"}
    assert evaluate(model, loader)["loss"] < 0.7 * before


def test_fit_records_history_steps_one_cycle_per_batch_and_calls_the_callback():
    model, loader = _tiny(), _loader(n=64, batch_size=16, shuffle=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = one_cycle(opt, max_lr=0.1, num_epochs=2, steps_per_epoch=len(loader))
    seen = []
    hist = fit(model, loader, loader, opt, num_epochs=2, scheduler=sched, callback=lambda h: seen.append(len(h["epoch"])))
    assert seen == [1, 2]
    assert hist["epoch"] == [1.0, 2.0] and len(hist["val_acc"]) == 2
    assert sched.last_epoch == 2 * len(loader)       # stepped once per batch, not per epoch
    assert hist["lr"][0] == pytest.approx(0.1 / 25)  # OneCycle starts at max_lr / div_factor


def test_predict_proba_rows_are_probabilities():
    p = predict_proba(_tiny(), torch.randn(5, 1, 28, 28))
    assert p.shape == (5, 10)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)


def test_saved_state_dict_round_trips(tmp_path):
    model = _tiny()
    torch.save(model.state_dict(), tmp_path / "m.pt")
    other = _tiny()
    with torch.no_grad():
        for p in other.parameters():
            p.zero_()
    loaded = load_state_dict_file(other, tmp_path / "m.pt")
    assert not loaded.training
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("content, error, match", [
    (None, FileNotFoundError, "not found"),
    ("garbage", ValueError, "not a saved state_dict"),
    ("whole model", ValueError, "not a saved state_dict|not a state_dict"),
    ("other arch", ValueError, "does not match"),
    ("wrong shape", ValueError, "shapes differ"),
])
def test_bad_model_files_are_refused_with_a_clear_message(tmp_path, content, error, match):
    path = tmp_path / "mnist_cnn.pt"
    if content == "garbage":
        path.write_bytes(b"this is not a torch file")
    elif content == "whole model":
        torch.save(_tiny(), path)
    elif content == "other arch":
        torch.save(CapstoneNet().state_dict(), path)
    elif content == "wrong shape":
        state = _tiny().state_dict()
        state["6.weight"] = torch.zeros(10, 17)
        torch.save(state, path)
    with pytest.raises(error, match=match):
        load_state_dict_file(_tiny(), path)


def test_accuracy_credit_is_one_tenth_per_0_2_points_above_97_percent():
    assert accuracy_thresholds()[:2] == [9720, 9740] and accuracy_thresholds()[-1] == 9900
    assert accuracy_credit(9900) == 1.0 and accuracy_credit(9950) == 1.0
    assert accuracy_credit(9899) == 0.9
    assert accuracy_credit(9850) == 0.7      # 98.5 % -> 7 of 10 points
    assert accuracy_credit(9719) == 0.0 and accuracy_credit(0) == 0.0
