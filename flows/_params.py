"""Read and validate params.yaml sections; the pipeline's paths; the stage entry point.

Every section is a pydantic model with ``extra="forbid"``, so a misspelt key fails at the
start of the stage with the key path, not deep inside training.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from attnlib.config import ModelConfig, Task, TrainConfig, validate
from attnlib.errors import AttnlibError, ConfigError

PARAMS = Path(os.environ.get("ATTNLIB_PARAMS", "params.yaml"))
RAW = Path("data/raw.parquet")
VOCAB = Path("data/vocab.json")
ENCODED = Path("data/encoded.parquet")
SPLIT_DIR = Path("data/split")
SEARCH_DIR = Path("search")
BEST = SEARCH_DIR / "best.yaml"
MODEL_DIR = Path("models/model")
CHECKPOINTS = Path("checkpoints")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
EXPORT_DIR = Path("export")


def split_path(name: str) -> Path:
    return SPLIT_DIR / f"{name}.parquet"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestParams(_Section):
    source: str = "builtin:bach_chorales"
    format: str = "auto"
    limit: int = Field(0, ge=0)
    workers: int = Field(2, ge=1)


class EncodeParams(_Section):
    min_freq: int = Field(1, ge=1)
    max_size: int = Field(0, ge=0)


class SplitParams(_Section):
    val: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)


class EvaluateParams(_Section):
    top_k: int = Field(5, ge=1)
    ngram_orders: list[int] = [1, 2, 3, 4, 5, 6, 7]
    heatmaps: int = Field(3, ge=0)
    confusion_top: int = Field(15, ge=2)


class ExportParams(_Section):
    opset: int = Field(17, ge=13)
    parity_batches: int = Field(4, ge=1)


class TrainParams(_Section):
    """The ``train`` section: model hyper-parameters and optimisation in one place."""

    name: str = "lstm_attention"
    attention: str = "general"
    query: Literal["learned", "last"] = "learned"
    embedding_dim: int = 64
    hidden_dim: int = 128
    num_layers: int = 1
    dropout: float = 0.2
    epochs: int = 25
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    patience: int = 4
    min_delta: float = 0.0
    device: str = "auto"
    resume: bool = True


MODEL_KEYS = ("name", "attention", "query", "embedding_dim", "hidden_dim", "num_layers", "dropout")
TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "grad_clip", "patience", "min_delta",
              "device")  # fmt: skip


def load_params(path: Path | None = None) -> dict:
    """The whole params.yaml as a dict (a ConfigError names the file when it is unusable)."""
    path = path or PARAMS
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found (run from the project root)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    return data


def section(params: dict, name: str, cls: type[BaseModel]) -> BaseModel:
    return validate(cls, params.get(name), section=name)


def task_of(params: dict) -> Task:
    task = params.get("task", "next_state")
    if task not in ("next_state", "classify", "forecast"):
        raise ConfigError(
            f"params key 'task': unknown task '{task}' (next_state, classify, forecast)"
        )
    return task


def seed_of(params: dict) -> int:
    seed = params.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"params key 'seed': expected an integer, got {seed!r}")
    return seed


def model_and_train_configs(
    params: dict, overrides: dict | None = None, **model_fields
) -> tuple[ModelConfig, TrainConfig]:
    """Split ``train`` (+ search overrides) into the model and optimisation configs."""
    tp = section(params, "train", TrainParams).model_dump()
    unknown = set(overrides or {}) - set(tp)
    if unknown:
        raise ConfigError(f"search/best.yaml: unknown keys {sorted(unknown)}")
    tp.update(overrides or {})
    model = validate(
        ModelConfig,
        {**{k: tp[k] for k in MODEL_KEYS}, "task": task_of(params), **model_fields},
        section="train",
    )
    train = validate(
        TrainConfig,
        {
            **{k: tp[k] for k in TRAIN_KEYS},
            "seed": seed_of(params),
            "progress": sys.stderr.isatty(),
        },
        section="train",
    )
    return model, train


def run_stage(flow: Callable[[], object]) -> None:
    """Run a stage's flow; a user mistake becomes one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        flow()
    except AttnlibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
