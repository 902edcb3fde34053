"""Run every benchmark and print its table: `make bench`, or `python benchmarks/run_all.py conv lesson01`.

Each benchmarks/bench_<name>.py exposes ``run() -> list[dict] | dict``; rows are printed as a
table and saved to benchmarks/results/<name>.json (not committed) for comparison between runs.
"""
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["conv", "layers", "lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson06", "lesson07", "lesson09", "lesson10", "train_numpy", "capstone", "widgets"]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"bench_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def format_table(rows):
    """Render a list of dicts with the same keys as an aligned text table."""
    if isinstance(rows, dict):
        rows = [rows]
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[k for k in keys]] + [[_fmt(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(keys))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def main(names):
    names = names or [n for n in ORDER if (HERE / f"bench_{n}.py").exists()]
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        rows = _load(name).run()
        print(format_table(rows))
        print(f"({time.perf_counter() - start:.1f} s)")
        (out_dir / f"{name}.json").write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
