"""Lesson 02 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "02_activations"
FULL = {"test_collapse_linear": 2, "test_relu": 2, "test_leaky_relu": 1, "test_sigmoid": 3,
        "test_activation_backward": 2}

SIGMOID_BODY = '''    e = np.exp(-np.abs(x))                   # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))'''

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # collapse_linear, 10 checks (3 visible). b = b1 + b2 forgets that b1 goes through W2: the hand-computed b
    # (shape (2,), not (1,)) and the 3 -> 4 -> 2 batch (broadcast error) fail visibly; hidden, both torch
    # comparisons, "float32 in, float32 out" and "inputs not modified" (all with H != K) fail, while the
    # hand-computed W, the identity second layer and the two ValueError checks pass -> 4/10 of 2 = 0.8
    "bias_not_through_W2": ([("collapse_linear", "return W2 @ W1, W2 @ b1 + b2", "return W2 @ W1, b1 + b2")],
                            {"test_collapse_linear": 0.8}, "test_collapse_linear"),
    # relu / relu_backward, 9 checks (3 visible). x[x < 0] = 0 returns the right values but changes the
    # caller's array: only "relu does not modify its input" fails -> 8/9 of 2 = 1.78
    "relu_in_place": ([("relu", "    return np.maximum(x, 0)", "    x[x < 0] = 0\n    return x")],
                      {"test_relu": 1.78}, "test_relu"),
    # x >= 0 passes gradient at exactly 0: the hand-computed relu_backward fails, and so do the float64 and
    # float32 torch comparisons (they contain exact zeros); 6/9 of 2 = 1.33
    "relu_grad_at_zero": ([("relu", "return dout * (x > 0)", "return dout * (x >= 0)")],
                          {"test_relu": 1.33}, "test_relu"),
    # the mask without dout: the hand-computed relu_backward, both torch comparisons, "float32 in, float32 out"
    # (1.0 * mask is float64) and the 0-d case (dout = 2) fail -> 4/9 of 2 = 0.89
    "relu_grad_without_dout": ([("relu", "return dout * (x > 0)", "return 1.0 * (x > 0)")],
                               {"test_relu": 0.89}, "test_relu"),
    # leaky_relu, 7 checks (3 visible). np.maximum(x, slope * x) is right only for slope <= 1: the visible
    # slope-2 case and both torch comparisons (slope 3) fail -> 4/7 of 1 = 0.57
    "leaky_max": ([("leaky_relu", "return np.where(x > 0, x, slope * x)", "return np.maximum(x, slope * x)")],
                  {"test_leaky_relu": 0.57}, "test_leaky_relu"),
    # sigmoid, 12 checks (4 visible). 1 / (1 + exp(-x)) overflows for x < -709 (float64), -88.7 (float32),
    # -11.09 (float16). In the learner's notebook the visible no-warning check fails too (visible: 2/4 of 3 =
    # 1.5). In grading the learner's code runs in the sandbox, whose warnings never reach the judge, so that
    # check passes there; what fails is the value the overflow destroys: sigma(-12) = 0 in float16, visible
    # and in the hidden float16 sweep -> 10/12 of 3 = 2.5
    "sigmoid_naive": ([("sigmoid", SIGMOID_BODY, "    return 1 / (1 + np.exp(-x))")],
                      {"test_sigmoid": 2.5}, "test_sigmoid"),
    # np.where with both naive branches: every value is right, only the warnings (overflow, inf / inf) are
    # wrong. The learner's visible checks catch it (3/4 of 3 = 2.25); in grading the warnings stay in the
    # sandbox, so it scores 12/12 = 3 (a known blind spot: see the lesson's closing report).
    "sigmoid_where_both": ([("sigmoid", SIGMOID_BODY,
                             "    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))")],
                           {"test_sigmoid": 3.0}, "test_sigmoid"),
    # sigmoid_backward / tanh_backward, 7 checks (2 visible). x * (1 - x) instead of s * (1 - s): the visible
    # sigmoid case, both torch comparisons and both "far out" checks fail -> 2/7 of 2 = 0.57
    "sigmoid_backward_uses_x": ([("activation_backward", "return dout * s * (1 - s)", "return dout * x * (1 - x)")],
                                {"test_activation_backward": 0.57}, "test_activation_backward"),
    # 1 - tanh(x) without the square: the visible tanh case, both torch comparisons and both "far out" checks
    # (1 - tanh(-1e4) = 2) fail -> 2/7 of 2 = 0.57
    "tanh_without_square": ([("activation_backward", "return dout * (1 - t * t)", "return dout * (1 - t)")],
                            {"test_activation_backward": 0.57}, "test_activation_backward"),
}

# A piece of each bug's feedback that names the failing case (the report and its hints reach the student).
NAMED = {
    "bias_not_through_W2": "b has shape (2,) but expected (1,)",
    "relu_in_place": "x after relu(x) differs from the expected values",
    "relu_grad_at_zero": "x == 0 gets no gradient",
    "leaky_max": "np.maximum(x, slope * x) only works for slope &lt;= 1",
    "sigmoid_naive": "float16: sigmoid([-12, 12])",
    "tanh_without_square": "(got 1.96403, expected 0.070651)",
}


def test_the_visible_checks_give_the_source_full_marks(real_data_dir):  # the setup cell loads MNIST
    got = {gid: score for gid, (score, _) in visible_scores(source(LESSON)).items()}
    assert got == FULL


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_seeded_bug_already_loses_points_on_the_visible_checks(bug, real_data_dir):
    """The learner's only fast feedback must not say "Well done!" to a wrong answer."""
    edits, _, grade_id = BUGS[bug]
    score, report = visible_scores(seeded(LESSON, edits))[grade_id]
    assert score < FULL[grade_id], report
    assert "✗" in report and "Well done" not in report


@pytest.mark.slow
def test_lesson02_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); then feedback without hidden
    tests that names each failing case."""
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)
    for bug, text in NAMED.items():
        assert text in html[bug], f"{bug}: the feedback does not say {text!r}"
