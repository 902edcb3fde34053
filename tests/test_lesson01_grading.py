"""Lesson 01 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution
cells. Each must already lose points on the VISIBLE checks (the learner's fast
feedback), and in one real ``grade --jobs 2`` batch (sandbox + judge, hidden
checks included) score exactly what the comments work out check by check.
"""
import nbformat
import pytest

from lesson_tools import (cell, check_graded_batch, combined, grade_batch, grade_points, seeded,
                          source, visible_scores)

LESSON = "01_convolution"
FULL = {"test_conv2d_single": 2, "test_output_size": 2, "test_pad2d": 1, "test_conv2d": 3, "test_count_params": 2}

OUTPUT_SIZE_BODY = '''    if S < 1:
        raise ValueError(f"stride must be >= 1, got {S}")
    if K > H + 2 * P:
        raise ValueError(f"kernel {K} is larger than the padded input {H + 2 * P}")
    return int((H + 2 * P - K) // S + 1)'''

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # conv2d_single, 9 checks: a 180-degree flip passes the output shape, the symmetric box blur, the 1x1 kernel
    # and "inputs untouched" -> 4/9 of 2 = 0.89. Visible: the hand-computed [[10, 13], [19, 22]] fails.
    "flipped_kernel": ([("conv2d_single", "np.sum(image[i:i + KH, j:j + KW] * kernel)",
                         "np.sum(image[i:i + KH, j:j + KW] * kernel[::-1, ::-1])")],
                       {"test_conv2d_single": 0.89}, "test_conv2d_single"),
    # output_size, 10 checks: without "+ 1" only the two ValueError checks and "returns an int" pass -> 0.6
    "off_by_one": ([("output_size", "return int((H + 2 * P - K) // S + 1)", "return int((H + 2 * P - K) // S)")],
                   {"test_output_size": 0.6}, "test_output_size"),
    # output_size as a float, no floor, no ValueError: every one of the 10 checks fails -> 0
    "float_no_floor_no_error": ([("output_size", OUTPUT_SIZE_BODY, "    return (H + 2 * P - K) / S + 1")],
                                {"test_output_size": 0.0}, "test_output_size"),
    # pad2d, 7 checks: padding N and C instead of H and W is invisible on a 2-D image; the batch shape and the
    # batch values fail -> 5/7 of 1 = 0.71
    "pad_wrong_axes": ([("pad2d", "pad_width = [(0, 0)] * (x.ndim - 2) + [(P, P), (P, P)]",
                         "pad_width = [(P, P), (P, P)] + [(0, 0)] * (x.ndim - 2)")],
                       {"test_pad2d": 0.71}, "test_pad2d"),
    # np.pad(x, P) pads every axis: same two failures -> 0.71
    "np_pad_all_axes": ([("pad2d", "pad_width = [(0, 0)] * (x.ndim - 2) + [(P, P), (P, P)]\n"
                                   "    return np.pad(x, pad_width, mode=\"constant\")", "return np.pad(x, P)")],
                        {"test_pad2d": 0.71}, "test_pad2d"),
    # conv2d, 13 checks: ignoring the stride fails the stride-2 shape and values (visible), the stride 2/3
    # comparison and the random cases (strides 1-3); the other 9 pass -> 9/13 of 3 = 2.08
    "stride_ignored": ([("conv2d", "OH = (H + 2 * padding - KH) // stride + 1", "OH = H + 2 * padding - KH + 1"),
                        ("conv2d", "OW = (W + 2 * padding - KW) // stride + 1", "OW = W + 2 * padding - KW + 1"),
                        ("conv2d", "windows[:, :, ::stride, ::stride][:, :, :OH, :OW]", "windows[:, :, :OH, :OW]")],
                       {"test_conv2d": 2.08}, "test_conv2d"),
    # count_params, 8 checks: ignoring bias=False fails both "without bias" visible checks, the torch conv
    # comparison without bias and the dense comparison (it has a bias=False layer) -> 4/8 of 2 = 1.0
    "bias_false_ignored": ([("count_params", "return int(F * C * K * K + (F if bias else 0))",
                             "return int(F * C * K * K + F)"),
                            ("count_params", "return int(in_features * out_features + (out_features if bias else 0))",
                             "return int(in_features * out_features + out_features)")],
                           {"test_count_params": 1.0}, "test_count_params"),
}


def mangled():
    """Flipped kernel AND off-by-one, with the conv2d_single test deleted and the output_size test
    turned into markdown: both grade cells still run, so both bugs still cost points."""
    nb = seeded(LESSON, BUGS["flipped_kernel"][0] + BUGS["off_by_one"][0])
    nb.cells.remove(cell(nb, "test_conv2d_single"))
    test = cell(nb, "test_output_size")
    nb.cells[nb.cells.index(test)] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    return nb


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
def test_lesson01_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0), every seeded bug
    (exact partial credit) and a mangled notebook; then feedback without hidden tests."""
    from autograder.release import release_notebook

    assert grade_points(source(LESSON)) == FULL
    packed = combined(LESSON, {bug: (edits, points) for bug, (edits, points, _) in BUGS.items()})
    notebooks = {"source": source(LESSON), "released": release_notebook(LESSON), "mangled": mangled()}
    notebooks.update({student: nb for student, (nb, _, _) in packed.items()})
    course, got = grade_batch(tmp_path, LESSON, notebooks, real_data_dir)

    expected = {"source": FULL, "released": {k: 0 for k in FULL},
                "mangled": {**FULL, "test_conv2d_single": 0.89, "test_output_size": 0.6}}
    expected.update({student: {**FULL, **points} for student, (_, points, _) in packed.items()})
    html = check_graded_batch(course, LESSON, got, expected, packed)
    assert "Getting 8 there means the kernel was flipped" in html["flipped_kernel"]  # reports and hints remain
    assert "is the float 26.0; expected the int 26" in html["float_no_floor_no_error"]  # the failing case is named
