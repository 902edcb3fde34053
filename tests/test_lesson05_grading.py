"""Lesson 05 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
A grade cell's score is points × passed checks / all checks, rounded to 2 decimals.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "05_backprop"
FULL = {"test_numerical_gradient": 2, "test_relative_error": 1, "test_linear_backward": 2,
        "test_softmax_cross_entropy_backward": 2, "test_conv2d_backward": 4}

CENTRED = '''        x[i] = old - eps
        minus = f(x)
        x[i] = old                                  # put the value back
        grad[i] = (plus - minus) / (2 * eps)'''
FORWARD = '''        x[i] = old
        minus = f(x)
        grad[i] = (plus - minus) / eps'''

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # numerical_gradient, 9 checks (3 visible): a forward difference (f(x + eps) - f(x)) / eps. x is put back, a
    # linear f (visible c case, the convolution's input gradient: exact for any difference), the result's dtype and
    # shape and the ValueError pass; the visible x**3 case ([3.31, 12.61]), "evaluated at x ± eps", tanh (rtol 1e-7)
    # and sin with the default eps fail -> 5/9 of 2 = 1.11
    "numgrad_forward_difference": ([("numerical_gradient", CENTRED, FORWARD)],
                                   {"test_numerical_gradient": 1.11}, "test_numerical_gradient"),
    # x[i] is never put back (it stays at old - eps). f is separable or linear in every value check, so x**3, c,
    # tanh, sin and the convolution still come out right, and the ValueError passes; the visible "x holds its
    # original values", "evaluated at x ± eps" (later points are shifted) and "(3, 2) x left as it was" fail
    # -> 6/9 of 2 = 1.33
    "numgrad_x_not_restored": ([("numerical_gradient",
                                 "        x[i] = old                                  # put the value back\n", "")],
                               {"test_numerical_gradient": 1.33}, "test_numerical_gradient"),
    # relative_error, 9 checks (3 visible): no floor 1e-8, so 0 / 0 = nan. The visible "two zero gradients" and the
    # hidden [0, 1e-12] vs [0, 0] fail; the rest pass -> 7/9 of 1 = 0.78
    "relerr_no_floor": ([("relative_error", "np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))")],
                        {"test_relative_error": 0.78}, "test_relative_error"),
    # linear_backward, 10 checks (4 visible): dw = x.T @ dout, (D, M) instead of (M, D). The hand dx and db and
    # "inputs untouched" pass; the visible shapes and dw, and every hidden comparison (torch, batch 1, float32,
    # centred differences, the trained classifier) fail on dw -> 3/10 of 2 = 0.6
    "linear_dw_transposed": ([("linear_backward", "dw = dout.T @ x", "dw = x.T @ dout")],
                             {"test_linear_backward": 0.6}, "test_linear_backward"),
    # db averaged over the batch instead of summed. Shapes, hand dx and dw, batch size 1 (mean = sum) and "untouched"
    # pass; the visible db, torch, float32, centred differences and the classifier fail -> 5/10 of 2 = 1.0
    "linear_db_mean": ([("linear_backward", "db = dout.sum(axis=0)", "db = dout.mean(axis=0)")],
                       {"test_linear_backward": 1.0}, "test_linear_backward"),
    # softmax_cross_entropy_backward, 9 checks (3 visible): no division by N. The row sums (still 0), batch size 1
    # and "untouched" pass; the two visible values, torch, float32 extremes, real digits and centred differences
    # fail -> 3/9 of 2 = 0.67
    "sce_no_division_by_N": ([("softmax_cross_entropy_backward", "return probs / N", "return probs")],
                             {"test_softmax_cross_entropy_backward": 0.67}, "test_softmax_cross_entropy_backward"),
    # probs[:, y] -= 1 subtracts in every row at every label's column. The visible large-logit case (labels [0, 0]:
    # one column), batch size 1 and "untouched" pass; the visible uniform case and row sums, torch, float32, real
    # digits and centred differences fail -> 3/9 of 2 = 0.67
    "sce_column_block": ([("softmax_cross_entropy_backward", "probs[np.arange(N), y] -= 1", "probs[:, y] -= 1")],
                         {"test_softmax_cross_entropy_backward": 0.67}, "test_softmax_cross_entropy_backward"),
    # conv2d_backward, 15 checks (5 visible): dw from image 0 only (not summed over the batch). The visible shapes,
    # hand dx, dw/db and stride 2 (all N = 1), batch size 1, centred differences (N = 1) and "untouched" pass; the
    # visible batch of two and the hidden cases with N > 1 (stride 1, stride 2 + padding, non-square, leftover rows,
    # 8 random, float32, large values) fail -> 7/15 of 4 = 1.87
    "conv_dw_not_summed_over_batch": ([("conv2d_backward",
                                        "dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))",
                                        "dw += np.tensordot(g[0], xp[0, :, rows, cols], axes=0)")],
                                      {"test_conv2d_backward": 1.87}, "test_conv2d_backward"),
    # dx returned with its padding. Every padding-0 case passes (the 4 other visible ones, stride 1, non-square,
    # leftover rows) and "untouched"; the visible shapes (padding 1), stride 2 + padding, batch size 1, 8 random,
    # float32, large values and centred differences fail -> 8/15 of 4 = 2.13
    "conv_padding_not_cropped": ([("conv2d_backward", "return dxp[:, :, P:P + H, P:P + W], dw.astype(x.dtype), db",
                                   "return dxp, dw.astype(x.dtype), db")],
                                 {"test_conv2d_backward": 2.13}, "test_conv2d_backward"),
    # the backward pass ignores the stride (windows at i, j instead of i·S, j·S). Every stride-1 case passes (shapes,
    # hand dx, dw/db, batch of two, stride 1, non-square, large values) and "untouched"; the visible stride-2 case,
    # stride 2 + padding, batch size 1 (stride 2), leftover rows (stride 3), 8 random, float32 (stride 2) and centred
    # differences (stride 2) fail -> 8/15 of 4 = 2.13
    "conv_stride_ignored": ([("conv2d_backward", "rows, cols = slice(i * S, i * S + KH), slice(j * S, j * S + KW)",
                              "rows, cols = slice(i, i + KH), slice(j, j + KW)")],
                            {"test_conv2d_backward": 2.13}, "test_conv2d_backward"),
    # overlapping windows overwrite dx (= instead of +=). Shapes, the hand dw/db, stride 2 with 2×2 windows and
    # stride 3 with 3×3 windows (no overlap) and "untouched" pass; the visible hand dx and batch of two, and every
    # other hidden case fail -> 5/15 of 4 = 1.33
    "conv_dx_overwritten": ([("conv2d_backward", "dxp[:, :, rows, cols] += ", "dxp[:, :, rows, cols] = ")],
                            {"test_conv2d_backward": 1.33}, "test_conv2d_backward"),
}


def test_the_visible_checks_give_the_source_full_marks():
    got = {gid: score for gid, (score, _) in visible_scores(source(LESSON)).items()}
    assert got == FULL


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_seeded_bug_already_loses_points_on_the_visible_checks(bug):
    """The learner's only fast feedback must not say "Well done!" to a wrong answer."""
    edits, _, grade_id = BUGS[bug]
    scores = visible_scores(seeded(LESSON, edits))
    score, report = scores[grade_id]
    assert score < FULL[grade_id], report
    assert "✗" in report and "Well done" not in report
    assert all(scores[g][0] == FULL[g] for g in FULL if g != grade_id)      # the bug costs only its own exercise


@pytest.mark.slow
def test_lesson05_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); the rest of each buggy notebook
    still runs; feedback without hidden tests."""
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)

    # the failing case is named, with the got/expected of the visible check, and its hint
    assert "(got 12.61, expected 12.01)" in html["numgrad_forward_difference"]
    assert "means a forward difference" in html["numgrad_forward_difference"]
    assert "x after numerical_gradient differs" in html["numgrad_x_not_restored"]
    assert "relative error contains NaN" in html["relerr_no_floor"]
    assert "but expected ((4, 3), (2, 3), (2,))" in html["linear_dw_transposed"]
    assert "(got 1.5, expected 3)" in html["linear_db_mean"]
    assert "(got -0.75, expected -0.375)" in html["sce_no_division_by_N"]
    assert "not probs[:, y]" in html["sce_column_block"]
    assert "(got 6, expected 18)" in html["conv_dw_not_summed_over_batch"]
    assert "means only one image was used" in html["conv_dw_not_summed_over_batch"]
    assert "((2, 3, 7, 8), (4, 3, 3, 2), (4,))" in html["conv_padding_not_cropped"]
    assert "(got 10, expected 1)" in html["conv_stride_ignored"]
    assert "(got -1, expected 9)" in html["conv_dx_overwritten"]
