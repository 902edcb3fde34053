"""The judge: scores one submission without ever running the submission's code.

``python -m autograder.judge --lesson L --work DIR ...`` is started fresh by
``grade`` (or ``check``) for each student. It

1. prepares the submission (``DIR/submission``, a trusted copy) for the
   sandbox: every grade cell becomes a call to :func:`autograder.agent.serve`;
2. starts the notebook in the sandbox (:mod:`autograder.sandbox`,
   :mod:`autograder.runner`) and listens on a socket in the sandbox's folder;
3. when the notebook reaches a grade cell, runs that cell's code *here*, from
   the lesson's source, in a namespace where the learner's names
   (``conv2d``, ``Net``, ...) are :class:`StudentFunction` stand-ins: calling
   one sends the arguments to the sandbox and brings back the result as data
   (:mod:`autograder.wire`). ``checks.score()`` computed here is the score;
4. writes ``DIR/result.json`` (scores and reports per grade cell). The grader,
   not the judge and never the sandbox, writes the gradebook.
"""
import argparse
import ast
import builtins
import contextlib
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from . import wire
from .course import source_notebook

HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
INTERRUPT_GRACE = 15  # seconds the sandbox gets to answer after an interrupt


class CellTimeout(KeyboardInterrupt):
    """The learner's code ran past the grade cell's time limit (stops the cell, like nbgrader)."""


class SandboxGone(KeyboardInterrupt):
    """The sandbox stopped answering (killed, crashed or hung)."""


def grade_cells(notebook):
    """``[(grade_id, points, source)]`` of the code grade cells of a lesson's source notebook."""
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            cells.append((meta["grade_id"], float(meta.get("points", 0)), cell.source))
    return cells


def free_names(source):
    """Names a grade cell uses but does not define: the learner's (``conv2d``, ``Net``)."""
    tree = ast.parse(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(dir(builtins)))


def mark_hidden(source):
    """Turn the hidden-test markers into calls that tell :mod:`cnnlib.checks` which checks are hidden."""
    out = []
    for line in source.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        if HIDDEN_BEGIN in line:
            out.append(f"{indent}__cnn_hidden__(True)")
        elif HIDDEN_END in line:
            out.append(f"{indent}__cnn_hidden__(False)")
        else:
            out.append(line)
    return "\n".join(out)


class StudentFunction:
    """Stands for a learner's function or class: calling it runs the real one in the sandbox."""

    def __init__(self, session, name):
        self._session, self.__name__ = session, name

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<your {self.__name__}>"


class Session:
    """One grade cell's conversation with the sandbox."""

    def __init__(self, sock, deadline, interrupt):
        self.sock, self.deadline, self.interrupt = sock, deadline, interrupt
        self.remotes = {}

    def _wait(self, wanted):
        """Serve the sandbox's requests for remote objects until ``wanted`` arrives."""
        interrupted = False
        while True:
            try:
                msg, bufs = wire.recv(self.sock, self.deadline)
            except TimeoutError:
                if interrupted:
                    raise SandboxGone("the learner's code did not stop when interrupted") from None
                self.interrupt()
                interrupted, self.deadline = True, time.monotonic() + INTERRUPT_GRACE
                continue
            except (ConnectionError, OSError, wire.WireError) as exc:
                raise SandboxGone(f"the notebook stopped answering ({exc})") from None
            if msg.get("op") == "remote":
                self._remote(msg, bufs)
                continue
            if msg.get("op") != wanted:
                raise SandboxGone(f"unexpected message {msg.get('op')!r}")
            if interrupted:
                raise CellTimeout("it ran longer than the time limit of this check cell")
            return msg, bufs

    def _remote(self, msg, bufs):
        ok, value = True, None
        try:
            obj = self.remotes[msg["id"]]
            dec = wire.Decoder(bufs, objects=dict(self.remotes), strict=True)
            args, kwargs = dec.decode(msg["args"]), dec.decode(msg["kwargs"])
            what, name = msg.get("what"), msg.get("name")
            if what == "call":
                value = obj(*args, **kwargs)
            elif what == "getattr" and isinstance(name, str) and not name.startswith("_"):
                value = getattr(obj, name)
            elif what == "dunder" and name in wire.REMOTE_DUNDERS:
                value = getattr(obj, name)(*args)
            else:
                raise AttributeError(f"{name!r} is not available")
        except Exception as exc:  # noqa: BLE001 - the learner's code sees the exception, as it would locally
            ok, value = False, exc
        enc = wire.Encoder("j", known={id(o): w for w, o in self.remotes.items()}, remotes=self.remotes)
        wire.send(self.sock, {"op": "remote_result", "ok": ok, "value": enc.encode(value)}, enc.buffers)

    def lookup(self, names):
        wire.send(self.sock, {"op": "lookup", "names": list(names)})
        msg, bufs = self._wait("lookup_result")
        found = {}
        for name in names:
            info = msg["names"].get(name, {"kind": "missing"})
            if info.get("kind") == "value":
                found[name] = wire.Decoder(bufs, strict=True).decode(info["value"])
            else:
                found[name] = StudentFunction(self, name)
        return found

    def call(self, name, args, kwargs):
        enc = wire.Encoder("j", remotes=self.remotes)
        request = {"op": "call", "name": name, "args": enc.encode(list(args)), "kwargs": enc.encode(dict(kwargs))}
        wire.send(self.sock, request, enc.buffers)
        msg, bufs = self._wait("result")
        sent = {w: o for o in enc._keep for w in [enc.wire_of[id(o)]]}
        dec = wire.Decoder(bufs, objects={**self.remotes, **sent}, strict=True)
        for wid, node in msg.get("post", {}).items():
            if wid in sent:
                dec.apply_post(node, sent[wid])
        value = dec.decode(msg["value"])
        if not msg.get("ok"):
            raise value if isinstance(value, BaseException) else RuntimeError(repr(value))
        return value


def run_grade_cell(source, points, session):
    """Run one grade cell's checks here; return ``(score, report, reason)``."""
    from cnnlib import checks

    checks.set_hidden(False)
    namespace = {"__name__": "__cnn_judge__", "__builtins__": builtins, "__cnn_hidden__": checks.set_hidden}
    out = io.StringIO()
    try:
        namespace.update(session.lookup(free_names(source)))
        tree = ast.parse(mark_hidden(source))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(tree, "<grade cell>", "exec"), namespace)  # noqa: S102 - the instructor's check code
            value = eval(compile(ast.Expression(last.value), "<grade cell>", "eval"), namespace) if last else None
    except CellTimeout as exc:
        return 0.0, out.getvalue(), f"0 points: {exc}"
    except SandboxGone as exc:
        return 0.0, out.getvalue(), f"0 points: {exc}"
    except Exception as exc:  # noqa: BLE001 - an error outside any check
        return 0.0, out.getvalue(), f"0 points: the checks stopped with {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        checks.set_hidden(False)
    if type(value) is not float or not 0.0 <= value <= points:
        return 0.0, out.getvalue(), "0 points: the grade cell gave no score (a problem in the lesson: tell your instructor)"
    return value, out.getvalue(), ""


class Sandboxed:
    """The notebook's run in the sandbox: start, interrupt, stop."""

    def __init__(self, work, cell_timeout, student_timeout, sandboxed, slot):
        from . import sandbox

        self.box = work / "sandbox"
        argv = [sys.executable, "-m", "autograder.runner", "prepared.ipynb", "executed.ipynb",
                "--cell-timeout", str(int(cell_timeout))]
        cmd, cwd = sandbox.command(argv, self.box, slot=slot, sandboxed=sandboxed)
        sandbox.prepare_work_dir(self.box, slot)
        self.log = open(work / "runner.log", "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.box if not sandboxed else None, env=sandbox.environment(),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=sandbox.limits(student_timeout + 60))

    def interrupt(self):
        import psutil

        try:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                if any("ipykernel" in part for part in p.cmdline()):
                    p.send_signal(signal.SIGINT)
        except psutil.Error:
            pass

    def stop(self):
        from .course import kill_tree

        kill_tree(self.proc.pid)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        self.log.close()


def judge(lesson, work, cell_timeout, student_timeout, sandboxed, slot=0):
    """Prepare, run and score one submission staged in ``work/submission``; return the result dict."""
    from .assemble import prepare

    start = time.monotonic()
    work = Path(work).resolve()
    source = nbformat.read(source_notebook(lesson), as_version=4)
    cells = grade_cells(source)
    box = work / "sandbox"
    box.mkdir(exist_ok=True)
    sock_path = box / "j.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bound by a relative name: an absolute path under a deep TMPDIR can pass the 108-byte limit of unix sockets
    os.chdir(box)
    listener.bind(sock_path.name)
    os.chmod(sock_path, 0o777)
    listener.listen(8)
    address = f"/sub/{sock_path.name}" if sandboxed else str(sock_path)
    nbformat.write(prepare(work / "submission" / f"{lesson}.ipynb", source, address), box / "prepared.ipynb")
    for item in (work / "submission").iterdir():
        if item.is_file() and item.suffix != ".ipynb":
            shutil.copy2(item, box / item.name)
    os.chdir(work / "submission")  # the judge reads the learner's files (a saved model) from the trusted copy
    results = {gid: {"score": 0.0, "max": points, "report": "",
                     "reason": "0 points: the notebook stopped before reaching this check "
                               "(an error that killed the kernel, or the time limit per student)"}
               for gid, points, _ in cells}
    by_id = {gid: (points, src) for gid, points, src in cells}
    run = Sandboxed(work, cell_timeout, student_timeout, sandboxed, slot)
    deadline = start + student_timeout
    timed_out = False
    try:
        while run.proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                break
            ready, _, _ = select.select([listener], [], [], 0.5)
            if not ready:
                continue
            conn, _ = listener.accept()
            with conn:
                try:
                    msg, _ = wire.recv(conn, time.monotonic() + 60)
                    gid = msg.get("grade_id")
                    if gid in by_id and results[gid]["reason"].startswith("0 points: the notebook stopped"):
                        cell_deadline = min(deadline, time.monotonic() + cell_timeout)
                        session = Session(conn, cell_deadline, run.interrupt)
                        score, report, reason = run_grade_cell(by_id[gid][1], by_id[gid][0], session)
                        results[gid].update(score=score, report=report, reason=reason)
                    wire.send(conn, {"op": "done"})
                except (OSError, wire.WireError, TimeoutError, ConnectionError):
                    continue
    finally:
        run.stop()
        listener.close()
    if timed_out:
        for r in results.values():
            if r["reason"].startswith("0 points: the notebook stopped"):
                r["reason"] = f"0 points: stopped after the {student_timeout:g} s limit per student"
    return {"lesson": lesson, "cells": results, "timed_out": timed_out, "runner_code": run.proc.returncode,
            "seconds": time.monotonic() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.judge")
    parser.add_argument("--lesson", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--cell-timeout", type=float, default=120)
    parser.add_argument("--student-timeout", type=float, default=900)
    parser.add_argument("--unsafe", action="store_true", help="run the notebook without a sandbox")
    parser.add_argument("--slot", type=int, default=0)
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    result = judge(args.lesson, work, args.cell_timeout, args.student_timeout, not args.unsafe, args.slot)
    tmp = work / "result.json.part"
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, work / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
