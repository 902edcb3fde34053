"""Lesson 06 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
A grade cell's score is points × passed checks / all checks, rounded to 2 decimals.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "06_optimizers"
FULL = {"test_sgd_step": 1, "test_momentum_step": 2, "test_rmsprop_step": 2, "test_adam_step": 3, "test_cosine_lr": 2}

MOMENTUM_BODY = '''    g = dw + weight_decay * w if weight_decay != 0 else dw
    buf = state.get("momentum_buffer")
    buf = np.array(g, copy=True) if buf is None else momentum * buf + g
    return w - lr * buf, {**state, "momentum_buffer": buf}'''
MOMENTUM_DECAY_AFTER = '''    buf = state.get("momentum_buffer")
    buf = np.array(dw, copy=True) if buf is None else momentum * buf + dw
    return w - lr * (buf + weight_decay * w), {**state, "momentum_buffer": buf}'''
COSINE_LINE = "return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * step / total)) / 2"

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # sgd_step, 9 checks (3 visible). `w -= lr * g` returns the right values but changes the caller's w: only
    # "w and dw are not modified" fails (visible too) -> 8/9 of 1 = 0.89
    "sgd_in_place": ([("sgd_step", "    return w - lr * g, state", "    w -= lr * g\n    return w, state")],
                     {"test_sgd_step": 0.89}, "test_sgd_step"),
    # momentum_step, 9 checks (4 visible). The average b = mu b + (1 - mu) g: the three hand-computed cases fail
    # (visible), and so do the three torch comparisons with momentum > 0; "momentum = 0 is plain SGD"
    # (b = g then), "not modified" and "float32" pass -> 3/9 of 2 = 0.67
    "momentum_average": ([("momentum_step", "else momentum * buf + g", "else momentum * buf + (1 - momentum) * g")],
                         {"test_momentum_step": 0.67}, "test_momentum_step"),
    # weight decay added after the velocity, w - lr * (b + wd * w): the visible weight-decay case and the torch
    # comparisons with weight decay and momentum (0.5 with 0.01, 0.99 with 0.001) fail; with momentum 0 it is
    # plain SGD again and passes -> 6/9 of 2 = 1.33
    "momentum_decay_after": ([("momentum_step", MOMENTUM_BODY, MOMENTUM_DECAY_AFTER)],
                             {"test_momentum_step": 1.33}, "test_momentum_step"),
    # rmsprop_step, 11 checks (5 visible). alpha and 1 - alpha swapped: the four hand-computed cases fail
    # (visible), the three torch comparisons (alpha 0.99, 0.9, 0.6) and the zero-gradient case (alpha 0.99)
    # fail; "not modified", the scale invariance and "float32" pass -> 3/11 of 2 = 0.55
    "rmsprop_alpha_swapped": ([("rmsprop_step", "square_avg = alpha * state.get(\"square_avg\", np.zeros_like(w)) "
                                                "+ (1 - alpha) * g * g",
                                "square_avg = (1 - alpha) * state.get(\"square_avg\", np.zeros_like(w)) "
                                "+ alpha * g * g")],
                              {"test_rmsprop_step": 0.55}, "test_rmsprop_step"),
    # eps inside the square root (TensorFlow 1's RMSProp): the visible eps = 1 case fails; hidden, the float64
    # comparison with eps 1e-6 fails; with eps 1e-8 in float32 the difference stays below the tolerance, the
    # zero gradient gives 0 / sqrt(eps) = 0 and the scale check has eps = 0 -> 9/11 of 2 = 1.64
    "rmsprop_eps_inside": ([("rmsprop_step", "(np.sqrt(square_avg) + eps)", "np.sqrt(square_avg + eps)")],
                           {"test_rmsprop_step": 1.64}, "test_rmsprop_step"),
    # adam_step, 12 checks (6 visible). No bias correction: the four hand-computed steps fail (visible), and all
    # five torch comparisons; the stored state (raw m, v), "not modified" and "float32" pass -> 3/12 of 3 = 0.75
    "adam_no_bias_correction": ([("adam_step", "    m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
                                  "    m_hat = m\n    v_hat = v")],
                                {"test_adam_step": 0.75}, "test_adam_step"),
    # the step counter starts at 0 and is used before it is increased: 1 - beta**0 = 0, every step is NaN.
    # Only "not modified" and "float32" (NaN float32 is float32) pass -> 2/12 of 3 = 0.5
    "adam_step_from_zero": ([("adam_step", 't = state.get("step", 0) + 1', 't = state.get("step", 0)')],
                            {"test_adam_step": 0.5}, "test_adam_step"),
    # eps inside the corrected square root: the visible eps = 1 case fails; hidden, the float64 eps 1e-6
    # comparison and the tiny (1e-10) gradients fail; float32 with eps 1e-8 and the 1e30 gradients pass
    # -> 9/12 of 3 = 2.25
    "adam_eps_inside": ([("adam_step", "(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")],
                        {"test_adam_step": 2.25}, "test_adam_step"),
    # AdamW's decoupled decay instead of Adam's L2 gradient term: the visible weight-decay case (0.95, not 0.9)
    # and the torch comparison with weight decay 0.1 fail -> 10/12 of 3 = 2.5
    "adam_decoupled_decay": ([("adam_step", "    g = dw + weight_decay * w if weight_decay != 0 else dw",
                               "    w = w * (1 - lr * weight_decay)\n    g = dw")],
                             {"test_adam_step": 2.5}, "test_adam_step"),
    # cosine_lr, 9 checks (4 visible). lr_min ignored: the visible lr_min case, the torch comparison
    # (eta_min 1e-4) and total = 1 (lr_min 0.02) fail -> 6/9 of 2 = 1.33
    "cosine_no_lr_min": ([("cosine_lr", COSINE_LINE, "return lr_max * (1 + math.cos(math.pi * step / total)) / 2")],
                         {"test_cosine_lr": 1.33}, "test_cosine_lr"),
    # cos without (1 + cos) / 2: ends at -lr_max; the three hand-computed cases, the torch comparison and
    # total = 1 fail; the three ValueError/float checks pass -> 4/9 of 2 = 0.89
    "cosine_without_half": ([("cosine_lr", COSINE_LINE, "return lr_min + (lr_max - lr_min) * math.cos(math.pi * step / total)")],
                            {"test_cosine_lr": 0.89}, "test_cosine_lr"),
}

# A piece of each bug's feedback that names the failing case (the report and its hints reach the student).
NAMED = {
    "sgd_in_place": "w after the call differs from the expected values",
    "momentum_average": "w after steps 1, 2, 3 differs from the expected values",
    "rmsprop_eps_inside": "(got 0.858579, expected 0.9)",
    "adam_no_bias_correction": "w_new differs from the expected values at 2 of 2 positions",
    "adam_step_from_zero": "w_new contains NaN",
    "adam_decoupled_decay": "(got 0.95, expected 0.9)",
    "cosine_without_half": "(got -0.1, expected 0)",
}


def test_the_visible_checks_give_the_source_full_marks():
    got = {gid: score for gid, (score, _) in visible_scores(source(LESSON)).items()}
    assert got == FULL


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_seeded_bug_already_loses_points_on_the_visible_checks(bug):
    """The learner's only fast feedback must not say "Well done!" to a wrong answer."""
    edits, _, grade_id = BUGS[bug]
    score, report = visible_scores(seeded(LESSON, edits))[grade_id]
    assert score < FULL[grade_id], report
    assert "✗" in report and "Well done" not in report


@pytest.mark.slow
def test_lesson06_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); then feedback without hidden
    tests that names each failing case."""
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)
    for bug, text in NAMED.items():
        assert text in html[bug], f"{bug}: the feedback does not say {text!r}"
