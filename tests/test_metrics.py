"""cnnlib.metrics: confusion matrix and per-class error rates on hand-computed cases."""
import numpy as np
import pytest

from cnnlib.metrics import accuracy, confusion_matrix, most_confused, per_class_error


def test_confusion_matrix_matches_a_hand_counted_3_class_case():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2])
    expected = np.array([[1, 1, 0],
                         [0, 2, 1],
                         [0, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, num_classes=3), expected)


def test_confusion_matrix_rows_sum_to_class_counts_and_trace_to_correct():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    cm = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm.sum(1), np.bincount(y_true, minlength=10))
    assert np.trace(cm) == (y_true == y_pred).sum()
    assert accuracy(cm) == pytest.approx((y_true == y_pred).mean())


def test_per_class_error_is_share_of_each_true_class_missed_and_nan_for_absent_class():
    cm = np.array([[1, 1, 0], [0, 2, 1], [0, 0, 0]])
    err = per_class_error(cm)
    np.testing.assert_allclose(err[:2], [0.5, 1 / 3])
    assert np.isnan(err[2])


def test_most_confused_lists_largest_off_diagonal_counts_first():
    cm = np.array([[5, 3, 0], [1, 5, 0], [0, 7, 5]])
    assert most_confused(cm, k=2) == [(2, 1, 7), (0, 1, 3)]


@pytest.mark.parametrize("y_true, y_pred", [
    (np.array([0, 1]), np.array([0, 1, 1])),      # length mismatch
    (np.array([0, 10]), np.array([0, 1])),         # label out of range
    (np.array([0.0, 1.0]), np.array([0, 1])),      # float labels
])
def test_confusion_matrix_rejects_bad_labels_with_value_error(y_true, y_pred):
    with pytest.raises(ValueError):
        confusion_matrix(y_true, y_pred)
