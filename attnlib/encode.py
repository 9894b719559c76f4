"""Raw frames -> encoded frames -> tensors.

Encoded schema (categorical): ``id: str``, ``tokens: list<str>`` (kept for scoring and
explanation), ``ids: list<int32>``, ``length: int32``, ``split: str`` and, for
classification, ``label: str``, ``label_id: int32``.
"""

from __future__ import annotations

import polars as pl

from attnlib.data import SequenceData
from attnlib.errors import DataError
from attnlib.vocab import Vocabulary


def build_label_map(labels: pl.Series) -> list[str]:
    """Sorted distinct labels; a label's id is its index."""
    values = sorted(labels.cast(pl.Utf8).unique().to_list())
    if len(values) < 2:
        raise DataError(f"classification needs at least 2 classes, found {values}")
    return values


def encode_frame(
    frame: pl.DataFrame, vocab: Vocabulary, label_map: list[str] | None = None
) -> pl.DataFrame:
    """Add ``ids`` / ``length`` (and ``label_id``) columns to a frame of token sequences."""
    ids = [vocab.encode(toks) for toks in frame["tokens"].to_list()]
    out = frame.with_columns(
        pl.Series("ids", ids, dtype=pl.List(pl.Int32)),
        pl.Series("length", [len(s) for s in ids], dtype=pl.Int32),
    )
    if label_map is not None:
        index = {lab: i for i, lab in enumerate(label_map)}
        labels = out["label"].cast(pl.Utf8).to_list()
        unknown = sorted({lab for lab in labels if lab not in index})
        if unknown:
            raise DataError(f"labels {unknown[:5]} are not in the label map {label_map[:10]}")
        out = out.with_columns(pl.Series("label_id", [index[x] for x in labels], dtype=pl.Int32))
    return out


def to_sequence_data(frame: pl.DataFrame, task: str, *, source: object = "data") -> SequenceData:
    """Tensors for ``task`` from an encoded frame (the split files' schema)."""
    if frame.height == 0:
        raise DataError(f"{source}: the split is empty")
    seqs = frame["ids"].to_list()
    if task == "next_state":
        return SequenceData.next_state(seqs)
    if task == "classify":
        return SequenceData.classify_tokens(seqs, frame["label_id"].to_list())
    raise DataError(f"{source}: task '{task}' is not supported for token sequences")
