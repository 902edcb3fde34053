"""Lesson 07 graded for real: seeded bugs lose exactly the points worked out below, and the saved model
numpy_cnn.npz earns its stepwise credit (full, partial, malformed, missing).

Seeded bugs are the mistakes learners make, written as edits of the solution cells. Each must already
lose points on the VISIBLE checks (the learner's fast feedback), and in one real ``grade --jobs 2``
batch (sandbox + judge, hidden checks included) score exactly what the comments work out check by
check. A grade cell's score is points × passed checks / all checks, rounded to 2 decimals.
The saved model is graded by the judge in the lesson's own architecture (nm.build_model): 2 points ×
``model_credit``, a quarter per 0.5 percentage points above 96.0 %, all at 98.0 %.
"""
import numpy as np
import pytest

from lesson_tools import (check_graded_batch, combined, grade_batch, grade_points, seeded, source,
                          visible_scores)

LESSON = "07_training_from_scratch"
EXERCISES = {"test_train_one_epoch": 3, "test_init": 2, "test_l2_penalty": 1, "test_dropout": 2, "test_random_shift": 2}
FULL = {**EXERCISES, "test_saved_model": 2}

SHIFT_LOOP = '''    for n, (dy, dx) in enumerate(shifts):
        out[n, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \\
            images[n, :, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]'''
SHIFT_ROLL = '''    for n, (dy, dx) in enumerate(shifts):
        out[n] = np.roll(images[n], (dy, dx), axis=(-2, -1))'''

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # train_one_epoch, 9 checks (4 visible). Batches in the original order (no shuffle): the weights and the
    # returned loss differ from fit's (visible), and hidden, the last batch's gradient and the two-epoch run
    # differ; the falling loss (one batch), train mode, the exact mean with lr 0, the transform and "not
    # modified" pass -> 5/9 of 3 = 1.67
    "no_shuffle": ([("train_one_epoch", "perm = rng.permutation(n)", "perm = np.arange(n)")],
                   {"test_train_one_epoch": 1.67}, "test_train_one_epoch"),
    # no optimizer.zero_grad(): the gradients add up over the batches; the same four checks fail (the one-batch
    # loss still falls, and the checks with lr 0 that look only at the loss pass) -> 5/9 of 3 = 1.67
    "no_zero_grad": ([("train_one_epoch", "        optimizer.zero_grad()\n", "")],
                     {"test_train_one_epoch": 1.67}, "test_train_one_epoch"),
    # the loss averaged over batches, not examples: the returned loss (batches of 16, 16, 16, 2) differs from
    # fit's (visible) and the hidden 4, 4, 2 case fails -> 7/9 of 3 = 2.33
    "mean_over_batches": ([("train_one_epoch", "total_loss += loss * len(idx)", "total_loss += loss"),
                           ("train_one_epoch", '"loss": float(total_loss / n)',
                            '"loss": float(total_loss / len(range(0, n, batch_size)))')],
                          {"test_train_one_epoch": 2.33}, "test_train_one_epoch"),
    # no model.train(): only the visible train-mode check fails (the other models have no dropout) -> 8/9 of 3
    # = 2.67
    "no_train_mode": ([("train_one_epoch", "    model.train()\n", "")], {"test_train_one_epoch": 2.67},
                      "test_train_one_epoch"),
    # init, 11 checks (6 visible). He with fan_out: the two visible He cases and the hidden He variance fail;
    # Xavier, the fans, the seeding, ValueError and the normal shape pass -> 8/11 of 2 = 1.45
    "he_fan_out": ([("init", "    fan_in, _ = fan_in_fan_out(shape)", "    _, fan_in = fan_in_fan_out(shape)")],
                   {"test_init": 1.45}, "test_init"),
    # fans without the kernel (fan_in = C): the visible fans, He conv and Xavier conv cases fail, and hidden the
    # non-square fans and the conv He variance; dense cases, seeding, ValueError, the dense Xavier variance and
    # the normal shape pass -> 6/11 of 2 = 1.09
    "fan_without_kernel": ([("init", "field = int(np.prod(shape[2:])) if len(shape) > 2 else 1", "field = 1")],
                           {"test_init": 1.09}, "test_init"),
    # the variance 2 / fan_in used as the standard deviation: both visible He cases and the hidden He variance
    # fail (a narrower normal is still normal) -> 8/11 of 2 = 1.45
    "he_variance_as_std": ([("init", "rng.normal(0.0, np.sqrt(2.0 / fan_in), size=tuple(shape))",
                             "rng.normal(0.0, 2.0 / fan_in, size=tuple(shape))")], {"test_init": 1.45}, "test_init"),
    # l2_penalty, 8 checks (4 visible). No 1/2 in the penalty: the hand-computed penalty and the numerical
    # derivative fail (visible), and hidden the torch comparison and the float32 penalty -> 4/8 of 1 = 0.5
    "l2_no_half": ([("l2_penalty", "penalty = 0.5 * weight_decay * sum(", "penalty = weight_decay * sum(")],
                   {"test_l2_penalty": 0.5}, "test_l2_penalty"),
    # gradients 2 λ w: the hand-computed gradients and the numerical derivative fail (visible), and the torch
    # comparison -> 5/8 of 1 = 0.625, rounded to 0.62
    "l2_double_grad": ([("l2_penalty", "grads = [weight_decay * w for w in weights]",
                         "grads = [2 * weight_decay * w for w in weights]")], {"test_l2_penalty": 0.62},
                       "test_l2_penalty"),
    # w *= weight_decay in place: right values, but the caller's weights change: only "not modified" fails
    # (visible) -> 7/8 of 1 = 0.875, rounded to 0.88
    "l2_in_place": ([("l2_penalty", "    grads = [weight_decay * w for w in weights]",
                      "    for w in weights:\n        w *= weight_decay\n    grads = weights")],
                    {"test_l2_penalty": 0.88}, "test_l2_penalty"),
    # dropout, 12 checks (5 visible). Survivors not scaled by 1 / (1 - p): the hand-computed output and the mean
    # fail (visible), and hidden the two comparisons with cnnlib, float32 and 1e30 -> 6/12 of 2 = 1.0
    "dropout_not_scaled": ([("dropout", "mask = keep.astype(x.dtype) / x.dtype.type(1 - p)",
                             "mask = keep.astype(x.dtype)")], {"test_dropout": 1.0}, "test_dropout"),
    # keeps where u < p (drops with probability 1 - p): the hand-computed output and the share of zeros fail
    # (visible), hidden both cnnlib comparisons, float32, p = 0 (everything dropped) and 1e30 -> 5/12 of 2 = 0.83
    "dropout_keep_below_p": ([("dropout", "keep = rng.random(x.shape) >= p", "keep = rng.random(x.shape) < p")],
                             {"test_dropout": 0.83}, "test_dropout"),
    # drops in eval mode too: the visible eval identity and the hidden "draws nothing in eval mode" fail
    # -> 10/12 of 2 = 1.67
    "dropout_in_eval": ([("dropout", "    if not training:\n        return x.copy(), None\n", "")],
                        {"test_dropout": 1.67}, "test_dropout"),
    # the backward ignores the mask: only the visible backward check fails -> 11/12 of 2 = 1.83
    "dropout_backward_ignores_mask": ([("dropout", "return dout.copy() if mask is None else dout * mask",
                                        "return dout.copy()")], {"test_dropout": 1.83}, "test_dropout"),
    # random_shift, 9 checks (5 visible). np.roll: pixels wrap around, so the corner pixels (visible), the fill
    # (visible) and both loop references (hidden) fail; the centre pixels, shapes, max_shift 0, the generator and
    # the labels pass -> 5/9 of 2 = 1.11
    "shift_roll": ([("random_shift", SHIFT_LOOP, SHIFT_ROLL)], {"test_random_shift": 1.11}, "test_random_shift"),
    # one shift for the whole batch: the three visible pixel/fill checks and the hidden 5-image reference fail
    # (a batch of one is still right) -> 5/9 of 2 = 1.11
    "shift_one_for_batch": ([("random_shift", "shifts = rng.integers(-max_shift, max_shift + 1, size=(N, 2))",
                              "shifts = np.tile(rng.integers(-max_shift, max_shift + 1, size=2), (N, 1))")],
                            {"test_random_shift": 1.11}, "test_random_shift"),
    # dy and dx swapped: the three visible pixel/fill checks and both hidden references fail -> 4/9 of 2 = 0.89
    "shift_axes_swapped": ([("random_shift", "for n, (dy, dx) in enumerate(shifts):",
                             "for n, (dx, dy) in enumerate(shifts):")], {"test_random_shift": 0.89},
                           "test_random_shift"),
    # uncovered pixels always 0: the visible fill check and the hidden reference with fill 0.25 fail -> 7/9 of 2
    # = 1.56
    "shift_ignores_fill": ([("random_shift", "out = np.full_like(images, fill)", "out = np.zeros_like(images)")],
                           {"test_random_shift": 1.56}, "test_random_shift"),
}

# A piece of each bug's feedback that names the failing case (the report and its hints reach the student).
NAMED = {
    "no_shuffle": "0.weight after 1 epoch(s) differs from the expected values",
    "no_train_mode": "the model is in eval mode after train_one_epoch",
    "fan_without_kernel": "fan_in_fan_out((16, 8, 3, 3)) is (8, 16) but expected (72, 144)",
    "he_variance_as_std": "have standard deviation 0.009997, expected 0.1",
    "l2_no_half": "(got 1.45, expected 0.725)",
    "l2_in_place": "weights[0] after the call differs",
    "dropout_not_scaled": "the survivors must be scaled by 1 / (1 - p)",
    "dropout_keep_below_p": "with p = 0.3, 70.0% of the values were set to 0",
    "dropout_in_eval": "out in eval mode differs",
    "shift_roll": "should leave the image (all fill)",
    "shift_one_for_batch": "image 1: the draw gives (dy, dx) = (-2, -1)",
}


@pytest.fixture(scope="module")
def mnist(real_data_dir):
    from cnnlib.data import load_mnist

    return load_mnist(real_data_dir / "mnist", download=False, progress=False)


@pytest.fixture(scope="module")
def models(mnist, tmp_path_factory):
    """Saved models of known accuracy: one epoch on all 60,000 digits (about 98.6 %, full credit), one epoch on
    20,000 (about 97.3 %, half credit), and a file with a wrongly shaped array."""
    from cnnlib import numpy_model as nm

    folder = tmp_path_factory.mktemp("models")
    full, _ = nm.train_recipe(mnist, epochs=1, n_test=10)
    partial, _ = nm.train_recipe(mnist, n_train=20_000, epochs=1, n_test=10)
    paths = {"full": nm.save_model(full, folder / "full.npz"), "partial": nm.save_model(partial, folder / "partial.npz")}
    state = full.state_dict()
    state["7.weight"] = state["7.weight"][:, :700]
    np.savez(folder / "malformed.npz", **state)
    paths["malformed"] = folder / "malformed.npz"
    measured = {name: nm.measure_saved_model(path, ds=mnist) for name, path in paths.items()}
    return paths, measured


def _points(measured):
    from cnnlib.numpy_model import model_credit

    return 0.0 if measured["error"] else round(2 * model_credit(measured["correct"], measured["n"]), 2)


def test_the_visible_checks_give_the_source_full_marks_and_no_file_earns_zero(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                   # no numpy_cnn.npz here
    scores = visible_scores(source(LESSON))
    assert {gid: score for gid, (score, _) in scores.items()} == {**EXERCISES, "test_saved_model": 0}
    report = scores["test_saved_model"][1]
    assert report.count("problem:") == 1 and "numpy_cnn.npz not found next to the notebook" in report


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_seeded_bug_already_loses_points_on_the_visible_checks(bug, real_data_dir, tmp_path, monkeypatch):
    """The learner's only fast feedback must not say "Well done!" to a wrong answer."""
    monkeypatch.chdir(tmp_path)
    edits, _, grade_id = BUGS[bug]
    score, report = visible_scores(seeded(LESSON, edits))[grade_id]
    assert score < FULL[grade_id], report
    assert "✗" in report and "Well done" not in report
    assert "np.False_" not in report and "the condition was not met" not in report, report


def test_the_models_land_where_the_credit_steps_say(models):
    _, measured = models
    assert measured["full"]["error"] is None and measured["full"]["acc"] >= 0.98, measured["full"]
    assert measured["partial"]["error"] is None and 0.965 <= measured["partial"]["acc"] < 0.98, measured["partial"]
    assert _points(measured["partial"]) in (0.5, 1.0, 1.5)
    assert "'7.weight' has shape (128, 700), the lesson's model needs (128, 784)" in measured["malformed"]["error"]


def test_the_visible_saved_model_cell_gives_exactly_the_graders_points(models, tmp_path, monkeypatch):
    """The cell a learner runs and the grader must agree: the same measurement, the same rule."""
    paths, measured = models
    monkeypatch.chdir(tmp_path)
    for name in ("full", "partial", "malformed"):
        (tmp_path / "numpy_cnn.npz").write_bytes(paths[name].read_bytes())
        score, report = visible_scores(source(LESSON))["test_saved_model"]
        assert score == _points(measured[name]), (name, report)
        assert f"score: {score:g} / 2 points" in report
    assert "problem: numpy_cnn.npz: array '7.weight' has shape (128, 700)" in report


def test_the_lesson_states_the_credit_rule_the_grader_applies():
    from cnnlib.numpy_model import CREDIT, RECIPE

    text = "\n".join(c.source for c in source(LESSON).cells)
    assert CREDIT == {"low": 0.96, "high": 0.98, "steps": 4}
    assert "half a point for every 0.5 percentage points above 96.0 %, so 2/2 at 98.0 % or more" in text
    assert RECIPE == {"epochs": 5, "batch_size": 64, "lr": 3e-3, "lr_decay": 0.5, "seed": 0}
    assert "full_model = nm.build_model(seed=recipe[\"seed\"])" in text and "lr_decay=recipe[\"lr_decay\"]" in text


@pytest.mark.slow
def test_lesson07_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir, models):
    """ONE `grade --jobs 2` batch: the source with a full model (full marks), the released notebook without a
    model (0), and every seeded bug (exact partial credit; bugs in different exercises share a notebook), each
    bug notebook with another model file: full, partial (the measured credit), malformed (0), none (0)."""
    from autograder.release import release_notebook

    paths, measured = models
    assert grade_points(source(LESSON)) == FULL
    packed = combined(LESSON, {bug: (edits, points) for bug, (edits, points, _) in BUGS.items()})
    assert len(packed) == 4
    model_of = dict(zip(sorted(packed), ["full", "partial", "malformed", None]))
    notebooks = {"source": source(LESSON), "released": release_notebook(LESSON)}
    notebooks.update({student: nb for student, (nb, _, _) in packed.items()})
    files = {"source": {"numpy_cnn.npz": paths["full"].read_bytes()}}
    files.update({s: {"numpy_cnn.npz": paths[m].read_bytes()} for s, m in model_of.items() if m})
    course, got = grade_batch(tmp_path, LESSON, notebooks, real_data_dir, files=files)

    expected = {"source": FULL, "released": {k: 0 for k in FULL}}
    for student, (_, points, _) in packed.items():
        model = model_of[student]
        expected[student] = {**EXERCISES, **points, "test_saved_model": _points(measured[model]) if model else 0.0}
    assert expected["bugs1"]["test_saved_model"] == 2 and 0 < expected["bugs2"]["test_saved_model"] < 2
    html = check_graded_batch(course, LESSON, got, expected, packed)
    for bug, text in NAMED.items():
        assert text in html[bug], f"{bug}: the feedback does not say {text!r}"
    feedback = {s: (course / "feedback" / s / LESSON / f"{LESSON}.html").read_text() for s in ("bugs3", "bugs4")}
    assert "array &#x27;7.weight&#x27; has shape (128, 700)" in feedback["bugs3"] or \
           "array '7.weight' has shape (128, 700)" in feedback["bugs3"]
    assert "numpy_cnn.npz not found next to the notebook" in feedback["bugs4"]
