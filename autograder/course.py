"""nbgrader course directories: lesson lookup, config, and running nbgrader safely.

Every command works in a *course directory* (nbgrader's layout: ``source/``,
``release/``, ``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``).
The config is written into it by :func:`write_config`, so an instructor can also
run ``nbgrader`` or the formgrader from that directory directly.
"""
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .notebooks import ROOT, SOURCE

DEFAULT_COURSE_DIR = ROOT / "course"
CELL_TIMEOUT = 120  # seconds per cell while autograding (a student's infinite loop stops here)


class UsageError(Exception):
    """A mistake in the command line (missing lesson or directory): print it, exit 2."""


def source_root():
    """``autograder/source``, or ``$AUTOGRADER_SOURCE`` (tests grade throwaway lessons)."""
    return Path(os.environ.get("AUTOGRADER_SOURCE") or SOURCE)


def available_lessons():
    """Lesson names that have a source notebook, sorted."""
    return sorted(p.parent.name for p in source_root().glob("*/*.ipynb") if p.stem == p.parent.name)


def source_notebook(lesson):
    """Path of ``<source>/<lesson>/<lesson>.ipynb`` or a UsageError listing the lessons."""
    path = source_root() / lesson / f"{lesson}.ipynb"
    if not path.is_file():
        names = ", ".join(available_lessons()) or "(none)"
        raise UsageError(f"no source notebook for lesson {lesson!r}; available: {names}")
    return path


def existing_dir(path, what):
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"{what} {str(path)!r} does not exist or is not a directory")
    return path.resolve()


CONFIG_TEMPLATE = '''\
# Written by `python -m autograder`; rewritten on every run, edit autograder/course.py instead.
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
# nbgrader's defaults: never copied between the course folders.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
# A student's infinite loop is interrupted after this many seconds per cell.
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0
# A loaded machine can take over a minute to start a kernel (nbclient's default is 60 s).
c.Execute.startup_timeout = 180
# Kernels started in parallel over TCP can race for the same port ("Address already in
# use"); unix sockets with one prefix per course directory cannot. The prefix is absolute
# (the kernel runs in the notebook's folder) and short (socket paths must be < 108 bytes).
import os
if os.name == "posix":
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = {ipc!r}
# Deleted grade cells come back (and are run), so deleting a test never hides it.
c.OverwriteCells.add_missing_cells = True
# Feedback never shows hidden-test source (nbgrader shows it by design, issue #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.hide_tests.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
'''


def ipc_prefix(course_dir):
    """Short absolute prefix of the kernels' unix sockets for one course directory."""
    digest = hashlib.sha1(str(Path(course_dir).resolve()).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"cnnk-{digest}")


def remove_ipc_files(course_dir):
    """Delete sockets a killed kernel left behind."""
    for path in Path(tempfile.gettempdir()).glob(Path(ipc_prefix(course_dir)).name + "-*"):
        try:
            path.unlink()
        except OSError:
            pass


def gradebook_url(course_dir):
    """SQLAlchemy URL of the nbgrader gradebook inside ``course_dir``."""
    return "sqlite:///" + str(Path(course_dir) / "gradebook.db")


def write_config(course_dir, timeout=CELL_TIMEOUT):
    """Create ``course_dir`` and its ``nbgrader_config.py``; return the directory."""
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    text = CONFIG_TEMPLATE.format(
        root=str(course_dir),
        db_url=gradebook_url(course_dir),
        timeout=int(timeout),
        ipc=ipc_prefix(course_dir),
    )
    (course_dir / "nbgrader_config.py").write_text(text)
    return course_dir


def ensure_tools_on_path():
    """Put this interpreter's bin/ on PATH: nbgrader's Gradebook runs the ``alembic`` script."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p])


def nbgrader_env(extra=None):
    """Environment for nbgrader and its kernels: our packages importable, grading mode on."""
    ensure_tools_on_path()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update({"CNNLIB_GRADING": "1", "CNNLIB_FAST": "1",
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    env.pop("JPY_PARENT_PID", None)
    env.update(extra or {})
    return env


def kill_tree(pid):
    """Kill a process and all its descendants (kernels run in their own session)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=5)


def run_nbgrader(args, course_dir, log_path=None, timeout=None, env=None):
    """Run ``nbgrader ARGS`` in ``course_dir``; return (returncode or None on timeout, log text).

    The output goes to ``log_path`` (or a pipe). On timeout the whole process
    tree, kernels included, is killed.
    """
    cmd = [sys.executable, "-m", "nbgrader"] + list(args)
    log = open(log_path, "w+") if log_path else subprocess.PIPE
    try:
        proc = subprocess.Popen(cmd, cwd=course_dir, env=env or nbgrader_env(), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            out, _ = proc.communicate()
            code = None
        if log_path:
            log.seek(0)
            out = log.read()
    finally:
        if log_path:
            log.close()
    return code, out or ""


def error_lines(log_text, limit=3):
    """The most telling lines of an nbgrader log, for a one-line reason."""
    keys = ("[ERROR]", "Error", "error:", "Traceback")
    lines = [ln.strip() for ln in log_text.splitlines() if any(k in ln for k in keys)]
    lines = [ln for ln in lines if "Traceback" not in ln] or lines
    return " | ".join(lines[-limit:])[:400]


def converter_config(course_dir, lesson):
    """nbgrader config naming the course dir, its gradebook and the lesson (shared by every converter)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(course_dir)
    cfg.CourseDirectory.db_url = gradebook_url(course_dir)
    cfg.CourseDirectory.assignment_id = lesson
    return cfg


def generate(course_dir, lesson, database=True):
    """Copy the lesson's source notebook into ``course_dir`` and run nbgrader generate_assignment.

    Only the notebook is copied: solutions and hidden tests live inside it, and
    nothing else may leak into a release. Runs in this process (nbgrader takes
    ~3 s to import; a subprocess per lesson would pay that every time). With
    ``database`` the assignment is registered in ``course_dir/gradebook.db``.
    Returns the path of ``release/<lesson>/<lesson>.ipynb``.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    src = source_notebook(lesson)
    course_dir = Path(course_dir).resolve()
    dest = course_dir / "source" / lesson
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest / src.name)
    ensure_tools_on_path()
    cfg = converter_config(course_dir, lesson)
    cfg.GenerateAssignment.force = True
    cfg.GenerateAssignment.create_assignment = True
    if not database:
        cfg.GenerateAssignment.no_database = True
        cfg.SaveCells.enabled = False
    converter = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
    converter.log.setLevel(logging.WARNING)
    converter.start()  # raises NbGraderException (after logging why) on a malformed source
    return course_dir / "release" / lesson / src.name


def prepare_assignment(course_dir, lesson, timeout=CELL_TIMEOUT):
    """Set up ``course_dir`` (config, source notebook, gradebook entry) for grading ``lesson``."""
    write_config(course_dir, timeout)
    return generate(course_dir, lesson, database=True)
