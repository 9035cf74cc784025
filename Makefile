# The README's two commands: `make bench` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ASV := $(BIN)/asv

.PHONY: bench test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Install, record machine info without prompting, benchmark the current commit
# in asv's own pinned virtualenv (two replicas side by side, one per core, one
# round each: the samples of one two-round asv run in half its time, and their
# spread is the run's noise), publish the site (offline: scripts vendored from
# their registry packages) with the scaling exponents.
bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	$(ASV) machine --yes
	$(BIN)/mlupdate suite HEAD --rounds 1
	$(BIN)/mlupdate publish
	@echo
	@echo "Site: $(CURDIR)/.asv/html/index.html (scaling: .asv/html/scaling/index.html)"
	@echo "Open it over HTTP: $(BIN)/python -m http.server -d .asv/html -b 127.0.0.1 8080"
	@echo "then browse http://127.0.0.1:8080/ (the asv page does not work from file://)."

lint: $(BIN)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Tests: lint; asv's environment of the matrix, created before pytest starts (the tests
# that install commits copy it; `asv setup` would create it too, but exits 1 when it
# succeeds); our modules compiled once (where Python may not write bytecode,
# PYTHONDONTWRITEBYTECODE, each of the tests' hundreds of processes would compile them
# again); then pytest on both cores.
test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) lint
	$(BIN)/asv machine --yes
	$(BIN)/python -c 'from asv.config import Config; from mlupdate.bench.runner.asv_side import create_env; create_env(Config.load("asv.conf.json"))'
	$(BIN)/python -m compileall -q mlupdate benchmarks tests
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=20
