"""Raw frames -> encoded frames (+ metadata) -> tensors, for any task.

The task (:mod:`attnlib.tasks`) decides what its encoded data looks like; the shared
encoding of sequences is :mod:`attnlib.encoding` (its names are re-exported here).
The metadata (``data/vocab.json``) holds the vocabulary (token data only), the label map,
the scaling statistics, the task's own settings (forecasting: the window geometry) and the
data-dependent model fields, so later stages, prediction and export need nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from attnlib.auto import resolve_val
from attnlib.data import SequenceData
from attnlib.encoding import (  # noqa: F401  (re-exported: the encode stage's vocabulary)
    KIND_WORDS,
    EncodeOptions,
    build_label_map,
    check_normalize,
    encode_frame,
    encode_series,
    kind_of,
)
from attnlib.errors import DataError
from attnlib.tasks import get_task


def encode_dataset(raw: pl.DataFrame, task: str, opt: EncodeOptions, *, source: object = "raw"):
    """Assign splits, fit vocabulary / labels / scaling on train only, encode every row.

    Returns:
        (encoded frame, metadata dict for ``data/vocab.json``; token sequences and numeric
        series also carry ``split_counts``, see :func:`attnlib.encoding.encode_sequences`).

    Raises:
        DataError: the data does not fit the task (e.g. forecasting a token corpus).
    """
    job, kind = get_task(task), kind_of(raw)
    if kind not in job.accepts:
        clock = kind == "long" and "series" in job.accepts  # (attnlib.datasets.clock)
        hint = ("; a long table of many series by id without a label is read as one table to "
                "forecast: to classify them, their class goes in 'label' or "
                "ingest.label_column") if clock else ""  # fmt: skip
        raise DataError(f"{source}: task '{task}' needs {job.needs}; this data holds "
                        f"{KIND_WORDS[kind]}{hint}")  # fmt: skip
    check_normalize(opt.normalize, kind)
    shipped_test = raw.filter(pl.col("split") == "test").height if "split" in raw.columns else 0
    val, choice = resolve_val(opt.val, raw.height - shipped_test, sequences=kind != "long")
    frame, meta = job.encode(raw, kind, replace(opt, val=val), source=source)
    if choice is not None:  # the train stage reports it beside its own choices
        meta["auto"] = [{"key": "split.val", "value": choice.value, "why": choice.why},
                        *meta.get("auto", [])]  # fmt: skip
    return frame, meta


def keep_channel_names(meta: dict, names: list[str]) -> None:
    """Keep the names of numeric series' channels (the training file's value columns,
    :mod:`attnlib.datasets.channel_names`) in ``meta["input"]``, for a model to read new
    files by them; names that are not one per channel are not kept."""
    inputs = meta.get("input") or {}
    if names and inputs.get("kind") == "series" and inputs.get("channels") == len(names):
        inputs["channel_names"] = list(names)


def to_sequence_data(frame: pl.DataFrame, task: str, *, source: object = "data") -> SequenceData:
    """Tensors for ``task`` from an encoded split frame (forecast windows are cut here)."""
    if frame.height == 0:
        raise DataError(f"{source}: the split is empty")
    return get_task(task).tensors(frame, source=source)


def read_split(path: str | Path, task: str) -> tuple[pl.DataFrame, SequenceData]:
    """A split file's usable rows (those with something to predict) and their tensors."""
    try:
        frame = pl.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"{path}: not found; run the split stage first") from None
    frame = get_task(task).usable(frame)
    return frame, to_sequence_data(frame, task, source=path)
