"""Lesson 10 graded for real: seeded bugs lose exactly the points worked out below.

Seeded bugs are the mistakes learners make, written as edits of the solution cells. Each must
already lose points on the VISIBLE checks (the learner's fast feedback), and in one real
``grade --jobs 2`` batch (sandbox + judge, hidden checks included) score exactly what the comments
work out check by check. A grade cell's score is points × passed checks / all checks, rounded to
2 decimals. Bugs of different exercises share a notebook (``combined``): 4 buggy students.
"""
import pytest

from lesson_tools import combined, grade_seeded_batch, seeded, source, visible_scores

LESSON = "10_transfer_and_architectures"
FULL = {"test_freeze_and_replace_head": 3, "test_conv_params_and_macs": 2, "test_ResidualBlock": 3, "test_conv1d": 3}

FREEZE_ALL = '''    for p in model.parameters():
        p.requires_grad_(False)
    return model'''
FREEZE_CONV_ONLY = '''    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.requires_grad_(False)
    return model'''
CONV_NO_BIAS = "nn.Conv2d(channels, channels, 3, padding=1, bias=False)"

# name: (edits, {grade_id: points in the graded batch}, grade_id that must lose points on visible checks)
BUGS = {
    # freeze and replace_head, 10 checks (5 visible). Only the Conv2d weights frozen: BN, the conv bias and the
    # first Linear stay trainable. Output shape, "rest untouched", the ValueError, the float64 head, num_classes 1/0
    # and the single-Linear model pass; "nothing requires grad", "only the new head", CapstoneNet (its BN) and
    # "in place" fail -> 6/10 of 3 = 1.8
    "freeze_conv_only": ([("freeze_and_replace_head", FREEZE_ALL, FREEZE_CONV_ONLY)],
                         {"test_freeze_and_replace_head": 1.8}, "test_freeze_and_replace_head"),
    # the FIRST Linear replaced: freeze, the ValueError, CapstoneNet (one Linear), the single-Linear model and
    # "in place" pass; "only the new head", the output shape, "rest untouched", float64 (the forward breaks) and
    # num_classes 1 fail -> 5/10 of 3 = 1.5
    "head_first_linear": ([("freeze_and_replace_head", "name, old = linears[-1]", "name, old = linears[0]")],
                          {"test_freeze_and_replace_head": 1.5}, "test_freeze_and_replace_head"),
    # always 10 outputs: freeze, "only the new head", "rest untouched", the ValueError and "in place" pass; every
    # output shape fails (visible (2, 3), CapstoneNet, float64, num_classes 1, single Linear) -> 5/10 of 3 = 1.5
    "head_ignores_num_classes": ([("freeze_and_replace_head", "nn.Linear(old.in_features, int(num_classes),",
                                   "nn.Linear(old.in_features, 10,")],
                                 {"test_freeze_and_replace_head": 1.5}, "test_freeze_and_replace_head"),
    # conv_params_and_macs, 8 checks (4 visible). MACs without h·w (standard only): the separable case, the
    # ValueError, numpy sizes (separable) and the bad sizes pass; the standard 5×5 and 3×2 cases, PyTorch and
    # the huge layer fail -> 4/8 of 2 = 1.0
    "macs_without_hw": ([("conv_params_and_macs", "macs = c_out * c_in * k * k * h * w", "macs = c_out * c_in * k * k")],
                        {"test_conv_params_and_macs": 1.0}, "test_conv_params_and_macs"),
    # no bias in the standard count: the two standard visible cases and PyTorch fail; separable, ValueError,
    # the huge layer (only its MACs are compared), numpy sizes and bad sizes pass -> 5/8 of 2 = 1.25
    "params_without_bias": ([("conv_params_and_macs", "params = c_out * c_in * k * k + c_out",
                              "params = c_out * c_in * k * k")],
                            {"test_conv_params_and_macs": 1.25}, "test_conv_params_and_macs"),
    # the depthwise part counted as a full C_in -> C_in conv: the separable visible case, PyTorch and numpy sizes
    # (separable, 16 channels) fail -> 5/8 of 2 = 1.25
    "depthwise_as_full_conv": ([("conv_params_and_macs", "params = (c_in * k * k + c_in)", "params = (c_in * c_in * k * k + c_in)"),
                                ("conv_params_and_macs", "macs = c_in * k * k * h * w", "macs = c_in * c_in * k * k * h * w")],
                               {"test_conv_params_and_macs": 1.25}, "test_conv_params_and_macs"),
    # ResidualBlock, 9 checks (4 visible). No shortcut: the layers, the shape and the parameter count pass; the
    # identity, the reference (eval and train), C = 1, float64 and the gradient fail -> 3/9 of 3 = 1.0
    "no_shortcut": ([("ResidualBlock", "return F.relu(out + x)", "return F.relu(out)")],
                    {"test_ResidualBlock": 1.0}, "test_ResidualBlock"),
    # ReLU before the addition (x passes negative values through): the same 3 pass -> 1.0
    "relu_before_add": ([("ResidualBlock", "out = self.bn2(self.conv2(out))\n        return F.relu(out + x)",
                          "out = F.relu(self.bn2(self.conv2(out)))\n        return out + x")],
                        {"test_ResidualBlock": 1.0}, "test_ResidualBlock"),
    # convolutions with a bias: only "keeps the shape" passes (the state_dict no longer matches the reference's,
    # the bias breaks the identity case, the count differs) -> 1/9 of 3 = 0.33
    "conv_with_bias": ([("ResidualBlock", CONV_NO_BIAS, "nn.Conv2d(channels, channels, 3, padding=1)")],
                       {"test_ResidualBlock": 0.33}, "test_ResidualBlock"),
    # conv1d, 12 checks (5 visible). The kernel flipped (convolution, not cross-correlation): the symmetric
    # [1, 1, 1] case, the two-channel case (its flipped channel sees a constant), the shape, both ValueError
    # checks and "inputs untouched" pass -> 6/12 of 3 = 1.5
    "conv1d_flipped": ([("conv1d", 'np.einsum("ncl,fc->nfl", window, w[:, :, k])',
                         'np.einsum("ncl,fc->nfl", window, w[:, :, K - 1 - k])')],
                       {"test_conv1d": 1.5}, "test_conv1d"),
    # the stride ignored inside the window (the length is right): the stride-2 visible case, the random cases,
    # stride 3 and float32 (stride 2) fail -> 8/12 of 3 = 2.0
    "conv1d_stride_ignored": ([("conv1d", "window = xp[:, :, k:k + stride * (L_out - 1) + 1:stride]",
                                "window = xp[:, :, k:k + L_out]")],
                              {"test_conv1d": 2.0}, "test_conv1d"),
    # no bias added: the visible bias case, the random cases and float32 fail -> 9/12 of 3 = 2.25
    "conv1d_no_bias": ([("conv1d", "out += np.asarray(b, dtype=np.float64)[None, :, None]", "pass")],
                       {"test_conv1d": 2.25}, "test_conv1d"),
    # zeros on the left only: where the windows reach the right end (visible stride-2 and shape cases, the
    # random cases, 1e150, the kernel as long as the padded input) they run out of the array and fail; the
    # unpadded cases, stride 3 and float32 (their strided windows never reach the right padding), "inputs
    # untouched" and the ValueErrors pass -> 7/12 of 3 = 1.75
    "conv1d_pad_one_side": ([("conv1d", "np.pad(x, ((0, 0), (0, 0), (padding, padding)))",
                              "np.pad(x, ((0, 0), (0, 0), (padding, 0)))")],
                            {"test_conv1d": 1.75}, "test_conv1d"),
}


def test_the_visible_checks_give_the_source_full_marks(real_data_dir):
    got = {gid: score for gid, (score, _) in visible_scores(source(LESSON)).items()}
    assert got == FULL


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_seeded_bug_already_loses_points_on_the_visible_checks(bug, real_data_dir):
    """The learner's only fast feedback must not say "Well done!" to a wrong answer."""
    edits, _, grade_id = BUGS[bug]
    scores = visible_scores(seeded(LESSON, edits))
    score, report = scores[grade_id]
    assert score < FULL[grade_id], report
    assert "✗" in report and "Well done" not in report
    assert all(scores[g][0] == FULL[g] for g in FULL if g != grade_id)      # the bug costs only its own exercise


@pytest.mark.slow
def test_lesson10_batch_scores_exactly_and_feedback_hides_hidden_tests(tmp_path, real_data_dir):
    """ONE `grade --jobs 2` batch: the source (full marks), the released notebook (0) and every seeded bug
    (exact partial credit, packed 4 to a notebook); the rest of each buggy notebook still runs; feedback
    without hidden tests."""
    _, html = grade_seeded_batch(tmp_path, LESSON, FULL, BUGS, real_data_dir)
    # the failing case is named (got vs expected on visible checks) and the hint fits it
    assert "parameters that still require grad after freeze" in html["freeze_conv_only"]
    assert "Replace the LAST nn.Linear" in html["head_first_linear"]
    assert "shape of the new head's weight is (10, 8) but expected (3, 8)" in html["head_ignores_num_classes"]
    assert "(params, macs) is (216, 5400) but expected (224, 5400)" in html["params_without_bias"]
    assert "(params, macs) is (224, 216) but expected (224, 5400)" in html["macs_without_hw"]
    assert "ONE k×k kernel per input channel" in html["depthwise_as_full_conv"]
    assert "Without the shortcut you get 0" in html["no_shortcut"]
    assert "conv1 has a bias" in html["conv_with_bias"]
    assert "(got 2, expected -2)" in html["conv1d_flipped"] and "a flipped kernel gives +2" in html["conv1d_flipped"]
    assert "move the window by the stride" in html["conv1d_stride_ignored"]
