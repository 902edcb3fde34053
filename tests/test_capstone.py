"""Lesson 08 (capstone): the reference recipe reaches the target on full MNIST, and the
autograder grades the submitted ``mnist_cnn.pt`` (full, partial, released stub, missing file).

The reference model is trained once per session (the one deliberately slow test, ~2 min on
2 idle cores) and reused by the grading batch; all submissions are graded in ONE
``python -m autograder grade --jobs 2`` call.
"""
import importlib.util

import nbformat
import pytest
import torch

from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("capstone")]

LESSON = "08_mnist_classifier"
SOURCE = ROOT / "autograder" / "source" / LESSON / f"{LESSON}.ipynb"
EXERCISE_POINTS = {"test_Net": 3, "test_train_one_epoch": 3, "test_evaluate": 2}
MODEL_POINTS = 10


def _bench():
    spec = importlib.util.spec_from_file_location("bench_capstone", ROOT / "benchmarks" / "bench_capstone.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def mnist(real_data_dir):
    from cnnlib.data import load_mnist

    return load_mnist(real_data_dir / "mnist", download=False, progress=False)


@pytest.fixture(scope="session")
def full_model(mnist, tmp_path_factory):
    """The benchmark's reference recipe on all 60,000 images, saved as a state_dict."""
    model, row = _bench().train("capstone", mnist, seed=0)
    path = tmp_path_factory.mktemp("full") / "mnist_cnn.pt"
    torch.save(model.state_dict(), path)
    return path, row


@pytest.fixture(scope="session")
def partial_model(mnist, tmp_path_factory):
    """A deliberately under-trained model (1 epoch on 20,000 images, no augmentation): 98.46 % here."""
    from cnnlib.models import CapstoneNet
    from cnnlib.torch_train import measure_saved_model

    model, _ = _bench().train("capstone", mnist, seed=0, n_train=20000, num_epochs=1, augment=False)
    path = tmp_path_factory.mktemp("partial") / "mnist_cnn.pt"
    torch.save(model.state_dict(), path)
    return path, measure_saved_model(CapstoneNet, path, ds=mnist)


def test_reference_recipe_reaches_99_3_percent_on_full_mnist_under_the_budget(full_model):
    from cnnlib.models import PARAM_BUDGET

    _, row = full_model
    assert row["params"] <= PARAM_BUDGET
    assert row["test_acc"] >= 99.3, row


def test_solution_net_has_the_reference_architecture():
    """The solution's Net and cnnlib.models.CapstoneNet share keys and shapes, so one file fits both."""
    from cnnlib.models import CapstoneNet

    nb = nbformat.read(SOURCE, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "Net")
    env = {}
    exec("import torch\nfrom torch import nn\n" + cell.source, env)  # noqa: S102 - our own source
    ours, ref = env["Net"]().state_dict(), CapstoneNet().state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in ref.items()}


@pytest.fixture(scope="session")
def graded(full_model, partial_model, tmp_path_factory):
    """Grade four students in one batch; return (scores per student and grade id, CLI output, course dir)."""
    import io
    from contextlib import redirect_stdout

    from nbgrader.api import Gradebook

    from autograder.__main__ import main as cli
    from autograder.release import release_notebook

    base = tmp_path_factory.mktemp("grading")
    subs = base / "subs"
    source = nbformat.read(SOURCE, as_version=4)
    students = {
        "solution": (source, full_model[0]),
        "released": (release_notebook(LESSON), full_model[0]),
        "partial": (source, partial_model[0]),
        "missing": (source, None),
    }
    for student, (nb, model_file) in students.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LESSON}.ipynb")
        if model_file is not None:
            (subs / student / "mnist_cnn.pt").write_bytes(model_file.read_bytes())
    course = base / "course"
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli(["grade", str(subs), "--lesson", LESSON, "--jobs", "2", "--course-dir", str(course)])
    assert code == 0, out.getvalue()
    scores = {}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        for student in students:
            nb = gb.find_submission_notebook(LESSON, LESSON, student)
            scores[student] = {g.name: g.score for g in nb.grades}
    return scores, out.getvalue(), course


def test_solution_with_the_full_model_earns_full_marks(graded):
    scores, output, _ = graded
    assert scores["solution"] == {**EXERCISE_POINTS, "test_saved_model": MODEL_POINTS}, output


def test_released_student_notebook_scores_zero_without_breaking_the_batch(graded):
    scores, output, _ = graded
    assert set(scores) == {"solution", "released", "partial", "missing"}
    assert sum(scores["released"].values()) == 0, output


def test_under_trained_model_earns_the_stepwise_partial_credit(graded, partial_model):
    """1 point per 0.2 percentage points above 97.0 %: the model's measured count sets the score."""
    from cnnlib.torch_train import accuracy_credit

    scores, output, _ = graded
    measured = partial_model[1]
    assert measured["error"] is None
    assert 0.972 <= measured["acc"] < 0.99, f"the partial model should land between 97.2 % and 99 %: {measured}"
    expected = MODEL_POINTS * accuracy_credit(measured["correct"], measured["n"])
    assert 0 < expected < MODEL_POINTS
    assert scores["partial"]["test_saved_model"] == pytest.approx(expected), output
    assert scores["partial"]["test_Net"] == EXERCISE_POINTS["test_Net"]


def test_missing_model_file_scores_zero_with_a_clear_message(graded):
    scores, output, course = graded
    assert scores["missing"]["test_saved_model"] == 0
    assert scores["missing"]["test_evaluate"] == EXERCISE_POINTS["test_evaluate"]   # the rest still counts
    nb_path = course / "autograded" / "missing" / LESSON / f"{LESSON}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_saved_model")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "mnist_cnn.pt not found next to the notebook" in text
