"""The sandbox a submission runs in: bubblewrap namespaces plus resource limits.

Each student's notebook runs in a fresh process tree (``bwrap``) with no
network, its own PID namespace (it cannot see or signal the grader or other
students), a private /tmp, read-only views of the Python environment, the
course library (without ``autograder/source``) and the datasets, and write
access only to a copy of its own submission, mounted at ``/sub``. As root the
tree also drops to an unprivileged user of its own, so the process-count limit
applies. Limits: address space, CPU seconds, file size, processes. When the
run ends, the namespace's PID 1 exits and the kernel kills everything left.

Without bubblewrap, ``grade`` refuses untrusted work unless told ``--unsafe``;
``check`` (a learner's own notebook) then runs unsandboxed.
"""
import functools
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

SANDBOX_DIR = "/sub"
BASE_UID = 64000  # sandboxed runs use uid BASE_UID + slot (as root); AUTOGRADER_SANDBOX_UID overrides it
MEMORY_BYTES = 8 << 30
FILE_BYTES = 1 << 30
MAX_TASKS = 512  # processes and threads of the sandbox's own user
_SYSTEM = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]


@functools.lru_cache(maxsize=1)
def available():
    """``(True, "")`` if bubblewrap can build a sandbox here, else ``(False, why)``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, ("bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: apt-get install "
                       "bubblewrap) or pass --unsafe to grade trusted work without a sandbox")
    try:
        probe = subprocess.run(_bwrap_base(bwrap, 0) + ["true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if probe.returncode != 0:
        return False, ("bubblewrap cannot create namespaces here "
                       f"({probe.stderr.strip()[:200] or probe.returncode}); pass --unsafe to grade without a sandbox")
    return True, ""


def base_uid():
    """First uid of the sandboxed runs (one per parallel job)."""
    return int(os.environ.get("AUTOGRADER_SANDBOX_UID", BASE_UID))


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _bwrap_base(bwrap, uid):
    cmd = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
           "--unshare-uts", "--unshare-cgroup-try"]
    if not _is_root():
        cmd.append("--unshare-user")
    for path in _SYSTEM:
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "1777", "--tmpfs", "/dev/shm"]
    if _is_root():  # keep just what setpriv needs to drop to the sandbox's own user
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return cmd


def _read_only_paths():
    import autograder
    import cnnlib

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(cnnlib.__file__).parent,
             Path(autograder.__file__).parent}
    for key in ("CNNLIB_DATA_DIR", "CNNLIB_CACHE_DIR"):
        if os.environ.get(key):
            paths.add(Path(os.environ[key]))
    paths.add(Path(os.path.expanduser("~/.cache/cnnlib")))
    return sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))


def _hidden_paths():
    """Inside the read-only views but never visible: the lesson sources (hidden tests, solutions)."""
    from .course import source_root
    from .notebooks import SOURCE

    return sorted({Path(SOURCE).resolve(), Path(source_root()).resolve()})


def environment(extra=None):
    """Environment of the sandboxed run (nothing inherited but what is listed)."""
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": "/tmp/home", "IPYTHONDIR": "/tmp/home/.ipython", "MPLCONFIGDIR": "/tmp/home/.mpl",
           "JUPYTER_RUNTIME_DIR": "/tmp/home/.jupyter", "JUPYTER_PLATFORM_DIRS": "1",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "LANG": "C.UTF-8",
           "CNNLIB_GRADING": "1", "CNNLIB_FAST": "1", "TQDM_DISABLE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for key in ("CNNLIB_DATA_DIR", "CNNLIB_CACHE_DIR"):
        if os.environ.get(key):
            env[key] = str(Path(os.environ[key]).resolve())
    env.update(extra or {})
    return env


def command(argv, work_dir, slot=0, sandboxed=True):
    """The command that runs ``argv`` (a Python command line) on ``work_dir``.

    Returns
    -------
    cmd : list of str
    cwd : str
        Where ``argv`` sees the submission copy (``/sub`` inside the sandbox).
    """
    if not sandboxed:
        return list(argv), str(work_dir)
    cmd = _bwrap_base(shutil.which("bwrap"), slot)
    made = set()
    for path in _read_only_paths():
        for parent in reversed(path.parents):  # bwrap would create them 0700: the sandbox user could not pass
            if parent != Path("/") and parent not in made and not any(str(parent).startswith(s) for s in _SYSTEM):
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        cmd += ["--ro-bind", str(path), str(path)]
    for path in _hidden_paths():
        if any(path == p or p in path.parents for p in _read_only_paths()):
            cmd += ["--tmpfs", str(path)]
    cmd += ["--bind", str(work_dir), SANDBOX_DIR, "--chdir", SANDBOX_DIR, "--perms", "0777", "--dir", "/tmp/home"]
    if _is_root():
        uid = str(base_uid() + slot)
        cmd += ["--", shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", uid, "--regid", uid,
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
    else:
        cmd += ["--"]
    return cmd + list(argv), SANDBOX_DIR


def prepare_work_dir(work_dir, slot=0):
    """Hand the submission copy to the sandbox's user (as root), so it can write there and nowhere else."""
    if not _is_root():
        return
    uid = base_uid() + slot
    for root, dirs, files in os.walk(work_dir):
        os.chown(root, uid, uid)
        for name in files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def limits(cpu_seconds, memory_bytes=MEMORY_BYTES):
    """A ``preexec_fn`` setting the resource limits of the sandboxed run (inherited by every process)."""
    tasks = MAX_TASKS if _is_root() else _own_tasks() + MAX_TASKS

    def apply():
        os.setsid()
        for which, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, int(cpu_seconds)),
                             (resource.RLIMIT_FSIZE, FILE_BYTES), (resource.RLIMIT_CORE, 0),
                             (resource.RLIMIT_NPROC, tasks)):
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass

    return apply


def _own_tasks():
    """Threads this user runs now: RLIMIT_NPROC counts them all, so the budget comes on top."""
    import psutil

    me, count = os.getuid(), 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == me:
                count += proc.info["num_threads"] or 1
        except psutil.Error:
            continue
    return count
