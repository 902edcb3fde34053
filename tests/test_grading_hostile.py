"""Tamper-proof grading: a hostile corpus of Lesson 01 submissions, graded in ONE sandboxed batch.

Each hostile student is the solution or the released stub plus an attack. The
batch also holds two correct control students. The test asserts every
student's exact score, the controls' 10/10, that the course directory, the
sources and the other submissions are untouched, that feedback leaks no hidden
test, that the printed table agrees with the report, and that no process or
temporary file survives the batch.
"""
import csv
import hashlib
import os
import re
import tempfile

import nbformat
import psutil
import pytest

from autograder.notebooks import SOURCE
from lesson_tools import cell, feedback_leaks, meta, seeded, source

pytestmark = pytest.mark.slow

LESSON = "01_convolution"
FULL = {"test_conv2d_single": 2, "test_output_size": 2, "test_pad2d": 1, "test_conv2d": 3, "test_count_params": 2}
ZERO = {k: 0 for k in FULL}
STRIDE_BUG = [("conv2d", "OH = (H + 2 * padding - KH) // stride + 1", "OH = H + 2 * padding - KH + 1"),
              ("conv2d", "OW = (W + 2 * padding - KW) // stride + 1", "OW = W + 2 * padding - KW + 1"),
              ("conv2d", "windows[:, :, ::stride, ::stride][:, :, :OH, :OW]", "windows[:, :, :OH, :OW]")]

# --- attacks on others: appended to a correct solution (they run after its grade cells) ---
OVERWRITE_OTHERS = '''
import os
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for name in files:
        if name.endswith((".ipynb", ".db", ".json", ".csv", ".py")):
            try:
                open(os.path.join(root, name), "w").write("pwned")
            except OSError:
                pass
    for name in dirs:
        try:
            open(os.path.join(root, name, "pwned.txt"), "w").write("pwned")
        except OSError:
            pass
'''
KILL_EVERYTHING = '''
import os, signal
for pid in range(2, 70000):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
os.kill(os.getppid(), signal.SIGKILL)
'''
LOCK_GRADEBOOK = '''
import fcntl, os
handles = []
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for name in files:
        if name.endswith(".db") or name.startswith("tmp"):
            try:
                f = open(os.path.join(root, name), "a"); fcntl.flock(f, fcntl.LOCK_EX); handles.append(f)
            except OSError:
                pass
'''
BACKGROUND_REWRITER = '''
import subprocess, sys
code = ("import os, time\\n"
        "for _ in range(1200):\\n"
        "    for root, dirs, files in os.walk('/sub'):\\n"
        "        for name in files:\\n"
        "            try: open(os.path.join(root, name), 'w').write('pwned')\\n"
        "            except OSError: pass\\n"
        "    time.sleep(0.5)\\n")
subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    import time; time.sleep(600); os._exit(0)
'''
FORK_BOMB = '''
import os, time
for _ in range(5000):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
    except OSError:
        break
'''
FLOOD = "print('x' * 10_000_000)\nimport sys\nsys.stderr.write('y' * 1_000_000)\n"
MEMORY = "import numpy as np\ntry:\n    big = np.ones(8 * 2**30)\nexcept MemoryError:\n    print('no 64 GB here')\n"

# --- cheats: prepended to the released stubs (or to a wrong solution) ---
PATCH_SCORE = "import cnnlib.checks\ncnnlib.checks.Checks.score = lambda self: float(self.points)\n"
FAKE_MODULE = '''
import sys, types
fake = types.ModuleType("cnnlib.checks")
class Checks:
    def __init__(self, name, points): self.points = float(points)
    def check(self, *a, **k): return True
    def partial(self, *a, **k): return 1.0
    def score(self): return self.points
fake.Checks = Checks
fake.close = fake.equal = fake.raises = fake.expect = lambda *a, **k: True
sys.modules["cnnlib.checks"] = fake
'''
IPYTHON_HOOKS = '''
ip = get_ipython()
ip.ast_node_interactivity = "all"
ip.display_formatter.formatters["text/plain"].for_type(float, lambda x, p, cycle: p.text("10.0"))
ip.input_transformers_post.append(lambda lines: ["10.0\\n"] if any("serve" in l for l in lines) else lines)
'''
PATCH_NUMPY = '''
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *x, **k: np.ones(np.shape(a), bool)
np.array_equal = lambda *a, **k: True
'''
FORGED_AGENT = '''
import socket, struct, json, autograder.agent as agent
def serve(grade_id, address):
    s = socket.socket(socket.AF_UNIX); s.connect(address)
    def send(obj):
        body = json.dumps({"m": obj, "b": []}).encode()
        s.sendall(b"CNW1" + struct.pack("<QQ", len(body), 0) + body)
    send({"op": "ready", "grade_id": grade_id})
    send({"op": "result", "ok": True, "post": {}, "value": {"t": "cnn", "id": "s1", "cls": "os:system", "d": {}}})
    s.sendall(b"CNW1" + struct.pack("<QQ", 1 << 40, 0))
agent.serve = serve
'''
# --- leaks: the hidden checks' source must never reach the feedback ---
LEAK_AT_THE_END = '''
import gc, inspect, sys
print(In)
print([f.f_code.co_filename for f in sys._current_frames().values()])
for obj in gc.get_objects():
    if isinstance(obj, str) and "HIDDEN" in obj:
        print(obj)
'''
STACK_WALKER = '''
def conv2d_single(image, kernel):
    import inspect
    for frame in inspect.stack():
        print(frame.code_context, frame.frame.f_globals.keys(), frame.frame.f_locals)
    H, W = image.shape
    KH, KW = kernel.shape
    out = np.zeros((H - KH + 1, W - KW + 1))
    for i in range(H - KH + 1):
        for j in range(W - KW + 1):
            out[i, j] = np.sum(image[i:i + KH, j:j + KW] * kernel)
    return out
'''
# --- correct work that must not lose points ---
NOISY = '''
import logging, os
_saved_fd = os.dup(2)
logging.basicConfig(level=logging.DEBUG)
_real_conv2d_single = conv2d_single
def conv2d_single(image, kernel):
    logging.warning("computing a %s convolution", image.shape)
    os.write(_saved_fd, b"noise on the saved stderr descriptor\\n")
    return _real_conv2d_single(image, kernel)
'''


def _append(nb, code, index=None):
    new = nbformat.v4.new_code_cell(code)
    nb.cells.insert(len(nb.cells) if index is None else index, new)
    return nb


def _after_setup(nb, code):
    return _append(nb, code, nb.cells.index(cell(nb, "setup")) + 1)


def _renamed(nb):
    meta(cell(nb, "conv2d"))["grade_id"] = "conv2d_renamed"
    meta(cell(nb, "test_pad2d"))["grade_id"] = "test_pad2d_renamed"
    return nb


def _duplicated(nb):
    sol = cell(nb, "conv2d")
    nb.cells.insert(nb.cells.index(sol) + 1, nbformat.from_dict(dict(sol)))
    return nb


def _stripped(nb):
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    return nb


def _os_exit_in_pad2d(nb):
    cell(nb, "pad2d").source = "import os\nos._exit(1)"
    return nb


def _loop_in_conv2d(nb):
    cell(nb, "conv2d").source = "def conv2d(x, w, b, stride=1, padding=0):\n    while True:\n        pass"
    return nb


def released():
    from autograder.release import release_notebook

    return release_notebook(LESSON)


def corpus():
    """student -> (notebook, expected {grade_id: points})."""
    src, rel = lambda: source(LESSON), released
    return {
        "control_a": (src(), FULL), "control_b": (src(), FULL),
        "overwrite_others": (_append(src(), OVERWRITE_OTHERS), FULL),
        "kill_everything": (_append(src(), KILL_EVERYTHING), FULL),
        "lock_gradebook": (_append(src(), LOCK_GRADEBOOK), FULL),
        "background_rewriter": (_append(src(), BACKGROUND_REWRITER), FULL),
        "fork_bomb": (_append(src(), FORK_BOMB), FULL),
        "flood_and_memory": (_append(_after_setup(src(), MEMORY), FLOOD), FULL),
        "patch_score": (_after_setup(rel(), PATCH_SCORE), ZERO),
        "fake_checks_module": (_after_setup(rel(), FAKE_MODULE), ZERO),
        "ipython_hooks": (_after_setup(rel(), IPYTHON_HOOKS), ZERO),
        "patched_numpy_on_a_stride_bug": (_after_setup(seeded(LESSON, STRIDE_BUG), PATCH_NUMPY),
                                          {**FULL, "test_conv2d": 2.08}),
        "forged_agent": (_after_setup(rel(), FORGED_AGENT), ZERO),
        "leak_at_the_end": (_append(src(), LEAK_AT_THE_END), FULL),
        "stack_walker": (_append(src(), STACK_WALKER, src().cells.index(cell(src(), "conv2d_single")) + 1), FULL),
        "noisy_but_right": (_append(src(), NOISY, src().cells.index(cell(src(), "conv2d_single")) + 1), FULL),
        "renamed_grade_ids": (_renamed(src()), FULL),
        "duplicated_solution": (_duplicated(src()), FULL),
        "stripped_metadata": (_stripped(src()), FULL),
        "os_exit_in_pad2d": (_os_exit_in_pad2d(src()), {**ZERO, "test_conv2d_single": 2, "test_output_size": 2}),
        "infinite_loop_in_conv2d": (_loop_in_conv2d(src()), {**FULL, "test_conv2d": 0}),
    }


def _digest(path):
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode() + p.read_bytes())
    return h.hexdigest()


SANDBOX_UID = 64500  # this batch's sandboxes run as 64500 and 64501: other tests use other uids


def _sandbox_processes():
    found = []
    for p in psutil.process_iter(["uids"]):
        try:
            if p.info["uids"] and SANDBOX_UID <= p.info["uids"].real < SANDBOX_UID + 10:
                found.append(p)
        except psutil.Error:
            pass
    return found


def test_a_hostile_batch_cannot_raise_its_scores_hurt_others_or_leak_hidden_tests(tmp_path, real_data_dir, capsys,
                                                                                    monkeypatch):
    from nbgrader.api import Gradebook

    from autograder import sandbox
    from autograder.__main__ import main as cli

    ok, why = sandbox.available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the sandboxed grading tests: {why}")
        pytest.skip(why)
    students = corpus()
    subs = tmp_path / "subs"
    for student, (nb, _) in students.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LESSON}.ipynb")
    (subs / "symlinked").mkdir()
    os.symlink(SOURCE / LESSON / f"{LESSON}.ipynb", subs / "symlinked" / f"{LESSON}.ipynb")
    course = tmp_path / "course"
    course.mkdir()
    (course / "canary.txt").write_text("untouched")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))  # the grader's and the judges' temporary files
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setenv("CNNLIB_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("AUTOGRADER_SANDBOX_UID", str(SANDBOX_UID))
    before = {"source": _digest(SOURCE / LESSON), "subs": {s: _digest(subs / s) for s in students}}

    assert cli(["grade", str(subs), "--lesson", LESSON, "--jobs", "2", "--course-dir", str(course),
                "--timeout", "20"]) == 0
    table = capsys.readouterr().out

    expected = {s: points for s, (_, points) in students.items()}
    expected["symlinked"] = ZERO
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        got = {s: {g.name: g.score for g in gb.find_submission_notebook(LESSON, LESSON, s).grades if g.name in FULL}
               for s in expected}
    wrong = {s: (got[s], expected[s]) for s in expected if got[s] != pytest.approx(expected[s], abs=1e-9)}
    assert not wrong, f"(got, expected) per student: {wrong}\n{table}"

    # nothing outside a student's own copy was touched, and nothing of the batch keeps running
    assert (course / "canary.txt").read_text() == "untouched"
    assert not [p for p in course.rglob("*") if "pwned" in p.name or (p.is_file() and p.read_bytes() == b"pwned")]
    assert _digest(SOURCE / LESSON) == before["source"]
    assert not [p for p in SOURCE.rglob("*") if p.is_file() and b"pwned" in p.read_bytes()]
    assert {s: _digest(subs / s) for s in students} == before["subs"]
    assert _sandbox_processes() == []
    assert psutil.Process().children(recursive=True) == []
    assert sorted(private_tmp.iterdir()) == [], "temporary files were left behind"
    assert re.search(r"symlinked\s+0\.00 / 12.*symbolic link", table)
    assert re.search(r"os_exit_in_pad2d\s+4\.00 / 12.*kernel died", table)

    # the printed table, the gradebook and the report agree
    assert cli(["report", "--course-dir", str(course), "--csv", str(tmp_path / "grades.csv")]) == 0
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    for student, points in expected.items():
        total = sum(points.values())
        assert float(rows[student][f"{LESSON}/total"]) == pytest.approx(total), student
        assert re.search(rf"\b{student}\s+{total:.2f} / 12\b", table), student

    leaks = feedback_leaks(course, LESSON)
    assert all(not found for found in leaks.values()), leaks
