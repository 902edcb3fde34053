"""Lesson 03 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
A grade cell's score is points × passed checks / all checks, rounded to 2 decimals.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "03_pooling"
FULL = {"test_max_pool2d": 2, "test_avg_pool2d": 1, "test_receptive_field": 2, "test_max_pool2d_backward": 3,
        "test_avg_pool2d_backward": 2}

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # max_pool2d, 12 checks (3 visible): windows start at i·K instead of i·S. Tiled windows (S = K) hide it: the
    # shape, the 4×4 hand case, the tiled torch cases, "batch 1 / kernel = map / kernel 1", float32 (kernel 2),
    # huge/negative (kernels 3/3 and 2), ValueError and "input untouched" pass; the visible 5×5 stride-2 case, the
    # overlapping torch cases (an empty window at the end: ValueError), stride > kernel and the real digits
    # (3×3 stride 2) fail -> 8/12 of 2 = 1.33
    "max_stride_ignored": ([("max_pool2d", "x[:, :, i * S:i * S + K, j * S:j * S + K]",
                             "x[:, :, i * K:i * K + K, j * K:j * K + K]")],
                           {"test_max_pool2d": 1.33}, "test_max_pool2d"),
    # avg_pool2d, 10 checks (3 visible): the mean over ALL axes mixes images and channels. Every case with one
    # image and one channel passes (4×4 hand case, 3×3 overlap, float32 and huge values on one map), so do the
    # ValueError and "input untouched"; the visible 2 images × 2 channels case and the three torch comparisons
    # (all have N or C > 1) fail -> 6/10 of 1 = 0.6
    "avg_mean_all_axes": ([("avg_pool2d", "window.mean(axis=(2, 3))", "window.mean()")],
                          {"test_avg_pool2d": 0.6}, "test_avg_pool2d"),
    # receptive_field, 10 checks (3 visible): forgetting the jump (r += k - 1) is right while every stride is 1:
    # no layers, two 3×3 convs, the 1×1 layers, the int types, both ValueErrors and "untouched" pass; the visible
    # conv-pool-conv-pool case, AlexNet and the random stacks fail -> 7/10 of 2 = 1.4
    "rf_no_jump": ([("receptive_field", "size = size + (kernel - 1) * jump", "size = size + (kernel - 1)")],
                   {"test_receptive_field": 1.4}, "test_receptive_field"),
    # updating the jump before the size: the same three checks fail (stride 1 stacks are unaffected) -> 1.4
    "rf_jump_first": ([("receptive_field", "size = size + (kernel - 1) * jump\n        jump = jump * stride",
                        "jump = jump * stride\n        size = size + (kernel - 1) * jump")],
                      {"test_receptive_field": 1.4}, "test_receptive_field"),
    # max_pool2d_backward, 11 checks (3 visible): THE bug of the issue, the gradient assigned (=) instead of
    # accumulated (+=) over overlapping windows (assigning the whole window slice also wipes earlier
    # contributions). Windows that do not overlap hide it: the tiled 4×4 case, the ties case, the tiled torch
    # cases, stride > kernel, kernel 1 / kernel = map, float32 (kernel 2), huge values (kernel 2) and "untouched"
    # pass; the visible 3×3 centre case, the overlapping torch cases and the overlapping ties fail
    # -> 8/11 of 3 = 2.18
    "max_bwd_assigned": ([("max_pool2d_backward", "dx[:, :, i * S:i * S + K, j * S:j * S + K] += mask",
                           "dx[:, :, i * S:i * S + K, j * S:j * S + K] = mask")],
                         {"test_max_pool2d_backward": 2.18}, "test_max_pool2d_backward"),
    # the gradient sent to EVERY tied maximum (mask = window == window.max()): random floats have no ties, so
    # only the visible ties case and the hidden ties (values 0, 1, 2) fail -> 9/11 of 3 = 2.45
    "max_bwd_all_ties": ([("max_pool2d_backward",
                           "mask = (np.arange(K * K) == first[..., None]).reshape(N, C, K, K)",
                           "mask = window == window.max(axis=(2, 3), keepdims=True)")],
                         {"test_max_pool2d_backward": 2.45}, "test_max_pool2d_backward"),
    # avg_pool2d_backward, 9 checks (2 visible): dout not divided by K·K. Every value check fails (kernel 1 is
    # grouped with kernel = map in one check); only "untouched" passes -> 1/9 of 2 = 0.22
    "avg_bwd_no_share": ([("avg_pool2d_backward", "dout[:, :, i, j, None, None] / (K * K)",
                           "dout[:, :, i, j, None, None]")],
                         {"test_avg_pool2d_backward": 0.22}, "test_avg_pool2d_backward"),
    # the share assigned (=) instead of added (+=): the visible 3×3 overlap and the overlapping torch cases fail;
    # tiled, stride > kernel, kernel 1 / global, float32 (kernel 2), huge dout (kernel 2), "untouched" pass
    # -> 7/9 of 2 = 1.56
    "avg_bwd_assigned": ([("avg_pool2d_backward", "+= dout[:, :, i, j, None, None] / (K * K)",
                           "= dout[:, :, i, j, None, None] / (K * K)")],
                         {"test_avg_pool2d_backward": 1.56}, "test_avg_pool2d_backward"),
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
def test_lesson03_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); the rest of each buggy notebook
    still runs; feedback without hidden tests."""
    course, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)

    # the failing case is named, with the got/expected of the visible check and its hint
    assigned = html["max_bwd_assigned"]
    assert "(got 4, expected 10)" in assigned and "instead of assigning it" in assigned
    assert "(got 6, expected 0)" in html["max_bwd_all_ties"]
    assert "(got 2, expected 4)" in html["max_stride_ignored"]
    assert "(size, jump) is (7, 4) but expected (10, 4)" in html["rf_no_jump"]
    assert "(got 4, expected 1)" in html["avg_bwd_no_share"]
