# attnlib: set-up, tests, the pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install test lint repro serve deploy bench clean

help:
	@echo "make install  create $(VENV): $(TORCH) first (CPU wheel), then attnlib[dev]"
	@echo "make test     install if needed, ruff + pytest"
	@echo "make repro    install if needed, then dvc repro on the built-in data set"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
