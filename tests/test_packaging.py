"""Set-up files agree with each other and with the README."""
import re

import yaml

from conftest import ROOT

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


def _pyproject_deps():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def test_environment_yml_pip_list_equals_pyproject_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [p for p in pip if p != "-e ."] == _pyproject_deps()
    assert "-e ." in pip, "the conda route must also install the course package"


def test_torch_is_pinned_to_the_local_cpu_build():
    assert "torch==2.13.0" in _pyproject_deps()


def test_required_packages_are_declared_with_the_agreed_major_versions():
    deps = " ".join(_pyproject_deps())
    for needed in ("numpy", "matplotlib", "ipywidgets>=8,<9", "nbgrader>=0.9,<0.10", "jupyterlab>=4,<5",
                   "pooch", "tqdm", "pytest", "nbclient"):
        assert needed in deps, needed


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.M), ".ci/run must call `make test` exactly"
    assert "CNNLIB_DATA_DIR" in ci


def test_makefile_targets_create_the_venv_before_running():
    mk = (ROOT / "Makefile").read_text()
    for target in ("lab", "test", "bench", "strip", "release"):
        assert re.search(rf"^{target}: venv", mk, re.M), target
    assert "-m venv" in mk and "pip install" in mk and "-e ." in mk


def test_the_syllabus_in_the_readme_and_in_lesson_00_lists_exactly_the_lessons_that_exist():
    """No promise of a lesson the course does not have, and none missing."""
    import nbformat

    from autograder.course import available_lessons

    lessons = available_lessons()
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"^\| `(\d\d_\w+)` \|", readme, re.M)
    assert listed == lessons
    welcome = nbformat.read(ROOT / "autograder" / "source" / "00_welcome" / "00_welcome.ipynb", as_version=4)
    table = next(c.source for c in welcome.cells if "| # | Lesson |" in c.source)
    numbers = re.findall(r"^\| (\d\d) \|", table, re.M)
    assert numbers == [lesson[:2] for lesson in lessons]


def test_only_ci_and_tests_know_where_the_machine_keeps_its_datasets():
    """Lessons, cnnlib, the grader and the benchmarks find data through CNNLIB_DATA_DIR or download it;
    none of them may point at the folder beside the clone that CI uses."""
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"""shared/data|["']shared["']\s*(?:/|,)\s*["']data["']""")
    knowing = [f for f in files if not (f == ".ci/run" or f.startswith("tests/"))
               and (ROOT / f).is_file() and pattern.search((ROOT / f).read_text(errors="ignore"))]
    assert knowing == []
