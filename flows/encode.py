"""encode: data/raw.parquet -> data/vocab.json (+ label map), data/encoded.parquet.

The split is assigned here (by the same pure function the split stage uses), so the
vocabulary and label map are fitted on the train split only: nothing is learnt from test.
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.encode import build_label_map, encode_frame
from attnlib.errors import DataError
from attnlib.io import write_json_atomic, write_parquet_atomic
from attnlib.split import assign_splits
from attnlib.vocab import Vocabulary
from flows._params import (
    ENCODED,
    RAW,
    VOCAB,
    EncodeParams,
    SplitParams,
    load_params,
    run_stage,
    section,
    seed_of,
    task_of,
)


@task
def encode_raw(raw: pl.DataFrame, task_name: str, enc: EncodeParams, sp: SplitParams, seed: int):
    """Assign splits, fit the vocabulary (and label map) on train, encode every row."""
    if task_name == "classify" and "label" not in raw.columns:
        raise DataError(f"{RAW}: task 'classify' needs a 'label' column")
    stratify = "label" if task_name == "classify" else None
    frame = raw.with_columns(
        assign_splits(raw, val=sp.val, test=sp.test, seed=seed, stratify=stratify)
    )
    train = frame.filter(pl.col("split") == "train")
    vocab = Vocabulary.build(
        train["tokens"].to_list(), min_freq=enc.min_freq, max_size=enc.max_size or None
    )
    if len(vocab) < 4:
        raise DataError(
            f"{RAW}: the vocabulary of the train split has only {len(vocab) - 2} tokens"
        )
    labels = build_label_map(train["label"]) if task_name == "classify" else None
    return encode_frame(frame, vocab, labels), vocab, labels


@flow(name="encode")
def encode() -> None:
    params = load_params()
    enc, sp = section(params, "encode", EncodeParams), section(params, "split", SplitParams)
    try:
        raw = pl.read_parquet(RAW)
    except FileNotFoundError:
        raise DataError(f"{RAW}: not found; run the ingest stage first") from None
    frame, vocab, labels = encode_raw(raw, task_of(params), enc, sp, seed_of(params))
    write_json_atomic(VOCAB, {**vocab.to_dict(), "labels": labels})
    write_parquet_atomic(ENCODED, frame)
    get_run_logger().info("encode: %d tokens in the vocabulary -> %s", len(vocab), VOCAB)


if __name__ == "__main__":
    run_stage(encode)
