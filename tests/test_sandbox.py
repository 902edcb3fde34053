"""What a sandboxed run can and cannot do (bubblewrap): checked with a small Python probe."""
import json
import os
import socket
import subprocess
import sys

import pytest

from autograder import sandbox
from autograder.notebooks import SOURCE

PROBE = r'''
import json, os, socket
out = {"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
out["source_listing"] = os.listdir(SOURCE) if os.path.isdir(SOURCE) else None
for target in ("/sub/ok.txt", "/tmp/ok.txt", REPO + "/pwned.txt", "/etc/pwned"):
    try:
        open(target, "w").write("x"); out[target] = "written"
    except OSError as exc:
        out[target] = type(exc).__name__
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2); out["network"] = "connected"
except OSError as exc:
    out["network"] = type(exc).__name__
import numpy, torch, cnnlib.checks  # the environment is there, read-only
out["imports"] = True
print(json.dumps(out))
'''


@pytest.fixture
def listening_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def test_a_sandboxed_run_sees_only_its_copy_no_network_no_host_processes(tmp_path, listening_port):
    ok, why = sandbox.available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have a working sandbox: {why}")
        pytest.skip(why)
    box = tmp_path / "box"
    box.mkdir()
    repo = str(SOURCE.parent.parent)
    code = PROBE.replace("SOURCE", repr(str(SOURCE))).replace("REPO", repr(repo)).replace("PORT", str(listening_port))
    cmd, cwd = sandbox.command([sys.executable, "-c", code], box, slot=7)
    sandbox.prepare_work_dir(box, slot=7)
    run = subprocess.run(cmd, env=sandbox.environment(), capture_output=True, text=True, timeout=120,
                         preexec_fn=sandbox.limits(60))
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["imports"] is True
    assert seen["/sub/ok.txt"] == "written" and seen["/tmp/ok.txt"] == "written"
    assert seen[repo + "/pwned.txt"] != "written" and seen["/etc/pwned"] != "written"
    assert seen["source_listing"] == []  # the lesson sources (hidden tests) are hidden
    assert seen["network"] != "connected"
    assert max(seen["pids"]) < 50  # its own PID namespace: no host process is visible
    if os.geteuid() == 0:
        assert seen["uid"] == sandbox.base_uid() + 7
    assert (box / "ok.txt").read_text() == "x"
    assert not (tmp_path.parent / "pwned.txt").exists()
