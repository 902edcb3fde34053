"""Runs a prepared submission top to bottom; started by the judge, inside the sandbox.

``python -m autograder.runner PREPARED OUT --cell-timeout T``: executes the
notebook with nbclient (errors do not stop it, like nbgrader), in a fresh
python3 kernel, and writes the executed notebook to OUT, also when the kernel
dies. Cells marked ``cnn_serve`` (where grade cells were) have no time limit
of their own: the judge times them.
"""
import argparse
import os
import sys
import tempfile

import nbformat


def run(prepared, out, cell_timeout):
    from jupyter_client import AsyncKernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(prepared, as_version=4)

    def timeout_for(cell):
        return None if cell.metadata.get("cnn_serve") else cell_timeout

    # unix sockets in the sandbox's private /tmp: no network is needed (or available)
    km = AsyncKernelManager(kernel_name="python3", transport="ipc",
                       ip=os.path.join(tempfile.mkdtemp(prefix="k", dir="/tmp" if os.path.isdir("/tmp") else None),
                                       "s"))
    client = NotebookClient(nb, km=km, timeout=cell_timeout, timeout_func=timeout_for, allow_errors=True,
                            interrupt_on_timeout=True, startup_timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(prepared))}})
    code = 0
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - a dead kernel or a timeout: keep what ran
        print(f"runner: {type(exc).__name__}: {str(exc)[:500]}", file=sys.stderr)
        code = 3
    finally:
        nbformat.write(nb, out)
    return code


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("prepared")
    parser.add_argument("out")
    parser.add_argument("--cell-timeout", type=int, default=120)
    args = parser.parse_args(argv)
    return run(args.prepared, args.out, args.cell_timeout)


if __name__ == "__main__":
    sys.exit(main())
