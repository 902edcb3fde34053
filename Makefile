# Every target creates the virtual environment first if it is missing,
# so `make lab` and `make test` work on a machine with nothing installed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB_PORT ?= 8888
# The browser suite serves a scratch copy of lessons/ (JupyterLab autosaves what it runs).
LAB_ROOT ?= lessons
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: venv lab test test-browser test-fast bench strip release check-sync clean help

help:
	@echo "make lab      start JupyterLab on lessons/ (creates .venv on first run)"
	@echo "make test     run the whole test suite (creates .venv on first run)"
	@echo "make test-browser  run every lesson and drive its widgets in headless Chromium"
	@echo "make bench    run the benchmarks and print their tables"
	@echo "make strip    strip outputs from every committed notebook"
	@echo "make release  regenerate lessons/ from autograder/source/"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e .
	@touch $(STAMP)

venv: $(STAMP)

lab: venv
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_ROOT) --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS)

test: venv
	@# Two pytest workers share 2 cores: multi-threaded BLAS would oversubscribe them
	@# (measured 10-50x slower small matmuls), so each worker's numpy uses one thread.
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q -rs --durations=15 --ignore=tests/browser

# One JupyterLab (started as `make lab` does) and one headless Chromium drive every lesson;
# one worker, because the lessons' kernels and the browser already fill both cores.
test-browser: venv
	$(BIN)/python -m pytest tests/browser -q -rs --durations=15 -p no:xdist

bench: venv
	$(BIN)/python benchmarks/run_all.py

strip: venv
	$(BIN)/python -m autograder strip

release: venv
	$(BIN)/python -m autograder release

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
