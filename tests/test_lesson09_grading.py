"""Lesson 09 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution cells. Each must
already lose points on the VISIBLE checks (the learner's fast feedback), and in one real
``grade --jobs 2`` batch (sandbox + judge, hidden checks included) score exactly what the comments
work out check by check. A grade cell's score is points × passed checks / all checks, rounded to
2 decimals. The hidden checks use the course's quick reference model (trained by cnnlib in the
judge and cached), never a submitted mnist_cnn.pt.
"""
import pytest

from lesson_tools import grade_seeded_batch, seeded, source, visible_scores

LESSON = "09_inside_the_cnn"
FULL = {"test_normalize_filters": 2, "test_saliency_map": 3, "test_occlusion_map": 3, "test_fgsm": 3}

SALIENCY_GRAD = '''        score = model(x_copy).gather(1, t.view(-1, 1)).sum()
        (grad,) = torch.autograd.grad(score, x_copy)'''
OCCLUSION_BATCH = '''        batch = x.repeat(OH * OW, 1, 1, 1)
        for i in range(OH):
            for j in range(OW):
                r, c = i * stride, j * stride
                batch[i * OW + j, :, r:r + patch, c:c + patch] = fill
        p_occluded = torch.softmax(model(batch), dim=1)[:, target]'''
OCCLUSION_CUMULATIVE = '''        occluded = x.clone()
        p_occluded = torch.empty(OH * OW, dtype=x.dtype)
        for i in range(OH):
            for j in range(OW):
                r, c = i * stride, j * stride
                occluded[:, :, r:r + patch, c:c + patch] = fill          # never reset: squares pile up
                p_occluded[i * OW + j] = torch.softmax(model(occluded), dim=1)[0, target]'''

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # normalize_filters, 9 checks (3 visible): one maximum for the whole bank. The bank with a zero filter (its
    # other filter holds the bank's maximum), the 3-D ValueError and "input untouched" pass; the visible two-filter
    # case, the random banks, the 3-channel bank, "each filter reaches 0 or 1", 1e300/1e-300 and the Conv2d weight
    # fail -> 3/9 of 2 = 0.67
    "filters_whole_bank": ([("normalize_filters", "np.abs(w).max(axis=(1, 2, 3), keepdims=True)", "np.abs(w).max()")],
                           {"test_normalize_filters": 0.67}, "test_normalize_filters"),
    # no guard against an all-zero filter: only the visible zero-filter case fails (0 / 0 = nan) -> 8/9 of 2 = 1.78
    "filters_zero_division": ([("normalize_filters", "safe = np.where(scale > 0, scale, 1.0)", "safe = scale")],
                              {"test_normalize_filters": 1.78}, "test_normalize_filters"),
    # saliency_map, 12 checks (5 visible): the signed gradient, no abs. Eval mode, side effects, the kept .grad,
    # "no history" and the ValueError pass; the three visible value cases, the small CNN, batch 1 / C = 3, float64
    # and the course's network fail -> 5/12 of 3 = 1.25
    "saliency_no_abs": ([("saliency_map", "return grad.abs().amax(dim=1)", "return grad.amax(dim=1)")],
                        {"test_saliency_map": 1.25}, "test_saliency_map"),
    # score.backward() instead of torch.autograd.grad: right values, but every parameter gets a .grad. The visible
    # side-effects check and the hidden "existing .grad kept" fail -> 10/12 of 3 = 2.5
    "saliency_backward": ([("saliency_map", SALIENCY_GRAD,
                            "        score = model(x_copy).gather(1, t.view(-1, 1)).sum()\n"
                            "        score.backward()\n"
                            "        grad = x_copy.grad")],
                          {"test_saliency_map": 2.5}, "test_saliency_map"),
    # no model.eval(): the visible dropout model stays in training mode, and the course's network (handed over in
    # training mode) is explained with batch statistics and dropout -> 10/12 of 3 = 2.5
    "saliency_no_eval": ([("saliency_map", "    model.eval()\n    x_copy", "    x_copy")],
                         {"test_saliency_map": 2.5}, "test_saliency_map"),
    # occlusion_map, 11 checks (5 visible): one position too few per axis. "Eval mode, x untouched", the visible
    # ValueError and the hidden ValueErrors pass; the shape, both hand cases and the five comparisons fail
    # -> 3/11 of 3 = 0.82
    "occlusion_off_by_one": ([("occlusion_map", "OH, OW = (H - patch) // stride + 1, (W - patch) // stride + 1",
                               "OH, OW = (H - patch) // stride, (W - patch) // stride")],
                             {"test_occlusion_map": 0.82}, "test_occlusion_map"),
    # drops of the logit instead of the softmax probability: shape, eval/untouched and both ValueError checks pass;
    # both hand cases and the five comparisons fail -> 4/11 of 3 = 1.09
    "occlusion_logits": ([("occlusion_map", "p_clean = torch.softmax(model(x), dim=1)[0, target]",
                           "p_clean = model(x)[0, target]"),
                          ("occlusion_map", "p_occluded = torch.softmax(model(batch), dim=1)[:, target]",
                           "p_occluded = model(batch)[:, target]")],
                         {"test_occlusion_map": 1.09}, "test_occlusion_map"),
    # one copy, never reset: the squares pile up. Same checks pass as with the logits -> 4/11 of 3 = 1.09
    "occlusion_cumulative": ([("occlusion_map", OCCLUSION_BATCH, OCCLUSION_CUMULATIVE)],
                             {"test_occlusion_map": 1.09}, "test_occlusion_map"),
    # fgsm, 8 checks (4 visible): x - eps * sign (downhill: the attack HELPS the network). eps = 0 / ValueError,
    # eval mode and "no history" pass; the hand case, the clipping case, the course's network, the success rate
    # and the small cases fail -> 3/8 of 3 = 1.125, rounded to 1.12
    "fgsm_minus": ([("fgsm", "x.detach() + eps * grad.sign()", "x.detach() - eps * grad.sign()")],
                   {"test_fgsm": 1.12}, "test_fgsm"),
    # no clamp(0, 1): the visible clipping case, the course's network (background pixels go to -0.1) and the small
    # random cases fail; the attack is no weaker, so the success rate passes -> 5/8 of 3 = 1.875, rounded to 1.88
    "fgsm_no_clip": ([("fgsm", "(x.detach() + eps * grad.sign()).clamp(0.0, 1.0)", "x.detach() + eps * grad.sign()")],
                     {"test_fgsm": 1.88}, "test_fgsm"),
    # eps * gradient instead of eps * sign(gradient): a step far smaller than eps. Same checks fail as with the
    # minus sign -> 3/8 of 3 = 1.12
    "fgsm_raw_gradient": ([("fgsm", "x.detach() + eps * grad.sign()", "x.detach() + eps * grad")],
                          {"test_fgsm": 1.12}, "test_fgsm"),
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
def test_lesson09_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit; bugs in different exercises share a notebook); the rest of each buggy notebook
    still runs; feedback without hidden tests."""
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)

    # the failing case is named, with the got/expected of the visible check and its hint
    assert "(got 0.4375, expected 0)" in html["filters_whole_bank"]
    assert "take the maximum over axes (1, 2, 3)" in html["filters_whole_bank"]
    assert "contains NaN" in html["filters_zero_division"]
    assert "(got -2, expected 2)" in html["saliency_no_abs"]
    assert "instead of score.backward()" in html["saliency_backward"]
    assert "still in training mode" in html["saliency_no_eval"]
    assert "has shape (7, 7) but expected (8, 8)" in html["occlusion_off_by_one"]
    assert "(got 4, expected 0.482014)" in html["occlusion_logits"]
    assert "one square at a time on a fresh copy" in html["occlusion_cumulative"]
    assert "(got 0.6, expected 0.4)" in html["fgsm_minus"]
    assert "finish with .clamp(0, 1)" in html["fgsm_no_clip"]
    assert "use the sign (not the gradient itself)" in html["fgsm_raw_gradient"]
