"""Shared loading for the stages after split: vocabulary, label map and tensors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from attnlib.data import SequenceData
from attnlib.encode import read_split as read_split_data
from attnlib.errors import ConfigError, DataError
from attnlib.tasks import get_task
from attnlib.vocab import Vocabulary
from flows._params import BEST, VOCAB, split_path
from flows._yaml import read_yaml


def read_split(name: str) -> pl.DataFrame:
    path = split_path(name)
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"{path}: not found; run the split stage first") from None


def vocab_of(meta: dict, path: Path = VOCAB) -> tuple[Vocabulary | None, list[str] | None]:
    """The vocabulary (None for numeric data) and the label map."""
    vocab = Vocabulary.from_dict(meta, source=path) if "tokens" in meta else None
    return vocab, meta.get("labels")


def model_fields(meta: dict, task: str) -> dict:
    """The model fields the data fixes: what encode recorded for ``task`` (input kind,
    numeric input width, forecast horizon and targets), vocabulary size and classes."""
    vocab, labels = vocab_of(meta)
    recorded = meta.get("model_fields") or {} if meta.get("task") == task else {}
    fields = {**recorded, "num_classes": max(2, len(labels or []))}
    if vocab is not None:
        fields["vocab_size"] = len(vocab)
    return fields


def load_meta(path: Path = VOCAB) -> dict:
    """Everything encode recorded (vocabulary, labels, scaling, window geometry)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found; run the encode stage first") from None


def data_spec(meta: dict, task: str) -> dict:
    """What a saved model needs to prepare raw input: input kind, scaling, windows."""
    return get_task(task).data_spec(meta)


def load_data(name: str, task: str) -> tuple[pl.DataFrame, SequenceData]:
    """A split's usable rows (something to predict) and their tensors."""
    return read_split_data(split_path(name), task)


def load_best(path: Path = BEST) -> dict:
    """The search's best overrides ({} when search is disabled)."""
    if not path.exists():
        return {}
    data = read_yaml(path)[1] or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of train params")
    return data.get("params", data)
