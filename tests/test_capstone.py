"""Lesson 08 (capstone): the reference recipe reaches the target on full MNIST, and the
autograder grades the submitted ``mnist_cnn.pt`` (full, partial, released stub, missing file).

The full-accuracy model is the reference recipe's, saved once by the benchmark
(tests/data/capstone_reference.pt); an under-trained one is trained here (1 epoch on 20,000
images). All submissions are graded in ONE ``python -m autograder grade --jobs 2`` call.
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


# The benchmark's reference recipe (3 epochs on all 60,000 images, seed 0), saved by
#     python benchmarks/bench_capstone.py --only capstone --save tests/data/capstone_reference.pt
# Training it here would cost CI minutes for a figure the benchmark already reports.
FULL_MODEL = ROOT / "tests" / "data" / "capstone_reference.pt"


@pytest.fixture(scope="session")
def full_model(mnist):
    """The reference recipe's model, as a state_dict file, with its measured test accuracy."""
    from cnnlib.models import CapstoneNet
    from cnnlib.torch_train import measure_saved_model

    return FULL_MODEL, measure_saved_model(CapstoneNet, FULL_MODEL, ds=mnist)


@pytest.fixture(scope="session")
def partial_model(mnist, tmp_path_factory):
    """A deliberately under-trained model (1 epoch on 20,000 images, no augmentation): 98.46 % here."""
    from cnnlib.models import CapstoneNet
    from cnnlib.torch_train import measure_saved_model

    model, _ = _bench().train("capstone", mnist, seed=0, n_train=20000, num_epochs=1, augment=False)
    path = tmp_path_factory.mktemp("partial") / "mnist_cnn.pt"
    torch.save(model.state_dict(), path)
    return path, measure_saved_model(CapstoneNet, path, ds=mnist)


def test_the_reference_model_loads_into_capstonenet_under_the_budget_above_99_3_percent(full_model):
    """The saved reference model is the solution's architecture and is good enough for full marks."""
    from cnnlib.models import PARAM_BUDGET, CapstoneNet

    _, measured = full_model
    assert measured["error"] is None and measured["n"] == 10000, measured
    assert measured["acc"] >= 0.993, measured
    assert sum(p.numel() for p in CapstoneNet().parameters()) <= PARAM_BUDGET


def test_solution_net_has_the_reference_architecture():
    """The solution's Net and cnnlib.models.CapstoneNet share keys and shapes, so one file fits both."""
    from cnnlib.models import CapstoneNet

    nb = nbformat.read(SOURCE, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "Net")
    env = {}
    exec("import torch\nfrom torch import nn\n" + cell.source, env)  # noqa: S102 - our own source
    ours, ref = env["Net"]().state_dict(), CapstoneNet().state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in ref.items()}


# Lesson 08's seeded bugs: (edits of solution cells, {grade_id: points in the graded batch}, model file)
BUGS = {
    # train_one_epoch, 5 checks: without zero_grad only "gradients do not accumulate" fails (the loss on one
    # fixed batch still falls, lr 0 makes the scheduler/mean and transform checks blind to it) -> 4/5 of 3 = 2.4
    "no_zero_grad": ([("train_one_epoch", "        optimizer.zero_grad()\n", "")], {"test_train_one_epoch": 2.4}),
    # evaluate, 3 checks: without model.eval() the visible reference (dropout + BatchNorm) and the probe
    # (ran in training mode) fail; the plain model with unequal batches passes -> 1/3 of 2 = 0.67
    "no_eval_mode": ([("evaluate", "    model.eval()\n", "")], {"test_evaluate": 0.67}),
    # Net, 5 checks: a wrong flatten size builds but fails in forward: the output-shape check and both
    # hidden forward checks fail, the budget and the layers pass -> 2/5 of 3 = 1.2; the saved model (saved
    # from the right architecture) does not load into it -> 0
    "wrong_flatten_size": ([("Net", "nn.Linear(64 * 3 * 3, 10)", "nn.Linear(64 * 4 * 4, 10)")],
                           {"test_Net": 1.2, "test_saved_model": 0}),
}

# A cell a cheater adds: the grader's own helpers are patched in the learner's kernel (no effect: the judge
# evaluates the model), and the model file has random weights (about 10 %) -> 0 for the saved model.
PATCH_MEASURE = """
import cnnlib.torch_train as tt
tt.measure_saved_model = lambda *a, **k: {"correct": 10000, "n": 10000, "acc": 1.0, "error": None}
tt.accuracy_credit = lambda *a, **k: 1.0
"""
# A Net that looks the answers up: the normalized test images as the weights of a 10,000-unit layer and their
# labels in the next one. It would be 100 % right, but it has 7.9 M parameters: over the budget -> 0 for the saved
# model, and 4/5 of the Net checks (only the budget fails) -> 2.4.
LOOKUP_NET = """class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.drop = nn.Dropout(0.0)
        self.match = nn.Linear(784, 10000, bias=False)
        self.answer = nn.Linear(10000, 10, bias=False)

    def forward(self, x):
        x = self.drop(torch.flatten(self.bn(x), 1))
        return self.answer(torch.softmax(self.match(x) * 0.05, dim=1))
"""


def lookup_state(mnist):
    from cnnlib.data import normalize, to_float_nchw

    images = torch.from_numpy(normalize(to_float_nchw(mnist.x_test))).reshape(10000, 784)
    labels = torch.nn.functional.one_hot(torch.from_numpy(mnist.y_test.astype("int64")), 10).float()
    bn = torch.nn.BatchNorm2d(1).eval().state_dict()
    state = {f"bn.{k}": v for k, v in bn.items()}
    state.update({"match.weight": images, "answer.weight": labels.T.contiguous()})
    return state


def test_each_seeded_bug_already_loses_points_on_the_visible_checks():
    """The learner's fast feedback must not say "Well done!" to these (the model cell aside)."""
    from lesson_tools import seeded, visible_scores

    for bug, (edits, points) in BUGS.items():
        grade_id = next(g for g in points if g != "test_saved_model")
        score, report = visible_scores(seeded(LESSON, edits))[grade_id]
        full = EXERCISE_POINTS[grade_id]
        assert score < full and "✗" in report and "Well done" not in report, (bug, report)
        assert "np.False_" not in report and "the condition was not met" not in report, report


def test_the_visible_saved_model_cell_gives_exactly_the_graders_points(partial_model, tmp_path, monkeypatch):
    """The cell a learner runs and the grader must agree (a 98.1 % model once showed 5/10, then "10/10")."""
    from cnnlib.torch_train import accuracy_credit
    from lesson_tools import source, visible_scores

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist_cnn.pt").write_bytes(partial_model[0].read_bytes())
    score, report = visible_scores(source(LESSON))["test_saved_model"]
    measured = partial_model[1]
    assert score == pytest.approx(MODEL_POINTS * accuracy_credit(measured["correct"], measured["n"]))
    assert f"score: {score:g} / 10 points" in report and "Well done" not in report
    (tmp_path / "mnist_cnn.pt").unlink()
    score, report = visible_scores(source(LESSON))["test_saved_model"]
    assert score == 0 and report.count("problem:") == 1 and "mnist_cnn.pt not found" in report


@pytest.fixture(scope="session")
def graded(full_model, partial_model, mnist, tmp_path_factory):
    """Grade four students in one batch; return (scores per student and grade id, CLI output, course dir)."""
    import io
    from contextlib import redirect_stdout

    from nbgrader.api import Gradebook

    from autograder.__main__ import main as cli
    from autograder.release import release_notebook

    base = tmp_path_factory.mktemp("grading")
    subs = base / "subs"
    source = nbformat.read(SOURCE, as_version=4)
    from lesson_tools import cell, sandbox_args, seeded

    random_model = base / "random.pt"
    torch.manual_seed(0)
    from cnnlib.models import CapstoneNet

    torch.save(CapstoneNet().state_dict(), random_model)
    lookup_model = base / "lookup.pt"
    torch.save(lookup_state(mnist), lookup_model)
    patched = nbformat.read(SOURCE, as_version=4)
    patched.cells.insert(2, nbformat.v4.new_code_cell(PATCH_MEASURE))
    lookup = nbformat.read(SOURCE, as_version=4)
    cell(lookup, "Net").source = LOOKUP_NET
    students = {
        "solution": (source, full_model[0]),
        "released": (release_notebook(LESSON), full_model[0]),
        "partial": (source, partial_model[0]),
        "missing": (source, None),
        "patched_measure": (patched, random_model),
        "lookup_net": (lookup, lookup_model),
    }
    students.update({bug: (seeded(LESSON, edits), full_model[0]) for bug, (edits, _) in BUGS.items()})
    for student, (nb, model_file) in students.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LESSON}.ipynb")
        if model_file is not None:
            (subs / student / "mnist_cnn.pt").write_bytes(model_file.read_bytes())
    course = base / "course"
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli(["grade", str(subs), "--lesson", LESSON, "--jobs", "2", "--course-dir", str(course)]
                   + sandbox_args())
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
    assert {"solution", "released", "partial", "missing"} <= set(scores)
    assert sum(scores["released"].values()) == 0, output


def test_seeded_bugs_score_exactly_and_the_rest_of_their_notebook_still_runs(graded):
    from lesson_tools import errors_in_autograded

    scores, output, course = graded
    full = {**EXERCISE_POINTS, "test_saved_model": MODEL_POINTS}
    for bug, (_, points) in BUGS.items():
        assert scores[bug] == pytest.approx({**full, **points}, abs=1e-9), (bug, output)
        assert errors_in_autograded(course, LESSON, bug) == [], bug


def test_patching_the_graders_helpers_or_looking_answers_up_earns_nothing(graded):
    """The judge evaluates the saved model itself, in a Net rebuilt from whitelisted layers, within the budget."""
    scores, output, course = graded
    assert scores["patched_measure"] == {**EXERCISE_POINTS, "test_saved_model": 0}, output
    assert scores["lookup_net"]["test_saved_model"] == 0, output
    assert scores["lookup_net"]["test_Net"] == pytest.approx(2.4), output
    log = (course / "logs" / LESSON / "lookup_net.log").read_text()
    assert "the budget is 150,000" in log


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
