"""The environment check that opens the course: versions, threads, and where the data is."""
import os
import platform
from importlib import metadata

PACKAGES = ("numpy", "torch", "matplotlib", "ipywidgets", "jupyterlab", "nbgrader", "cnnlib")


def environment_report():
    """Collect what the course depends on.

    Returns
    -------
    dict
        ``python``, ``packages`` ({name: version or None}), ``cpu_threads``, and ``data``:
        {dataset: (status, detail)} where status is ``"found"`` (detail: folder and how it
        was found) or ``"missing"`` (detail: what happens next).
    """
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    from .data import load_fashion_mnist, load_mnist

    data = {}
    for name, load in (("MNIST", load_mnist), ("Fashion-MNIST", load_fashion_mnist)):
        try:
            ds = load(download=False)
            data[name] = ("found", f"{ds.source} (via {ds.origin}), {len(ds.x_train)} train + {len(ds.x_test)} test")
        except FileNotFoundError:
            data[name] = ("missing", "not on disk yet: it will be downloaded (about 12-30 MB) the first time you load it")
        except ValueError as exc:
            data[name] = ("corrupt", str(exc))
    return {"python": platform.python_version(), "packages": packages,
            "cpu_threads": os.cpu_count(), "data": data}


def format_report(report):
    """Render :func:`environment_report` as friendly lines of text."""
    ok, bad = "✓", "✗"
    lines = [f"{ok} Python {report['python']}, {report['cpu_threads']} CPU threads"]
    for name, version in report["packages"].items():
        lines.append(f"{ok if version else bad} {name:<11} {version or 'NOT INSTALLED: run `make lab` from the course folder'}")
    for name, (status, detail) in report["data"].items():
        lines.append(f"{ok if status == 'found' else bad} {name:<11} {status}: {detail}")
    return "\n".join(lines)
