"""Read and validate params.yaml sections; the pipeline's paths; the stage entry point.

Every section is a pydantic model with ``extra="forbid"``, so a misspelt key fails at the
start of the stage with the key path, not deep inside training. The ``train`` and
``evaluate`` sections are attnlib's own config models (:mod:`attnlib.config`).
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from attnlib import charsets
from attnlib.auto import DataProfile, resolve_section
from attnlib.charsets import UTF8
from attnlib.config import EvaluateConfig as EvaluateParams  # noqa: F401  (the evaluate section)
from attnlib.config import ModelConfig, TrainConfig, train_configs, validate
from attnlib.config import TrainSection as TrainParams  # noqa: F401  (the train section)
from attnlib.errors import AttnlibError, ConfigError
from attnlib.processes import stop_with_owner
from attnlib.tasks import NEXT_STATE, TASKS
from flows import STAGES
from flows._yaml import MERGE, read_yaml

PARAMS = Path(os.environ.get("ATTNLIB_PARAMS", "params.yaml"))
RAW = Path("data/raw.parquet")
VOCAB = Path("data/vocab.json")
ENCODED = Path("data/encoded.parquet")
EMBEDDING = Path("data/embedding.safetensors")  # n-gram table, pretrained vectors (tokens)
SPLIT_DIR = Path("data/split")
SEARCH_DIR = Path("search")
BEST = SEARCH_DIR / "best.yaml"
MODEL_DIR = Path("models/model")
CALIBRATION = Path("models/calibration.json")  # evaluate: temperature, set threshold + rule, widths
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
    max_length: int = Field(0, ge=0)  # a longer sequence is an error (0 = no limit)
    sep: str = ""  # token separator of text formats ("" = whitespace; "|" for tokens with spaces)
    encoding: str = UTF8  # text files' and a folder's texts' (attnlib.charsets)
    # a table's columns holding the text / label / time / id under other names ("" = by name)
    text_column: str = ""
    label_column: str = ""
    time_column: str = ""
    id_column: str = ""
    # a missing value inside a numeric series to classify (attnlib.datasets.gaps)
    missing: Literal["interpolate", "error"] = "interpolate"

    @field_validator("text_column", "label_column", "time_column", "id_column", mode="before")
    @classmethod
    def _name(cls, value):  # -S ingest.label_column=0 writes a YAML number: pandas' names
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:  # its canonical name: UTF8 and utf-8 are one
        try:
            return charsets.checked(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    def columns(self) -> dict[str, str]:
        return {"text": self.text_column, "label": self.label_column, "time": self.time_column,
                "id": self.id_column}  # fmt: skip


class EncodeParams(_Section):
    min_freq: int = Field(1, ge=1)
    max_size: int = Field(0, ge=0)
    lookback: int = Field(24, ge=1)  # forecast: input steps per window
    horizon: int = Field(12, ge=1)  # forecast: steps predicted per window
    targets: list[str] = []  # forecast: target columns; [] = every one that varies in train
    log: bool | Literal["auto"] = "auto"  # log1p before standardising; auto: forecast rule
    delta: int | Literal["season"] = "season"  # forecast: residual lag (see params.yaml)
    local_level: bool | Literal["auto"] = "auto"  # forecast: windows relative to their last step
    tokenizer: Literal["auto", "whitespace", "word", "char"] = "auto"  # text (attnlib.tokenize)
    lowercase: bool | Literal["auto"] = "auto"  # text
    subwords: bool | Literal["auto"] = "auto"  # char n-grams in the word input layer
    vectors: str = "auto"  # "" | auto | builtin:glove50 | a GloVe-format file (attnlib.vectors)
    vectors_words: int = Field(50_000, ge=0)  # + the vectors' most frequent words (fixed)
    max_length: int | Literal["auto"] = "auto"  # longer sequences cut / truncated; 0 = no cap
    normalize: Literal["auto", "global", "series"] = "auto"  # series to classify (attnlib.scaling)


class SplitParams(_Section):
    val: Annotated[float, Field(ge=0, lt=1)] | Literal["auto"] = "auto"  # auto: from data size
    test: float = Field(0.1, ge=0, lt=1)


class ExportParams(_Section):
    opset: int = Field(17, ge=13)
    parity_batches: int = Field(4, ge=1)


TOP_LEVEL = ("task", "seed", *STAGES)  # params.yaml's keys: two values, one section a stage


def load_params(path: Path | None = None) -> dict:
    """The whole params.yaml as a dict (a ConfigError names the file when it is unusable).

    Raises:
        ConfigError: not UTF-8, not valid YAML, a key given twice in one mapping (each
            naming the line), not a mapping, or an unknown top-level key (naming it).
    """
    path = path or PARAMS
    try:
        node, data = read_yaml(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found (run from the project root)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    for key_node, _ in node.value:  # the keys as written, with their lines
        key = key_node.value
        if key not in TOP_LEVEL and key_node.tag != MERGE:
            close = difflib.get_close_matches(str(key).lower(), TOP_LEVEL, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{path}, line {key_node.start_mark.line + 1}: unknown top-level key "
                f"'{key}'{hint} (expected one of: {', '.join(TOP_LEVEL)})"
            )
    return data


def section(params: dict, name: str, cls: type[BaseModel]) -> BaseModel:
    return validate(cls, params.get(name), section=name)


def task_of(params: dict) -> str:
    task = params.get("task", NEXT_STATE)
    if task not in TASKS:
        raise ConfigError(f"params key 'task': unknown task '{task}' ({', '.join(TASKS)})")
    return task


def seed_of(params: dict) -> int:
    seed = params.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"params key 'seed': expected an integer, got {seed!r}")
    return seed


def model_and_train_configs(
    params: dict, overrides: dict | None = None, data=None, **model_fields
) -> tuple[ModelConfig, TrainConfig]:
    """The ``train`` section (+ search overrides) as the model and optimisation configs.

    ``model_fields`` are the fields the data fixes (see ``flows._data.model_fields``);
    ``data``, the training split's tensors, decides the ``auto`` values.
    """
    return train_params(params, overrides, data, **model_fields)[:2]


def train_params(params: dict, overrides: dict | None = None, data=None, **model_fields):
    """:func:`model_and_train_configs`, plus the train stage's run options (resume, nproc)
    and the ``auto`` choices made from ``data``, the training tensors
    (:class:`attnlib.auto.Choice`)."""
    task = task_of(params)
    profile = None if data is None else DataProfile.of_fields(task, data, model_fields)
    section, choices = resolve_section(params.get("train"), profile)
    configs = train_configs(
        section, task=task, seed=seed_of(params), data_fields=model_fields, overrides=overrides,
        progress=sys.stderr.isatty() and not os.environ.get("ATTNLIB_QUIET"),
    )  # fmt: skip
    return (*configs, choices)


def not_user_error(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry I/O hiccups, never a user mistake."""
    try:
        state.result()
    except AttnlibError:
        return False
    except Exception:
        return True
    return True


class _NoUserErrorTraceback(logging.Filter):
    """A user mistake is reported in one line, not with Prefect's traceback.

    ``console=True`` (the terminal's handler) drops the record altogether: run_stage
    prints the mistake itself, as the stage's one ``error:`` line.
    """

    def __init__(self, console: bool = False):
        super().__init__()
        self.console = console
        # how a failed task run's "Finished in state Failed(...)" names a user mistake
        self.failed = tuple(f"exception {c.__name__}: " for c in _subclasses(AttnlibError))

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, AttnlibError):
            record.exc_info, record.exc_text = None, None
            record.attnlib_user_error = True  # for the handlers that see the record later
        if not self.console:
            return True
        # a failed task run's "Finished in state Failed(... DataError: ...)" has no exc_info
        failed = any(f in str(record.msg) for f in self.failed)
        return not (failed or getattr(record, "attnlib_user_error", False))


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def run_stage(flow: Callable[[], object]) -> None:
    """Run a stage's flow; a user mistake becomes one line on stderr and exit code 2. Under
    ``attnlib STAGE`` the stage stops (a SIGTERM) when that command is killed."""
    from prefect.logging.configuration import setup_logging
    from prefect.settings import temporary_settings

    stop_with_owner()
    setup_logging()
    for handler in logging.getLogger().handlers:  # the console
        handler.addFilter(_NoUserErrorTraceback(console=True))
    for name in ("prefect.flow_runs", "prefect.task_runs"):  # the API (the UI's run logs)
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_NoUserErrorTraceback())
    # Flow-run heartbeats (every 180 s by default) let a server mark a vanished run as
    # crashed; a stage is a foreground process of `dvc repro` whose exit DVC sees, and the
    # heartbeat thread's start and stop cost ~1.2 s per stage (bench/orchestration.py).
    # PREFECT_FLOWS_HEARTBEAT_FREQUENCY set by the user wins.
    off = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" not in os.environ
    updates = {"flows.heartbeat_frequency": None} if off else {}
    try:
        with temporary_settings(updates=updates):
            flow()
    except AttnlibError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(exc.exit_code)
