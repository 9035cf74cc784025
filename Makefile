# The README's two commands: `make bench` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: bench test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/mlupdate run --progress

lint: $(BIN)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) lint
	$(BIN)/python -m pytest
