"""Lesson 04 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
A grade cell's score is points × passed checks / all checks, rounded to 2 decimals.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "04_dense_softmax"
FULL = {"test_flatten": 1, "test_linear_forward": 2, "test_softmax": 2, "test_log_softmax": 2,
        "test_cross_entropy": 2, "test_predict": 2}

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # flatten, 10 checks (2 visible): channels moved last before reshaping (the TensorFlow order). The shape,
    # float32, the 1-D ValueError (kept) and "input untouched" pass; the visible order case, the torch cases
    # (3-D feature maps, batch 1, non-square) fail, and 2-D, 3-D and 5-D inputs cannot be transposed
    # (0, 2, 3, 1) -> 4/10 of 1 = 0.4
    "flatten_channels_last": ([("flatten", "return x.reshape(x.shape[0], -1)",
                                "return x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1)")],
                              {"test_flatten": 0.4}, "test_flatten"),
    # linear_forward, 9 checks (2 visible): the bias left out. The shape (zero bias anyway), the ValueError and
    # "inputs untouched" pass; the visible hand case, torch (random, batch 1, float32), "zero weights give the
    # bias" and the trained classifier fail -> 3/9 of 2 = 0.67
    "linear_no_bias": ([("linear_forward", "return x @ w.T + b", "return x @ w.T")],
                       {"test_linear_forward": 0.67}, "test_linear_forward"),
    # softmax, 8 checks (3 visible): THE bug of the issue, no max-subtraction. The hand case, "untouched", the
    # random torch cases, the +50 shift and the 1-D/3-D cases pass (small logits); the visible [1000, 1001, 1002]
    # (inf / inf = nan), float32 ±1e4 and [-1e4, -1e4 + 1] (0 / 0) fail -> 5/8 of 2 = 1.25
    "softmax_no_max_subtraction": ([("softmax", "shifted = logits - np.max(logits, axis=-1, keepdims=True)",
                                     "shifted = logits")],
                                   {"test_softmax": 1.25}, "test_softmax"),
    # softmax normalised down the columns (axis=0) instead of along each row: only "untouched" and the +50
    # shift (the same row-shifted exps in both calls) pass; a 1-D vector is right, but the 3-D array in the
    # same check is not -> 2/8 of 2 = 0.5
    "softmax_wrong_axis": ([("softmax", "return e / np.sum(e, axis=-1, keepdims=True)",
                             "return e / np.sum(e, axis=0, keepdims=True)")],
                           {"test_softmax": 0.5}, "test_softmax"),
    # log_softmax, 8 checks (2 visible): np.log(softmax(...)) (with the learner's correct softmax). The hand
    # case, random torch cases, "sums to 1", 1-D/3-D and "untouched" pass; the visible [0, 1000] (log 0 = -inf),
    # float32 ±1e4 and float64 [1e4, -1e4, 0] fail -> 5/8 of 2 = 1.25
    "log_softmax_of_softmax": ([("log_softmax",
                                 "    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n"
                                 "    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
                                 "    return np.log(softmax(logits))")],
                               {"test_log_softmax": 1.25}, "test_log_softmax"),
    # cross_entropy, 10 checks (3 visible): the sum over the batch instead of the mean. Batch size 1, both
    # ValueErrors and "untouched" pass; the three visible cases (N = 2), the random torch batches, the extreme
    # float32 batch and the 200 real digits fail -> 4/10 of 2 = 0.8
    "cross_entropy_sum": ([("cross_entropy", "return float(-np.mean(logp[np.arange(N), y]))",
                            "return float(-np.sum(logp[np.arange(N), y]))")],
                          {"test_cross_entropy": 0.8}, "test_cross_entropy"),
    # logp[:, y] picks an (N, N) block: its mean is right when all the picked columns agree. Uniform logits,
    # [[1000, 0], [0, 1000]] with labels [0, 0], batch size 1, both ValueErrors and "untouched" pass; the visible
    # hand case, random torch batches, extreme float32 and the real digits fail -> 6/10 of 2 = 1.2
    "cross_entropy_column_block": ([("cross_entropy", "logp[np.arange(N), y]", "logp[:, y]")],
                                   {"test_cross_entropy": 1.2}, "test_cross_entropy"),
    # predict, 8 checks (2 visible): both ReLUs forgotten. With the trained weights the first 8 test digits still
    # come out right, and the int labels and "untouched" pass; the visible random network, the 1,000 digits
    # (120 differ), five single images, 12×16 images (random networks) and the 16 float64 digits (one flips)
    # fail -> 3/8 of 2 = 0.75
    "predict_no_relu": ([("predict", "    out, _ = cf.relu_forward(out)\n", "")],
                        {"test_predict": 0.75}, "test_predict"),
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
def test_lesson04_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); the rest of each buggy notebook
    still runs; feedback without hidden tests."""
    # the softmax, log_softmax and cross-entropy exercises may call each other: their bugs stay apart
    chain = ["softmax_no_max_subtraction", "softmax_wrong_axis", "log_softmax_of_softmax", "cross_entropy_sum",
             "cross_entropy_column_block"]
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir,
                               apart=[(a, b) for a in chain for b in chain if a < b])

    # the failing case is named, with the got/expected of the visible check and its hint
    assert "(got 4, expected 1)" in html["flatten_channels_last"]
    assert "means the channels were moved last" in html["flatten_channels_last"]
    assert "(got -2, expected 8)" in html["linear_no_bias"]
    assert "result contains NaN" in html["softmax_no_max_subtraction"]
    assert "subtract the row maximum before np.exp" in html["softmax_no_max_subtraction"]
    assert "not down the columns" in html["softmax_wrong_axis"]
    assert "(got -inf, expected -1000)" in html["log_softmax_of_softmax"]
    assert "(got 4.60517, expected 2.30259)" in html["cross_entropy_sum"]
    assert "not logp[:, y]" in html["cross_entropy_column_block"]
    assert "random 12×12 images" in html["predict_no_relu"]
